/**
 * A simulated cluster: the virtual-time loop, the network, one disk per node id, the checkers, and the node
 * lifecycle (start, crash, restart, pause, resume, stop). Each start of a node is a new incarnation: a new Raft
 * instance (from the factory: the real RaftNode, or a fake for self-tests) over stores opened from the durable
 * image of its disk, a new transport, a new state machine and a fresh timer view.
 */
import type { Raft, RaftOptions, RaftStatus } from '../../src/raft/api.js';
import { decodeConfiguration } from '../../src/raft/core/config.js';
import { type Configuration, EntryType, type NodeId } from '../../src/raft/types.js';
import { Checker, type DurableView } from './checker.js';
import { type CrashOptions, type CrashReport, type DiskTiming, type DiskViews, SimDisk } from './disk.js';
import { SimLoop } from './loop.js';
import { watchMembershipCalls } from './membership-calls.js';
import { type NetworkConfig, SimNetwork, type SimTransport } from './network.js';
import { Rng } from './rng.js';
import { type SimResult, SimStateMachine } from './state-machine.js';
import { Trace } from './trace.js';

export type RaftFactory = (options: RaftOptions<SimResult>) => Raft<SimResult>;

/** The engine options a simulation chooses (everything but the injected I/O). */
export type EngineOptions = Omit<
  Partial<RaftOptions<SimResult>>,
  | 'id'
  | 'addr'
  | 'logStore'
  | 'stableStore'
  | 'snapshotStore'
  | 'transport'
  | 'stateMachine'
  | 'clock'
  | 'scheduler'
  | 'random'
  | 'bootstrap'
>;

export interface ClusterOptions {
  readonly seed: number;
  readonly factory: RaftFactory;
  readonly engine: EngineOptions;
  readonly network: NetworkConfig;
  readonly disk: DiskTiming;
  readonly crash: CrashOptions;
  readonly trace?: Trace;
}

export type HostState = 'down' | 'up' | 'crashed' | 'stopped';

export class SimHost {
  state: HostState = 'down';
  inc = 0;
  raft: Raft<SimResult> | null = null;
  sm: SimStateMachine | null = null;
  views: DiskViews | null = null;
  transport: SimTransport | null = null;
  /** The engine reported it stopped by itself (e.g. removed from the configuration). */
  selfStopped = false;
  starting: Promise<void> | null = null;

  constructor(
    readonly id: NodeId,
    readonly addr: string,
    readonly disk: SimDisk,
  ) {}

  get up(): boolean {
    return this.state === 'up' && !this.selfStopped;
  }
}

export interface ClusterStats {
  crashes: number;
  restarts: number;
  pauses: number;
  torn: number;
  lostWrites: number;
}

export class SimCluster {
  readonly rng: Rng;
  readonly trace: Trace;
  readonly loop: SimLoop;
  readonly net: SimNetwork;
  readonly checker: Checker;
  readonly hosts = new Map<NodeId, SimHost>();
  readonly stats: ClusterStats = { crashes: 0, restarts: 0, pauses: 0, torn: 0, lostWrites: 0 };
  private readonly crashListeners: ((id: NodeId, inc: number) => void)[] = [];
  private readonly resumeRng: Rng;
  /** Hooks a test can set to change the next incarnation's state machine (checker self-tests). */
  onStateMachine: ((sm: SimStateMachine) => void) | undefined;

  constructor(readonly options: ClusterOptions) {
    this.rng = new Rng(options.seed);
    this.resumeRng = this.rng.fork('resume');
    this.trace = options.trace ?? new Trace('ring');
    this.loop = new SimLoop(this.trace);
    this.checker = new Checker({
      now: () => this.loop.now(),
      durable: (id) => this.durableView(id),
      volatileLog: (id) => {
        const h = this.hosts.get(id);
        return h?.up === true ? h.views?.logStore.image : undefined;
      },
      quiet: (id) => (this.hosts.get(id)?.disk.pendingWrites() ?? 0) === 0,
      snapshot: (id) => {
        const h = this.hosts.get(id);
        const meta = h?.up === true ? h.views?.snapshotStore.latest()?.meta : undefined;
        return meta === undefined ? undefined : { index: meta.index, config: meta.config };
      },
    });
    this.loop.onError = (error, label) => {
      this.checker.fail('crash', `event "${label}" threw: ${describeError(error)}`);
    };
    this.net = new SimNetwork(this.loop, this.rng.fork('network'), options.network, {
      onSend: (msg) => this.checker.onSend(msg, () => this.statusOf(msg.from)),
      onContractViolation: (what) => this.checker.fail('contract', what),
    });
    this.loop.afterEach((node) => this.observe(node));
  }

