/**
 * The leader's side of log replication: per-follower flow control (probe / replicate / snapshot), heartbeats
 * that never wait on disk, fast back-off on rejections, commitment by counting current-term entries only, check-
 * quorum, snapshot streaming and the leadership-transfer hand-off.
 */
import {
  type AppendEntries,
  type AppendEntriesResponse,
  type InstallSnapshotResponse,
  MessageType,
  type NodeId,
} from '../types.js';
import { isVoter } from './config.js';
import { nextIndexAfterRejection } from './conflict.js';
import { Progress } from './progress.js';
import { quorumIndex, quorumSize } from './quorum.js';
import type { RaftCore } from './raft.js';
import { serveReads } from './requests.js';

/** Ticks without progress after which a pipelined follower is probed again (its messages were probably lost). */
function stallTicks(c: RaftCore): number {
  return Math.max(2 * c.cfg.heartbeatTicks, Math.ceil(c.cfg.electionTicks / 2));
}

/**
 * Creates progress for new members, and marks removed ones as departing (after a configuration change or an
 * election). A configuration takes effect when appended, so a removed follower would otherwise never receive the
 * entry that removes it, let alone learn that it committed: it could not tell whether it is still a member. The
 * leader keeps replicating to it (it never counts for quorums: those use the configuration's voters) until it has
 * acknowledged a message sent after it was told of the commit, or for two election timeouts at most.
 */
export function syncProgress(c: RaftCore): void {
  const config = c.configs.latest();
  const ids = new Set<NodeId>();
  for (const m of config.members) {
    if (m.id === c.id) continue;
    ids.add(m.id);
    const pr = c.progress.get(m.id);
    // A member added back while it was still departing starts afresh, as any new member: it may be another
    // machine with the same id and an empty log, and what the old one acknowledged must not count for it.
    if (pr === undefined || pr.departing !== null) {
      c.progress.set(
        m.id,
        new Progress(m.id, c.log.lastIndex() + 1, c.cfg.maxInflightMessages, c.cfg.maxInflightBytes, c.now),
      );
    }
  }
  for (const [id, pr] of c.progress) {
    if (ids.has(id) || pr.departing !== null) continue;
    pr.departing = { configIndex: c.configs.latestIndex(), since: c.now, toldRound: null };
  }
}

/**
 * Forgets a departing follower once it is known to have learned that its removal committed: it acknowledged a
 * message of a heartbeat round that began after the leader first sent it that commit (every message since anchors
 * at or above the removal, so any of them carries the news). Gives up after two election timeouts (a crashed or
 * cut-off follower). Returns whether the follower was forgotten.
 */
function settleDeparture(c: RaftCore, pr: Progress): boolean {
  const d = pr.departing;
  if (d === null) return false;
  if (d.toldRound === null) {
    const told = c.log.committed >= d.configIndex && pr.match >= d.configIndex && pr.sentCommit >= d.configIndex;
    if (told) d.toldRound = c.round;
  } else if (pr.ackedRound > d.toldRound) {
    c.progress.delete(pr.id);
    return true;
  }
  if (c.now - d.since >= 2 * c.cfg.electionTicks) {
    c.progress.delete(pr.id);
    return true;
  }
  return false;
}

