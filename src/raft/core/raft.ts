/**
 * The deterministic Raft core. It is a state machine over inputs (tick, step a message, a client request, a
 * storage write completed) whose effects are collected and handed out by `ready()`: messages that are safe to
 * send, storage writes to start (never two in flight to the same store), entries to apply, request results and
 * events. It does no I/O, keeps no timers and draws randomness only from the injected Random, so the same inputs
 * always produce the same outputs.
 *
 * This file holds the state, the role transitions and the plumbing; the protocol lives in election.ts,
 * replication.ts (leader), follower.ts and requests.ts (client requests, membership, transfer).
 */
import { type ClusterKitError, NotLeaderError } from '../../errors.js';
import type { FollowerProgress, RaftRole, RaftStatus } from '../api.js';
import {
  type Configuration,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type Snapshot,
} from '../types.js';
import { ConfigHistory, decodeConfiguration, EMPTY_CONFIG, isVoter, sameConfiguration, voterIds } from './config.js';
import {
  campaign,
  handleRequestVote,
  handleTimeoutNow,
  handleVoteResponse,
  handleVoteTally,
  tickElection,
} from './election.js';
import {
  type Assembly,
  handleAppendEntries,
  handleInstallSnapshot,
  type PendingAck,
  releaseFollowerAcks,
  type SnapshotDone,
} from './follower.js';
import { RaftLog } from './log.js';
import { Persistence } from './persistence.js';
import type { Progress } from './progress.js';
import { ReadIndexQueue, RoundClock } from './reads.js';
import {
  handleAppendResponse,
  handleSnapshotResponse,
  maybeCommit,
  replicate,
  sendCommitBumps,
  syncProgress,
  tickLeader,
} from './replication.js';
import {
  cancelRequest,
  changeMembership,
  flushForwards,
  handleForwardPropose,
  handleForwardProposeResponse,
  handleReadIndexRequest,
  handleReadIndexResponse,
  processPendingChange,
  propose,
  read,
  serveReads,
  startReadRound,
  tickRequests,
  transferLeadership,
} from './requests.js';
import type {
  CoreConfig,
  CoreCounters,
  CoreEvent,
  CoreInitialState,
  CoreResult,
  CoreStorage,
  MembershipChange,
  OutgoingMessage,
  Ready,
} from './types.js';
import { isValidMessage } from './validate.js';

const MAX_LEARNED_ADDRS = 4096;

/** A leadership transfer in progress (see requests.ts). */
export interface TransferState {
  reqId: number | null;
  target: NodeId;
  /** No target was named: each attempt picks the most up-to-date voter that answers. */
  readonly anyTarget: boolean;
  /** Tick when the current attempt started; an attempt lasts one election timeout. */
  attemptTick: number;
  /** Tick at which the whole transfer gives up. */
  readonly deadlineTick: number;
  timeoutNowSent: boolean;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message without the fields the core fills in itself. */
export type MessageBody = DistributiveOmit<Message, 'from' | 'term' | 'fromAddr'>;

export class RaftCore {
  readonly id: NodeId;
  readonly log: RaftLog;
  readonly configs: ConfigHistory;
  readonly counters: CoreCounters = {
    elections: 0,
    leaderChanges: 0,
    commits: 0,
    snapshotsTaken: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    messagesDropped: 0,
  };

  role: RaftRole = 'follower';
  term: number;
  votedFor: NodeId | null;
  leaderId: NodeId | null = null;
  /** Ticks since the core was created: the only clock it knows. */
  now = 0;

  // Hard state durability: every change bumps hsSeq; messages wait until hsSavedSeq catches up.
  hsSeq = 0;
  hsSavedSeq = 0;
  private hsSaving: number | null = null;

  electionElapsed = 0;
  randomizedElectionTimeout = 0;
  heartbeatElapsed = 0;
  checkQuorumElapsed = 0;

  votes = new Map<NodeId, boolean>();
  /** hsSeq of the term/vote of the current campaign: the self-vote counts only once that is durable. */
  campaignSeq = 0;

