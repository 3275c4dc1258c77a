/**
 * Structural validation of incoming messages. Messages come off the network, so the core must never crash on
 * their content: anything malformed or absurd is dropped here, before it reaches the protocol logic. (Semantic
 * checks, such as an AppendEntries whose prevIndex is far past the log, are normal Raft and handled there.)
 */
import { EntryType, type Message, MessageType, type SnapshotMeta } from '../types.js';
import { configurationProblem } from './config.js';

/** Largest snapshot the engine accepts (Node's typed arrays and a sane memory budget). */
export const MAX_SNAPSHOT_BYTES = 2 ** 31 - 1;
const MAX_ID_LENGTH = 256;
const MAX_ADDR_LENGTH = 1024;
const MAX_ERROR_LENGTH = 64;

function idx(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function str(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

function bool(v: unknown): v is boolean {
  return typeof v === 'boolean';
}

function bytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function validMeta(meta: unknown): meta is SnapshotMeta {
  if (typeof meta !== 'object' || meta === null) return false;
  const m = meta as Partial<SnapshotMeta>;
  if (!idx(m.index) || !idx(m.term) || !idx(m.size) || m.size > MAX_SNAPSHOT_BYTES) return false;
  if (m.index > 0 && m.term === 0) return false;
  if (typeof m.config !== 'object' || m.config === null || !Array.isArray(m.config.members)) return false;
  for (const member of m.config.members as unknown[]) {
    if (typeof member !== 'object' || member === null) return false;
    const { id, addr, voter } = member as { id?: unknown; addr?: unknown; voter?: unknown };
    if (!str(id, MAX_ID_LENGTH) || !str(addr, MAX_ADDR_LENGTH) || !bool(voter)) return false;
  }
  return configurationProblem(m.config) === null;
}

/** True when `msg` is well-formed and addressed to `self` from someone else. */
export function isValidMessage(msg: unknown, self: string): msg is Message {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as Record<string, unknown>;
  if (!str(m.from, MAX_ID_LENGTH) || m.from.length === 0 || m.from === self) return false;
  if (m.to !== self || !idx(m.term)) return false;
  if (m.fromAddr !== undefined && !str(m.fromAddr, MAX_ADDR_LENGTH)) return false;
  switch (m.type) {
    case MessageType.AppendEntries: {
      if (!idx(m.prevIndex) || !idx(m.prevTerm) || !idx(m.commit) || !idx(m.round)) return false;
      if (m.prevTerm > m.term || (m.prevIndex === 0) !== (m.prevTerm === 0)) return false;
      if (!Array.isArray(m.entries)) return false;
      let expect = m.prevIndex + 1;
      let lastTerm = m.prevTerm;
      for (const e of m.entries as unknown[]) {
        if (typeof e !== 'object' || e === null) return false;
        const entry = e as Record<string, unknown>;
        if (
          entry.index !== expect ||
          !idx(entry.term) ||
          entry.term === 0 ||
          entry.term < lastTerm ||
          entry.term > m.term
        )
          return false;
        if (entry.type !== EntryType.Command && entry.type !== EntryType.Noop && entry.type !== EntryType.Config) {
          return false;
        }
        if (!bytes(entry.data)) return false;
        expect++;
        lastTerm = entry.term;
      }
      return Number.isSafeInteger(expect);
    }
    case MessageType.AppendEntriesResponse:
      return bool(m.success) && idx(m.matchIndex) && idx(m.conflictTerm) && idx(m.conflictIndex) && idx(m.round);
    case MessageType.RequestVote:
      return idx(m.lastIndex) && idx(m.lastTerm) && bool(m.preVote) && bool(m.transfer) && m.term > 0;
    case MessageType.RequestVoteResponse:
      return bool(m.granted) && bool(m.preVote);
    case MessageType.InstallSnapshot: {
      if (!validMeta(m.meta) || !idx(m.offset) || !bytes(m.chunk) || !bool(m.done)) return false;
      if (m.meta.index === 0 || m.meta.term > m.term) return false;
      return m.offset + m.chunk.length <= m.meta.size;
    }
    case MessageType.InstallSnapshotResponse:
      return (
        idx(m.index) &&
        typeof m.received === 'number' &&
        Number.isSafeInteger(m.received) &&
        m.received >= -1 &&
        bool(m.done)
      );
    case MessageType.TimeoutNow:
      return true;
    case MessageType.ForwardPropose:
      return idx(m.requestId) && Array.isArray(m.commands) && (m.commands as unknown[]).every(bytes);
    case MessageType.ForwardProposeResponse:
      return (
        idx(m.requestId) &&
        idx(m.index) &&
        idx(m.entryTerm) &&
        str(m.error, MAX_ERROR_LENGTH) &&
        str(m.leaderId, MAX_ID_LENGTH)
      );
    case MessageType.ReadIndexRequest:
      return idx(m.requestId);
    case MessageType.ReadIndexResponse:
      return idx(m.requestId) && idx(m.index) && str(m.error, MAX_ERROR_LENGTH) && str(m.leaderId, MAX_ID_LENGTH);
    default:
      return false;
  }
}
