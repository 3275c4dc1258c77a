/**
 * A small in-process test bed for RaftNode: virtual time (a clock and scheduler driven by the test), an in-memory
 * network with per-link blocking and message filters, a key-value state machine, and a cluster builder over the
 * memory stores. The full fault-injecting simulation lives in test/sim; this one is deliberately simple.
 */
import type { RaftOptions } from '../../../src/raft/api.js';
import { RaftNode } from '../../../src/raft/node.js';
import { MemoryLogStore, MemorySnapshotStore, MemoryStableStore } from '../../../src/raft/storage/memory.js';
import type { Configuration, Message, NodeId, StateMachine, Transport } from '../../../src/raft/types.js';
import { type Clock, type Scheduler, seededRandom, type TimerHandle } from '../../../src/util/io.js';

const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface TimerEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Discrete-event virtual time. After each event, pending promise continuations run before the next one. */
export class VirtualTime {
  private current = 0;
  private seq = 0;
  private events: TimerEvent[] = [];

  readonly clock: Clock = { now: () => this.current };

  now(): number {
    return this.current;
  }

  /** A scheduler whose timers can be disabled all at once (a crashed process). */
  scheduler(alive: () => boolean = () => true): Scheduler {
    return {
      setTimeout: (fn, ms): TimerHandle => {
        const ev: TimerEvent = {
          at: this.current + Math.max(0, ms),
          seq: this.seq++,
          fn: () => {
            if (alive()) fn();
          },
          cancelled: false,
        };
        this.events.push(ev);
        return {
          cancel: () => {
            ev.cancelled = true;
          },
        };
      },
    };
  }

  private next(): TimerEvent | undefined {
    let best = -1;
    for (let k = 0; k < this.events.length; k++) {
      const e = this.events[k]!;
      if (e.cancelled) continue;
      const b = best < 0 ? undefined : this.events[best]!;
      if (b === undefined || e.at < b.at || (e.at === b.at && e.seq < b.seq)) best = k;
    }
    if (best < 0) {
      this.events = [];
      return undefined;
    }
    return this.events[best];
  }

  /** Runs events until `ms` of virtual time passed or `until` holds (checked after every event). */
  async run(ms: number, until?: () => boolean): Promise<boolean> {
    const end = this.current + ms;
    await drain();
    if (until?.() === true) return true;
    for (;;) {
      const ev = this.next();
      if (ev === undefined || ev.at > end) break;
      this.events = this.events.filter((e) => e !== ev && !e.cancelled);
      this.current = ev.at;
      ev.fn();
      await drain();
      if (until?.() === true) return true;
    }
    this.current = end;
    await drain();
    return until?.() ?? false;
  }

  /** Runs until `until` holds, failing the test after `maxMs` of virtual time. */
  async waitFor(until: () => boolean, maxMs: number, what = 'condition'): Promise<void> {
    if (!(await this.run(maxMs, until))) throw new Error(`timed out after ${maxMs} virtual ms waiting for ${what}`);
  }
}

/** An in-memory network: delivery after `latencyMs`, links that can be cut, and an optional message filter. */
export class TestNetwork {
  private readonly handlers = new Map<string, { id: NodeId; handler: (m: Message) => void; closed: boolean }>();
  private readonly blocked = new Set<string>();
  /** Return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null;
  delivered = 0;

  constructor(
    private readonly time: VirtualTime,
    private readonly latencyMs = 1,
  ) {}

  transport(id: NodeId, addr: string): Transport {
    const entry = { id, handler: (_m: Message): void => undefined, closed: false };
    this.handlers.set(addr, entry);
    const sched = this.time.scheduler();
    return {
      send: (to, msg) => {
        if (entry.closed) return true;
        sched.setTimeout(() => this.deliver(id, to, msg), this.latencyMs);
        return true;
      },
      onMessage: (h) => {
        entry.handler = h;
      },
      onDrain: () => undefined,
      close: () => {
        entry.closed = true;
        return Promise.resolve();
      },
    };
  }

  private deliver(from: NodeId, addr: string, msg: Message): void {
    const dst = this.handlers.get(addr);
    if (dst === undefined || dst.closed) return;
    if (this.blocked.has(`${from}>${dst.id}`)) return;
    if (this.filter !== null && !this.filter(msg)) return;
    this.delivered++;
    dst.handler(structuredClone(msg));
  }

  /** Cuts both directions between `a` and every node in `others`. */
  cut(a: NodeId, others: readonly NodeId[]): void {
    for (const b of others) {
      this.blocked.add(`${a}>${b}`);
      this.blocked.add(`${b}>${a}`);
    }
  }

  /** Splits the nodes into groups that cannot talk to each other. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) this.cut(a, h);
  }

  heal(): void {
    this.blocked.clear();
  }
}

/** A key-value state machine: a command is JSON {k, v}; apply returns the previous value of k (or null). */
export class KvStateMachine implements StateMachine<string | null> {
  data = new Map<string, string>();
  appliedIndexes: number[] = [];
  restores = 0;