  // Leader state.
  readonly progress = new Map<NodeId, Progress>();
  /** Index of the no-op this leader appended: reads and config changes wait until it is committed. */
  termStartIndex = 0;
  round = 0;
  readonly roundClock = new RoundClock();
  readonly reads = new ReadIndexQueue();
  commitBroadcast = 0;
  pendingChange: { reqId: number; change: MembershipChange } | null = null;
  transfer: TransferState | null = null;
  /** Followers that were sent an AppendEntries during the current Ready (so commit updates are not duplicated). */
  readonly sentThisReady = new Set<NodeId>();
  /**
   * Followers to tell about a new commit index unless an AppendEntries carries it first (sendCommitBumps): the
   * driver asks for them once the proposals that a commit's results set off have been appended, so that the next
   * batch carries the news instead of a heartbeat of its own (and its acknowledgement) per follower per commit.
   */
  readonly bumpWanted = new Set<NodeId>();

  // Follower-side requests waiting on the leader.
  readonly forwardQueue: { reqId: number; command: Uint8Array }[] = [];
  readonly forwardBatches = new Map<
    number,
    { to: NodeId; term: number; reqIds: number[]; commands: Uint8Array[]; sentTick: number }
  >();
  readonly reqToBatch = new Map<number, number>();
  /** Starts at a random point so ids do not repeat across restarts (the leader deduplicates by id). */
  nextForwardId: number;
  /** Leader: forwarded batches appended in this term, per follower (to recognise duplicates). */
  readonly forwardsSeen = new Map<NodeId, Map<number, { index: number; term: number }>>();
  /** Reads asked of the leader: request id -> the node asked and when. */
  readonly readForwards = new Map<number, { to: NodeId; sentTick: number }>();

  // Follower state.
  pendingAck: PendingAck | null = null;
  assembly: Assembly | null = null;
  snapshotDone: SnapshotDone | null = null;

  /** Storage writes, applying and snapshots. */
  readonly persist: Persistence;

  // Outputs.
  private out: OutgoingMessage[] = [];
  private held: { msg: Message; hsSeq: number }[] = [];
  results: CoreResult[] = [];
  private events: CoreEvent[] = [];
  private readonly learnedAddrs = new Map<NodeId, string>();

  constructor(
    readonly cfg: CoreConfig,
    readonly storage: CoreStorage,
    initial: CoreInitialState,
  ) {
    this.id = cfg.id;
    this.term = initial.hardState.term;
    this.votedFor = initial.hardState.votedFor;
    this.log = new RaftLog(storage.log, initial.snapshot);
    this.persist = new Persistence(this.log, cfg, this.counters);
    const snap = initial.snapshot;
    this.configs = new ConfigHistory(snap?.index ?? 0, snap?.config ?? EMPTY_CONFIG);
    // Recover configuration entries that follow the snapshot.
    const from = Math.max(this.log.firstIndex(), (snap?.index ?? 0) + 1);
    for (let i = from; i <= this.log.lastIndex(); ) {
      const batch = this.log.entries(i, this.log.lastIndex() + 1, 4 * 1024 * 1024);
      for (const e of batch) this.noteAppendedConfig(e, false);
      i += batch.length;
    }
    this.nextForwardId = 1 + Math.floor(cfg.random.next() * 2 ** 40);
    this.resetElectionTimer();
    if (this.soleVoter() && !cfg.leaseReads) {
      // Nobody else's vote is needed, so there is nothing to wait for: a freshly bootstrapped node leads as soon
      // as its vote is durable instead of after a whole election timeout. (With lease reads it waits like any
      // node that just started: a leader of an earlier configuration may hold a lease that counted on this node.)
      campaign(this, 'real', false);
    }
  }

