/**
 * RaftNode: the driver around the deterministic core. It runs the core's ticks on the injected Scheduler, feeds it
 * messages from the Transport, performs the storage writes it asks for through the async stores (one at a time per
 * store), sends its messages, applies committed entries to the StateMachine and settles the promises of propose(),
 * read(), membership changes and leadership transfer. The same class runs in the seeded simulation and in real
 * processes; all effects of one burst of inputs are flushed together in a microtask, which batches proposals into
 * one log append (group commit) and one AppendEntries per follower.
 */
import { ClusterKitError, InvalidArgumentError, NotLeaderError, ShuttingDownError } from '../errors.js';
import type { TimerHandle } from '../util/io.js';
import type { Raft, RaftCounters, RaftEvents, RaftOptions, RaftStatus } from './api.js';
import { EMPTY_CONFIG, encodeConfiguration } from './core/config.js';
import type { HistogramSnapshot } from './core/histogram.js';
import { type ResolvedOptions, resolveOptions } from './core/options.js';
import { PendingRequests, type RequestKind } from './core/pending.js';
import { RaftCore } from './core/raft.js';
import { type CoreResult, isReadyEmpty, type MembershipChange, type Ready } from './core/types.js';
import { type Entry, EntryType, type Message, MessageType, type NodeId, type Snapshot } from './types.js';

export interface RaftMetrics {
  readonly counters: RaftCounters;
  /** propose() latency, from the call to its resolution (successful proposals only). */
  readonly proposeLatency: HistogramSnapshot;
  /** read() latency (successful reads only). */
  readonly readLatency: HistogramSnapshot;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** A timer that fires far too late (a suspended process) only catches up this many election timeouts. */
const MAX_CATCH_UP_ELECTIONS = 3;
/** Longest wait between two attempts of a store write that failed with a retriable error (a full disk), ms. */
const MAX_STORAGE_RETRY_MS = 1000;

/** A store write that failed but left the store as it was (ENOSPC): trying again later may succeed. */
function isRetriableStorageError(err: unknown): err is ClusterKitError {
  return err instanceof ClusterKitError && err.code === 'ERR_STORAGE_IO' && err.retriable;
}

export class RaftNode<R = unknown> implements Raft<R> {
  readonly id: NodeId;
  private readonly options: RaftOptions<R>;
  private readonly resolved: ResolvedOptions;
  private state: State = 'new';
  private core: RaftCore | null = null;
  private stopPromise: Promise<void> | null = null;

  private readonly requests = new PendingRequests<R>(() => this.core?.notLeaderError() ?? new NotLeaderError());

  private flushScheduled = false;
  /** Timer that sends the core's deferred commit updates (see RaftCore.bumpWanted). */
  private bumpTimer: TimerHandle | null = null;
  private tickTimer: TimerHandle | null = null;
  private lastTickAt = 0;
  /** A late tick timer deferred its catch-up so that messages that arrived meanwhile are stepped first. */
  private catchUpDeferred = false;
  /** While deferred: the leader reached this node (a current-term AppendEntries or InstallSnapshot was stepped). */
  private heardFromLeader = false;
  private readonly inflightWrites = new Set<Promise<void>>();
  /** Store writes now failing with a retriable error, and the first such error: while any, writes are refused. */
  private readonly failingWrites = new Set<symbol>();
  private storageFault: ClusterKitError | null = null;
  private readonly retryTimers = new Set<TimerHandle>();

  private readonly listeners: { [E in keyof RaftEvents]: Set<RaftEvents[E]> } = {
    leader: new Set(),
    role: new Set(),
    config: new Set(),
    stopped: new Set(),
    storage: new Set(),
  };
  private readonly driverCounters = {
    proposals: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
  };

