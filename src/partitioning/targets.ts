/**
 * The copy counts placement aims for, exposed so applications (and tests) can see what "balanced" means for a given
 * membership: weights, zones and caps included.
 */
import { assertPartitionCount, DEFAULT_PARTITION_COUNT } from './hash.js';
import { type CanonicalMembers, canonicalizeMembers, type Member } from './members.js';
import { computeShares, type Shares } from './shares.js';
import { assertReplicationFactor, DEFAULT_REPLICATION_FACTOR } from './table.js';

/** What the balanced strategy guarantees for one node. */
export interface ReplicaTarget {
  readonly id: string;
  /** The real share r_i of the S = P·RF' copies (see docs/PARTITIONING.md, "Weights"). */
  readonly share: number;
  /** floor(r_i): the node holds at least this many copies. */
  readonly min: number;
  /** ceil(r_i): the node holds at most this many copies. */
  readonly max: number;
}

/** How placement groups nodes: by zone when there are at least RF' zones, else each node alone. */
export interface PlacementGroups {
  /** RF' = min(RF, N). */
  readonly slotsPerPartition: number;
  readonly zonesEnforced: boolean;
  readonly groups: Int32Array;
  readonly groupCount: number;
  readonly shares: Shares;
}

export function placementGroups(m: CanonicalMembers, partitions: number, rf: number): PlacementGroups {
  const n = m.ids.length;
  const R = Math.min(rf, n);
  const zonesEnforced = R > 0 && m.zoneCount >= R;
  const groups = zonesEnforced ? m.zones : Int32Array.from({ length: n }, (_, i) => i);
  const groupCount = zonesEnforced ? m.zoneCount : n;
  const shares = computeShares(m.weights, groups, groupCount, partitions, partitions * R);
  return { slotsPerPartition: R, zonesEnforced, groups, groupCount, shares };
}

/**
 * Per member (sorted by id): the share of copies the balanced strategy gives it, and the integer range its copy
 * count always falls in.
 */
export function computeReplicaTargets(options: {
  readonly members: readonly Member[];
  readonly partitionCount?: number | undefined;
  readonly replicationFactor?: number | undefined;
}): readonly ReplicaTarget[] {
  const partitions = options.partitionCount ?? DEFAULT_PARTITION_COUNT;
  assertPartitionCount(partitions);
  const rf = options.replicationFactor ?? DEFAULT_REPLICATION_FACTOR;
  assertReplicationFactor(rf);
  const m = canonicalizeMembers(options.members);
  const { shares } = placementGroups(m, partitions, rf);
  return Object.freeze(
    m.ids.map((id, i) => Object.freeze({ id, share: shares.share[i]!, min: shares.lo[i]!, max: shares.hi[i]! })),
  );
}
