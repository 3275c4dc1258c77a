/**
 * The follower's side of replication: the AppendEntries consistency check with the fast back-off hint, conflict
 * truncation, commit, acknowledgements that are only sent once the acknowledged entries are durable (heartbeats
 * are answered at once with what is already durable), and the assembly and installation of snapshots.
 */
import {
  type AppendEntries,
  type AppendEntriesResponse,
  type InstallSnapshot,
  MessageType,
  type NodeId,
  type SnapshotMeta,
} from '../types.js';
import { firstIndexOfTerm } from './conflict.js';
import type { RaftCore } from './raft.js';

/** An acknowledgement waiting for the entries it covers to be durable. One per node: later ones extend it. */
export interface PendingAck {
  to: NodeId;
  term: number;
  index: number;
  entryTerm: number | undefined;
  round: number;
  hsSeq: number;
}

/** A snapshot being received chunk by chunk. */
export interface Assembly {
  from: NodeId;
  term: number;
  meta: SnapshotMeta;
  chunks: Uint8Array[];
  received: number;
}

/** The "done" answer for an installed snapshot, sent once the snapshot is saved. */
export interface SnapshotDone {
  to: NodeId;
  term: number;
  index: number;
  size: number;
}

function respond(
  c: RaftCore,
  to: NodeId,
  fields: Omit<AppendEntriesResponse, 'type' | 'from' | 'to' | 'term' | 'fromAddr'>,
): void {
  c.send({ type: MessageType.AppendEntriesResponse, to, ...fields });
}

function reject(c: RaftCore, m: AppendEntries, conflictTerm: number, conflictIndex: number): void {
  respond(c, m.from, { success: false, matchIndex: 0, conflictTerm, conflictIndex, round: m.round });
}

/** The highest index this node may acknowledge: durable, and not waiting for a snapshot to be saved. */
function ackable(c: RaftCore): number {
  return c.persist.installing !== null ? 0 : c.log.durable;
}

export function handleAppendEntries(c: RaftCore, m: AppendEntries): void {
  if (m.term < c.term) {
    // A stale leader: answer with our term so it steps down.
    reject(c, m, 0, 0);
    return;
  }
  if (c.role !== 'follower' || c.leaderId !== m.from) c.becomeFollower(m.term, m.from);
  c.electionElapsed = 0;
  const log = c.log;

  if (m.prevIndex > log.lastIndex()) {
    reject(c, m, 0, log.lastIndex() + 1);
    return;
  }
  if (m.prevIndex > log.committed) {
    const t = log.term(m.prevIndex);
    if (t === undefined) {
      reject(c, m, 0, log.committed + 1); // cannot happen: everything above commit is readable
      return;
    }
    if (t !== m.prevTerm) {
      const lo = Math.max(log.committed + 1, log.firstIndex());
      reject(
        c,
        m,
        t,
        firstIndexOfTerm((i) => log.term(i), lo, m.prevIndex, t),
      );
      return;
    }
  }
  // Entries up to commit are committed and so identical to the leader's; below prevIndex everything matches.
  const conflict = log.findConflict(m.entries);
  if (conflict !== 0) {
    if (conflict <= log.committed) {
      // The leader contradicts a committed entry: impossible in a correct cluster. Drop the message.
      c.counters.messagesDropped++;
      return;
    }
    const fresh = m.entries.slice(conflict - (m.prevIndex + 1));
    if (conflict <= log.lastIndex() && c.configs.truncateFrom(conflict)) c.configChanged();
    log.truncateAndAppend(fresh);
    for (const e of fresh) c.noteAppendedConfig(e, true);
  }
  const lastNew = m.prevIndex + m.entries.length;
  c.commitTo(Math.min(m.commit, lastNew));

  if (m.entries.length === 0) {
    // A heartbeat: answer now with what is durable (never wait on disk).
    respond(c, m.from, {
      success: true,
      matchIndex: Math.min(lastNew, ackable(c)),
      conflictTerm: 0,
      conflictIndex: 0,
      round: m.round,
    });
    return;
  }
  const prev = c.pendingAck;
  if (prev !== null && prev.term === c.term && prev.to === m.from) {
    if (lastNew > prev.index) {
      prev.index = lastNew;
      prev.entryTerm = log.term(lastNew);
    }
    prev.round = Math.max(prev.round, m.round);
    prev.hsSeq = c.hsSeq;
  } else {
    c.pendingAck = {
      to: m.from,
      term: c.term,
      index: lastNew,
      entryTerm: log.term(lastNew),
      round: m.round,
      hsSeq: c.hsSeq,
    };
  }
}

