/**
 * AppendEntries (type 1) and its response (type 2).
 *
 *   AppendEntries          = header, u64 prevIndex, u64 prevTerm, u64 commit, u64 round, u32 count, entry × count
 *   AppendEntriesResponse  = header, u8 success, u64 matchIndex, u64 conflictTerm, u64 conflictIndex, u64 round
 *
 * Entry data is returned as views into the received frame (no copy).
 */
import { type AppendEntries, type AppendEntriesResponse, MessageType } from '../../types.js';
import type { MessageCodec } from './codec.js';
import { entriesSize, readEntries, writeEntries } from './common.js';

export const appendEntriesCodec: MessageCodec<AppendEntries> = {
  type: MessageType.AppendEntries,
  bodySize: (m) => 32 + entriesSize(m.entries),
  writeBody(w, m) {
    w.u64(m.prevIndex, 'prevIndex');
    w.u64(m.prevTerm, 'prevTerm');
    w.u64(m.commit, 'commit');
    w.u64(m.round, 'round');
    writeEntries(w, m.entries);
  },
  readBody(r, h) {
    const prevIndex = r.u64('prevIndex');
    const prevTerm = r.u64('prevTerm');
    const commit = r.u64('commit');
    const round = r.u64('round');
    const entries = readEntries(r);
    return {
      type: MessageType.AppendEntries,
      from: h.from,
      to: h.to,
      term: h.term,
      prevIndex,
      prevTerm,
      entries,
      commit,
      round,
    };
  },
};

export const appendEntriesResponseCodec: MessageCodec<AppendEntriesResponse> = {
  type: MessageType.AppendEntriesResponse,
  bodySize: () => 1 + 32,
  writeBody(w, m) {
    w.bool(m.success);
    w.u64(m.matchIndex, 'matchIndex');
    w.u64(m.conflictTerm, 'conflictTerm');
    w.u64(m.conflictIndex, 'conflictIndex');
    w.u64(m.round, 'round');
  },
  readBody(r, h) {
    const success = r.bool('success');
    const matchIndex = r.u64('matchIndex');
    const conflictTerm = r.u64('conflictTerm');
    const conflictIndex = r.u64('conflictIndex');
    const round = r.u64('round');
    return {
      type: MessageType.AppendEntriesResponse,
      from: h.from,
      to: h.to,
      term: h.term,
      success,
      matchIndex,
      conflictTerm,
      conflictIndex,
      round,
    };
  },
};