  /** Declares a node id (its address and disk); it stays down until started. */
  define(id: NodeId): SimHost {
    const existing = this.hosts.get(id);
    if (existing !== undefined) return existing;
    const addr = `${id}:7000`;
    this.net.register(id, addr);
    const disk = new SimDisk(
      id,
      this.loop,
      this.rng.fork(`disk/${id}`),
      {
        onContractViolation: (what) => this.checker.fail('contract', what),
        onEntry: (view, e, hash) => {
          this.checker.onEntry(id, view, e.index, e.term, hash);
          if (view === 'volatile') this.checker.membership.onEntry(id, this.hosts.get(id)?.inc ?? 0, e);
        },
        lookupPrefix: (i, t) => this.checker.lookupPrefix(i, t),
        onHardState: (prev, next) => this.checker.onHardState(id, prev, next),
      },
      this.options.disk,
    );
    const host = new SimHost(id, addr, disk);
    this.hosts.set(id, host);
    return host;
  }

  host(id: NodeId): SimHost {
    const h = this.hosts.get(id);
    if (h === undefined) throw new Error(`unknown node ${id}`);
    return h;
  }

  raft(id: NodeId): Raft<SimResult> {
    const r = this.host(id).raft;
    if (r === null) throw new Error(`${id} is not running`);
    return r;
  }

  configOf(ids: readonly NodeId[]): Configuration {
    return { members: ids.map((id) => ({ id, addr: this.define(id).addr, voter: true })) };
  }

  /** Starts a new incarnation of `id` over its durable disk. */
  start(id: NodeId, bootstrap?: Configuration): SimHost {
    const host = this.define(id);
    if (host.state === 'up') throw new Error(`${id} is already running`);
    if (host.state === 'crashed' || host.state === 'stopped') this.stats.restarts++;
    host.inc++;
    const inc = host.inc;
    host.state = 'up';
    host.selfStopped = false;
    this.loop.setLive(id, inc);
    this.trace.add(this.loop.now(), `${id} start #${inc}${bootstrap ? ' (bootstrap)' : ''}`);
    const views = host.disk.open(inc);
    const transport = this.net.open(id, inc);
    const sm = new SimStateMachine(id, {
      onApply: (node, index, command, prev, hash) => {
        if (host.inc === inc) this.checker.onApply(node, index, command, prev, hash);
      },
      onRestore: (node, index, hash) => {
        if (host.inc === inc) this.checker.onRestore(node, index, hash);
      },
    });
    this.onStateMachine?.(sm);
    const view = this.loop.viewFor(id, inc, (ms) => this.checker.fail('contract', `${id} set a timer of ${ms} ms`));
    const engine = this.options.factory({
      ...this.options.engine,
      id,
      addr: host.addr,
      logStore: views.logStore,
      stableStore: views.stableStore,
      snapshotStore: views.snapshotStore,
      transport,
      stateMachine: sm,
      clock: view,
      scheduler: view,
      random: this.rng.fork(`engine/${id}/${inc}`),
      ...(bootstrap ? { bootstrap } : {}),
    });
    // Every membership call on this incarnation, whoever makes it (the nemesis, a scenario), is checked when it
    // resolves: its configuration must be committed on this node by then (membership-commit).
    const raft = watchMembershipCalls(engine, (change) => {
      const lo = engine.status().commitIndex;
      return () => {
        if (host.inc === inc && host.up) {
          this.checker.membership.onResolved(id, inc, change, lo, engine.status().commitIndex);
        }
      };
    });
    host.raft = raft;
    host.sm = sm;
    host.views = views;
    host.transport = transport;
    raft.on('stopped', (error) => {
      if (host.inc !== inc) return;
      this.trace.add(this.loop.now(), `${id} stopped${error ? `: ${describeError(error)}` : ''}`);
      if (error !== undefined) this.checker.fail('crash', `${id} stopped with an error: ${describeError(error)}`);
      host.selfStopped = true;
    });
    raft.on('role', (role, term) => {
      if (host.inc === inc) this.trace.add(this.loop.now(), `${id} role ${role} t${term}`);
    });
    host.starting = raft.start().catch((error: unknown) => {
      if (host.inc === inc) this.checker.fail('crash', `${id} start() failed: ${describeError(error)}`);
    });
    return host;
  }

  /** The process dies: timers and in-flight I/O vanish, unsynced writes are lost or torn. */
  crash(id: NodeId): CrashReport {
    const host = this.host(id);
    if (host.state !== 'up') throw new Error(`${id} is not running`);
    const report = host.disk.crash(this.options.crash);
    this.stats.crashes++;
    this.stats.torn += report.torn;
    this.stats.lostWrites += report.lost;
    this.trace.add(
      this.loop.now(),
      `${id} crash #${host.inc} (writes: ${report.completed} completed, ${report.torn} torn, ${report.lost} lost)`,
    );
    this.down(host, 'crashed');
    for (const l of this.crashListeners) l(id, host.inc);
    return report;
  }