export function tickLeader(c: RaftCore): void {
  c.heartbeatElapsed++;
  c.checkQuorumElapsed++;

  if (c.checkQuorumElapsed >= c.cfg.electionTicks) {
    c.checkQuorumElapsed = 0;
    if (c.cfg.checkQuorum && !quorumActive(c)) {
      c.becomeFollower(c.term, null);
      return;
    }
    for (const pr of c.progress.values()) pr.recentActive = false;
  }

  if (c.heartbeatElapsed >= c.cfg.heartbeatTicks) {
    c.heartbeatElapsed = 0;
    for (const pr of c.progress.values()) {
      if (settleDeparture(c, pr)) continue;
      // A link reported congested that never drained (a transport that lost the connection, say) is retried;
      // the in-flight limits still bound what can pile up.
      if (pr.congested && c.now - pr.progressTick >= stallTicks(c)) pr.congested = false;
      if (pr.state === 'probe') pr.probeSent = false;
      else if (pr.state === 'replicate' && pr.inflight.count > 0 && c.now - pr.progressTick >= stallTicks(c)) {
        pr.becomeProbe(pr.match + 1, c.now);
      } else if (pr.state === 'snapshot' && pr.snapshot !== null && c.now - pr.snapshot.sentTick >= stallTicks(c)) {
        sendSnapshotChunk(c, pr);
      }
    }
    broadcastHeartbeat(c);
  }
}

/** Did a quorum of voters (this leader included, if it is a voter) talk to us since the last check? */
function quorumActive(c: RaftCore): boolean {
  const voters = c.voters();
  let active = 0;
  for (const v of voters) {
    if (v === c.id || c.progress.get(v)?.recentActive === true) active++;
  }
  return active >= quorumSize(voters.length);
}

/** Starts a new heartbeat round to every follower. Heartbeats carry no entries and never wait on disk. */
export function broadcastHeartbeat(c: RaftCore): void {
  c.round++;
  c.roundClock.record(c.round, c.now);
  c.reads.assignRound(c.round);
  for (const pr of c.progress.values()) sendHeartbeat(c, pr);
  // A leader alone in its configuration confirms its rounds by itself.
  serveReads(c);
}

/**
 * Where a heartbeat to this follower anchors: its match index, which it is known to hold, so a heartbeat is never
 * rejected for a gap. When the leader compacted that entry away (the follower needs a snapshot) the term is
 * unknown and the heartbeat anchors at 0/0: it then keeps the follower's timer reset but vouches for nothing.
 */
function heartbeatAnchor(c: RaftCore, pr: Progress): { prevIndex: number; prevTerm: number } {
  const prevTerm = c.log.term(pr.match);
  return prevTerm === undefined ? { prevIndex: 0, prevTerm: 0 } : { prevIndex: pr.match, prevTerm };
}

function sendHeartbeat(c: RaftCore, pr: Progress): void {
  const { prevIndex, prevTerm } = heartbeatAnchor(c, pr);
  sendAppend(c, pr.id, prevIndex, prevTerm, []);
}

/**
 * etcd's CanBumpCommit, deferred: the follower is marked, and sendCommitBumps tells it later unless an
 * AppendEntries sent meanwhile (the next batch, usually) already did.
 */
function maybeBumpCommit(c: RaftCore, pr: Progress): void {
  if (c.role === 'leader' && pr.canBumpCommit(c.log.committed)) c.bumpWanted.add(pr.id);
}

/**
 * Sends the deferred commit updates, restricted to heartbeats that can vouch for more than the follower was
 * already sent: a bump whose anchor is compacted away (0/0) cannot raise the follower's commit, and answering each
 * of its replies with another such bump was an endless ping-pong per follower, one more for every duplicated
 * message. With this rule every bump strictly raises `sentCommit`, so the exchange ends.
 */
export function sendCommitBumps(c: RaftCore): void {
  if (c.bumpWanted.size === 0) return;
  const ids = [...c.bumpWanted];
  c.bumpWanted.clear();
  if (c.role !== 'leader') return;
  for (const id of ids) {
    const pr = c.progress.get(id);
    if (pr === undefined) continue;
    const { prevIndex } = heartbeatAnchor(c, pr);
    if (Math.min(c.log.committed, prevIndex) > pr.sentCommit) sendHeartbeat(c, pr);
  }
}

