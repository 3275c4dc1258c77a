/**
 * The node runtime behind the ClusterKit class: it owns the data directory, the Raft node (file stores, TCP
 * transport), the shared port (Raft and HTTP on one listener), the replicated cluster state, the hook dispatcher,
 * the leader duties and the membership agent (bootstrap, join, restart announcement; membership.ts).
 *
 * Events. The state machine derives events from every committed command and hands them over synchronously inside
 * apply; they are queued to the HookDispatcher (which runs hooks later, at most `hookConcurrency` at a time), so
 * user code never runs on the apply path and may call anything. Commit order is kept. An event is emitted once
 * per transition on this node, and only for transitions from this life's admission on: a joiner catching up on
 * the log, or a restarted node replaying its own, reports nothing older than the command that admitted it
 * (its bootstrap, join or rejoin, which comes with the partition changes that tell it what it owns now). The
 * index of the last command whose events were emitted is also saved in the data directory, so a replay never
 * repeats what a previous life reported. Snapshot installs emit nothing (they carry a state, not transitions).
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { ClusterKitError, ShuttingDownError } from '../errors.js';
import type { JoinOutcome, JoinRequest, LeaderInfo, NodeApi } from '../http/api.js';
import { createHttpServer } from '../http/index.js';
import type { RaftStatus } from '../raft/api.js';
import { RaftNode } from '../raft/node.js';
import { type FileStores, openFileStores } from '../raft/storage/file-stores.js';
import { listenShared, type SharedListener, TcpTransport } from '../raft/transport/index.js';
import { NodeSecurity } from '../security/node-security.js';
import type { TimerHandle } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';
import { DataDir } from './data-dir.js';
import { EventLog } from './event-log.js';
import { toPublicEvents } from './events.js';
import {
  assessClusterHealth,
  type ClusterHealth,
  decodeHealthRecord,
  HEALTH_KEY,
  HealthChangeDetector,
  RESERVED_KEY_PREFIX,
} from './health.js';
import { HookDispatcher } from './hooks.js';
import { JoinCoordinator, type PostJson } from './join.js';
import { LeaderDuties } from './leader-duties.js';
import { MembershipAgent } from './membership.js';
import { NodeMetrics } from './metrics.js';
import { formatAddr, type ResolvedOptions } from './options.js';
import { RaftMembership } from './raft-membership.js';
import {
  type ApplyOk,
  type ApplyResult,
  type ClusterCommand,
  type ClusterEvent,
  ClusterStateMachine,
  type ClusterStateView,
  encodeCommand,
  refusalToError,
} from './state/index.js';
import type { ClusterKitEvents } from './types.js';

type Phase = 'new' | 'starting' | 'running' | 'leaving' | 'stopping' | 'stopped';

/** Progress (the last event index emitted) is saved at most this often while events flow, ms. */
const PROGRESS_DEBOUNCE_MS = 50;
/** How often a running node records that it is alive (its offline time after a crash is measured from it), ms. */
const ALIVE_SAVE_MS = 2000;

/** The engine's tick for a heartbeat interval: half of it, between 10 and 25 ms. */
function defaultTickMs(heartbeatMs: number | undefined): number {
  return Math.max(10, Math.min(25, Math.floor((heartbeatMs ?? 50) / 2)));
}

export interface CoreOptions {
  /** Injected join transport (tests). */
  readonly post?: PostJson;
}

export class NodeCore {
  readonly o: ResolvedOptions;
  readonly logger: Logger;
  readonly hooks: HookDispatcher<ClusterKitEvents>;
  readonly machine: ClusterStateMachine;
  readonly metrics: NodeMetrics;
  /** Recent events (what the hooks receive), for the HTTP API and the dashboard. */
  readonly eventLog: EventLog;
  readonly pendingJoins = new Set<string>();
  readonly createdAt: number;
  /** Secret, TLS, tokens and limits, as the transport, the listener and the HTTP server apply them. */
  readonly security: NodeSecurity;

  phase: Phase = 'new';
  dataDir: DataDir | null = null;
  raft: RaftNode<ApplyResult> | null = null;
  duties: LeaderDuties | null = null;
  coordinator: JoinCoordinator | null = null;
  membership: RaftMembership | null = null;
  advertiseAddr = '';
  /** Wall-clock ms when this node learned of the current leader. */
  leaderSeenAt: number | undefined;
  lastSyncAt: number | null = null;
  eventsEmitted = 0;
  fatalError: Error | undefined;

