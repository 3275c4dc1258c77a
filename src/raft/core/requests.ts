/**
 * Client requests inside the core: proposals (appended on the leader, forwarded by followers), ReadIndex reads
 * (confirmed with a heartbeat round, or a lease when enabled), single-server membership changes and leadership
 * transfer. Each request carries a driver-assigned id; its outcome is reported as a CoreResult.
 */
import { ClusterKitError, type ErrorCode, InvalidArgumentError, NotLeaderError, TimeoutError } from '../../errors.js';
import {
  type Configuration,
  EntryType,
  type ForwardPropose,
  type ForwardProposeResponse,
  MessageType,
  type NodeId,
  type ReadIndexRequest,
  type ReadIndexResponse,
} from '../types.js';
import { applyChange, encodeConfiguration, sameVoters } from './config.js';
import { quorumIndex, quorumSize } from './quorum.js';
import type { RaftCore, TransferState } from './raft.js';
import type { PendingRead } from './reads.js';
import { broadcastHeartbeat, maybeSendTimeoutNow } from './replication.js';
import type { MembershipChange } from './types.js';

/** Forwarded batches remembered per follower to recognise duplicates delivered by the network. */
const FORWARDS_REMEMBERED = 4096;

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_INVALID_ARGUMENT',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_NOT_LEADER',
  'ERR_TIMEOUT',
  'ERR_SHUTTING_DOWN',
  'ERR_STORAGE_CORRUPT',
  'ERR_STORAGE_IO',
  'ERR_PROTOCOL',
  'ERR_TRANSPORT',
  'ERR_UNAVAILABLE',
  'ERR_MEMBERSHIP',
  'ERR_INTERNAL',
]);

function overloaded(): ClusterKitError {
  return new ClusterKitError('ERR_UNAVAILABLE', 'the leader has too many uncommitted entries; retry shortly', {
    retriable: true,
  });
}

/** Would `n` more entries exceed the leader's budget of uncommitted entries? */
function overBudget(c: RaftCore, n: number): boolean {
  return c.log.lastIndex() - c.log.committed + n > c.cfg.maxUncommittedEntries;
}

function transferInProgress(): ClusterKitError {
  return new ClusterKitError('ERR_UNAVAILABLE', 'a leadership transfer is in progress; retry shortly', {
    retriable: true,
  });
}

