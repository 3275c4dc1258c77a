/**
 * Helpers for hand-written scenarios: a cluster with sane defaults, booting, waiting in virtual time, and
 * proposing while driving the loop. Scenarios script faults precisely; the checkers run under them as always.
 */
import type { NodeId } from '../../src/raft/types.js';
import { type EngineOptions, type RaftFactory, SimCluster } from './cluster.js';
import type { CrashOptions, DiskTiming } from './disk.js';
import { type NetworkConfig, RELIABLE_NETWORK } from './network.js';
import { nodeIds, stableLeader } from './run.js';
import { Trace, type TraceMode } from './trace.js';
import { type ProposalOutcome, Workload, type WorkloadParams } from './workload.js';

export interface ScenarioOptions {
  seed?: number;
  nodes?: number;
  factory: RaftFactory;
  engine?: EngineOptions;
  network?: Partial<NetworkConfig>;
  disk?: DiskTiming;
  crash?: CrashOptions;
  workload?: Partial<WorkloadParams>;
  traceMode?: TraceMode;
}

export const DEFAULT_ENGINE: EngineOptions = {
  timings: { tickMs: 10, electionMs: 300, heartbeatMs: 50 },
  preVote: true,
  checkQuorum: true,
  proposeTimeoutMs: 2000,
};

export class Scenario {
  readonly cluster: SimCluster;
  readonly workload: Workload;
  readonly ids: NodeId[];
  private seq = 0;

  constructor(o: ScenarioOptions) {
    this.ids = nodeIds(o.nodes ?? 3);
    this.cluster = new SimCluster({
      seed: o.seed ?? 1,
      factory: o.factory,
      engine: { ...DEFAULT_ENGINE, ...o.engine },
      network: { ...RELIABLE_NETWORK, ...o.network },
      disk: o.disk ?? { minLatencyMs: 0.1, maxLatencyMs: 1 },
      crash: o.crash ?? { completeRate: 0.3, tearRate: 0.5 },
      trace: new Trace(o.traceMode ?? 'ring', 2000),
    });
    for (const id of this.ids) this.cluster.define(id);
    this.workload = new Workload(this.cluster, this.cluster.rng.fork('workload'), {
      clients: 2,
      thinkMinMs: 5,
      thinkMaxMs: 50,
      burstMax: 3,
      leaderBias: 0.5,
      proposeTimeoutMs: 2000,
      paddingMax: 8,
      readRate: 0.1,
      ...o.workload,
    });
  }

  get checker() {
    return this.cluster.checker;
  }

  /**
   * Starts every node with the bootstrap configuration of all of them (voters, except `nonVoters`) and waits until
   * all know one leader.
   */
  async boot(nonVoters: readonly NodeId[] = []): Promise<NodeId> {
    const all = this.cluster.configOf(this.ids);
    const config = { members: all.members.map((m) => ({ ...m, voter: !nonVoters.includes(m.id) })) };
    for (const id of this.ids) this.cluster.start(id, config);
    let leader: NodeId | undefined;
    await this.waitFor('a leader known to every node', () => {
      leader = stableLeader(this.cluster);
      return leader !== undefined;
    });
    return leader as NodeId;
  }

  /** Runs until `pred` holds; throws (with the cluster state) if it does not within `maxMs`. */
  async waitFor(what: string, pred: () => boolean, maxMs = 10_000): Promise<void> {
    const ok = await this.cluster.run(maxMs, () => pred() || !this.checker.ok);
    this.assertSafe();
    if (!ok) throw new Error(`timed out after ${maxMs} ms waiting for ${what}: ${this.describe()}`);
  }

  /** Waits until some node leads (optionally: one of `among`), and returns it. */
  async waitLeader(maxMs = 10_000, among?: readonly NodeId[]): Promise<NodeId> {
    let leader: NodeId | undefined;
    await this.waitFor(
      `a leader${among ? ` among ${among.join(',')}` : ''}`,
      () => {
        leader = this.cluster.leader()?.id;
        return leader !== undefined && (among === undefined || among.includes(leader));
      },
      maxMs,
    );
    return leader as NodeId;
  }

  /** Waits until a leader has committed its whole log and every node of `ids` has applied it. */
  async caughtUp(ids: readonly NodeId[] = this.ids, maxMs?: number): Promise<void> {
    await this.waitFor(
      'every node to apply the whole log',
      () => {
        const leader = this.cluster.leader()?.id;
        const st = leader === undefined ? undefined : this.cluster.statusOf(leader);
        if (st === undefined || st.commitIndex !== st.lastIndex) return false;
        return ids.every((id) => this.cluster.statusOf(id)?.appliedIndex === st.commitIndex);
      },
      maxMs,
    );
  }

  /**
   * Makes `target` the leader (with a leadership transfer when it is not), commits one proposal on it and waits
   * until the nodes of `ids` caught up.
   */
  async lead(target: NodeId, ids: readonly NodeId[] = this.ids): Promise<void> {
    const current = await this.waitLeader();
    if (current !== target) {
      const r = await this.call(this.cluster.raft(current).transferLeadership(target));
      if (!r.ok) throw new Error(`transfer from ${current} to ${target} failed: ${String(r.error)}`);
      await this.waitLeader(5000, [target]);
    }
    const out = await this.propose(target);
    if (!out.ok) throw new Error(`a proposal on ${target} failed: ${out.error ?? ''}`);
    await this.caughtUp(ids);
  }

  run(ms: number): Promise<boolean> {
    return this.cluster.run(ms, () => !this.checker.ok);
  }

  /** Proposes on `node` and drives the loop until the call settles. */
  async propose(node: NodeId, key = `p${this.seq++}`, timeoutMs?: number): Promise<ProposalOutcome> {
    const p = this.workload.propose(node, key, 0, timeoutMs);
    let out: ProposalOutcome | undefined;
    void p.then((o) => {
      out = o;
    });
    await this.cluster.settle(p, (timeoutMs ?? this.workload.params.proposeTimeoutMs) + 5000);
    if (out === undefined) throw new Error(`proposal ${key} on ${node} never settled`);
    return out;
  }

  /** Drives the loop until `p` settles and returns its outcome. */
  async call<T>(p: Promise<T>, maxMs = 20_000): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    const watched = p.then(
      (value) => {
        out = { ok: true, value };
      },
      (error: unknown) => {
        out = { ok: false, error };
      },
    );
    await this.cluster.settle(watched, maxMs);
    if (out === undefined) throw new Error(`call did not settle within ${maxMs} ms`);
    return out;
  }

  status(id: NodeId) {
    const st = this.cluster.statusOf(id);
    if (st === undefined) throw new Error(`${id} is not running`);
    return st;
  }

  assertSafe(): void {
    if (!this.checker.ok) {
      const lines = this.checker.violations.map((v) => `[${v.kind}] ${v.message}`).join('\n');
      throw new Error(`safety violation:\n${lines}\nlast events:\n${this.cluster.trace.tail(60).join('\n')}`);
    }
  }

  describe(): string {
    return [...this.cluster.hosts.values()]
      .map((h) => {
        const st = this.cluster.statusOf(h.id);
        return st === undefined
          ? `${h.id}:${h.state}`
          : `${h.id}:${st.role}/t${st.term}/c${st.commitIndex}/last${st.lastIndex}/leader=${st.leaderId ?? '-'}`;
      })
      .join(' ');
  }
}
