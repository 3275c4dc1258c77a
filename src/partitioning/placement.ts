/**
 * Placement: a pure, deterministic function (members, previous table, partition count, RF) → partition table.
 *
 * Two strategies:
 * - `balanced` (default): per-node quotas from weights and zones (shares.ts), minimal movement from the previous
 *   table (assign.ts), primaries chosen under per-node caps (primaries.ts). Guarantees in docs/PARTITIONING.md.
 * - `rendezvous`: the Go original's assignment, bit for bit: per partition, nodes sorted by
 *   hashKey(partitionId + nodeId) ascending; the first is primary, the next RF'−1 are replicas in score order.
 *   Ignores zones and weights. For clusters that must agree with running Go nodes.
 */
import { InvalidArgumentError } from '../errors.js';
import { describe } from '../util/assert.js';
import { Assignment, NEW_RANK } from './assign.js';
import {
  assertPartitionCount,
  DEFAULT_PARTITION_COUNT,
  HANDWRITTEN_MD5_MAX_LENGTH,
  hashKey,
  partitionId,
} from './hash.js';
import { md5First32Concat } from './md5.js';
import { affinity, type CanonicalMembers, canonicalizeMembers, type Member } from './members.js';
import { choosePrimaries } from './primaries.js';
import {
  assertReplicationFactor,
  DEFAULT_REPLICATION_FACTOR,
  PartitionTable,
  type PartitionTableInit,
} from './table.js';
import { placementGroups } from './targets.js';

export type PlacementStrategy = 'balanced' | 'rendezvous';

export interface PlacementOptions {
  /** The nodes that may own partitions. Order does not matter; ids must be unique. May be empty. */
  readonly members: readonly Member[];
  /** The table in force: copies are kept where possible and epochs continue from it. */
  readonly previous?: PartitionTable | undefined;
  /** Default: the previous table's, else 64. Must equal the previous table's (a key's partition never changes). */
  readonly partitionCount?: number | undefined;
  /** Default: the previous table's, else 3. Each partition gets min(RF, members) owners. */
  readonly replicationFactor?: number | undefined;
  /** Default 'balanced'. */
  readonly strategy?: PlacementStrategy | undefined;
}

/** Owners per partition, primary first, as indices into the canonical member list. */
type Owners = number[][];

/**
 * Computes the partition table for `members`.
 *
 * Deterministic: the same members (in any order), previous table, counts and strategy always give the same table.
 * With no members every partition has no owner (no error). When nothing changes (same owners, same primaries, same
 * RF), the previous table object itself is returned: same version, same epochs, and `diffTables` is empty.
 * Otherwise the version is the previous one + 1 (1 for a first table), and each partition's epoch is the previous
 * one + 1 where its primary changed.
 *
 * @throws InvalidArgumentError on invalid members or counts, or a partition count different from `previous`'s.
 */
export function computePlacement(options: PlacementOptions): PartitionTable {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`placement options must be an object, got ${describe(options)}`);
  }
  const { previous } = options;
  if (previous !== undefined && !(previous instanceof PartitionTable)) {
    throw new InvalidArgumentError('previous must be a PartitionTable (use PartitionTable.fromJSON to load one)');
  }
  const partitions = options.partitionCount ?? previous?.partitionCount ?? DEFAULT_PARTITION_COUNT;
  assertPartitionCount(partitions);
  if (previous !== undefined && previous.partitionCount !== partitions) {
    throw new InvalidArgumentError(
      `partition count cannot change (previous table has ${previous.partitionCount}, asked for ${partitions}): ` +
        'it would move almost every key',
    );
  }
  const rf = options.replicationFactor ?? previous?.replicationFactor ?? DEFAULT_REPLICATION_FACTOR;
  assertReplicationFactor(rf);
  const strategy = options.strategy ?? 'balanced';
  if (strategy !== 'balanced' && strategy !== 'rendezvous') {
    throw new InvalidArgumentError(`strategy must be 'balanced' or 'rendezvous', got ${describe(strategy)}`);
  }
  const members = canonicalizeMembers(options.members);
  const owners =
    strategy === 'rendezvous'
      ? rendezvousOwners(members, partitions, rf)
      : balancedOwners(members, partitions, rf, previous);
  return buildTable(members, owners, partitions, rf, previous);
}