/** Rebuilds the error a remote leader reported by code. */
function remoteError(c: RaftCore, code: string, leaderId: string): ClusterKitError {
  if (code === 'ERR_NOT_LEADER') {
    const id = leaderId.length > 0 && leaderId !== c.id ? leaderId : undefined;
    return new NotLeaderError(id, id === undefined ? undefined : c.addrOf(id));
  }
  if (code === 'ERR_UNAVAILABLE') {
    return new ClusterKitError(
      'ERR_UNAVAILABLE',
      'the leader cannot take proposals right now (leadership transfer, or too many uncommitted entries)',
      { retriable: true },
    );
  }
  const known = KNOWN_CODES.has(code) ? (code as ErrorCode) : 'ERR_PROTOCOL';
  return new ClusterKitError(known, `the leader refused the request (${code})`, { retriable: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Proposals
// ---------------------------------------------------------------------------------------------------------------

export function propose(c: RaftCore, reqId: number, command: Uint8Array): void {
  if (c.role === 'leader') {
    if (c.transfer !== null) {
      c.fail(reqId, transferInProgress());
      return;
    }
    if (overBudget(c, 1)) {
      c.fail(reqId, overloaded());
      return;
    }
    const index = c.appendEntries([{ type: EntryType.Command, data: command }]);
    c.result({ reqId, kind: 'appended', index, term: c.term });
    return;
  }
  if (c.leaderId !== null && c.addrOf(c.leaderId) !== undefined) {
    c.forwardQueue.push({ reqId, command });
    return;
  }
  c.fail(reqId, c.notLeaderError());
}

/** Sends the proposals queued since the last Ready to the leader, batched (called from ready()). */
export function flushForwards(c: RaftCore): void {
  if (c.forwardQueue.length === 0) return;
  const queued = c.forwardQueue.splice(0);
  if (c.role === 'leader') {
    for (const q of queued) propose(c, q.reqId, q.command);
    return;
  }
  const leader = c.leaderId;
  if (leader === null) {
    for (const q of queued) c.fail(q.reqId, c.notLeaderError());
    return;
  }
  let k = 0;
  while (k < queued.length) {
    const reqIds: number[] = [];
    const commands: Uint8Array[] = [];
    let bytes = 0;
    while (k < queued.length && reqIds.length < c.cfg.maxEntriesPerMessage) {
      const q = queued[k]!;
      if (reqIds.length > 0 && bytes + q.command.length > c.cfg.maxBytesPerMessage) break;
      reqIds.push(q.reqId);
      commands.push(q.command);
      bytes += q.command.length;
      k++;
    }
    const id = c.nextForwardId++;
    c.forwardBatches.set(id, { to: leader, term: c.term, reqIds, commands, sentTick: c.now });
    for (const r of reqIds) c.reqToBatch.set(r, id);
    c.send({ type: MessageType.ForwardPropose, to: leader, requestId: id, commands });
  }
}

/** Ticks without an answer after which a forwarded request is sent again. */
function retryTicks(c: RaftCore): number {
  return Math.max(2, 2 * c.cfg.heartbeatTicks);
}

/**
 * Expires a leadership transfer that did not complete, and resends forwarded proposals and reads that got no
 * answer (the network may lose either direction). A proposal
 * is only resent to the same leader in the same term: the leader deduplicates by request id within its term and
 * refuses forwards from earlier terms, so a command can never be appended twice.
 */
export function tickRequests(c: RaftCore): void {
  const t = c.transfer;
  if (t !== null && c.now >= t.deadlineTick) {
    // Nobody took over in time: give up and (if still leader) resume proposals.
    if (t.reqId !== null) c.fail(t.reqId, new TimeoutError(`leadership transfer to ${t.target} timed out`));
    c.transfer = null;
  } else if (t !== null && c.role === 'leader' && c.now - t.attemptTick >= c.cfg.electionTicks) {
    // Still leading an election timeout after this attempt began: the TimeoutNow or the target's votes were lost,
    // or the target is still catching up. Try again (a new target when none was named).
    retryTransfer(c, t);
  }
  const wait = retryTicks(c);
  for (const [id, b] of c.forwardBatches) {
    if (c.now - b.sentTick < wait || b.to !== c.leaderId || b.term !== c.term) continue;
    b.sentTick = c.now;
    c.send({ type: MessageType.ForwardPropose, to: b.to, requestId: id, commands: b.commands });
  }
  for (const [reqId, r] of c.readForwards) {
    if (c.now - r.sentTick < wait || c.leaderId === null || c.leaderId === c.id) continue;
    // Reads are idempotent: ask whoever leads now.
    r.to = c.leaderId;
    r.sentTick = c.now;
    c.send({ type: MessageType.ReadIndexRequest, to: r.to, requestId: reqId });
  }
}

export function handleForwardPropose(c: RaftCore, m: ForwardPropose): void {
  const answer = (index: number, error: string): void => {
    c.send({
      type: MessageType.ForwardProposeResponse,
      to: m.from,
      requestId: m.requestId,
      index,
      entryTerm: index > 0 ? c.term : 0,
      error,
      leaderId: c.leaderId ?? '',
    });
  };
  // Forwards from an earlier term are refused: this leader cannot know whether an earlier leader (or an earlier
  // incarnation of itself) already appended them. Within its term it deduplicates by request id.
  if (c.role !== 'leader' || m.term !== c.term) return answer(0, 'ERR_NOT_LEADER');
  // The network may duplicate a message: a forward seen before is answered again, never appended twice.
  let seen = c.forwardsSeen.get(m.from);
  const earlier = seen?.get(m.requestId);
  if (earlier !== undefined) {
    c.send({
      type: MessageType.ForwardProposeResponse,
      to: m.from,
      requestId: m.requestId,
      index: earlier.index,
      entryTerm: earlier.term,
      error: '',
      leaderId: c.id,
    });
    return;
  }
  if (c.transfer !== null || overBudget(c, m.commands.length)) return answer(0, 'ERR_UNAVAILABLE');
  if (m.commands.length === 0) return answer(0, 'ERR_INVALID_ARGUMENT');
  const index = c.appendEntries(m.commands.map((data) => ({ type: EntryType.Command, data })));
  if (seen === undefined) {
    seen = new Map();
    c.forwardsSeen.set(m.from, seen);
  }
  seen.set(m.requestId, { index, term: c.term });
  if (seen.size > FORWARDS_REMEMBERED) {
    const oldest = seen.keys().next();
    if (oldest.done !== true) seen.delete(oldest.value);
  }
  answer(index, '');
}

export function handleForwardProposeResponse(c: RaftCore, m: ForwardProposeResponse): void {
  const batch = c.forwardBatches.get(m.requestId);
  if (batch === undefined || batch.to !== m.from) return;
  c.forwardBatches.delete(m.requestId);
  for (const r of batch.reqIds) c.reqToBatch.delete(r);
  if (m.error === '' && m.index > 0 && m.entryTerm > 0) {
    batch.reqIds.forEach((reqId, k) => {
      if (reqId >= 0) c.result({ reqId, kind: 'appended', index: m.index + k, term: m.entryTerm });
    });
    return;
  }
  const error = remoteError(c, m.error === '' ? 'ERR_PROTOCOL' : m.error, m.leaderId);
  for (const reqId of batch.reqIds) if (reqId >= 0) c.fail(reqId, error);
}

// ---------------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------------

export function read(c: RaftCore, reqId: number): void {
  if (c.role === 'leader') {
    c.reads.add({ reqId, from: null, remoteId: 0 }, c.committedInTerm() ? c.log.committed : null);
    serveReads(c);
    return;
  }
  const leader = c.leaderId;
  if (leader !== null && c.addrOf(leader) !== undefined) {
    c.readForwards.set(reqId, { to: leader, sentTick: c.now });
    c.send({ type: MessageType.ReadIndexRequest, to: leader, requestId: reqId });
    return;
  }
  c.fail(reqId, c.notLeaderError());
}

export function handleReadIndexRequest(c: RaftCore, m: ReadIndexRequest): void {
  if (c.role !== 'leader') {
    c.send({
      type: MessageType.ReadIndexResponse,
      to: m.from,
      requestId: m.requestId,
      index: 0,
      error: 'ERR_NOT_LEADER',
      leaderId: c.leaderId ?? '',
    });
    return;
  }
  c.reads.add({ reqId: null, from: m.from, remoteId: m.requestId }, c.committedInTerm() ? c.log.committed : null);
  serveReads(c);
}

export function handleReadIndexResponse(c: RaftCore, m: ReadIndexResponse): void {
  if (c.readForwards.get(m.requestId)?.to !== m.from) return;
  c.readForwards.delete(m.requestId);
  if (m.error === '' && m.index > 0) c.result({ reqId: m.requestId, kind: 'read', index: m.index });
  else c.fail(m.requestId, remoteError(c, m.error === '' ? 'ERR_PROTOCOL' : m.error, m.leaderId));
}

/** Starts a heartbeat round for reads registered since the last one (called from ready(), so reads batch). */
export function startReadRound(c: RaftCore): void {
  if (c.role === 'leader' && c.reads.needsRound()) broadcastHeartbeat(c);
}

/** Confirms every read whose round a quorum acknowledged (or all of them under a valid lease). */
export function serveReads(c: RaftCore): void {
  if (c.role !== 'leader' || c.reads.size === 0 || !c.committedInTerm()) return;
  const confirmed = leaseValid(c) ? c.reads.confirmAllWithIndex() : c.reads.confirm(quorumRound(c));
  for (const r of confirmed) deliverRead(c, r);
}

function deliverRead(c: RaftCore, r: PendingRead): void {
  if (r.reqId !== null) {
    c.result({ reqId: r.reqId, kind: 'read', index: r.index });
  } else if (r.from !== null) {
    c.send({
      type: MessageType.ReadIndexResponse,
      to: r.from,
      requestId: r.remoteId,
      index: r.index,
      error: '',
      leaderId: c.id,
    });
  }
}

/** The highest heartbeat round acknowledged by a quorum of voters (the leader acknowledges all of its own). */
function quorumRound(c: RaftCore): number {
  const rounds = c.voters().map((v) => (v === c.id ? Number.MAX_SAFE_INTEGER : (c.progress.get(v)?.ackedRound ?? 0)));
  return quorumIndex(rounds);
}

function leaseValid(c: RaftCore): boolean {
  if (!c.cfg.leaseReads || c.transfer !== null) return false;
  const voters = c.voters();
  const sentTicks = voters.map((v) => {
    if (v === c.id) return c.now;
    const pr = c.progress.get(v);
    return pr === undefined ? -1 : (c.roundClock.sentAt(pr.ackedRound) ?? -1);
  });
  const since = quorumIndexOrNone(sentTicks, quorumSize(voters.length));
  if (since < 0) return false;
  // Followers refuse votes for electionTicks after hearing from us; keep a margin for clock-rate differences.
  const margin = Math.max(1, Math.ceil(c.cfg.electionTicks / 10));
  return c.now < since + c.cfg.electionTicks - margin;
}

function quorumIndexOrNone(values: number[], q: number): number {
  if (values.length === 0) return -1;
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[q - 1] ?? -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------------------------------

export function changeMembership(c: RaftCore, reqId: number, change: MembershipChange): void {
  if (c.role !== 'leader') return c.fail(reqId, c.notLeaderError());
  if (c.transfer !== null) return c.fail(reqId, transferInProgress());
  const latest = c.configs.latest();
  let next;
  try {
    next = applyChange(latest, change);
  } catch (err) {
    c.fail(reqId, asClusterKitError(err));
    return;
  }
  if (next === null) {
    alreadyInEffect(c, reqId);
    return;
  }
  // A change that leaves the voters as they are (adding or removing a non-voter) is exempt from the one-change-at-a-
  // time rule: it introduces no new voter set, so every configuration that can be in force anywhere still has one
  // of the voter sets that were possible before it, and any two of those share a majority. Such changes are
  // appended at once, even while another commits (or, for a new leader, before its first commit), and changes
  // made together batch into one append (many nodes joining at once).
  if (sameVoters(latest, next)) {
    appendConfig(c, reqId, next);
    return;
  }
  // A change of the voters waits for every earlier one this leader appended to commit. It is refused while
  // another voter change is uncommitted or waiting; behind changes that keep the voters it queues. An uncommitted
  // configuration from an earlier term blocks nothing: it commits with this leader's no-op, which the change waits
  // for anyway.
  const ownUncommitted = c.configs.latestIndex() >= c.termStartIndex && c.configs.latestIndex() > c.log.committed;
  const votersUncommitted = ownUncommitted && !sameVoters(c.configs.at(c.log.committed), latest);
  if (c.pendingChange !== null || votersUncommitted) {
    return c.fail(
      reqId,
      new ClusterKitError('ERR_MEMBERSHIP', 'another configuration change is in progress; retry once it commits', {
        retriable: true,
      }),
    );
  }
  c.pendingChange = { reqId, change };
  processPendingChange(c);
}

/**
 * The change is already in the latest configuration. If that one has not committed yet (the same change asked twice,
 * say), the request succeeds only once it commits: it waits for that entry like the request that appended it, and
 * fails like it if the entry is lost with this leader.
 */
function alreadyInEffect(c: RaftCore, reqId: number): void {
  const index = c.configs.latestIndex();
  const term = c.log.term(index);
  if (index > c.log.committed && term !== undefined) c.result({ reqId, kind: 'appended', index, term });
  else c.result({ reqId, kind: 'done' });
}

function appendConfig(c: RaftCore, reqId: number, next: Configuration): void {
  const index = c.appendEntries([{ type: EntryType.Config, data: encodeConfiguration(next) }]);
  c.result({ reqId, kind: 'appended', index, term: c.term });
}

/**
 * Appends the pending configuration change once allowed: the leader has committed an entry of its term, no other
 * change is uncommitted, and a non-voter being promoted has caught up (called from ready() and after commits).
 */
export function processPendingChange(c: RaftCore): void {
  const p = c.pendingChange;
  if (p === null || c.role !== 'leader') return;
  if (!c.committedInTerm() || c.configs.latestIndex() > c.log.committed || c.transfer !== null) return;
  if (p.change.kind === 'promote') {
    const pr = c.progress.get(p.change.id);
    if (pr === undefined || pr.match + c.cfg.promoteLag < c.log.lastIndex()) return;
  }
  c.pendingChange = null;
  let next;
  try {
    next = applyChange(c.configs.latest(), p.change);
  } catch (err) {
    c.fail(p.reqId, asClusterKitError(err));
    return;
  }
  if (next === null) {
    c.result({ reqId: p.reqId, kind: 'done' });
    return;
  }
  appendConfig(c, p.reqId, next);
}

function asClusterKitError(err: unknown): ClusterKitError {
  if (err instanceof ClusterKitError) return err;
  return new ClusterKitError('ERR_INTERNAL', String(err), { cause: err });
}

// ---------------------------------------------------------------------------------------------------------------
// Leadership transfer
// ---------------------------------------------------------------------------------------------------------------

export function transferLeadership(c: RaftCore, reqId: number, target: NodeId | undefined, timeoutTicks: number): void {
  if (c.role !== 'leader') return c.fail(reqId, c.notLeaderError());
  if (c.transfer !== null) {
    return c.fail(
      reqId,
      new ClusterKitError('ERR_UNAVAILABLE', 'a leadership transfer is already in progress', { retriable: true }),
    );
  }
  const others = c.voters().filter((v) => v !== c.id);
  let to = target;
  if (to !== undefined) {
    if (to === c.id) return c.fail(reqId, new InvalidArgumentError(`${to} is already the leader`));
    if (!others.includes(to)) return c.fail(reqId, new InvalidArgumentError(`${to} is not a voter of the cluster`));
  } else {
    to = bestTransferTarget(c, others);
    if (to === undefined) {
      return c.fail(reqId, new ClusterKitError('ERR_MEMBERSHIP', 'there is no other voter to transfer leadership to'));
    }
  }
  c.transfer = {
    reqId,
    target: to,
    anyTarget: target === undefined,
    attemptTick: c.now,
    deadlineTick: c.now + Math.max(c.cfg.electionTicks, Math.ceil(timeoutTicks)),
    timeoutNowSent: false,
  };
  const pr = c.progress.get(to);
  if (pr !== undefined) maybeSendTimeoutNow(c, pr);
}

/**
 * The voter with the longest log, preferring those heard from within an election timeout (a crashed voter with
 * a long log would never take over).
 */
function bestTransferTarget(c: RaftCore, candidates: readonly NodeId[]): NodeId | undefined {
  let to: NodeId | undefined;
  let best: [number, number] = [-1, -1];
  for (const v of candidates) {
    const pr = c.progress.get(v);
    const live = pr !== undefined && pr.lastResponseTick >= 0 && c.now - pr.lastResponseTick < c.cfg.electionTicks;
    const key: [number, number] = [live ? 1 : 0, pr?.match ?? 0];
    if (key[0] > best[0] || (key[0] === best[0] && key[1] > best[1])) {
      best = key;
      to = v;
    }
  }
  return to;
}

function retryTransfer(c: RaftCore, t: TransferState): void {
  if (t.anyTarget) {
    const others = c.voters().filter((v) => v !== c.id);
    const next = bestTransferTarget(c, others);
    if (next !== undefined) t.target = next;
  } else if (!c.voters().includes(t.target)) {
    // The target stopped being a voter meanwhile: it can never take over.
    if (t.reqId !== null) c.fail(t.reqId, new InvalidArgumentError(`${t.target} is not a voter of the cluster`));
    c.transfer = null;
    return;
  }
  t.attemptTick = c.now;
  t.timeoutNowSent = false;
  const pr = c.progress.get(t.target);
  if (pr !== undefined) maybeSendTimeoutNow(c, pr);
}

// ---------------------------------------------------------------------------------------------------------------

export function cancelRequest(c: RaftCore, reqId: number): void {
  const q = c.forwardQueue.findIndex((f) => f.reqId === reqId);
  if (q >= 0) c.forwardQueue.splice(q, 1);
  const batchId = c.reqToBatch.get(reqId);
  if (batchId !== undefined) {
    c.reqToBatch.delete(reqId);
    const batch = c.forwardBatches.get(batchId);
    if (batch !== undefined) {
      const pos = batch.reqIds.indexOf(reqId);
      // Keep the slot (-1) so the positions of the other commands in the batch stay right.
      if (pos >= 0) batch.reqIds[pos] = -1;
      if (batch.reqIds.every((r) => r < 0)) c.forwardBatches.delete(batchId);
    }
  }
  c.readForwards.delete(reqId);
  c.reads.cancel(reqId);
  if (c.pendingChange?.reqId === reqId) c.pendingChange = null;
  const t = c.transfer;
  if (t !== null && t.reqId === reqId) {
    if (c.role === 'leader') c.transfer = null;
    else t.reqId = null;
  }
}