  constructor(options: RaftOptions<R>) {
    this.resolved = resolveOptions(options);
    this.options = options;
    this.id = options.id;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError('start() may only be called once');
    this.state = 'starting';
    const o = this.options;
    try {
      let hardState = o.stableStore.load();
      const snapshot = o.snapshotStore.latest();
      if (snapshot !== null) {
        o.stateMachine.restore(snapshot.data);
        await this.reconcileLogWithSnapshot(snapshot);
      } else if (o.logStore.firstIndex() > 1) {
        throw new ClusterKitError(
          'ERR_STORAGE_CORRUPT',
          `the log starts at ${o.logStore.firstIndex()} but there is no snapshot covering the entries before it`,
        );
      }
      const blank = hardState.term === 0 && hardState.votedFor === null && snapshot === null;
      if (blank && o.logStore.lastIndex() === 0 && o.bootstrap !== undefined) {
        // A brand-new node: the initial configuration becomes entry 1 of term 1, as on every bootstrapped peer.
        const entry: Entry = { index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(o.bootstrap) };
        await o.logStore.append([entry]);
        hardState = { term: 1, votedFor: null };
        await o.stableStore.save(hardState);
      }
      const meta = snapshot?.meta;
      this.core = new RaftCore(
        this.resolved.core,
        { log: o.logStore, latestSnapshot: () => o.snapshotStore.latest() },
        {
          hardState,
          snapshot: meta === undefined ? null : { index: meta.index, term: meta.term, config: meta.config },
        },
      );
    } catch (err) {
      this.state = 'stopped';
      throw err;
    }
    o.transport.onMessage((msg) => this.onMessage(msg));
    o.transport.onDrain((peer) => this.onDrain(peer));
    this.state = 'running';
    this.lastTickAt = o.clock.now();
    this.scheduleTick(this.resolved.tickMs);
    this.scheduleFlush();
  }

  /** After a crash between saving an installed snapshot and compacting the log, the log may contradict it. */
  private async reconcileLogWithSnapshot(snapshot: Snapshot): Promise<void> {
    const log = this.options.logStore;
    const { index, term } = snapshot.meta;
    const first = log.firstIndex();
    if (first > index + 1) {
      throw new ClusterKitError(
        'ERR_STORAGE_CORRUPT',
        `the log starts at ${first} but the newest snapshot ends at ${index}: entries in between are missing`,
      );
    }
    if (first <= index && (log.lastIndex() < index || log.term(index) !== term)) await log.compact(index, term);
  }

  stop(): Promise<void> {
    return this.shutdown(undefined);
  }

  private shutdown(error: Error | undefined): Promise<void> {
    if (this.stopPromise !== null) return this.stopPromise;
    const wasRunning = this.state === 'running' || this.state === 'starting';
    this.state = 'stopping';
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.bumpTimer?.cancel();
    this.bumpTimer = null;
    for (const t of this.retryTimers) t.cancel();
    this.retryTimers.clear();
    const reason =
      error === undefined
        ? new ShuttingDownError()
        : new ShuttingDownError(`the node stopped after a fatal error: ${error.message}`, { cause: error });
    this.requests.failAll(reason);
    this.stopPromise = (async () => {
      // Let writes already handed to the stores finish before closing them.
      await Promise.allSettled([...this.inflightWrites]);
      const o = this.options;
      const closes = await Promise.allSettled([
        o.transport.close(),
        o.logStore.close(),
        o.stableStore.close(),
        o.snapshotStore.close(),
      ]);
      this.state = 'stopped';
      const closeError = closes.find((c): c is PromiseRejectedResult => c.status === 'rejected');
      const reported =
        error ?? (closeError === undefined ? undefined : toError(closeError.reason as unknown, 'close failed'));
      if (wasRunning || reported !== undefined) this.emit('stopped', reported);
    })();
    return this.stopPromise;
  }

  private fatal(error: unknown): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    void this.shutdown(toError(error, 'fatal error'));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Client API
  // ------------------------------------------------------------------------------------------------------------

  propose(command: Uint8Array, options?: { timeoutMs?: number }): Promise<R> {
    if (!(command instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError('command must be a Uint8Array'));
    }
    this.driverCounters.proposals++;
    return this.request<R>('propose', options?.timeoutMs, (core, reqId) => core.propose(reqId, command));
  }

  read(options?: { timeoutMs?: number }): Promise<void> {
    return this.request<void>('read', options?.timeoutMs, (core, reqId) => {
      // A lease is only as good as the core's sense of time: bring it up to the clock first.
      // Only a leader's lease depends on it; a follower forwards the read and must not replay ticks whose
      // catch-up onTick deferred.
      if (
        this.resolved.core.leaseReads &&
        core.role === 'leader' &&
        !this.catchUpTicks(core, this.options.clock.now())
      ) {
        return;
      }
      core.read(reqId);
    });
  }

