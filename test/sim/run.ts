/**
 * One simulation run: boot a cluster, run clients and the nemesis for the fault phase, heal everything, then
 * check liveness (a stable leader, the backlog drains, a proposal on every member commits, every pending call
 * settles). Safety checkers run after every event throughout; the run stops at the first violation.
 */
import type { NodeId } from '../../src/raft/types.js';
import type { Violation } from './checker.js';
import { describeError, type RaftFactory, SimCluster } from './cluster.js';
import { SimBudgetError } from './loop.js';
import type { MembershipStats } from './membership-checker.js';
import { Nemesis } from './nemesis.js';
import type { SimParams } from './params.js';
import { Trace, type TraceMode } from './trace.js';
import { Workload, type WorkloadStats } from './workload.js';

export interface RunOptions {
  readonly factory: RaftFactory;
  readonly traceMode?: TraceMode;
  readonly traceSink?: (line: string) => void;
  /** Report a command applied at two indexes (default true; see Checker.exactlyOnce). */
  readonly exactlyOnce?: boolean;
  /** Called once the cluster exists, before it boots (scenario tweaks, checker self-tests). */
  readonly setup?: (cluster: SimCluster) => void;
  /** Abandon the run (a `budget` failure) after this much wall-clock time; none by default (determinism). */
  readonly wallLimitMs?: number;
}

export interface RunResult {
  readonly params: SimParams;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly simulatedMs: number;
  readonly events: number;
  readonly fingerprint: string;
  readonly proposals: WorkloadStats;
  readonly faults: Readonly<Record<string, number>>;
  readonly faultsInjected: number;
  readonly operatorCalls: Readonly<Record<string, number>>;
  /** How many membership checks ran (and could not be established). */
  readonly membershipChecks: Readonly<MembershipStats>;
  readonly crashes: number;
  readonly tornWrites: number;
  readonly messages: { sent: number; dropped: number; duplicated: number };
  readonly wallMs: number;
  readonly traceTail: readonly string[];
}

export function nodeIds(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `n${i + 1}`);
}

