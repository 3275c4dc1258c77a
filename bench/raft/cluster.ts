/**
 * Parent side of the process harness: starts N node processes (bench/raft/node-process.ts) on ephemeral
 * 127.0.0.1 ports with their data directories under one temp directory, bootstraps them into a cluster, and
 * offers what the integration tests and benchmarks need: waiting for an agreed leader, status, workloads,
 * SIGKILL, restart on the same port and data directory, and clean teardown (every child is killed and the temp
 * directory removed even when a test fails; children also stop themselves if this process goes away).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RaftRole } from '../../src/raft/api.js';
import type { Configuration } from '../../src/raft/types.js';
import { type Condition, WakeOnChange } from '../../test/fixtures/wake-on-change.js';
import {
  type ChildMessage,
  type NodeProcessConfig,
  type NodeStatusReport,
  type NodeTimings,
  type ParentMessage,
  type WorkloadResult,
  type WorkloadSpec,
  wallNow,
} from './protocol.js';

const SCRIPT = join(import.meta.dirname, 'node-process.ts');
const REPO = join(import.meta.dirname, '..', '..');
const STDERR_TAIL_BYTES = 8192;

export interface LeaderEvent {
  readonly leaderId: string | null;
  readonly term: number;
  readonly at: number;
}

export interface RoleEvent {
  readonly role: RaftRole;
  readonly term: number;
  readonly at: number;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly clusterName?: string;
  readonly timings?: NodeTimings;
  readonly snapshotThreshold?: number;
  readonly snapshotTrailing?: number;
  readonly threadpoolFs?: boolean;
  /** See NodeProcessConfig.deferAppend (an experiment). */
  readonly deferAppend?: boolean;
  /** Extra node flags for the children (e.g. --cpu-prof). */
  readonly execArgv?: readonly string[];
  /** Copy the children's stderr to this process's stderr (benchmarks); otherwise only keep a tail for errors. */
  readonly forwardStderr?: boolean;
  /** How long a child may take to boot (tsx compiles on first use). Default 20 s. */
  readonly bootTimeoutMs?: number;
}

type Pending = { resolve: (msg: ChildMessage) => void; reject: (err: Error) => void };