  apply(command: Uint8Array, index: number): string | null {
    this.appliedIndexes.push(index);
    const { k, v } = JSON.parse(new TextDecoder().decode(command)) as { k: string; v: string };
    const prev = this.data.get(k) ?? null;
    this.data.set(k, v);
    return prev;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.data]));
  }

  restore(data: Uint8Array): void {
    this.restores++;
    this.data = new Map(JSON.parse(new TextDecoder().decode(data)) as [string, string][]);
  }
}

export function cmd(k: string, v: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ k, v }));
}

export interface TestNode {
  readonly id: NodeId;
  readonly addr: string;
  raft: RaftNode<string | null>;
  sm: KvStateMachine;
  readonly log: MemoryLogStore;
  readonly stable: MemoryStableStore;
  readonly snapshots: MemorySnapshotStore;
  alive: boolean;
}

export type NodeOptions = Partial<Omit<RaftOptions<string | null>, 'id' | 'addr'>>;

export class TestCluster {
  readonly time = new VirtualTime();
  readonly net: TestNetwork;
  readonly nodes = new Map<NodeId, TestNode>();
  private seed = 1;

  constructor(
    private readonly defaults: NodeOptions = {},
    latencyMs = 1,
  ) {
    this.net = new TestNetwork(this.time, latencyMs);
  }

  static addrOf(id: NodeId): string {
    return `127.0.0.1:${id}`;
  }

  /** Creates and starts nodes ids with a bootstrap configuration of them all as voters. */
  static async start(ids: readonly NodeId[], defaults: NodeOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(defaults);
    const config: Configuration = { members: ids.map((id) => ({ id, addr: TestCluster.addrOf(id), voter: true })) };
    for (const id of ids) c.create(id, { bootstrap: config });
    for (const id of ids) await c.node(id).raft.start();
    return c;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Builds (but does not start) a node over fresh memory stores, or over `reuse`'s stores (a restart). */
  create(id: NodeId, options: NodeOptions = {}, reuse?: TestNode): TestNode {
    const addr = TestCluster.addrOf(id);
    const log = reuse?.log ?? new MemoryLogStore();
    const stable = reuse?.stable ?? new MemoryStableStore();
    const snapshots = reuse?.snapshots ?? new MemorySnapshotStore();
    const sm = new KvStateMachine();
    const node: TestNode = {
      id,
      addr,
      sm,
      log,
      stable,
      snapshots,
      alive: true,
      raft: undefined as unknown as RaftNode<string | null>,
    };
    node.raft = new RaftNode<string | null>({
      timings: { tickMs: 10, heartbeatMs: 50, electionMs: 300 },
      ...this.defaults,
      ...options,
      id,
      addr,
      logStore: log,
      stableStore: stable,
      snapshotStore: snapshots,
      transport: this.net.transport(id, addr),
      stateMachine: sm,
      clock: this.time.clock,
      scheduler: this.time.scheduler(() => node.alive),
      random: seededRandom(this.seed++ * 7919),
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Simulates a crash: timers stop and the network forgets the node; its stores survive. */
  crash(id: NodeId): void {
    const n = this.node(id);
    n.alive = false;
    this.net.cut(
      id,
      [...this.nodes.keys()].filter((x) => x !== id),
    );
  }

  /** Restarts a crashed node on its stores (a new RaftNode and a fresh state machine). */
  async restart(id: NodeId, options: NodeOptions = {}): Promise<TestNode> {
    const old = this.node(id);
    old.alive = false;
    const n = this.create(id, options, old);
    this.net.heal();
    await n.raft.start();
    return n;
  }

  running(): TestNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  leaders(): TestNode[] {
    return this.running().filter((n) => n.raft.status().role === 'leader');
  }

  /** Waits until exactly one running node among `among` leads and the others (running) know it. */
  async waitForLeader(maxMs = 5000, among?: readonly NodeId[]): Promise<TestNode> {
    const pool = (): TestNode[] => this.running().filter((n) => among === undefined || among.includes(n.id));
    let found: TestNode | undefined;
    await this.time.waitFor(
      () => {
        const ls = pool().filter((n) => n.raft.status().role === 'leader');
        if (ls.length !== 1) return false;
        const l = ls[0]!;
        const term = l.raft.status().term;
        if (!pool().every((n) => n.raft.status().leaderId === l.id && n.raft.status().term === term)) return false;
        found = l;
        return true;
      },
      maxMs,
      'a single leader',
    );
    return found!;
  }

  /** Waits until every running node applied at least `index`. */
  async waitForApplied(index: number, maxMs = 5000, ids?: readonly NodeId[]): Promise<void> {
    const pool = (): TestNode[] => this.running().filter((n) => ids === undefined || ids.includes(n.id));
    await this.time.waitFor(
      () => pool().every((n) => n.raft.status().appliedIndex >= index),
      maxMs,
      `applied ${index}`,
    );
  }

  /** Awaits a promise while virtual time runs. */
  async settle<T>(p: Promise<T>, maxMs = 10_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    p.then(
      (v) => {
        done = true;
        value = v;
      },
      (e: unknown) => {
        done = true;
        failed = true;
        error = e;
      },
    );
    await this.time.waitFor(() => done, maxMs, 'a promise to settle');
    if (failed) throw error;
    return value as T;
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) {
      n.alive = false;
      await n.raft.stop();
    }
  }
}