export async function runSimulation(params: SimParams, options: RunOptions): Promise<RunResult> {
  const wallStart = performance.now();
  const trace = new Trace(options.traceMode ?? 'ring', 300, options.traceSink);
  const cluster = new SimCluster({
    seed: params.seed,
    factory: options.factory,
    engine: params.engine,
    network: params.network,
    disk: params.disk,
    crash: params.crash,
    trace,
  });
  cluster.loop.limits = {
    ...params.budget,
    wallDeadline: options.wallLimitMs === undefined ? undefined : wallStart + options.wallLimitMs,
  };
  const checker = cluster.checker;
  checker.exactlyOnce = options.exactlyOnce ?? true;
  const onUnhandled = (reason: unknown): void => checker.fail('crash', `unhandled rejection: ${describeError(reason)}`);
  process.on('unhandledRejection', onUnhandled);
  const members = nodeIds(params.nodes);
  const all = nodeIds(params.nodes + params.spares);
  for (const id of all) cluster.define(id);
  const workload = new Workload(cluster, cluster.rng.fork('workload'), params.workload);
  const nemesis = new Nemesis(cluster, cluster.rng.fork('nemesis'), params.nemesis, params.network);
  options.setup?.(cluster);
  const failed = (): boolean => !checker.ok;
  try {
    const boot = cluster.configOf(members);
    for (const id of members) cluster.start(id, boot);
    const elected = await cluster.run(params.liveness.leaderWithinMs, () => failed() || cluster.leader() !== undefined);
    if (!elected) checker.fail('liveness', `no leader within ${params.liveness.leaderWithinMs} ms of boot`);

    if (checker.ok) {
      workload.start();
      nemesis.start();
      const end = cluster.now() + params.durationMs;
      const stepEnd = params.maxSteps === null ? Number.POSITIVE_INFINITY : cluster.loop.eventsRun + params.maxSteps;
      await cluster.loop.runUntil(end, () => failed() || cluster.loop.eventsRun >= stepEnd);
      workload.stop();
      nemesis.stop();
      nemesis.healAll();
    }
    if (checker.ok) await checkLiveness(cluster, workload, nemesis, params);
  } catch (error) {
    if (error instanceof SimBudgetError) checker.fail('budget', `run abandoned: ${error.message}`);
    else checker.fail('crash', `harness error: ${describeError(error)}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return {
    params,
    ok: checker.ok,
    violations: checker.violations,
    simulatedMs: cluster.now(),
    events: cluster.loop.eventsRun,
    fingerprint: trace.fingerprint(),
    proposals: workload.stats,
    faults: nemesis.counts,
    faultsInjected: nemesis.faultsInjected,
    operatorCalls: nemesis.opResults,
    membershipChecks: { ...checker.membership.stats },
    crashes: cluster.stats.crashes,
    tornWrites: cluster.stats.torn,
    messages: {
      sent: cluster.net.stats.sent,
      dropped: cluster.net.stats.dropped,
      duplicated: cluster.net.stats.duplicated,
    },
    wallMs: performance.now() - wallStart,
    traceTail: trace.tail(),
  };
}

/** True when a leader is known to every running member of its configuration, all in its term. */
export function stableLeader(cluster: SimCluster): NodeId | undefined {
  const leader = cluster.leader();
  if (leader === undefined) return undefined;
  const st = cluster.statusOf(leader.id);
  if (st === undefined) return undefined;
  for (const m of st.config.members) {
    if (!cluster.reachable(m.id)) return undefined;
    const ms = cluster.statusOf(m.id);
    if (ms === undefined || ms.leaderId !== leader.id || ms.term !== st.term) return undefined;
  }
  return st.config.members.some((m) => m.id === leader.id && m.voter) ? leader.id : undefined;
}

function describeCluster(cluster: SimCluster): string {
  return [...cluster.hosts.values()]
    .map((h) => {
      const st = cluster.statusOf(h.id);
      if (st === undefined) return `${h.id}:${h.state}`;
      const cfg = st.config.members.map((m) => `${m.id}${m.voter ? '' : '(nv)'}`).join(',');
      return `${h.id}:${st.role}/t${st.term} leader=${st.leaderId ?? '-'} c=${st.commitIndex} a=${st.appliedIndex} last=${st.lastIndex} cfg=[${cfg}]`;
    })
    .join('; ');
}

async function checkLiveness(cluster: SimCluster, workload: Workload, nemesis: Nemesis, p: SimParams): Promise<void> {
  const checker = cluster.checker;
  const failed = (): boolean => !checker.ok;
  // Every node some configuration still lists (and whose removal was not confirmed) must be running.
  const restartMembers = (): void => {
    nemesis.reconcile();
    for (const h of cluster.hosts.values()) {
      if ((h.state === 'stopped' || h.state === 'crashed') && nemesis.shouldRun(h.id)) cluster.start(h.id);
    }
  };
  // Stable means the same leader, known to every member, for two election timeouts: a leader resumed from a long
  // pause still looks like one for a moment before it notices it lost its quorum.
  const electionMs = p.engine.timings?.electionMs ?? 300;
  let stable: { leader: NodeId; term: number; since: number } | null = null;
  const agreed = (): boolean => {
    restartMembers();
    const l = stableLeader(cluster);
    const term = l === undefined ? -1 : (cluster.statusOf(l)?.term ?? -1);
    if (l === undefined) stable = null;
    else if (stable?.leader !== l || stable.term !== term) stable = { leader: l, term, since: cluster.now() };
    return stable !== null && cluster.now() - stable.since >= 2 * electionMs;
  };
  // Small messages and a small window make catching up slow but not stuck: every bound below gets time in
  // proportion to the backlog at the heal (a leader removing itself, say, must replicate it all before it can
  // hand over).
  const statuses = [...cluster.hosts.keys()].map((id) => cluster.statusOf(id)).filter((st) => st !== undefined);
  const behind =
    Math.max(0, ...statuses.map((st) => st.lastIndex)) - Math.min(...statuses.map((st) => st.appliedIndex));
  const perRound = (p.engine.maxEntriesPerMessage ?? 256) * (p.engine.maxInflightMessages ?? 16);
  const roundMs = 2 * p.network.maxDelayMs + 2 * p.disk.maxLatencyMs;
  const slowness = 2 * Math.ceil(Math.max(0, behind) / perRound) * roundMs;
  const leaderBound = p.liveness.leaderWithinMs + slowness;
  if (!(await cluster.run(leaderBound, () => failed() || agreed())) || failed()) {
    checker.fail('liveness', `no stable leader ${leaderBound} ms after the heal: ${describeCluster(cluster)}`);
    return;
  }
  // Operator calls still running (a transfer, a membership change) settle within their timeouts.
  const opsBound = 5000;
  if (!(await cluster.run(opsBound, () => failed() || nemesis.pendingOps.size === 0))) {
    checker.fail('liveness', `operator calls never settled: ${[...nemesis.pendingOps.keys()].join('; ')}`);
    return;
  }
  if (!(await cluster.run(leaderBound, () => failed() || agreed())) || failed()) {
    checker.fail('liveness', `no stable leader after operator calls settled: ${describeCluster(cluster)}`);
    return;
  }
  let leader = stableLeader(cluster) as NodeId;
  let members = (cluster.statusOf(leader)?.config.members ?? []).map((m) => m.id);
  // Stop nodes that are not members any more, so they cannot muddy the final checks.
  for (const h of [...cluster.hosts.values()]) {
    if (h.state === 'up' && !members.includes(h.id)) await cluster.settle(cluster.stop(h.id), 10_000);
  }
  // Let the backlog drain first (a slow disk's last writes, a long log to replicate with small messages): the
  // probes below must then succeed. Idle means one stable leader whose whole log is committed and applied by
  // every member of its configuration.
  const idle = (): boolean => {
    const l = agreed() ? stableLeader(cluster) : undefined;
    const st = l === undefined ? undefined : cluster.statusOf(l);
    if (st === undefined || st.commitIndex !== st.lastIndex) return false;
    return st.config.members.every((m) => (cluster.statusOf(m.id)?.appliedIndex ?? -1) >= st.commitIndex);
  };
  const catchUpMs = p.liveness.convergeWithinMs + slowness;
  if (!(await cluster.run(catchUpMs, () => failed() || idle())) || failed()) {
    checker.fail(
      'liveness',
      `the cluster did not catch up (${behind} entries behind at the heal): ${describeCluster(cluster)}`,
    );
    return;
  }
  leader = stableLeader(cluster) as NodeId;
  members = (cluster.statusOf(leader)?.config.members ?? []).map((m) => m.id);
  const probes = members.map((id, i) => workload.propose(id, `probe-${i}-${id}`, 0, p.workload.proposeTimeoutMs));
  await cluster.settle(Promise.all(probes), p.workload.proposeTimeoutMs + 1000);
  if (!(await cluster.run(p.liveness.convergeWithinMs, () => failed() || idle())) || failed()) {
    checker.fail('liveness', `the cluster did not settle after the probes: ${describeCluster(cluster)}`);
    return;
  }
  for (const [i, id] of members.entries()) {
    const key = `probe-${i}-${id}`;
    const out = workload.outcomes.find((o) => o.key === key);
    // A probe whose outcome this node could not learn (its index was covered by a snapshot it installed) still
    // counts when its command was applied: the requirement is that it commits.
    if (out?.ok !== true && checker.indexOf(key) === undefined) {
      checker.fail(
        'liveness',
        `proposal on ${id} after the heal ${out === undefined ? 'never settled' : `failed (${out.error ?? ''})`} and was not applied: ${describeCluster(cluster)}`,
      );
    }
  }
  if (failed()) return;
  const settleBound = 2 * p.workload.proposeTimeoutMs + 1000;
  if (!(await cluster.run(settleBound, () => failed() || workload.pending.size === 0)) || failed()) {
    const left = [...workload.pending.values()].map((x) => `${x.key}@${x.node}`).slice(0, 10);
    checker.fail('liveness', `${workload.pending.size} proposals never settled, e.g. ${left.join(', ')}`);
  }
}
