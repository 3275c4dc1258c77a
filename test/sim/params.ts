/**
 * Run parameters, derived from the seed alone (so `--seed N` reproduces everything) unless overridden. Each run
 * draws its own cluster size, timings, network and disk behaviour, workload and a random subset of fault kinds
 * with random weights ("swarm testing": a run that only partitions finds bugs a run doing everything dilutes).
 */
import type { EngineOptions } from './cluster.js';
import type { CrashOptions, DiskTiming } from './disk.js';
import { FAULT_KINDS, type FaultKind, type NemesisParams } from './nemesis.js';
import type { NetworkConfig } from './network.js';
import { Rng } from './rng.js';
import type { WorkloadParams } from './workload.js';

export interface LivenessParams {
  /** After the heal, every member must agree on one leader within this time. */
  leaderWithinMs: number;
  /** After the probes, every member must have applied the leader's commit index within this time. */
  convergeWithinMs: number;
}

/** Bounds that turn a stuck or runaway run into a failure (see LoopLimits). */
export interface BudgetParams {
  maxEvents: number;
  maxEventsPerInstant: number;
  maxTimeMs: number;
}

export interface SimParams {
  seed: number;
  nodes: number;
  /** Extra node ids that membership changes can add. */
  spares: number;
  /** Length of the fault phase, in simulated milliseconds. */
  durationMs: number;
  /** Optional cap on the events of the fault phase. */
  maxSteps: number | null;
  engine: EngineOptions;
  network: NetworkConfig;
  disk: DiskTiming;
  crash: CrashOptions;
  workload: WorkloadParams;
  nemesis: NemesisParams;
  liveness: LivenessParams;
  budget: BudgetParams;
}

export interface ParamOverrides {
  nodes?: number;
  durationMs?: number;
  maxSteps?: number;
  /** Cap on the events of the whole run (default DEFAULT_MAX_EVENTS). */
  maxEvents?: number;
  /** Only these fault kinds (each with weight 1); [] for none. */
  faults?: readonly FaultKind[];
}

/**
 * A run averages about 30,000 events (10 s fault phase; the largest seen in 4,000 runs were a few hundred
 * thousand); a hundred times that is a runaway, about 15-30 s of wall time on a 2-vCPU machine.
 */
export const DEFAULT_MAX_EVENTS = 3_000_000;

