/**
 * The scenarios: which faults, on how many nodes, for how long. Each has a long form (the documented command,
 * docs/RELIABILITY.md) and a CI form (test/reliability/faults-*.test.ts: fewer nodes, a short fault phase).
 */
import type { ClusterSettings } from './launcher.js';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly faults: readonly FaultKind[];
  readonly churn: boolean;
  /** Targeted kill → removal → restart cycles with exact event expectations instead of the random fault track. */
  readonly eventCycles?: boolean;
  /** Kill -9 every node at once after the fault phase, then restart them all, before the final checks. */
  readonly killAllAtEnd: boolean;
  readonly nodes: number;
  readonly durationMs: number;
  readonly ci: { readonly nodes: number; readonly durationMs: number };
}

/**
 * Timings for a loaded 2-core machine: elections after 1 s of silence (ClusterKit's default), a silent node
 * unhealthy after 1.5 s and removed after 500 ms × 6 = 3 s.
 */
export const SETTINGS: ClusterSettings = {
  partitionCount: 32,
  replicationFactor: 3,
  healthCheck: { interval: 500, timeout: 1500, failureThreshold: 6 },
  raft: { electionMs: 1000, heartbeatMs: 100 },
};

const s = (x: Omit<Scenario, 'churn' | 'killAllAtEnd'> & Partial<Scenario>): Scenario => ({
  churn: false,
  killAllAtEnd: false,
  ...x,
});

export const SCENARIOS: readonly Scenario[] = [
  s({
    name: 'crash',
    description: 'kill -9 of any node and of the leader, in a loop; rolling restarts',
    faults: ['kill', 'kill-leader', 'rolling-restart'],
    nodes: 5,
    durationMs: 120_000,
    ci: { nodes: 3, durationMs: 15_000 },
  }),
  s({
    name: 'pause',
    description: 'SIGSTOP/SIGCONT of any node and of the leader for 1.5–5 election timeouts',
    faults: ['pause', 'pause-leader'],
    nodes: 5,
    durationMs: 120_000,
    ci: { nodes: 3, durationMs: 15_000 },
  }),
  s({
    name: 'partition',
    description: 'the leader isolated, a minority cut off, one-way loss, a bridge node, a cut pair',
    faults: ['partition-leader', 'partition-minority', 'partition-oneway', 'partition-bridge', 'partition-pair'],
    nodes: 5,
    durationMs: 120_000,
    ci: { nodes: 5, durationMs: 20_000 },
  }),
  s({
    name: 'disk',
    description: 'slow fsync (+50–400 ms) and a full disk (ENOSPC) on any node and on the leader, with crashes',
    faults: ['disk-slow', 'disk-full', 'kill'],
    nodes: 5,
    durationMs: 120_000,
    ci: { nodes: 3, durationMs: 15_000 },
  }),
  s({
    name: 'churn',
    description: 'joins, graceful leaves and operator removals while nodes crash, pause and get cut off',
    faults: ['kill', 'pause', 'partition-leader', 'partition-minority'],
    churn: true,
    nodes: 4,
    durationMs: 120_000,
    ci: { nodes: 3, durationMs: 20_000 },
  }),
  s({
    name: 'durability',
    description: 'kill -9 of every node at once (repeatedly, and once more at the end), then a restart',
    faults: ['kill-all', 'kill'],
    killAllAtEnd: true,
    nodes: 3,
    durationMs: 60_000,
    ci: { nodes: 3, durationMs: 10_000 },
  }),
  s({
    name: 'events',
    description: 'a follower or the leader killed until removed, then restarted: exact hook events on survivors',
    faults: [],
    eventCycles: true,
    nodes: 5,
    durationMs: 60_000,
    ci: { nodes: 3, durationMs: 1 },
  }),
  s({
    name: 'mixed',
    description: 'every fault above, with membership churn',
    faults: FAULT_KINDS,
    churn: true,
    killAllAtEnd: true,
    nodes: 5,
    durationMs: 300_000,
    ci: { nodes: 3, durationMs: 20_000 },
  }),
];

export function scenario(name: string): Scenario {
  const sc = SCENARIOS.find((x) => x.name === name);
  if (sc === undefined) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return sc;
}