  /** This node is the only voter of its latest configuration. */
  private soleVoter(): boolean {
    const voters = this.voters();
    return voters.length === 1 && voters[0] === this.id;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Inputs
  // ------------------------------------------------------------------------------------------------------------

  tick(): void {
    this.now++;
    if (this.role === 'leader') tickLeader(this);
    else tickElection(this);
    tickRequests(this);
  }

  /** Feeds one message from the network. Malformed or misaddressed messages are counted and dropped. */
  step(msg: unknown): void {
    if (!isValidMessage(msg, this.id)) {
      this.counters.messagesDropped++;
      return;
    }
    const m = msg;
    if (m.fromAddr !== undefined && m.fromAddr.length > 0) this.learnAddr(m.from, m.fromAddr);
    if (m.term > this.term) {
      switch (m.type) {
        case MessageType.RequestVote:
          break; // handled there: leader stickiness is checked before any term change
        case MessageType.RequestVoteResponse:
          if (m.preVote && m.granted) break; // a granted pre-vote carries the future term; nobody changed term
          this.becomeFollower(m.term, null);
          break;
        case MessageType.AppendEntries:
        case MessageType.InstallSnapshot:
        case MessageType.TimeoutNow:
          this.becomeFollower(m.term, m.from);
          break;
        default:
          this.becomeFollower(m.term, null);
      }
    }
    switch (m.type) {
      case MessageType.AppendEntries:
        return handleAppendEntries(this, m);
      case MessageType.AppendEntriesResponse:
        return handleAppendResponse(this, m);
      case MessageType.RequestVote:
        return handleRequestVote(this, m);
      case MessageType.RequestVoteResponse:
        return handleVoteResponse(this, m);
      case MessageType.InstallSnapshot:
        return handleInstallSnapshot(this, m);
      case MessageType.InstallSnapshotResponse:
        return handleSnapshotResponse(this, m);
      case MessageType.TimeoutNow:
        return handleTimeoutNow(this, m);
      case MessageType.ForwardPropose:
        return handleForwardPropose(this, m);
      case MessageType.ForwardProposeResponse:
        return handleForwardProposeResponse(this, m);
      case MessageType.ReadIndexRequest:
        return handleReadIndexRequest(this, m);
      case MessageType.ReadIndexResponse:
        return handleReadIndexResponse(this, m);
    }
  }

  /** A client command. Result: `appended` (wait for it to be applied), or an error. */
  propose(reqId: number, command: Uint8Array): void {
    propose(this, reqId, command);
  }

  /** A linearizable read. Result: `read` with the index to wait for, or an error. */
  read(reqId: number): void {
    read(this, reqId);
  }

  /** A single-server membership change (leader only). Result: `appended`, `done` (no-op) or an error. */
  changeMembership(reqId: number, change: MembershipChange): void {
    changeMembership(this, reqId, change);
  }

  /**
   * Hands leadership to `target` (or the most up-to-date voter), retrying every election timeout for up to
   * `timeoutTicks` (at least one election timeout). Result: `done` once it leads, or an error.
   */
  transferLeadership(reqId: number, target?: NodeId, timeoutTicks?: number): void {
    transferLeadership(this, reqId, target, timeoutTicks ?? this.cfg.electionTicks);
  }

  /** The driver gave up on a request (timeout): forget it. */
  cancel(reqId: number): void {
    cancelRequest(this, reqId);
  }

  /** The transport reported the link to `peer` as congested (or drained again). */
  setCongested(peer: NodeId, congested: boolean): void {
    const pr = this.progress.get(peer);
    if (pr !== undefined) pr.congested = congested;
  }

  hardStateSaved(): void {
    if (this.hsSaving === null) return;
    this.hsSavedSeq = this.hsSaving;
    this.hsSaving = null;
    if (this.role === 'candidate') this.checkVotes();
  }

  logWriteDone(): void {
    if (this.persist.logWriteDone() && this.role === 'leader') maybeCommit(this);
  }

  snapshotSaved(): void {
    this.persist.snapshotSaved((index) => this.compactionPoint(index));
    this.configs.compact(this.log.snapshotIndex);
  }

  /**
   * Where to cut the log after a snapshot at `index`: keep `snapshotTrailing` entries, and on a leader also keep
   * (up to another snapshotThreshold entries) what live followers still need, so a follower that is merely a
   * little behind gets entries rather than a whole snapshot.
   */
  private compactionPoint(index: number): number {
    let cut = index - this.cfg.snapshotTrailing;
    if (this.role !== 'leader') return cut;
    const floor = cut - this.cfg.snapshotThreshold;
    for (const pr of this.progress.values()) {
      const live = pr.lastResponseTick >= 0 && this.now - pr.lastResponseTick < this.cfg.electionTicks;
      if (live && pr.match < cut && pr.match >= floor) cut = pr.match;
    }
    return cut;
  }

  /** The driver serialised the state machine as asked by `takeSnapshot`. */
  snapshotCreated(snapshot: Snapshot): void {
    this.persist.snapshotCreated(snapshot);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Output
  // ------------------------------------------------------------------------------------------------------------

  /** Are commit-index updates waiting for sendCommitBumps? */
  get wantsCommitBumps(): boolean {
    return this.bumpWanted.size > 0;
  }

  /** Tells the followers marked in bumpWanted about the commit index, if nothing sent since did. */
  sendCommitBumps(): void {
    sendCommitBumps(this);
  }

  ready(): Ready {
    this.sentThisReady.clear();
    flushForwards(this);
    if (this.role === 'leader') {
      startReadRound(this);
      serveReads(this);
      processPendingChange(this);
      replicate(this);
    }

    let saveHardState: HardState | null = null;
    if (this.hsSaving === null && this.hsSeq > this.hsSavedSeq) {
      this.hsSaving = this.hsSeq;
      saveHardState = { term: this.term, votedFor: this.votedFor };
    }
    const logWrite = this.persist.nextLogWrite();
    const saveSnapshot = this.persist.nextSnapshotSave();

    this.releaseHeld();
    releaseFollowerAcks(this);

    const restoreSnapshot = this.persist.takeRestore();
    const apply = this.persist.nextApply();
    const takeSnapshot = this.persist.nextSnapshotRequest((i) => this.configs.at(i));

    const rd: Ready = {
      messages: this.out,
      saveHardState,
      logWrite,
      saveSnapshot,
      restoreSnapshot,
      apply,
      takeSnapshot,
      results: this.results,
      events: this.events,
    };
    this.out = [];
    this.results = [];
    this.events = [];
    return rd;
  }

  private releaseHeld(): void {
    if (this.held.length === 0) return;
    const keep: { msg: Message; hsSeq: number }[] = [];
    for (const h of this.held) {
      if (h.msg.term < this.term) continue; // stale: nobody needs it any more
      if (h.hsSeq <= this.hsSavedSeq) this.push(h.msg);
      else keep.push(h);
    }
    this.held = keep;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Helpers used by the protocol modules
  // ------------------------------------------------------------------------------------------------------------

  /** Sends a message as soon as the hard state it was built on is durable. */
  send(body: MessageBody): void {
    const msg = { ...body, from: this.id, term: this.term, fromAddr: this.cfg.addr } as Message;
    this.sendRaw(msg);
  }

  /** Sends a fully built message (its term may differ from ours, as for granted pre-votes). */
  sendRaw(msg: Message): void {
    if (this.hsSeq <= this.hsSavedSeq) this.push(msg);
    else this.held.push({ msg, hsSeq: this.hsSeq });
  }

  private push(msg: Message): void {
    this.out.push({ addr: this.addrOf(msg.to), msg });
  }

  addrOf(id: NodeId): string | undefined {
    return this.configs.latest().members.find((m) => m.id === id)?.addr ?? this.learnedAddrs.get(id);
  }

  private learnAddr(id: NodeId, addr: string): void {
    if (this.learnedAddrs.get(id) === addr) return;
    this.learnedAddrs.delete(id);
    this.learnedAddrs.set(id, addr);
    if (this.learnedAddrs.size > MAX_LEARNED_ADDRS) {
      const oldest = this.learnedAddrs.keys().next();
      if (oldest.done !== true) this.learnedAddrs.delete(oldest.value);
    }
  }

  result(r: CoreResult): void {
    this.results.push(r);
  }

  fail(reqId: number, error: ClusterKitError): void {
    this.results.push({ reqId, kind: 'error', error });
  }

  notLeaderError(): NotLeaderError {
    const leader = this.leaderId !== null && this.leaderId !== this.id ? this.leaderId : undefined;
    return new NotLeaderError(leader, leader === undefined ? undefined : this.addrOf(leader));
  }

  hardStateChanged(): void {
    this.hsSeq++;
  }

  isPromotable(): boolean {
    return isVoter(this.configs.latest(), this.id);
  }

  voters(): NodeId[] {
    return voterIds(this.configs.latest());
  }

  /** The leader committed an entry of its own term (needed before reads and configuration changes). */
  committedInTerm(): boolean {
    return this.role === 'leader' && this.log.committed >= this.termStartIndex;
  }

  resetElectionTimer(): void {
    this.electionElapsed = 0;
    const e = this.cfg.electionTicks;
    this.randomizedElectionTimeout = e + Math.min(e - 1, Math.floor(this.cfg.random.next() * e));
  }

  /** Appends entries of the current term to the log (leader only). Returns the first index. */
  appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): number {
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = items.map((it, k) => ({
      index: first + k,
      term: this.term,
      type: it.type,
      data: it.data,
    }));
    this.log.append(entries);
    for (const e of entries) this.noteAppendedConfig(e, true);
    return first;
  }

  /** Applies a Config entry on append (it takes effect immediately). */
  noteAppendedConfig(e: Entry, emit: boolean): void {
    if (e.type !== EntryType.Config) return;
    let config: Configuration;
    try {
      config = decodeConfiguration(e.data);
    } catch {
      // A malformed config entry in a log we were given; it cannot be applied. Keep the previous configuration.
      this.counters.messagesDropped++;
      return;
    }
    const before = this.configs.latest();
    this.configs.push(e.index, config);
    if (emit && !sameConfiguration(before, config)) this.configChanged();
  }

  /** Called whenever the latest configuration changed (append, truncation, snapshot). */
  configChanged(): void {
    const config = this.configs.latest();
    this.events.push({ type: 'config', config });
    if (this.role === 'leader') syncProgress(this);
  }

  commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.counters.commits += index - this.log.committed;
    this.log.committed = index;
  }

  /** Installs a snapshot received from the leader: it replaces the log and the state machine. */
  installSnapshot(snapshot: Snapshot): void {
    this.persist.install(snapshot);
    const before = this.configs.latest();
    this.configs.reset(snapshot.meta.index, snapshot.meta.config);
    if (!sameConfiguration(before, snapshot.meta.config)) this.configChanged();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Role transitions
  // ------------------------------------------------------------------------------------------------------------

  becomeFollower(term: number, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader';
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
      this.hardStateChanged();
    }
    if (wasLeader) this.leaderCleanup();
    this.setRole('follower');
    this.setLeader(leader);
    this.resetElectionTimer();
    this.votes.clear();
  }

  becomeLeader(): void {
    this.setRole('leader');
    this.setLeader(this.id);
    if (this.transfer !== null && this.transfer.reqId !== null) {
      this.fail(this.transfer.reqId, this.notLeaderError());
    }
    this.transfer = null;
    this.heartbeatElapsed = 0;
    this.checkQuorumElapsed = 0;
    this.progress.clear();
    this.roundClock.clear();
    this.forwardsSeen.clear();
    this.termStartIndex = this.appendEntries([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
    this.commitBroadcast = this.log.committed;
    syncProgress(this);
    for (const pr of this.progress.values()) pr.next = this.termStartIndex;
    maybeCommit(this);
  }

  setRole(role: RaftRole): void {
    if (this.role === role) return;
    this.role = role;
    this.events.push({ type: 'role', role, term: this.term });
  }

  setLeader(id: NodeId | null): void {
    if (this.leaderId === id) return;
    this.leaderId = id;
    this.events.push({ type: 'leader', leaderId: id, term: this.term });
    if (id === null) return;
    this.counters.leaderChanges++;
    const t = this.transfer;
    if (t !== null && id !== this.id) {
      if (t.reqId !== null) {
        if (t.target === id) this.result({ reqId: t.reqId, kind: 'done' });
        else this.fail(t.reqId, new NotLeaderError(id, this.addrOf(id)));
      }
      this.transfer = null;
    }
  }

  /** Voting bookkeeping shared by pre-vote and real elections. */
  checkVotes(): void {
    handleVoteTally(this);
  }

  private leaderCleanup(): void {
    for (const r of this.reads.drain()) {
      if (r.reqId !== null) this.fail(r.reqId, this.notLeaderError());
      else if (r.from !== null) {
        this.send({
          type: MessageType.ReadIndexResponse,
          to: r.from,
          requestId: r.remoteId,
          index: 0,
          error: 'ERR_NOT_LEADER',
          leaderId: '',
        });
      }
    }
    if (this.pendingChange !== null) {
      this.fail(this.pendingChange.reqId, this.notLeaderError());
      this.pendingChange = null;
    }
    this.progress.clear();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Status
  // ------------------------------------------------------------------------------------------------------------

  status(tickMs: number): RaftStatus {
    const progress: FollowerProgress[] = [];
    if (this.role === 'leader') {
      const config = this.configs.latest();
      for (const pr of this.progress.values()) {
        if (pr.departing !== null) continue; // not a member any more (see syncProgress)
        progress.push({
          id: pr.id,
          voter: isVoter(config, pr.id),
          matchIndex: pr.match,
          nextIndex: pr.next,
          lastContactMs: pr.lastResponseTick < 0 ? -1 : (this.now - pr.lastResponseTick) * tickMs,
          inflight: pr.inflight.count,
          snapshotting: pr.state === 'snapshot',
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      leaderAddr:
        this.leaderId === null
          ? null
          : ((this.leaderId === this.id ? this.cfg.addr : this.addrOf(this.leaderId)) ?? null),
      commitIndex: this.log.committed,
      appliedIndex: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      firstIndex: this.log.firstIndex(),
      snapshotIndex: this.log.snapshotIndex,
      config: this.configs.latest(),
      progress,
    };
  }
}