function sendAppend(
  c: RaftCore,
  to: NodeId,
  prevIndex: number,
  prevTerm: number,
  entries: AppendEntries['entries'],
): void {
  c.sentThisReady.add(to);
  const pr = c.progress.get(to);
  if (pr !== undefined) {
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(c.log.committed, prevIndex + entries.length));
  }
  c.send({
    type: MessageType.AppendEntries,
    to,
    prevIndex,
    prevTerm,
    entries,
    commit: c.log.committed,
    round: c.round,
  });
}

/** Sends every follower what it can take now; called once per Ready so proposals are batched. */
export function replicate(c: RaftCore): void {
  for (const pr of c.progress.values()) maybeSendEntries(c, pr);
  if (c.log.committed > c.commitBroadcast) {
    // Tell followers that got nothing this time about the new commit index, so they apply promptly (deferred,
    // as above: the proposals this commit's results set off usually carry it).
    for (const pr of c.progress.values()) if (!c.sentThisReady.has(pr.id)) c.bumpWanted.add(pr.id);
    c.commitBroadcast = c.log.committed;
  }
}

function maybeSendEntries(c: RaftCore, pr: Progress): void {
  const last = c.log.lastIndex();
  while (pr.canSendEntries()) {
    if (pr.state === 'replicate' && pr.next > last) return;
    const prevIndex = pr.next - 1;
    const prevTerm = c.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < c.log.firstIndex()) {
      startSnapshot(c, pr);
      return;
    }
    const entries =
      pr.next <= last
        ? c.log.entries(pr.next, Math.min(last + 1, pr.next + c.cfg.maxEntriesPerMessage), c.cfg.maxBytesPerMessage)
        : [];
    sendAppend(c, pr.id, prevIndex, prevTerm, entries);
    if (pr.state === 'probe') {
      pr.probeSent = true;
      return;
    }
    let bytes = 0;
    for (const e of entries) bytes += e.data.length;
    const lastSent = entries[entries.length - 1]!.index;
    pr.inflight.add(lastSent, bytes);
    pr.next = lastSent + 1;
  }
}

function startSnapshot(c: RaftCore, pr: Progress): void {
  if (pr.snapshotRetryTick > c.now) return;
  const snapshot = c.storage.latestSnapshot();
  if (snapshot === null || snapshot.meta.index < c.log.firstIndex() - 1) {
    // Cannot happen with a consistent store (compaction only follows a saved snapshot); retry later.
    pr.snapshotRetryTick = c.now + c.cfg.heartbeatTicks;
    return;
  }
  pr.becomeSnapshot(snapshot, c.now);
  sendSnapshotChunk(c, pr);
}

function sendSnapshotChunk(c: RaftCore, pr: Progress): void {
  const s = pr.snapshot;
  if (s === null) return;
  const { meta, data } = s.snapshot;
  const offset = Math.min(s.acked, data.length);
  const chunk = data.subarray(offset, Math.min(data.length, offset + c.cfg.snapshotChunkBytes));
  s.sentOffset = offset;
  s.sentTick = c.now;
  c.sentThisReady.add(pr.id);
  c.send({
    type: MessageType.InstallSnapshot,
    to: pr.id,
    meta,
    offset,
    chunk,
    done: offset + chunk.length >= data.length,
  });
}

function noteContact(c: RaftCore, pr: Progress, round: number): void {
  pr.lastResponseTick = c.now;
  pr.recentActive = true;
  if (round > pr.ackedRound) {
    pr.ackedRound = round;
    serveReads(c);
  }
}