function balancedOwners(m: CanonicalMembers, P: number, rf: number, previous: PartitionTable | undefined): Owners {
  // Zones are hard constraints only when there are enough of them; otherwise each node is its own group.
  const { slotsPerPartition: R, groups, shares } = placementGroups(m, P, rf);
  if (R === 0) return Array.from({ length: P }, () => []);
  const prev: number[][] = [];
  for (let p = 0; p < P; p++) {
    const list: number[] = [];
    if (previous !== undefined) {
      for (const id of previous.partitions[p]!.owners) {
        const i = m.index.get(id);
        if (i !== undefined) list.push(i);
      }
    }
    prev.push(list);
  }
  const a = new Assignment({
    partitions: P,
    slotsPerPartition: R,
    groups,
    seeds: m.seeds,
    share: shares.share,
    lo: shares.lo,
    hi: shares.hi,
    previous: prev,
  });
  a.run();
  const primary = choosePrimaries(a, m.weights, m.seeds);
  const out: Owners = [];
  for (let p = 0; p < P; p++) {
    const base = p * R;
    if (primary[p]! < 0) {
      out.push([]);
      continue;
    }
    // Replicas keep their previous order; new copies follow, by affinity (then index). Insertion sort: R is small.
    const list = [primary[p]!];
    const keys = [0];
    for (let k = 0; k < a.count[p]!; k++) {
      const i = a.owners[base + k]!;
      if (i === primary[p]) continue;
      const rank = a.rank[base + k]!;
      const key = rank === NEW_RANK ? 2 ** 40 + (4294967295 - affinity(p, m.seeds[i]!)) * 1024 : rank;
      let at = list.length;
      while (at > 1 && (keys[at - 1]! > key || (keys[at - 1] === key && list[at - 1]! > i))) at--;
      list.splice(at, 0, i);
      keys.splice(at, 0, key);
    }
    out.push(list);
  }
  return out;
}

/**
 * The Go original's rendezvous assignment: per partition the RF' lowest hashKey(partitionId + nodeId) scores, lowest
 * first. Ties, practically impossible, go to the lower id. (hashKey of a concatenation, computed without building it.)
 */
function rendezvousOwners(m: CanonicalMembers, P: number, rf: number): Owners {
  const n = m.ids.length;
  const R = Math.min(rf, n);
  const out: Owners = [];
  const score = new Float64Array(n);
  for (let p = 0; p < P; p++) {
    const pid = partitionId(p);
    for (let i = 0; i < n; i++) {
      const id = m.ids[i]!;
      // Long ids take the node:crypto path of hashKey (same value), like any long key.
      score[i] = pid.length + id.length <= HANDWRITTEN_MD5_MAX_LENGTH ? md5First32Concat(pid, id) : hashKey(pid + id);
    }
    // Selection of the R smallest (R is small): insertion into a short sorted list.
    const best: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = score[i]!;
      if (best.length === R && s >= score[best[R - 1]!]!) continue;
      let at = best.length;
      while (at > 0 && score[best[at - 1]!]! > s) at--;
      best.splice(at, 0, i);
      if (best.length > R) best.pop();
    }
    out.push(best);
  }
  return out;
}

function buildTable(
  m: CanonicalMembers,
  owners: Owners,
  P: number,
  rf: number,
  previous: PartitionTable | undefined,
): PartitionTable {
  const parts: PartitionTableInit['partitions'][number][] = [];
  let changed = previous === undefined || previous.replicationFactor !== rf;
  for (let p = 0; p < P; p++) {
    const ids = owners[p]!.map((i) => m.ids[i]!);
    const primary = ids[0];
    const before = previous?.partitions[p];
    const primaryChanged = before === undefined ? primary !== undefined : before.primary !== primary;
    const epoch = (before?.epoch ?? 0) + (primaryChanged ? 1 : 0);
    if (!changed && before !== undefined) {
      changed = primaryChanged || before.owners.length !== ids.length || before.owners.some((o, k) => o !== ids[k]);
    }
    parts.push({ primary, replicas: ids.slice(1), epoch });
  }
  if (!changed && previous !== undefined) return previous;
  return PartitionTable.of({
    version: previous === undefined ? 1 : previous.version + 1,
    partitionCount: P,
    replicationFactor: rf,
    partitions: parts,
  });
}
