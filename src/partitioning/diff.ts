/**
 * What changed between two partition tables, per partition and per node: the input to `onPartitionChange` events
 * and to applications that move data themselves.
 */
import { InvalidArgumentError } from '../errors.js';
import { partitionId } from './hash.js';
import type { PartitionTable } from './table.js';

/** One partition whose owners, primary or epoch changed. */
export interface PartitionChange {
  readonly partition: number;
  /** `partition-<i>`. */
  readonly id: string;
  readonly oldPrimary: string | undefined;
  readonly newPrimary: string | undefined;
  readonly oldEpoch: number;
  readonly newEpoch: number;
  /** Primary first, as in the tables. */
  readonly oldOwners: readonly string[];
  readonly newOwners: readonly string[];
  /** New owners that had no copy: each must receive the partition's data (possibly the new primary itself). */
  readonly copyTo: readonly string[];
  /**
   * The nodes holding the data now, best source first: the old primary, then the old replicas in order. Includes
   * owners that are being dropped (they keep their copy until the copies are done) and, as tables do not know
   * liveness, possibly nodes that have left; callers filter those. Empty when nobody had a copy.
   */
  readonly copyFrom: readonly string[];
  /** The new primary when it was a replica of this partition before (no copy needed), else undefined. */
  readonly promoted: string | undefined;
  /** The old primary when it stays on as a replica, else undefined. */
  readonly demoted: string | undefined;
  /** Old owners that are no longer owners: they may delete their copy once the new owners have theirs. */
  readonly dropped: readonly string[];
}

/** Everything that changed for one node; partition indices in increasing order. */
export interface NodeChange {
  readonly node: string;
  /** Partitions this node gains a copy of (it must fetch the data). */
  readonly copyTo: readonly number[];
  /** Partitions this node no longer owns. */
  readonly dropped: readonly number[];
  /** Partitions this node now is the primary of and was not before (promoted, or with a new copy). */
  readonly becamePrimary: readonly number[];
  /** Partitions this node was the primary of and no longer is (demoted to replica, or dropped). */
  readonly lostPrimary: readonly number[];
  /** Subset of becamePrimary: it already had a copy as a replica. */
  readonly promoted: readonly number[];
  /** Subset of lostPrimary: it keeps its copy as a replica. */
  readonly demoted: readonly number[];
}

export interface TableDiff {
  /** undefined when diffing from no table. */
  readonly fromVersion: number | undefined;
  readonly toVersion: number;
  /** Only partitions that changed (owner set, primary or epoch), by index. */
  readonly partitions: readonly PartitionChange[];
  /** Only nodes with at least one change, sorted by id. */
  readonly nodes: ReadonlyMap<string, NodeChange>;
  /** Total copies to make: Σ copyTo over partitions ("replica slots moved"). */
  readonly copies: number;
  /** Number of partitions whose primary changed. */
  readonly primaryChanges: number;
  readonly isEmpty: boolean;
}

interface MutableNodeChange {
  node: string;
  copyTo: number[];
  dropped: number[];
  becamePrimary: number[];
  lostPrimary: number[];
  promoted: number[];
  demoted: number[];
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * The changes from `from` (undefined: no table yet, nobody has data) to `to`. Replica order alone is not a change.
 *
 * @throws InvalidArgumentError if the tables have different partition counts.
 */
export function diffTables(from: PartitionTable | undefined, to: PartitionTable): TableDiff {
  if (from !== undefined && from.partitionCount !== to.partitionCount) {
    throw new InvalidArgumentError(
      `cannot diff tables with different partition counts (${from.partitionCount} and ${to.partitionCount})`,
    );
  }
  const partitions: PartitionChange[] = [];
  const nodes = new Map<string, MutableNodeChange>();
  const node = (id: string): MutableNodeChange => {
    let c = nodes.get(id);
    if (c === undefined) {
      c = { node: id, copyTo: [], dropped: [], becamePrimary: [], lostPrimary: [], promoted: [], demoted: [] };
      nodes.set(id, c);
    }
    return c;
  };
  let copies = 0;
  let primaryChanges = 0;
  for (const next of to.partitions) {
    const i = next.index;
    const prev = from?.partitions[i];
    const oldOwners = prev?.owners ?? NONE;
    const oldPrimary = prev?.primary;
    const oldEpoch = prev?.epoch ?? 0;
    const copyTo = next.owners.filter((o) => !oldOwners.includes(o));
    const dropped = oldOwners.filter((o) => !next.owners.includes(o));
    const primaryChanged = oldPrimary !== next.primary;
    if (copyTo.length === 0 && dropped.length === 0 && !primaryChanged && oldEpoch === next.epoch) continue;
    const promoted =
      primaryChanged && next.primary !== undefined && oldOwners.includes(next.primary) ? next.primary : undefined;
    const demoted =
      primaryChanged && oldPrimary !== undefined && next.owners.includes(oldPrimary) ? oldPrimary : undefined;
    partitions.push(
      Object.freeze({
        partition: i,
        id: partitionId(i),
        oldPrimary,
        newPrimary: next.primary,
        oldEpoch,
        newEpoch: next.epoch,
        oldOwners,
        newOwners: next.owners,
        copyTo: Object.freeze(copyTo),
        copyFrom: oldOwners,
        promoted,
        demoted,
        dropped: Object.freeze(dropped),
      }),
    );
    copies += copyTo.length;
    for (const o of copyTo) node(o).copyTo.push(i);
    for (const o of dropped) node(o).dropped.push(i);
    if (primaryChanged) {
      primaryChanges++;
      if (next.primary !== undefined) node(next.primary).becamePrimary.push(i);
      if (oldPrimary !== undefined) node(oldPrimary).lostPrimary.push(i);
      if (promoted !== undefined) node(promoted).promoted.push(i);
      if (demoted !== undefined) node(demoted).demoted.push(i);
    }
  }
  const sorted = new Map<string, NodeChange>();
  for (const id of [...nodes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = nodes.get(id)!;
    sorted.set(
      id,
      Object.freeze({
        node: id,
        copyTo: Object.freeze(c.copyTo),
        dropped: Object.freeze(c.dropped),
        becamePrimary: Object.freeze(c.becamePrimary),
        lostPrimary: Object.freeze(c.lostPrimary),
        promoted: Object.freeze(c.promoted),
        demoted: Object.freeze(c.demoted),
      }),
    );
  }
  return Object.freeze({
    fromVersion: from?.version,
    toVersion: to.version,
    partitions: Object.freeze(partitions),
    nodes: sorted,
    copies,
    primaryChanges,
    isEmpty: partitions.length === 0,
  });
}