export function deriveParams(seed: number, o: ParamOverrides = {}): SimParams {
  const rng = new Rng(seed).fork('params');
  const nodes =
    o.nodes ??
    rng.weighted<number>([
      [3, 4],
      [5, 4],
      [7, 2],
    ]);
  const electionMs = rng.pick([150, 300]);
  const snapshotThreshold = rng.pick([4, 8, 16, 64, 100_000]);
  const checkQuorum = rng.chance(0.85);
  const engine: EngineOptions = {
    timings: { tickMs: 10, electionMs, heartbeatMs: electionMs / 6 },
    // Mostly the production defaults; sometimes without pre-vote or check-quorum (safety must not depend on them).
    preVote: rng.chance(0.85),
    checkQuorum,
    leaseReads: checkQuorum && rng.chance(0.3),
    snapshotThreshold,
    snapshotTrailing: rng.pick([0, 2, 8, 64]),
    maxEntriesPerMessage: rng.pick([1, 3, 16, 256]),
    maxInflightMessages: rng.pick([1, 2, 16]),
    snapshotChunkBytes: rng.pick([8, 64, 512 * 1024]),
    proposeTimeoutMs: rng.pick([1000, 3000]),
  };
  const maxDelay = rng.pick([2, 5, 20]);
  const lossy = rng.chance(0.5);
  const network: NetworkConfig = {
    minDelayMs: rng.float(0.1, 1),
    maxDelayMs: maxDelay,
    lossRate: lossy ? rng.pick([0.01, 0.05]) : 0,
    dupRate: lossy ? rng.pick([0, 0.02]) : 0,
    reorderRate: lossy ? rng.pick([0, 0.05]) : 0,
    reorderDelayMs: 100,
    fifo: rng.chance(0.5),
    highWater: rng.pick([4, 64, 1024]),
    lowWater: 2,
  };
  const disk: DiskTiming = { minLatencyMs: 0.05, maxLatencyMs: rng.pick([0.5, 2, 8]) };
  const crash: CrashOptions = { completeRate: rng.pick([0, 0.3, 0.7]), tearRate: rng.pick([0, 0.5, 1]) };
  const workload: WorkloadParams = {
    clients: rng.int(1, 4),
    thinkMinMs: 5,
    thinkMaxMs: rng.pick([30, 100, 300]),
    burstMax: rng.pick([1, 3, 8]),
    leaderBias: rng.pick([0, 0.5, 0.9]),
    proposeTimeoutMs: engine.proposeTimeoutMs ?? 3000,
    paddingMax: rng.pick([0, 16, 200]),
    readRate: rng.pick([0, 0.1, 0.3]),
  };
  const weights: Partial<Record<FaultKind, number>> = {};
  if (o.faults !== undefined) {
    for (const k of o.faults) weights[k] = 1;
  } else {
    for (const k of FAULT_KINDS) if (rng.chance(0.6)) weights[k] = rng.pick([1, 2, 4]);
  }
  const nemesis: NemesisParams = {
    weights,
    intervalMinMs: 100,
    intervalMaxMs: rng.pick([500, 1500, 3000]),
    durationMinMs: 50,
    durationMaxMs: rng.pick([500, 1500, 4000]),
    maxActive: rng.int(1, 3),
    chaos: { lossRate: rng.pick([0.1, 0.3]), dupRate: 0.1, reorderRate: 0.2, reorderDelayMs: rng.pick([200, 2000]) },
    slowDiskMs: rng.pick([20, 200, 1000]),
    minVoters: 3,
    maxMembers: nodes + 2,
    removedGraceMs: 1000,
  };
  return {
    seed,
    nodes,
    spares: rng.int(1, 2),
    durationMs: o.durationMs ?? 10_000,
    maxSteps: o.maxSteps ?? null,
    engine,
    network,
    disk,
    crash,
    workload,
    nemesis,
    liveness: { leaderWithinMs: 20 * electionMs + 2000, convergeWithinMs: 30_000 },
    // Every phase of a run has its own bound in virtual time; this one only catches a harness that loops through
    // them. Time never stands still for long: the engine's ticks are 10 ms apart.
    budget: {
      maxEvents: o.maxEvents ?? DEFAULT_MAX_EVENTS,
      maxEventsPerInstant: 100_000,
      maxTimeMs: (o.durationMs ?? 10_000) + 30 * 60_000,
    },
  };
}

/** A short human summary of the parameters, printed with every failing seed. */
export function describeParams(p: SimParams): string {
  const faults = Object.entries(p.nemesis.weights)
    .map(([k, w]) => `${k}:${w}`)
    .join(' ');
  const n = p.network;
  return [
    `seed=${p.seed} nodes=${p.nodes}+${p.spares} duration=${p.durationMs}ms${p.maxSteps === null ? '' : ` steps=${p.maxSteps}`}`,
    `engine=${JSON.stringify(p.engine)}`,
    `net: delay ${n.minDelayMs.toFixed(2)}-${n.maxDelayMs}ms loss=${n.lossRate} dup=${n.dupRate} reorder=${n.reorderRate} fifo=${n.fifo} hw=${n.highWater}`,
    `disk: ${p.disk.minLatencyMs}-${p.disk.maxLatencyMs}ms crash: complete=${p.crash.completeRate} tear=${p.crash.tearRate}`,
    `workload: ${JSON.stringify(p.workload)}`,
    `faults: ${faults || 'none'} (every ${p.nemesis.intervalMinMs}-${p.nemesis.intervalMaxMs}ms, lasting ${p.nemesis.durationMinMs}-${p.nemesis.durationMaxMs}ms, max ${p.nemesis.maxActive} at once)`,
  ].join('\n  ');
}
