/**
 * Cluster health: healthy, degraded or critical, and the `clusterHealthChange` event.
 *
 * Only the Raft leader judges liveness (leader-duties.ts). It publishes the set of members it currently finds
 * unhealthy as a small replicated record (a reserved custom-data key, written only when the set changes), so every
 * node reads the same verdict from its committed state and computes the same status from it:
 *
 * - healthy:  every member is healthy;
 * - degraded: some member is unhealthy, but a quorum of Raft voters is healthy and every partition still has a
 *             healthy owner;
 * - critical: otherwise (no quorum of healthy voters, a partition without a healthy owner, no known leader, or no
 *             cluster formed yet).
 *
 * The Go original had none of this (its status was always "healthy" and the hook never fired).
 */
import type { PartitionTable } from '../partitioning/index.js';

export type ClusterHealthStatus = 'healthy' | 'degraded' | 'critical';

/** The Go original's ClusterHealthEvent fields, plus the previous status and the reasons. */
export interface ClusterHealthEvent {
  readonly type: 'clusterHealthChange';
  readonly status: ClusterHealthStatus;
  readonly previousStatus: ClusterHealthStatus;
  readonly healthyNodes: number;
  readonly unhealthyNodes: number;
  readonly totalNodes: number;
  /** Sorted. */
  readonly unhealthyNodeIds: readonly string[];
  /** Why the status is not healthy (empty when healthy). */
  readonly reasons: readonly string[];
  /** Wall-clock ms on this node. */
  readonly timestamp: number;
}

export interface ClusterHealth {
  readonly status: ClusterHealthStatus;
  readonly healthyNodes: number;
  readonly unhealthyNodes: number;
  readonly totalNodes: number;
  readonly unhealthyNodeIds: readonly string[];
  readonly reasons: readonly string[];
}

export interface HealthInputs {
  /** Ids of the members of the cluster state. */
  readonly members: readonly string[];
  /** Members judged unhealthy by the leader (ids of non-members are ignored). */
  readonly unhealthy: ReadonlySet<string>;
  /** Voters of the Raft configuration. */
  readonly voters: readonly string[];
  readonly table: PartitionTable | undefined;
  /** This node knows a leader (a node that lost the leader cannot vouch for a quorum). */
  readonly leaderKnown: boolean;
}

/** The health verdict from its inputs. Pure. */
export function assessClusterHealth(input: HealthInputs): ClusterHealth {
  const memberSet = new Set(input.members);
  const unhealthyIds = [...input.unhealthy].filter((id) => memberSet.has(id)).sort();
  const bad = new Set(unhealthyIds);
  const reasons: string[] = [];
  let critical = false;
  if (input.table === undefined || input.members.length === 0) {
    critical = true;
    reasons.push('the cluster is not formed');
  }
  if (!input.leaderKnown) {
    critical = true;
    reasons.push('no Raft leader is known');
  }
  const voters = input.voters;
  if (voters.length > 0) {
    const healthyVoters = voters.filter((v) => !bad.has(v)).length;
    const quorum = Math.floor(voters.length / 2) + 1;
    if (healthyVoters < quorum) {
      critical = true;
      reasons.push(`only ${healthyVoters} of ${voters.length} Raft voters are healthy (quorum ${quorum})`);
    }
  }
  if (input.table !== undefined && bad.size > 0) {
    let orphaned = 0;
    for (const p of input.table.partitions) {
      if (p.owners.length > 0 && p.owners.every((o) => bad.has(o))) orphaned++;
    }
    if (orphaned > 0) {
      critical = true;
      reasons.push(`${orphaned} partition(s) have no healthy owner`);
    }
  }
  if (bad.size > 0) reasons.push(`${bad.size} node(s) unhealthy: ${unhealthyIds.join(', ')}`);
  const status: ClusterHealthStatus = critical ? 'critical' : bad.size > 0 ? 'degraded' : 'healthy';
  return Object.freeze({
    status,
    healthyNodes: input.members.length - bad.size,
    unhealthyNodes: bad.size,
    totalNodes: input.members.length,
    unhealthyNodeIds: Object.freeze(unhealthyIds),
    reasons: Object.freeze(reasons),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The replicated record
// ---------------------------------------------------------------------------------------------------------------

/** Custom-data keys with this prefix belong to ClusterKit: hidden from users, refused in their writes. */
export const RESERVED_KEY_PREFIX = '__clusterkit/';
export const HEALTH_KEY = `${RESERVED_KEY_PREFIX}health`;

export interface HealthRecord {
  /** Members the leader finds unhealthy, sorted. */
  readonly unhealthy: readonly string[];
  /** The leader that wrote it. */
  readonly by: string;
  /** Wall-clock ms of the verdict. */
  readonly at: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeHealthRecord(r: HealthRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, unhealthy: [...r.unhealthy].sort(), by: r.by, at: r.at }));
}

/** The record in a custom-data value; undefined when absent or unreadable (then nobody is known unhealthy). */
export function decodeHealthRecord(bytes: Uint8Array | undefined): HealthRecord | undefined {
  if (bytes === undefined) return undefined;
  try {
    const v = JSON.parse(decoder.decode(bytes)) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    const list = o['unhealthy'];
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return undefined;
    return {
      unhealthy: Object.freeze([...list].sort()),
      by: typeof o['by'] === 'string' ? o['by'] : '',
      at: typeof o['at'] === 'number' ? o['at'] : 0,
    };
  } catch {
    return undefined;
  }
}

export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

// ---------------------------------------------------------------------------------------------------------------
// Change detection
// ---------------------------------------------------------------------------------------------------------------

/**
 * Remembers the last status reported and says when a new assessment is a change worth an event: the status
 * changed, or the set of unhealthy nodes did. The baseline is "healthy" (the Go original's initial value), so a
 * node that starts into a healthy cluster reports nothing and one that starts into a degraded one reports it.
 */
export class HealthChangeDetector {
  #last: ClusterHealth | undefined;
  #lastStatus: ClusterHealthStatus = 'healthy';

  get current(): ClusterHealth | undefined {
    return this.#last;
  }

  /** The event to emit for `next`, or undefined when nothing changed. */
  observe(next: ClusterHealth, now: number): ClusterHealthEvent | undefined {
    const prev = this.#last;
    this.#last = next;
    const previousStatus = this.#lastStatus;
    this.#lastStatus = next.status;
    const changed =
      prev === undefined
        ? next.status !== 'healthy'
        : prev.status !== next.status || !sameIds(prev.unhealthyNodeIds, next.unhealthyNodeIds);
    if (!changed) return undefined;
    return Object.freeze({
      type: 'clusterHealthChange',
      status: next.status,
      previousStatus,
      healthyNodes: next.healthyNodes,
      unhealthyNodes: next.unhealthyNodes,
      totalNodes: next.totalNodes,
      unhealthyNodeIds: next.unhealthyNodeIds,
      reasons: next.reasons,
      timestamp: now,
    });
  }
}
