/**
 * The election family: RequestVote (type 3), its response (type 4) and TimeoutNow (type 7).
 *
 *   RequestVote          = header, u64 lastIndex, u64 lastTerm, u8 preVote, u8 transfer
 *   RequestVoteResponse  = header, u8 granted, u8 preVote
 *   TimeoutNow           = header
 */
import { MessageType, type RequestVote, type RequestVoteResponse, type TimeoutNow } from '../../types.js';
import type { MessageCodec } from './codec.js';

export const requestVoteCodec: MessageCodec<RequestVote> = {
  type: MessageType.RequestVote,
  bodySize: () => 8 + 8 + 1 + 1,
  writeBody(w, m) {
    w.u64(m.lastIndex, 'lastIndex');
    w.u64(m.lastTerm, 'lastTerm');
    w.bool(m.preVote);
    w.bool(m.transfer);
  },
  readBody(r, h) {
    const lastIndex = r.u64('lastIndex');
    const lastTerm = r.u64('lastTerm');
    const preVote = r.bool('preVote');
    const transfer = r.bool('transfer');
    return {
      type: MessageType.RequestVote,
      from: h.from,
      to: h.to,
      term: h.term,
      lastIndex,
      lastTerm,
      preVote,
      transfer,
    };
  },
};

export const requestVoteResponseCodec: MessageCodec<RequestVoteResponse> = {
  type: MessageType.RequestVoteResponse,
  bodySize: () => 2,
  writeBody(w, m) {
    w.bool(m.granted);
    w.bool(m.preVote);
  },
  readBody(r, h) {
    const granted = r.bool('granted');
    const preVote = r.bool('preVote');
    return { type: MessageType.RequestVoteResponse, from: h.from, to: h.to, term: h.term, granted, preVote };
  },
};

export const timeoutNowCodec: MessageCodec<TimeoutNow> = {
  type: MessageType.TimeoutNow,
  bodySize: () => 0,
  writeBody() {
    // TimeoutNow is only its header.
  },
  readBody(_r, h) {
    return { type: MessageType.TimeoutNow, from: h.from, to: h.to, term: h.term };
  },
};