  addMember(id: NodeId, addr: string, options?: { voter?: boolean; timeoutMs?: number }): Promise<void> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      return Promise.reject(new InvalidArgumentError('id must be a non-empty string of at most 256 characters'));
    }
    if (typeof addr !== 'string' || addr.length === 0 || addr.length > 1024) {
      return Promise.reject(new InvalidArgumentError('addr must be a non-empty string'));
    }
    const voter = options?.voter ?? false;
    return this.changeMembership({ kind: 'add', id, addr, voter }, options?.timeoutMs);
  }

  promote(id: NodeId, options?: { timeoutMs?: number }): Promise<void> {
    return this.changeMembership({ kind: 'promote', id }, options?.timeoutMs);
  }

  demote(id: NodeId, options?: { timeoutMs?: number }): Promise<void> {
    return this.changeMembership({ kind: 'demote', id }, options?.timeoutMs);
  }

  removeMember(id: NodeId, options?: { timeoutMs?: number }): Promise<void> {
    return this.changeMembership({ kind: 'remove', id }, options?.timeoutMs);
  }

  transferLeadership(to?: NodeId, options?: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? this.resolved.proposeTimeoutMs;
    // The core retries every election timeout until the request's own deadline (the driver expires it then).
    const ticks = Number.isFinite(timeoutMs) ? Math.ceil(timeoutMs / this.resolved.tickMs) : undefined;
    return this.request<void>('transfer', options?.timeoutMs, (core, reqId) =>
      core.transferLeadership(reqId, to, ticks),
    );
  }

  private changeMembership(change: MembershipChange, timeoutMs: number | undefined): Promise<void> {
    if (typeof change.id !== 'string' || change.id.length === 0) {
      return Promise.reject(new InvalidArgumentError('id must be a non-empty string'));
    }
    return this.request<void>('membership', timeoutMs, (core, reqId) => core.changeMembership(reqId, change));
  }

  private request<T>(
    kind: RequestKind,
    timeoutMs: number | undefined,
    submit: (core: RaftCore, reqId: number) => void,
  ): Promise<T> {
    const core = this.core;
    if (this.state !== 'running' || core === null) {
      if (kind === 'propose') this.requests.proposalsFailed++;
      return Promise.reject(
        this.state === 'new' || this.state === 'starting'
          ? new ClusterKitError('ERR_UNAVAILABLE', 'the node is not started', { retriable: true })
          : new ShuttingDownError(),
      );
    }
    if ((kind === 'propose' || kind === 'membership') && this.storageFault !== null) {
      // This node could not store the entry (nor, as a follower, apply it): say so at once rather than time out.
      if (kind === 'propose') this.requests.proposalsFailed++;
      return Promise.reject(
        new ClusterKitError(
          'ERR_UNAVAILABLE',
          `this node cannot write to its disk (${this.storageFault.message}); it refuses writes until its disk ` +
            'accepts them again (retrying)',
          { retriable: true, cause: this.storageFault },
        ),
      );
    }
    const timeout = timeoutMs ?? this.resolved.proposeTimeoutMs;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      return Promise.reject(new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeout)}`));
    }
    const forwarded = kind === 'propose' && core.role !== 'leader';
    const { reqId, promise } = this.requests.add<T>(kind, this.options.clock.now(), timeout, forwarded);
    try {
      submit(core, reqId);
    } catch (err) {
      this.fatal(err);
    }
    this.scheduleFlush();
    return promise;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Observability
  // ------------------------------------------------------------------------------------------------------------

  status(): RaftStatus {
    const core = this.core;
    if (core === null) {
      return {
        id: this.id,
        role: 'follower',
        term: 0,
        leaderId: null,
        leaderAddr: null,
        commitIndex: 0,
        appliedIndex: 0,
        lastIndex: 0,
        lastTerm: 0,
        firstIndex: 1,
        snapshotIndex: 0,
        config: EMPTY_CONFIG,
        progress: [],
      };
    }
    return core.status(this.resolved.tickMs);
  }

  counters(): RaftCounters {
    const c = this.core?.counters;
    const d = this.driverCounters;
    return {
      proposals: d.proposals,
      proposalsFailed: this.requests.proposalsFailed,
      commits: c?.commits ?? 0,
      elections: c?.elections ?? 0,
      leaderChanges: c?.leaderChanges ?? 0,
      snapshotsTaken: c?.snapshotsTaken ?? 0,
      snapshotsSent: c?.snapshotsSent ?? 0,
      snapshotsInstalled: c?.snapshotsInstalled ?? 0,
      messagesSent: d.messagesSent,
      messagesReceived: d.messagesReceived,
      messagesDropped: d.messagesDropped + (c?.messagesDropped ?? 0),
    };
  }

  /** Counters plus latency histograms of propose() and read(). */
  metrics(): RaftMetrics {
    return {
      counters: this.counters(),
      proposeLatency: this.requests.proposeLatency.snapshot(),
      readLatency: this.requests.readLatency.snapshot(),
    };
  }

  on<E extends keyof RaftEvents>(event: E, listener: RaftEvents[E]): () => void {
    const set = this.listeners[event] as Set<RaftEvents[E]> | undefined;
    if (set === undefined) throw new InvalidArgumentError(`unknown event ${event}`);
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  private emit<E extends keyof RaftEvents>(event: E, ...args: Parameters<RaftEvents[E]>): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as (...a: Parameters<RaftEvents[E]>) => void)(...args);
      } catch (err) {
        // A throwing listener must not corrupt the node; surface the error instead of swallowing it.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Inputs
  // ------------------------------------------------------------------------------------------------------------

  private onMessage(msg: Message): void {
    const core = this.core;
    if (this.state !== 'running' || core === null) return;
    this.driverCounters.messagesReceived++;
    if (
      this.catchUpDeferred &&
      (msg.type === MessageType.AppendEntries || msg.type === MessageType.InstallSnapshot) &&
      msg.term >= core.term
    ) {
      // Stepping it resets the election timer (follower.ts), so the ticks missed before it no longer count.
      this.heardFromLeader = true;
    }
    // A leader that serves reads from a lease must know what time it is before any message can confirm a read
    // (a forwarded ReadIndex, an acknowledgement): after a stall, messages may be read before the tick timer runs,
    // and the lease must already have lapsed by then.
    if (core.role === 'leader' && this.resolved.core.leaseReads && !this.catchUpTicks(core, this.options.clock.now())) {
      return;
    }
    try {
      core.step(msg);
    } catch (err) {
      this.fatal(err);
      return;
    }
    this.scheduleFlush();
  }

  private onDrain(peer: NodeId): void {
    if (this.state !== 'running' || this.core === null) return;
    this.core.setCongested(peer, false);
    this.scheduleFlush();
  }

  private scheduleTick(delayMs: number): void {
    this.tickTimer = this.options.scheduler.setTimeout(() => this.onTick(), delayMs);
  }

  private onTick(deferred = false): void {
    const core = this.core;
    if (this.state !== 'running' || core === null) return;
    let now = this.options.clock.now();
    if (!deferred && core.role !== 'leader' && now - this.lastTickAt >= 2 * this.resolved.tickMs) {
      // The timer fired at least a tick late: the process (or its event loop) stalled. After a stall Node runs
      // timers before it reads the sockets, so replaying the missed ticks now would expire the election timeout
      // although the leader's heartbeats already wait in the socket buffer. Step those first: the catch-up runs
      // from a 0 ms timer, i.e. after the poll phase (and, in the simulation, after deliveries due at this
      // instant, since only the injected Scheduler is used). A leader catches up at once: check-quorum and the
      // lease must see the stall.
      this.catchUpDeferred = true;
      this.heardFromLeader = false;
      this.tickTimer = this.options.scheduler.setTimeout(() => {
        this.catchUpDeferred = false;
        this.onTick(true);
      }, 0);
      return;
    }
    if (this.heardFromLeader) {
      // The leader was heard from after the stall: the election timer restarted then, so the ticks missed before
      // it are dropped rather than replayed on top of the reset.
      this.heardFromLeader = false;
      now = this.options.clock.now();
      this.lastTickAt = now;
    }
    if (!this.catchUpTicks(core, now)) return;
    this.requests.expire(now, (reqId) => core.cancel(reqId));
    this.flush();
    if (this.state === 'running') {
      this.scheduleTick(Math.max(1, this.resolved.tickMs - (now - this.lastTickAt)));
    }
  }

  /**
   * Ticks follow the clock, not the number of timer callbacks: a stalled event loop catches up, so a leader whose
   * process was paused notices at once that its election timeout (and lease) has passed. Returns false if the
   * core failed.
   */
  private catchUpTicks(core: RaftCore, now: number): boolean {
    const tickMs = this.resolved.tickMs;
    let due = Math.floor((now - this.lastTickAt) / tickMs);
    const cap = MAX_CATCH_UP_ELECTIONS * this.resolved.core.electionTicks;
    if (due > cap) {
      due = cap;
      this.lastTickAt = now;
    } else {
      this.lastTickAt += due * tickMs;
    }
    try {
      for (let k = 0; k < due; k++) core.tick();
    } catch (err) {
      this.fatal(err);
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Ready processing
  // ------------------------------------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const core = this.core;
    if (core === null) return;
    for (let round = 0; round < 1000; round++) {
      if (this.state !== 'running') return;
      let rd: Ready;
      try {
        rd = core.ready();
        if (isReadyEmpty(rd)) {
          this.scheduleCommitBumps(core);
          return;
        }
        this.process(core, rd);
      } catch (err) {
        this.fatal(err);
        return;
      }
    }
    this.scheduleFlush(); // a very long backlog (applying a big log): yield, then continue
  }

  /**
   * Commit-index updates wait for a 0 ms timer: by then the callers whose proposals just resolved have proposed
   * again (promise continuations run first), and the AppendEntries of that batch carries the news, instead of a
   * heartbeat per follower and its acknowledgement for every commit.
   */
  private scheduleCommitBumps(core: RaftCore): void {
    if (this.bumpTimer !== null || !core.wantsCommitBumps) return;
    this.bumpTimer = this.options.scheduler.setTimeout(() => {
      this.bumpTimer = null;
      if (this.state !== 'running') return;
      try {
        core.sendCommitBumps();
      } catch (err) {
        this.fatal(err);
        return;
      }
      this.flush();
    }, 0);
  }

  private process(core: RaftCore, rd: Ready): void {
    const o = this.options;
    for (const { addr, msg } of rd.messages) {
      if (addr === undefined) {
        this.driverCounters.messagesDropped++;
        continue;
      }
      let accepted: boolean;
      try {
        accepted = o.transport.send(addr, msg);
      } catch {
        // The contract says send never throws for network reasons; count anything else as a drop.
        this.driverCounters.messagesDropped++;
        continue;
      }
      this.driverCounters.messagesSent++;
      if (!accepted) core.setCongested(msg.to, true);
    }
    if (rd.messages.length > 0 && (rd.saveHardState !== null || rd.logWrite !== null || rd.saveSnapshot !== null)) {
      // Let the messages leave before a store write that may block the thread (a synchronous fdatasync): the
      // leader's own fsync then overlaps the followers' instead of preceding it (Raft thesis §10.2.1). Safe for
      // every role: the core only puts acknowledgements into a Ready once what they acknowledge is durable.
      try {
        o.transport.flush?.();
      } catch (err) {
        this.fatal(err);
        return;
      }
    }
    if (rd.saveHardState !== null) {
      const hs = rd.saveHardState;
      this.write(
        () => o.stableStore.save(hs),
        () => core.hardStateSaved(),
      );
    }
    if (rd.logWrite !== null) {
      const w = rd.logWrite;
      this.write(
        () => (w.kind === 'append' ? o.logStore.append(w.entries) : o.logStore.compact(w.index, w.term)),
        () => core.logWriteDone(),
      );
    }
    if (rd.saveSnapshot !== null) {
      const s = rd.saveSnapshot;
      this.write(
        () => o.snapshotStore.save(s),
        () => core.snapshotSaved(),
      );
    }
    if (rd.restoreSnapshot !== null) this.restore(rd.restoreSnapshot);
    if (rd.apply.length > 0) this.apply(rd.apply);
    if (rd.takeSnapshot !== null) {
      const req = rd.takeSnapshot;
      const data = o.stateMachine.snapshot();
      core.snapshotCreated({
        meta: { index: req.index, term: req.term, config: req.config, size: data.length },
        data,
      });
    }
    for (const r of rd.results) this.onResult(core, r);
    for (const e of rd.events) {
      if (e.type === 'leader') this.emit('leader', e.leaderId, e.term);
      else if (e.type === 'role') this.emit('role', e.role, e.term);
      else this.emit('config', e.config);
    }
  }

  /**
   * Starts a storage write; the core guarantees at most one per store is in flight. A write failing with a
   * retriable error (ENOSPC: the stores leave themselves as they were before the call) is tried again, with
   * back-off, until it succeeds: the core keeps waiting for it (nothing after it is acknowledged as durable), this
   * node refuses proposals meanwhile, and a leader hands leadership over. Any other failure is fatal.
   */
  private write(start: () => Promise<void>, done: () => void, attempt = 0, token: symbol = Symbol('write')): void {
    let p: Promise<void>;
    try {
      p = start();
    } catch (err) {
      this.fatal(err);
      return;
    }
    const tracked = p.then(
      () => {
        this.inflightWrites.delete(tracked);
        this.storageWriteSucceeded(token);
        if (this.state !== 'running') return;
        done();
        this.scheduleFlush();
      },
      (err: unknown) => {
        this.inflightWrites.delete(tracked);
        if (this.state !== 'running' || !isRetriableStorageError(err)) {
          this.fatal(err);
          return;
        }
        this.storageWriteFailed(token, err);
        const delay = Math.min(MAX_STORAGE_RETRY_MS, 20 * 2 ** Math.min(attempt, 10));
        const timer = this.options.scheduler.setTimeout(() => {
          this.retryTimers.delete(timer);
          if (this.state === 'running') this.write(start, done, attempt + 1, token);
        }, delay);
        this.retryTimers.add(timer);
      },
    );
    this.inflightWrites.add(tracked);
  }

  private storageWriteFailed(token: symbol, err: ClusterKitError): void {
    const first = this.failingWrites.size === 0;
    this.failingWrites.add(token);
    if (!first) return;
    this.storageFault = err;
    this.emit('storage', err);
    // A leader that cannot store entries should not lead: another member can.
    if (this.core?.role === 'leader') this.transferLeadership().catch(() => undefined);
  }

  private storageWriteSucceeded(token: symbol): void {
    if (!this.failingWrites.delete(token) || this.failingWrites.size > 0) return;
    this.storageFault = null;
    this.emit('storage', null);
  }

  private apply(entries: readonly Entry[]): void {
    const sm = this.options.stateMachine;
    for (const e of entries) {
      let ok = true;
      let value: unknown;
      if (e.type === EntryType.Command) {
        try {
          value = sm.apply(e.data, e.index);
        } catch (err) {
          // Deterministic state machines fail the same way everywhere: the proposer gets the error.
          ok = false;
          value = err;
        }
      }
      this.requests.applied(e.index, e.term, e.type === EntryType.Command, ok, value, this.options.clock.now());
    }
    this.requests.appliedTo(entries[entries.length - 1]!.index, this.options.clock.now());
  }

  private restore(snapshot: Snapshot): void {
    this.options.stateMachine.restore(snapshot.data);
    this.requests.restored(snapshot.meta.index, this.options.clock.now());
  }

  private onResult(core: RaftCore, r: CoreResult): void {
    const now = this.options.clock.now();
    switch (r.kind) {
      case 'error':
        this.requests.fail(r.reqId, r.error);
        return;
      case 'done':
        this.requests.succeed(r.reqId, undefined, now);
        return;
      case 'read':
        this.requests.readAt(r.reqId, r.index, core.log.applied, now);
        return;
      case 'appended':
        this.requests.appended(r.reqId, r.index, r.term, core.log.applied, now);
        return;
    }
  }
}

function toError(value: unknown, fallback: string): Error {
  if (value instanceof Error) return value;
  return new ClusterKitError('ERR_INTERNAL', `${fallback}: ${String(value)}`, { cause: value });
}