  /**
   * A clean stop: calls stop() and marks the node down once it resolves. Does not run the loop itself (it may be
   * called from inside an event); drive the loop until the returned promise settles (see `settle`).
   */
  stop(id: NodeId): Promise<void> {
    const host = this.host(id);
    if (host.state !== 'up') return Promise.resolve();
    const raft = host.raft;
    const inc = host.inc;
    this.trace.add(this.loop.now(), `${id} stop #${inc}`);
    if (this.loop.isPaused(id)) this.loop.resume(id);
    const finish = (): void => {
      if (host.inc !== inc || host.state !== 'up') return;
      host.disk.flush();
      this.trace.add(this.loop.now(), `${id} stopped #${inc}`);
      this.down(host, 'stopped');
      for (const l of this.crashListeners) l(id, inc);
    };
    return (raft?.stop() ?? Promise.resolve()).then(finish, (error: unknown) => {
      this.checker.fail('crash', `${id} stop() failed: ${describeError(error)}`);
      finish();
    });
  }

  /** Runs the loop until `p` settles (or `maxMs` of virtual time pass); returns whether it settled. */
  async settle(p: Promise<unknown>, maxMs = 60_000): Promise<boolean> {
    let done = false;
    const watched = p.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    await this.loop.settle();
    const ok = done || (await this.loop.runFor(maxMs, () => done));
    void watched;
    return ok;
  }

  private down(host: SimHost, state: HostState): void {
    this.checker.membership.onDown(host.id, host.inc);
    host.state = state;
    this.loop.setDown(host.id);
    this.net.close(host.id);
    host.raft = null;
    host.sm = null;
    host.views = null;
    host.transport = null;
  }

  /** Stops the process's clock: its timers, deliveries and disk completions wait until resume. */
  pause(id: NodeId): void {
    this.stats.pauses++;
    this.trace.add(this.loop.now(), `${id} pause`);
    this.loop.pause(id);
  }

  /** Resumes a paused node; by default a seeded coin decides whether its I/O or its overdue timers run first. */
  resume(id: NodeId, ioFirst = this.resumeRng.chance(0.5)): void {
    this.trace.add(this.loop.now(), `${id} resume${ioFirst ? ' (I/O first)' : ''}`);
    this.loop.resume(id, ioFirst);
  }

  isPaused(id: NodeId): boolean {
    return this.loop.isPaused(id);
  }

  onNodeDown(listener: (id: NodeId, inc: number) => void): void {
    this.crashListeners.push(listener);
  }

  /** Running, not paused: a node a client can talk to right now. */
  reachable(id: NodeId): boolean {
    const h = this.hosts.get(id);
    return h?.up === true && !this.loop.isPaused(id);
  }

  runningIds(): NodeId[] {
    return [...this.hosts.values()].filter((h) => h.up).map((h) => h.id);
  }

  statusOf(id: NodeId): RaftStatus | undefined {
    const h = this.hosts.get(id);
    if (h?.up !== true || h.raft === null) return undefined;
    return h.raft.status();
  }

  /** The running leader with the highest term, if any. */
  leader(): SimHost | undefined {
    let best: SimHost | undefined;
    let bestTerm = -1;
    for (const h of this.hosts.values()) {
      const st = h.up && !this.loop.isPaused(h.id) ? this.statusOf(h.id) : undefined;
      if (st?.role === 'leader' && st.term > bestTerm) {
        best = h;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /**
   * Whether any other node's latest configuration (a running node's, or the one on a down node's disk) lists `id`.
   * Only a node no configuration lists may be wiped and added as a brand-new machine: wiping a member's disk is
   * outside the fault model (it can let a voter forget its vote and its log).
   */
  configMentions(id: NodeId): boolean {
    for (const h of this.hosts.values()) {
      if (h.id === id) continue;
      const config = h.up && h.raft !== null ? h.raft.status().config : durableConfig(h);
      if (config?.members.some((m) => m.id === id) === true) return true;
    }
    return false;
  }

  durableView(id: NodeId): DurableView | undefined {
    const h = this.hosts.get(id);
    if (h === undefined) return undefined;
    return { log: h.disk.durableLog, hard: h.disk.durableHard, snapshots: h.disk.durableSnapshots };
  }

  /** Status polling after each event: the node the event belonged to, or every node for external events. */
  private observe(node: NodeId | null): void {
    if (node !== null) {
      this.observeOne(node);
      return;
    }
    for (const id of this.hosts.keys()) this.observeOne(id);
  }

  private observeOne(id: NodeId): void {
    const h = this.hosts.get(id);
    if (h?.up !== true || h.raft === null) return;
    let st: RaftStatus;
    try {
      st = h.raft.status();
    } catch (error) {
      this.checker.fail('crash', `${id} status() threw: ${describeError(error)}`);
      return;
    }
    this.checker.observe(id, h.inc, st);
  }

  run(ms: number, stopWhen?: () => boolean): Promise<boolean> {
    return this.loop.runFor(ms, stopWhen);
  }

  now(): number {
    return this.loop.now();
  }
}

/** The newest configuration on a node's disk: its last configuration entry, else its newest snapshot's. */
function durableConfig(h: SimHost): Configuration | undefined {
  const log = h.disk.durableLog;
  for (let i = log.lastIndex(); i > log.base; i--) {
    const e = log.entry(i);
    if (e?.type === EntryType.Config) return decodeConfiguration(e.data);
  }
  return h.disk.durableSnapshots.at(-1)?.meta.config;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code} ` : ''}${error.message}`;
  }
  return String(error);
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