/** Sends pending acknowledgements once what they cover is durable (called from ready()). */
export function releaseFollowerAcks(c: RaftCore): void {
  releaseSnapshotDone(c);
  const ack = c.pendingAck;
  if (ack === null) return;
  if (ack.term !== c.term || c.role !== 'follower') {
    c.pendingAck = null;
    return;
  }
  const log = c.log;
  if (ack.index >= log.firstIndex() && log.term(ack.index) !== ack.entryTerm) {
    c.pendingAck = null; // superseded by a truncation
    return;
  }
  if (ackable(c) < ack.index || c.hsSavedSeq < ack.hsSeq) return;
  c.pendingAck = null;
  respond(c, ack.to, { success: true, matchIndex: ack.index, conflictTerm: 0, conflictIndex: 0, round: ack.round });
}

function respondSnapshot(c: RaftCore, to: NodeId, index: number, received: number, done: boolean): void {
  c.send({ type: MessageType.InstallSnapshotResponse, to, index, received, done });
}

export function handleInstallSnapshot(c: RaftCore, m: InstallSnapshot): void {
  if (m.term < c.term) {
    respondSnapshot(c, m.from, m.meta.index, -1, false);
    return;
  }
  if (c.role !== 'follower' || c.leaderId !== m.from) c.becomeFollower(m.term, m.from);
  c.electionElapsed = 0;
  const meta = m.meta;

  if (c.persist.installing !== null) return; // still saving the previous one; the leader will retransmit
  if (meta.index <= c.log.committed) {
    // Nothing to install: everything it covers is already committed here.
    c.assembly = null;
    respondSnapshot(c, m.from, meta.index, meta.size, true);
    return;
  }

  let a = c.assembly;
  if (m.offset === 0) {
    a = { from: m.from, term: m.term, meta, chunks: [], received: 0 };
    c.assembly = a;
  } else if (
    a === null ||
    a.from !== m.from ||
    a.term !== m.term ||
    a.meta.index !== meta.index ||
    a.meta.term !== meta.term ||
    a.meta.size !== meta.size
  ) {
    respondSnapshot(c, m.from, meta.index, 0, false); // start over from the beginning
    return;
  }
  if (m.offset !== a.received) {
    respondSnapshot(c, m.from, meta.index, a.received, false); // resend from where we are
    return;
  }
  if (m.chunk.length > 0) {
    a.chunks.push(m.chunk.slice()); // copy: the transport may reuse its buffers
    a.received += m.chunk.length;
  }
  if (!m.done) {
    respondSnapshot(c, m.from, meta.index, a.received, false);
    return;
  }
  c.assembly = null;
  if (a.received !== meta.size) {
    respondSnapshot(c, m.from, meta.index, -1, false);
    return;
  }
  const data = new Uint8Array(meta.size);
  let at = 0;
  for (const chunk of a.chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  if (c.log.matchTerm(meta.index, meta.term)) {
    // Our log already has that entry, hence everything before it: just learn that it is committed.
    c.commitTo(meta.index);
  } else {
    c.installSnapshot({ meta, data });
    c.pendingAck = null;
  }
  c.snapshotDone = { to: m.from, term: c.term, index: meta.index, size: meta.size };
}

/** Answers "done" for an installed snapshot once it is saved. */
function releaseSnapshotDone(c: RaftCore): void {
  const d = c.snapshotDone;
  if (d === null) return;
  if (d.term !== c.term) {
    c.snapshotDone = null;
    return;
  }
  const inst = c.persist.installing;
  if (inst !== null && inst.index === d.index && !inst.saved) return;
  c.snapshotDone = null;
  respondSnapshot(c, d.to, d.index, d.size, true);
}