  #stores: FileStores | null = null;
  #transport: TcpTransport | null = null;
  #listener: SharedListener | null = null;
  #http: http.Server | null = null;
  readonly #httpSockets = new Set<Socket>();
  #resumeIndex = 0;
  /** Whether this life's admission (bootstrap, join, rejoin) has been applied: events are emitted from there on. */
  #admitted = false;
  #lastEmitted = 0;
  #progressTimer: TimerHandle | null = null;
  #healthTimer: TimerHandle | null = null;
  #healthScheduled = false;
  readonly #health = new HealthChangeDetector();
  #stopPromise: Promise<void> | null = null;
  #stopWaiters: (() => void)[] = [];
  /** Woken after every applied command with events (see #until). */
  readonly #stateWaiters = new Set<() => void>();
  #opening: Promise<void> = Promise.resolve();
  #aliveSavedAt = 0;
  readonly #member: MembershipAgent;

  constructor(options: ResolvedOptions, core: CoreOptions = {}) {
    this.o = options;
    this.logger = options.logger.child({ component: 'clusterkit', node: options.nodeId });
    this.hooks = new HookDispatcher<ClusterKitEvents>({ concurrency: options.hookConcurrency, logger: this.logger });
    this.machine = new ClusterStateMachine({
      onEvents: (events, index) => this.#onEvents(events, index),
      logger: this.logger,
    });
    this.createdAt = options.clock.now();
    this.security = new NodeSecurity(options.security, {
      nodeId: options.nodeId,
      clusterName: options.clusterName,
      listenHost: options.listen.host,
      logger: this.logger,
      clock: options.clock,
      scheduler: options.scheduler,
      wallClock: options.wallClock,
    });
    this.eventLog = new EventLog({
      // Wall-clock creation time: differs between two lives of a node (and draws nothing from the seeded random).
      logId: options.wallClock().toString(36),
      onError: (err) => this.logger.error({ ...errorFields(err) }, 'event stream subscriber failed; dropped'),
    });
    this.#member = new MembershipAgent({
      o: options,
      logger: this.logger,
      state: this.machine.state,
      post: core.post ?? this.security.post(),
      advertiseAddr: () => this.advertiseAddr,
      incarnation: () => this.incarnation,
      raftStatus: () => this.raftStatus(),
      messagesReceived: () => this.raft?.counters().messagesReceived ?? 0,
      isJoined: () => this.isJoined(),
      stopping: () => this.stopping,
      running: () => this.phase === 'running',
      coordinator: () => this.coordinator,
      propose: (c) => this.propose(c),
      sleep: (ms) => this.#sleep(ms),
      until: (cond, ms) => this.#until(cond, ms),
    });
    this.metrics = new NodeMetrics({
      raftStatus: () => this.raftStatus(),
      raftCounters: () => this.raft?.counters() ?? null,
      state: this.machine.state,
      hookStats: () => this.hooks.stats(),
      health: () => this.clusterHealth(),
      removals: () => this.duties?.removals ?? 0,
      userKeys: () => this.userKeys().length,
    });
  }

  get state(): ClusterStateView {
    return this.machine.state;
  }

  get incarnation(): string {
    return this.dataDir?.incarnation ?? '';
  }

  get stopping(): boolean {
    return this.phase === 'stopping' || this.phase === 'stopped';
  }

  raftStatus(): RaftStatus | null {
    return this.raft === null || this.stopping ? null : this.raft.status();
  }

  /** A member with a known partition table, under this life's incarnation. */
  isJoined(): boolean {
    const me = this.state.node(this.o.nodeId);
    return me !== undefined && me.incarnation === this.incarnation && this.state.table !== undefined;
  }

  /** Custom-data keys that belong to the user (ClusterKit's reserved ones hidden). */
  userKeys(): readonly string[] {
    return this.state.customDataKeys().filter((k) => !k.startsWith(RESERVED_KEY_PREFIX));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Start
  // ------------------------------------------------------------------------------------------------------------

  async start(api: NodeApi): Promise<void> {
    this.phase = 'starting';
    try {
      this.#opening = this.#open(api);
      await this.#opening;
      await this.#member.becomeMember();
      if (this.stopping) throw new ShuttingDownError('stopped while starting');
      this.phase = 'running';
      this.#scheduleHealth();
      this.logger.info({ addr: this.advertiseAddr, incarnation: this.incarnation }, 'node started');
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async #open(api: NodeApi): Promise<void> {
    const o = this.o;
    // Certificates first: a bad file fails the start before anything is opened.
    await this.security.open();
    const fs = o.fileSystem;
    const dataDir = await (fs === undefined
      ? DataDir.open(o.dataDir, o.nodeId, o.wallClock())
      : DataDir.open(o.dataDir, o.nodeId, o.wallClock(), fs));
    this.dataDir = dataDir;
    this.#resumeIndex = dataDir.previous.lastEmittedIndex;
    this.#lastEmitted = this.#resumeIndex;
    const stores = await openFileStores(dataDir.raftDir, fs === undefined ? {} : { fs });
    this.#stores = stores;
    for (const note of stores.recoveryNotes) this.logger.warn({ note }, 'raft storage repaired while opening');
    const blank = stores.log.lastIndex() === 0 && stores.stable.load().term === 0 && stores.snapshots.latest() === null;
    const transport = new TcpTransport({
      nodeId: o.nodeId,
      clusterName: o.clusterName,
      scheduler: o.scheduler,
      random: o.random,
      onError: (err) => this.logger.debug({ ...errorFields(err) }, 'raft transport'),
      ...this.security.transportOptions(),
    });
    this.#transport = transport;
    const server = createHttpServer(api, {
      metrics: this.metrics.registry,
      logger: this.logger,
      scheduler: o.scheduler,
      clock: o.clock,
      wallClock: o.wallClock,
      ...this.security.httpOptions((id) => this.state.hasNode(id)),
    });
    this.#http = server;
    // The server never listens itself (the shared listener hands it sockets), so its closeAllConnections() does
    // not know them: track them here, to close kept-alive client connections at stop.
    server.on('connection', (socket: Socket) => {
      this.#httpSockets.add(socket);
      socket.once('close', () => this.#httpSockets.delete(socket));
    });
    this.#listener = await listenShared({
      ...(o.listen.host === undefined ? {} : { host: o.listen.host }),
      port: o.listen.port,
      raft: transport,
      http: server,
      scheduler: o.scheduler,
      ...this.security.listenerOptions(),
    });
    const bound = formatAddr(o.listen.host ?? '0.0.0.0', this.#listener.port);
    for (const [i, warning] of this.security.warnings(bound).entries()) {
      this.logger.warn({}, warning);
      if (i === 0) process.emitWarning(warning, { code: 'CLUSTERKIT_INSECURE' });
    }
    this.advertiseAddr = formatAddr(o.advertiseHost, o.advertisePort === 0 ? this.#listener.port : o.advertisePort);
    transport.setAdvertiseAddr(this.advertiseAddr);
    const bootstrap = blank && o.joinAddrs.length === 0;
    const r = o.raft;
    const raft = new RaftNode<ApplyResult>({
      id: o.nodeId,
      addr: this.advertiseAddr,
      logStore: stores.log,
      stableStore: stores.stable,
      snapshotStore: stores.snapshots,
      transport,
      stateMachine: this.machine,
      clock: o.clock,
      scheduler: o.scheduler,
      random: o.random,
      timings: {
        // Unless told otherwise, the engine's clock ticks at half the heartbeat interval (25 ms by default) rather
        // than every 10 ms: a tick is a timer callback on every node, the biggest part of an idle node's CPU, and
        // no timeout of ClusterKit's (heartbeats of 50 ms, elections of 1 s) needs a finer grain.
        tickMs: r.tickMs ?? defaultTickMs(r.heartbeatMs),
        ...(r.electionMs === undefined ? {} : { electionMs: r.electionMs }),
        ...(r.heartbeatMs === undefined ? {} : { heartbeatMs: r.heartbeatMs }),
      },
      ...(r.snapshotThreshold === undefined ? {} : { snapshotThreshold: r.snapshotThreshold }),
      ...(r.snapshotTrailing === undefined ? {} : { snapshotTrailing: r.snapshotTrailing }),
      ...(r.proposeTimeoutMs === undefined ? {} : { proposeTimeoutMs: r.proposeTimeoutMs }),
      ...(r.leaseReads === undefined ? {} : { leaseReads: r.leaseReads }),
      ...(bootstrap ? { bootstrap: { members: [{ id: o.nodeId, addr: this.advertiseAddr, voter: true }] } } : {}),
    });
    raft.on('leader', (leaderId) => {
      this.leaderSeenAt = leaderId === null ? undefined : o.wallClock();
      this.#scheduleHealth();
    });
    raft.on('config', () => this.#scheduleHealth());
    raft.on('storage', (err) => {
      if (err === null) this.logger.warn({}, 'raft storage writes succeed again; this node accepts writes again');
      else {
        this.logger.error(
          { ...errorFields(err) },
          'raft storage writes are failing (disk full?): this node refuses writes and retries until they succeed',
        );
      }
    });
    raft.on('stopped', (err) => {
      if (err === undefined) return;
      this.fatalError = err;
      this.logger.error({ ...errorFields(err) }, 'raft stopped after a fatal error; the node is going down');
      void this.stop();
    });
    await raft.start();
    this.raft = raft;
    const proposeTimeout = r.proposeTimeoutMs ?? 5000;
    this.membership = new RaftMembership(() => this.raft, o.scheduler, this.logger, proposeTimeout);
    this.duties = new LeaderDuties({
      nodeId: o.nodeId,
      state: this.state,
      raftStatus: () => this.raftStatus(),
      propose: (c) => this.propose(c),
      membership: this.membership,
      pendingJoins: this.pendingJoins,
      health: o.healthCheck,
      maxVoters: () => this.state.config?.maxVoters ?? o.maxVoters,
      raftTickMs: r.tickMs ?? defaultTickMs(r.heartbeatMs),
      clock: o.clock,
      scheduler: o.scheduler,
      wallClock: o.wallClock,
      logger: this.logger,
      heartbeatMs: r.heartbeatMs ?? 50,
    });
    this.duties.start();
    this.coordinator = new JoinCoordinator({
      state: this.state,
      sync: () => this.raft?.read() ?? Promise.reject(new ShuttingDownError()),
      propose: (c) => this.propose(c),
      ensureRaftMember: (id, addr) => this.#ensureRaftMember(id, addr),
      removeRaftMember: (id) => this.membership?.remove(id) ?? Promise.reject(new ShuttingDownError()),
      isLeader: () => this.raftStatus()?.role === 'leader',
      redirect: () => ({ kind: 'redirect', leader: this.leaderInfo() }),
      isReachable: (id) => this.duties?.isReachable(id) ?? false,
      lastSeenBeforeOutage: (id) => {
        // The leader admitting itself after a restart: only its own disk knows when its previous life ended.
        const previous = dataDir.previous.lastAliveAt;
        if (id === o.nodeId && previous > 0) return previous;
        return this.duties?.lastSeenBeforeOutage(id) ?? o.wallClock();
      },
      pendingJoins: this.pendingJoins,
      authenticatedJoins: this.security.membershipSecured,
      forward: this.#member.joinForwarder(),
      wallClock: o.wallClock,
      logger: this.logger,
    });
    await dataDir.saveProgress({ lastEmittedIndex: this.#lastEmitted, lastAliveAt: o.wallClock(), cleanStop: false });
    this.#healthTimer = o.scheduler.setTimeout(() => this.#healthTick(), this.#healthPeriod());
  }

  #ensureRaftMember(id: string, addr: string): Promise<void> {
    if (id === this.o.nodeId) return Promise.resolve(); // the leader's own address cannot change while it leads
    if (this.membership === null) return Promise.reject(new ShuttingDownError());
    // A node admitted now is up (it just asked to join): a reconnect back-off grown while it was down would
    // otherwise keep the leader from reaching it for up to two seconds.
    this.#transport?.reconnect(id);
    return this.membership.ensureMember(id, addr);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Proposals, events, health
  // ------------------------------------------------------------------------------------------------------------

  /** Proposes a command; resolves with the applied result, rejects with the refusal or the Raft error. */
  async propose(command: ClusterCommand): Promise<ApplyOk> {
    const raft = this.raft;
    if (raft === null || this.stopping) {
      throw this.stopping
        ? new ShuttingDownError()
        : new ClusterKitError('ERR_UNAVAILABLE', 'the node is not started', { retriable: true });
    }
    const bytes = encodeCommand(command);
    const result = await raft.propose(bytes);
    if (!result.ok) throw refusalToError(result);
    return result;
  }

  #onEvents(events: readonly ClusterEvent[], index: number): void {
    this.lastSyncAt = this.o.wallClock();
    if (this.#stateWaiters.size > 0) {
      for (const wake of this.#stateWaiters) wake();
      this.#stateWaiters.clear();
    }
    this.#scheduleHealth();
    // Replay of what the previous life of this node already emitted (log replay after a restart).
    if (index <= this.#resumeIndex) return;
    if (!this.#admitted) {
      // History from before this life joined (the log a joiner catches up on, what happened while a restarted
      // node was down) is not news to it: the first events it reports are those of the command that admitted this
      // life (its bootstrap, join or rejoin, with the partition changes that tell it what it owns now). When that
      // command arrived inside a snapshot, reporting starts with the next command.
      this.#admitted = this.isJoined();
      if (!this.#admitted) return;
    }
    const table = this.state.table;
    const publicEvents = toPublicEvents(
      events,
      (id) => this.state.node(id),
      (i) => table?.partitions[i]?.owners ?? [],
    );
    for (const e of publicEvents) {
      if (e.type === 'nodeLeave' && e.node.id === this.o.nodeId && e.node.incarnation === this.incarnation) {
        this.#member.removed(e.reason);
      }
      if (e.type === 'customDataChange' && e.key.startsWith(RESERVED_KEY_PREFIX)) continue;
      this.eventsEmitted++;
      this.metrics.events.inc({ type: e.type });
      this.hooks.emit(e.type, e);
      this.eventLog.record(e);
    }
    this.#lastEmitted = index;
    this.#scheduleProgress();
  }

  #scheduleProgress(): void {
    if (this.#progressTimer !== null || this.dataDir === null) return;
    this.#progressTimer = this.o.scheduler.setTimeout(() => {
      this.#progressTimer = null;
      void this.#saveProgress(false);
    }, PROGRESS_DEBOUNCE_MS);
  }

  #saveProgress(cleanStop: boolean): Promise<void> {
    const d = this.dataDir;
    if (d === null) return Promise.resolve();
    return d
      .saveProgress({ lastEmittedIndex: this.#lastEmitted, lastAliveAt: this.o.wallClock(), cleanStop })
      .catch((err: unknown) => {
        this.logger.error({ ...errorFields(err) }, 'could not save progress; events may repeat after a crash');
      });
  }

  #healthPeriod(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.o.healthCheck.interval / 2)));
  }

  #healthTick(): void {
    this.#healthTimer = null;
    if (this.stopping) return;
    this.#evaluateHealth();
    this.#member.watch();
    const now = this.o.clock.now();
    if (now - this.#aliveSavedAt >= ALIVE_SAVE_MS) {
      // When this life was last alive, for the offline time reported after a crash and restart.
      this.#aliveSavedAt = now;
      void this.#saveProgress(false);
    }
    this.#healthTimer = this.o.scheduler.setTimeout(() => this.#healthTick(), this.#healthPeriod());
  }

  #scheduleHealth(): void {
    if (this.#healthScheduled) return;
    this.#healthScheduled = true;
    queueMicrotask(() => {
      this.#healthScheduled = false;
      this.#evaluateHealth();
    });
  }

  /** The cluster health as this node sees it now. */
  assessHealth(): ClusterHealth {
    const st = this.raftStatus();
    const record = this.o.healthCheck.enabled
      ? decodeHealthRecord(this.state.getCustomData(HEALTH_KEY)?.value)
      : undefined;
    return assessClusterHealth({
      members: this.state.nodes().map((n) => n.id),
      unhealthy: new Set(record?.unhealthy ?? []),
      voters: (st?.config.members ?? []).filter((m) => m.voter).map((m) => m.id),
      table: this.state.table,
      leaderKnown: st?.leaderId != null,
    });
  }

  clusterHealth(): ClusterHealth | undefined {
    return this.#health.current ?? (this.phase === 'running' ? this.assessHealth() : undefined);
  }

  /** Ids the leader finds unhealthy (empty when health checks are off). */
  unhealthyIds(): ReadonlySet<string> {
    if (!this.o.healthCheck.enabled) return new Set();
    return new Set(decodeHealthRecord(this.state.getCustomData(HEALTH_KEY)?.value)?.unhealthy ?? []);
  }

  #evaluateHealth(): void {
    if (this.phase !== 'running') return;
    const event = this.#health.observe(this.assessHealth(), this.o.wallClock());
    if (event !== undefined) {
      this.eventsEmitted++;
      this.metrics.events.inc({ type: event.type });
      this.hooks.emit('clusterHealthChange', event);
      this.eventLog.record(event);
    }
  }

  leaderInfo(): LeaderInfo | null {
    const st = this.raftStatus();
    if (st === null || st.leaderId === null) return null;
    const node = this.state.node(st.leaderId);
    const raftAddr = node?.raftAddr ?? st.leaderAddr ?? undefined;
    return {
      id: st.leaderId,
      term: st.term,
      ...(node === undefined ? {} : { name: node.name, httpAddr: node.httpAddr }),
      ...(raftAddr === undefined ? {} : { raftAddr }),
      ...(this.leaderSeenAt === undefined ? {} : { electedAt: this.leaderSeenAt }),
    };
  }

  /** Handles a join received over HTTP. */
  join(request: JoinRequest): Promise<JoinOutcome> {
    if (this.coordinator === null || this.stopping) {
      return Promise.reject(new ClusterKitError('ERR_UNAVAILABLE', 'the node is not running', { retriable: true }));
    }
    return this.coordinator.handle(request);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Helpers and stop
  // ------------------------------------------------------------------------------------------------------------

  /** Sleeps on the injected scheduler; wakes early when the node stops. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        timer.cancel();
        resolve();
      };
      const timer = this.o.scheduler.setTimeout(() => {
        this.#stopWaiters = this.#stopWaiters.filter((w) => w !== done);
        resolve();
      }, ms);
      this.#stopWaiters.push(done);
    });
  }

  /**
   * Waits until `cond` holds or `timeoutMs` passed (never rejects). It is checked after every applied command
   * that emitted events (a join waiting for its own admission wakes at once) and every 20 ms.
   */
  async #until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = this.o.clock.now() + timeoutMs;
    while (!cond()) {
      if (this.o.clock.now() >= end) return false;
      await new Promise<void>((resolve) => {
        this.#stateWaiters.add(resolve);
        void this.#sleep(20).then(() => {
          this.#stateWaiters.delete(resolve);
          resolve();
        });
      });
    }
    return true;
  }

  waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.#until(cond, timeoutMs);
  }

  /** Stops everything this node runs; idempotent. Does not leave the cluster (see ClusterKit.leave). */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    const wasNew = this.phase === 'new';
    this.phase = 'stopping';
    // Ends the event streams first, so their connections do not hold the HTTP server open.
    this.eventLog.close();
    this.security.close();
    for (const w of this.#stopWaiters.splice(0)) w();
    this.duties?.stop();
    this.#healthTimer?.cancel();
    this.#progressTimer?.cancel();
    this.#progressTimer = null;
    if (wasNew) {
      this.phase = 'stopped';
      return;
    }
    // Resources are created while opening: let that finish (or fail) so nothing it creates is left running.
    await this.#opening.catch(() => undefined);
    this.duties?.stop();
    const errors: unknown[] = [];
    const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        this.logger.error({ ...errorFields(err), step: what }, 'error while stopping');
      }
    };
    if (this.raft !== null) {
      // Closes the transport and the stores too.
      await attempt('raft', () => this.raft!.stop());
    } else {
      if (this.#transport !== null) await attempt('transport', () => this.#transport!.close());
      if (this.#stores !== null) await attempt('stores', () => this.#stores!.close());
    }
    const server = this.#http;
    if (server !== null) {
      server.closeAllConnections();
      for (const socket of this.#httpSockets) socket.destroy();
      await attempt('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
    }
    if (this.#listener !== null) await attempt('listener', () => this.#listener!.close());
    if (this.dataDir !== null) {
      await this.#saveProgress(this.fatalError === undefined);
      await attempt('data dir', () => this.dataDir!.release());
    }
    this.phase = 'stopped';
    this.logger.info({}, 'node stopped');
    if (errors.length > 0 && this.fatalError === undefined) {
      const first = errors[0];
      throw first instanceof Error ? first : new ClusterKitError('ERR_INTERNAL', String(first));
    }
  }
}
