/**
 * Requests a follower forwards to the leader: ForwardPropose (type 8) with its response (type 9), and
 * ReadIndexRequest (type 10) with its response (type 11).
 *
 *   ForwardPropose          = header, u64 requestId, u32 count, bytes × count
 *   ForwardProposeResponse  = header, u64 requestId, u64 index, u64 entryTerm, str error, str leaderId
 *   ReadIndexRequest        = header, u64 requestId
 *   ReadIndexResponse       = header, u64 requestId, u64 index, str error, str leaderId
 *
 * Commands are returned as views into the received frame (no copy).
 */
import {
  type ForwardPropose,
  type ForwardProposeResponse,
  MessageType,
  type ReadIndexRequest,
  type ReadIndexResponse,
} from '../../types.js';
import type { MessageCodec } from './codec.js';
import { bytesListSize, MAX_STRING_BYTES, readBytesList, writeBytesList } from './common.js';
import { stringSize } from './writer.js';

export const forwardProposeCodec: MessageCodec<ForwardPropose> = {
  type: MessageType.ForwardPropose,
  bodySize: (m) => 8 + bytesListSize(m.commands),
  writeBody(w, m) {
    w.u64(m.requestId, 'requestId');
    writeBytesList(w, m.commands, 'commands');
  },
  readBody(r, h) {
    const requestId = r.u64('requestId');
    const commands = readBytesList(r, 'command');
    return { type: MessageType.ForwardPropose, from: h.from, to: h.to, term: h.term, requestId, commands };
  },
};

export const forwardProposeResponseCodec: MessageCodec<ForwardProposeResponse> = {
  type: MessageType.ForwardProposeResponse,
  bodySize: (m) => 24 + stringSize(m.error) + stringSize(m.leaderId),
  writeBody(w, m) {
    w.u64(m.requestId, 'requestId');
    w.u64(m.index, 'index');
    w.u64(m.entryTerm, 'entryTerm');
    w.string(m.error, MAX_STRING_BYTES, 'error');
    w.string(m.leaderId, MAX_STRING_BYTES, 'leaderId');
  },
  readBody(r, h) {
    const requestId = r.u64('requestId');
    const index = r.u64('index');
    const entryTerm = r.u64('entryTerm');
    const error = r.string(MAX_STRING_BYTES, 'error');
    const leaderId = r.string(MAX_STRING_BYTES, 'leaderId');
    return {
      type: MessageType.ForwardProposeResponse,
      from: h.from,
      to: h.to,
      term: h.term,
      requestId,
      index,
      entryTerm,
      error,
      leaderId,
    };
  },
};

export const readIndexRequestCodec: MessageCodec<ReadIndexRequest> = {
  type: MessageType.ReadIndexRequest,
  bodySize: () => 8,
  writeBody(w, m) {
    w.u64(m.requestId, 'requestId');
  },
  readBody(r, h) {
    const requestId = r.u64('requestId');
    return { type: MessageType.ReadIndexRequest, from: h.from, to: h.to, term: h.term, requestId };
  },
};

export const readIndexResponseCodec: MessageCodec<ReadIndexResponse> = {
  type: MessageType.ReadIndexResponse,
  bodySize: (m) => 16 + stringSize(m.error) + stringSize(m.leaderId),
  writeBody(w, m) {
    w.u64(m.requestId, 'requestId');
    w.u64(m.index, 'index');
    w.string(m.error, MAX_STRING_BYTES, 'error');
    w.string(m.leaderId, MAX_STRING_BYTES, 'leaderId');
  },
  readBody(r, h) {
    const requestId = r.u64('requestId');
    const index = r.u64('index');
    const error = r.string(MAX_STRING_BYTES, 'error');
    const leaderId = r.string(MAX_STRING_BYTES, 'leaderId');
    return {
      type: MessageType.ReadIndexResponse,
      from: h.from,
      to: h.to,
      term: h.term,
      requestId,
      index,
      error,
      leaderId,
    };
  },
};