/** One node process (one incarnation). */
export class NodeProcess {
  readonly leaderEvents: LeaderEvent[] = [];
  readonly roleEvents: RoleEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port = 0;
  addr = '';
  fresh = false;
  startedAt = 0;
  killedAt = 0;
  private stderrTail = '';
  private nextReqId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters = new Map<string, (msg: ChildMessage) => void>();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(
    readonly config: NodeProcessConfig,
    readonly child: ChildProcess,
    private readonly onChange: () => void,
    forwardStderr: boolean,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (forwardStderr) process.stderr.write(chunk.replace(/^(?=.)/gm, `[${config.id}] `));
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (forwardStderr) process.stdout.write(chunk.replace(/^(?=.)/gm, `[${config.id}] `));
    });
    child.on('message', (msg: ChildMessage) => this.onMessage(msg));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        const err = new Error(`node ${config.id} exited (code ${code}, signal ${signal})${this.describeStderr()}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.onChange();
        resolve({ code, signal });
      });
    });
  }

  get id(): string {
    return this.config.id;
  }

  get alive(): boolean {
    return this.exitInfo === null && this.killedAt === 0;
  }

  get lastLeader(): LeaderEvent | undefined {
    return this.leaderEvents[this.leaderEvents.length - 1];
  }

  describeStderr(): string {
    return this.stderrTail.length === 0 ? '' : `\n--- stderr of ${this.id} ---\n${this.stderrTail}`;
  }

  /** Resolves with the next message of `type` that carries no reqId (listening, started). */
  next(type: 'listening' | 'started', timeoutMs: number): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(type);
        reject(new Error(`node ${this.id}: no '${type}' within ${timeoutMs} ms${this.describeStderr()}`));
      }, timeoutMs);
      this.waiters.set(type, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`node ${this.id} exited before '${type}'${this.describeStderr()}`));
      });
    });
  }

  post(msg: ParentMessage): void {
    if (this.child.connected) this.child.send(msg);
  }

  /** Sends a request and resolves with its answer; rejects if the node answers with an error or exits. */
  request(make: (reqId: number) => ParentMessage): Promise<ChildMessage> {
    const reqId = this.nextReqId++;
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`node ${this.id} is not running`));
        return;
      }
      this.pending.set(reqId, { resolve, reject });
      this.child.send(make(reqId));
    });
  }

  async status(): Promise<NodeStatusReport> {
    const m = await this.request((reqId) => ({ type: 'status', reqId }));
    if (m.type !== 'status-result') throw new Error(`unexpected answer ${m.type}`);
    return m.status;
  }

  async workload(spec: WorkloadSpec): Promise<WorkloadResult> {
    const m = await this.request((reqId) => ({ type: 'workload', reqId, spec }));
    if (m.type !== 'workload-result') throw new Error(`unexpected answer ${m.type}`);
    return m.result;
  }

  async get(keys: readonly string[]): Promise<readonly (string | null)[]> {
    const m = await this.request((reqId) => ({ type: 'get', reqId, keys }));
    if (m.type !== 'get-result') throw new Error(`unexpected answer ${m.type}`);
    return m.values;
  }

  /** Clean stop: the node stops Raft, closes its stores and transport, then exits with code 0. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exitInfo !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      await this.request((reqId) => ({ type: 'stop', reqId })).catch(() => undefined);
      const { code, signal } = await this.exited;
      if (code !== 0) throw new Error(`node ${this.id} did not stop cleanly (code ${code}, signal ${signal})`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL; returns the wall-clock time just before the signal was sent. */
  kill(): number {
    const at = wallNow();
    if (this.exitInfo === null) {
      this.killedAt = at;
      this.child.kill('SIGKILL');
    }
    return at;
  }

  private onMessage(msg: ChildMessage): void {
    switch (msg.type) {
      case 'leader':
        this.leaderEvents.push({ leaderId: msg.leaderId, term: msg.term, at: msg.at });
        break;
      case 'role':
        this.roleEvents.push({ role: msg.role, term: msg.term, at: msg.at });
        break;
      case 'listening':
      case 'started': {
        const w = this.waiters.get(msg.type);
        this.waiters.delete(msg.type);
        w?.(msg);
        break;
      }
      case 'fatal':
        this.stderrTail += `\nfatal: ${msg.message}`;
        break;
      case 'error': {
        const p = this.pending.get(msg.reqId);
        this.pending.delete(msg.reqId);
        p?.reject(new Error(`node ${this.id}: ${msg.message}`));
        break;
      }
      default: {
        const p = this.pending.get(msg.reqId);
        this.pending.delete(msg.reqId);
        p?.resolve(msg);
      }
    }
    this.onChange();
  }
}

/** Every child ever started by this process, so an exit handler can kill stragglers. */
const allChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of allChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

export class ProcessCluster {
  readonly dir: string;
  readonly ids: readonly string[];
  /** The current process of each node id. */
  readonly nodes = new Map<string, NodeProcess>();
  private readonly options: ClusterOptions;
  private readonly wake = new WakeOnChange();

  private constructor(options: ClusterOptions) {
    this.options = options;
    this.dir = mkdtempSync(join(tmpdir(), 'ck-raft-proc-'));
    this.ids = Array.from({ length: options.nodes }, (_, k) => `n${k + 1}`);
  }

  /** Starts every node and bootstraps them into one cluster; does not wait for a leader. */
  static async start(options: ClusterOptions): Promise<ProcessCluster> {
    installExitHook();
    const cluster = new ProcessCluster(options);
    try {
      const procs = cluster.ids.map((id) => cluster.spawn(id, 0));
      const boot = options.bootTimeoutMs ?? 20_000;
      await Promise.all(procs.map((p) => cluster.awaitListening(p, boot)));
      const bootstrap: Configuration = { members: procs.map((p) => ({ id: p.id, addr: p.addr, voter: true })) };
      for (const p of procs) p.post({ type: 'start', bootstrap: p.fresh ? bootstrap : null });
      await Promise.all(procs.map((p) => cluster.awaitStarted(p, boot)));
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  node(id: string): NodeProcess {
    const p = this.nodes.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  alive(): NodeProcess[] {
    return [...this.nodes.values()].filter((p) => p.alive);
  }

  /**
   * The leader a majority of the whole cluster agrees on (each of them last heard of it in the same term, and it
   * says so itself), or null.
   */
  agreedLeader(): { id: string; term: number } | null {
    const quorum = Math.floor(this.ids.length / 2) + 1;
    for (const p of this.alive()) {
      const l = p.lastLeader;
      if (l === undefined || l.leaderId !== p.id) continue;
      const agree = this.alive().filter((q) => q.lastLeader?.leaderId === p.id && q.lastLeader.term === l.term);
      if (agree.length >= quorum) return { id: p.id, term: l.term };
    }
    return null;
  }

  /** Resolves once `cond` holds, re-checking on every event from a node and at least every `pollMs`. */
  waitUntil<T>(cond: Condition<T>, timeoutMs: number, what: string, pollMs = 25): Promise<T> {
    return this.wake.until(cond, timeoutMs, what, pollMs, () => this.describe());
  }

  waitForLeader(timeoutMs = 10_000): Promise<{ id: string; term: number }> {
    return this.waitUntil(() => this.agreedLeader(), timeoutMs, 'an agreed leader');
  }

  /** Waits until every live node has applied the same number of commands with the same digest. */
  async waitForConvergence(timeoutMs = 10_000): Promise<NodeStatusReport[]> {
    return this.waitUntil(
      async () => {
        const statuses = await Promise.all(this.alive().map((p) => p.status()));
        const first = statuses[0];
        if (first === undefined) return null;
        const same = statuses.every(
          (s) =>
            s.appliedIndex === first.appliedIndex &&
            s.state.count === first.state.count &&
            s.state.digest === first.state.digest,
        );
        return same && first.commitIndex === first.appliedIndex ? statuses : null;
      },
      timeoutMs,
      'all live nodes to apply the same commands',
    );
  }

  /** Restarts a node that was killed or stopped, on the same port and data directory. */
  async restart(id: string): Promise<NodeProcess> {
    const old = this.node(id);
    if (old.alive) throw new Error(`node ${id} is still running`);
    await old.exited;
    const p = this.spawn(id, old.port);
    const boot = this.options.bootTimeoutMs ?? 20_000;
    await this.awaitListening(p, boot);
    p.post({ type: 'start', bootstrap: null });
    await this.awaitStarted(p, boot);
    return p;
  }

  /** Stops every live node cleanly (in parallel). Throws if one of them does not stop cleanly. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled(this.alive().map((p) => p.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Kills whatever still runs and removes the temp directory. Safe to call more than once. */
  async destroy(): Promise<void> {
    const exits: Promise<unknown>[] = [];
    for (const p of this.nodes.values()) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      exits.push(p.exited);
    }
    await Promise.all(exits);
    for (const p of this.nodes.values()) allChildren.delete(p.child);
    rmSync(this.dir, { recursive: true, force: true });
  }

  describe(): string {
    const lines = [...this.nodes.values()].map((p) => {
      const l = p.lastLeader;
      return `  ${p.id} ${p.alive ? 'alive' : 'dead'} leader=${l?.leaderId ?? '-'} term=${l?.term ?? '-'}`;
    });
    const tails = [...this.nodes.values()].map((p) => p.describeStderr()).join('');
    return `\n${lines.join('\n')}${tails}`;
  }

  private spawn(id: string, port: number): NodeProcess {
    const o = this.options;
    const config: NodeProcessConfig = {
      id,
      dataDir: join(this.dir, id),
      port,
      clusterName: o.clusterName ?? 'bench',
      ...(o.timings === undefined ? {} : { timings: o.timings }),
      ...(o.snapshotThreshold === undefined ? {} : { snapshotThreshold: o.snapshotThreshold }),
      ...(o.snapshotTrailing === undefined ? {} : { snapshotTrailing: o.snapshotTrailing }),
      ...(o.threadpoolFs === undefined ? {} : { threadpoolFs: o.threadpoolFs }),
      ...(o.deferAppend === undefined ? {} : { deferAppend: o.deferAppend }),
    };
    const child = fork(SCRIPT, [JSON.stringify(config)], {
      cwd: REPO,
      execPath: process.execPath,
      execArgv: ['--import', 'tsx', ...(o.execArgv ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    allChildren.add(child);
    const p = new NodeProcess(config, child, () => this.wake.changed(), o.forwardStderr ?? false);
    this.nodes.set(id, p);
    return p;
  }

  private async awaitListening(p: NodeProcess, timeoutMs: number): Promise<void> {
    const m = await p.next('listening', timeoutMs);
    if (m.type !== 'listening') throw new Error('unexpected message');
    p.port = m.port;
    p.addr = m.addr;
    p.fresh = m.fresh;
  }

  private async awaitStarted(p: NodeProcess, timeoutMs: number): Promise<void> {
    const m = await p.next('started', timeoutMs);
    if (m.type !== 'started') throw new Error('unexpected message');
    p.startedAt = m.at;
  }
}

/** Time from a leader's SIGKILL until a majority of the survivors know one new leader. */
export interface FailoverMeasurement {
  readonly victim: string;
  readonly newLeader: string;
  readonly term: number;
  /** Milliseconds from the kill until the k-th survivor (k = majority of survivors) learnt of the new leader. */
  readonly ms: number;
  /** Milliseconds until the new leader itself became leader. */
  readonly electedMs: number;
}

/** SIGKILLs the agreed leader and measures how long the survivors take to agree on a new one. */
export async function killLeaderAndMeasure(cluster: ProcessCluster, timeoutMs = 15_000): Promise<FailoverMeasurement> {
  const before = await cluster.waitForLeader(timeoutMs);
  const victim = cluster.node(before.id);
  const survivors = cluster.alive().filter((p) => p !== victim);
  const killAt = victim.kill();
  const needed = Math.floor(survivors.length / 2) + 1;
  const result = await cluster.waitUntil(
    () => {
      // Candidates: every (leader, term) some survivor heard of after the kill. The answer is the one that a
      // majority of survivors learnt of first; each survivor counts from its own first event naming it.
      const firstSeen = new Map<string, { leaderId: string; term: number; times: number[] }>();
      for (const p of survivors) {
        const seenHere = new Set<string>();
        for (const e of p.leaderEvents) {
          if (e.at < killAt || e.term <= before.term || e.leaderId === null || e.leaderId === victim.id) continue;
          const key = `${e.leaderId}@${e.term}`;
          if (seenHere.has(key)) continue;
          seenHere.add(key);
          const c = firstSeen.get(key) ?? { leaderId: e.leaderId, term: e.term, times: [] };
          c.times.push(e.at);
          firstSeen.set(key, c);
        }
      }
      let best: FailoverMeasurement | null = null;
      for (const c of firstSeen.values()) {
        if (c.times.length < needed) continue;
        const ms = c.times.sort((a, b) => a - b)[needed - 1]! - killAt;
        if (best !== null && best.ms <= ms) continue;
        const self = cluster.node(c.leaderId).leaderEvents.find((e) => e.at >= killAt && e.leaderId === c.leaderId);
        best = {
          victim: victim.id,
          newLeader: c.leaderId,
          term: c.term,
          ms,
          electedMs: (self?.at ?? Number.NaN) - killAt,
        };
      }
      return best;
    },
    timeoutMs,
    `a new leader after killing ${victim.id}`,
  );
  await victim.exited;
  return result;
}