export function handleAppendResponse(c: RaftCore, m: AppendEntriesResponse): void {
  if (c.role !== 'leader' || m.term !== c.term) return;
  const pr = c.progress.get(m.from);
  if (pr === undefined) return;
  noteContact(c, pr, m.round);
  if (m.success) {
    const advanced = pr.maybeUpdate(Math.min(m.matchIndex, c.log.lastIndex()), c.now);
    if (pr.state === 'probe') pr.becomeReplicate(c.now);
    else if (pr.state === 'replicate' && advanced) pr.probeSent = false;
    if (advanced) maybeCommit(c);
    // The commit index may have advanced on another follower's ack while this one's entries were in flight: the
    // commit-only heartbeat it got then could not vouch for them. Tell it now instead of at the next heartbeat,
    // or a proposal forwarded by this follower waits a whole heartbeat interval for its result.
    maybeBumpCommit(c, pr);
    maybeSendTimeoutNow(c, pr);
    settleDeparture(c, pr);
    return;
  }
  if (pr.state === 'snapshot') return;
  const next = nextIndexAfterRejection(
    (i) => c.log.term(i),
    c.log.firstIndex() - 1,
    c.log.lastIndex(),
    m.conflictTerm,
    m.conflictIndex,
    pr.match + 1,
  );
  pr.becomeProbe(next, c.now);
}

export function handleSnapshotResponse(c: RaftCore, m: InstallSnapshotResponse): void {
  if (c.role !== 'leader' || m.term !== c.term) return;
  const pr = c.progress.get(m.from);
  if (pr === undefined) return;
  noteContact(c, pr, 0);
  const s = pr.snapshot;
  if (pr.state !== 'snapshot' || s === null || s.snapshot.meta.index !== m.index) {
    // A late answer to an earlier transfer: it still tells us what the follower has.
    if (m.done && pr.maybeUpdate(Math.min(m.index, c.log.lastIndex()), c.now)) maybeCommit(c);
    return;
  }
  if (m.received < 0) {
    // Refused: fall back to probing; try again after a heartbeat interval.
    pr.becomeProbe(pr.match + 1, c.now);
    pr.probeSent = true;
    pr.snapshotRetryTick = c.now + c.cfg.heartbeatTicks;
    return;
  }
  if (m.done) {
    pr.maybeUpdate(m.index, c.now);
    c.counters.snapshotsSent++;
    pr.becomeProbe(m.index + 1, c.now);
    maybeCommit(c);
    return;
  }
  s.acked = m.received;
  sendSnapshotChunk(c, pr);
}

/** Advances the commit index to what a quorum of voters has durably, if that entry is of the current term. */
export function maybeCommit(c: RaftCore): void {
  if (c.role !== 'leader') return;
  const voters = c.voters();
  const matches = voters.map((v) => (v === c.id ? c.log.durable : (c.progress.get(v)?.match ?? 0)));
  const index = quorumIndex(matches);
  if (index <= c.log.committed || c.log.term(index) !== c.term) return;
  const wasCommittedInTerm = c.committedInTerm();
  c.commitTo(index);
  if (!wasCommittedInTerm && c.committedInTerm()) c.reads.termCommitted(c.log.committed);
  serveReads(c);
  // A leader that is no longer a voter (removed or demoted) steps down once that change is committed.
  if (c.configs.latestIndex() <= c.log.committed && !isVoter(c.configs.latest(), c.id)) {
    handOff(c);
    c.becomeFollower(c.term, null);
  }
}

/** On stepping down after its removal, the leader lets the most up-to-date voter campaign at once. */
function handOff(c: RaftCore): void {
  let best: Progress | null = null;
  for (const v of c.voters()) {
    const pr = c.progress.get(v);
    if (
      pr !== undefined &&
      pr.match === c.log.lastIndex() &&
      (best === null || pr.lastResponseTick > best.lastResponseTick)
    ) {
      best = pr;
    }
  }
  if (best !== null) c.send({ type: MessageType.TimeoutNow, to: best.id });
}

/** A leadership transfer hands over (TimeoutNow) once the target's log is up to date. */
export function maybeSendTimeoutNow(c: RaftCore, pr: Progress): void {
  const t = c.transfer;
  if (t === null || t.target !== pr.id || t.timeoutNowSent || pr.match < c.log.lastIndex()) return;
  t.timeoutNowSent = true;
  c.send({ type: MessageType.TimeoutNow, to: pr.id });
}
