/**
 * The partition table: an immutable snapshot of who owns each partition, with O(1) lookups.
 *
 * Everything reachable from a table is frozen (the table, its partitions, their owner arrays, the per-node views),
 * so callers can share one table freely and can never change what other callers see.
 */
import { InvalidArgumentError } from '../errors.js';
import { describe } from '../util/assert.js';
import { assertPartitionCount, hashKey, parsePartitionId, partitionId } from './hash.js';

/** Largest replication factor accepted. */
export const MAX_REPLICATION_FACTOR = 32;

/** Default replication factor (copies of each partition, primary included), as in the Go original. */
export const DEFAULT_REPLICATION_FACTOR = 3;

/** One partition's owners. */
export interface PartitionAssignment {
  /** 0-based index: the partition of a key is `hashKey(key) % partitionCount`. */
  readonly index: number;
  /** `partition-<index>`. */
  readonly id: string;
  /** The node serving writes, or undefined when the table has no members. */
  readonly primary: string | undefined;
  /** The other owners, in a stable order (existing replicas keep their order across tables). */
  readonly replicas: readonly string[];
  /** Primary first, then the replicas: every node holding a copy. */
  readonly owners: readonly string[];
  /**
   * Increases by one each time this partition's primary changes (including to or from "no primary"). A primary can
   * fence writes stamped with an older epoch: they come from a node that no longer is the primary.
   */
  readonly epoch: number;
}

/** The partitions a node owns, as partition indices in increasing order. */
export interface NodePartitions {
  readonly primaries: readonly number[];
  readonly replicas: readonly number[];
}

/** What {@link PartitionTable.of} accepts: a plain description, validated and copied. */
export interface PartitionTableInit {
  readonly version: number;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Exactly `partitionCount` entries, in index order. */
  readonly partitions: readonly {
    readonly primary: string | undefined;
    readonly replicas: readonly string[];
    readonly epoch: number;
  }[];
}

/** One partition in JSON: the Go original's `Partition` fields, plus the epoch. */
export interface PartitionJSON {
  id: string;
  /** "" when the partition has no owner (the Go original's encoding). */
  primary_node: string;
  replica_nodes: string[];
  epoch: number;
}

/**
 * A table in JSON. `partitions` has the Go original's `partition_map.partitions` shape (an object keyed by partition
 * id), so Go code reading a `PartitionMap` can read this document.
 */
export interface PartitionTableJSON {
  version: number;
  partition_count: number;
  replication_factor: number;
  partitions: Record<string, PartitionJSON>;
}

const EMPTY: NodePartitions = Object.freeze({ primaries: Object.freeze([]), replicas: Object.freeze([]) });
const NONE: readonly string[] = Object.freeze([]);

/** Throws InvalidArgumentError unless `value` is a valid node id (non-empty string, at most 256 characters). */
export function assertNodeId(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new InvalidArgumentError(
      `${name} must be a non-empty string of at most 256 characters, got ${describe(value)}`,
    );
  }
}

function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function assertCounter(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative safe integer, got ${describe(value)}`);
  }
}

/** Throws InvalidArgumentError unless `rf` is an integer in 1..MAX_REPLICATION_FACTOR. */
export function assertReplicationFactor(rf: unknown): asserts rf is number {
  if (typeof rf !== 'number' || !Number.isInteger(rf) || rf < 1 || rf > MAX_REPLICATION_FACTOR) {
    throw new InvalidArgumentError(
      `replication factor must be an integer between 1 and ${MAX_REPLICATION_FACTOR}, got ${describe(rf)}`,
    );
  }
}

export class PartitionTable {
  /** Increases by one with every table that differs from its predecessor. */
  readonly version: number;
  readonly partitionCount: number;
  /** The configured RF; a partition has min(RF, nodes) owners. */
  readonly replicationFactor: number;
  /** All partitions, by index. */
  readonly partitions: readonly PartitionAssignment[];
  /** Every node owning at least one copy, sorted by id. */
  readonly nodes: readonly string[];
  // The hot path (key → primary) reads this flat array only.
  readonly #primaries: readonly (string | undefined)[];
  readonly #byNode: ReadonlyMap<string, NodePartitions>;

  private constructor(init: PartitionTableInit) {
    this.version = init.version;
    this.partitionCount = init.partitionCount;
    this.replicationFactor = init.replicationFactor;
    const parts: PartitionAssignment[] = [];
    const primaries: (string | undefined)[] = [];
    const byNode = new Map<string, { primaries: number[]; replicas: number[] }>();
    const entry = (node: string): { primaries: number[]; replicas: number[] } => {
      let e = byNode.get(node);
      if (e === undefined) {
        e = { primaries: [], replicas: [] };
        byNode.set(node, e);
      }
      return e;
    };
    for (let index = 0; index < init.partitionCount; index++) {
      const p = init.partitions[index]!;
      const replicas = p.replicas.length === 0 ? NONE : Object.freeze([...p.replicas]);
      const owners = p.primary === undefined ? NONE : Object.freeze([p.primary, ...replicas]);
      parts.push(
        Object.freeze({ index, id: partitionId(index), primary: p.primary, replicas, owners, epoch: p.epoch }),
      );
      primaries.push(p.primary);
      if (p.primary !== undefined) entry(p.primary).primaries.push(index);
      for (const r of replicas) entry(r).replicas.push(index);
    }
    this.partitions = Object.freeze(parts);
    this.#primaries = Object.freeze(primaries);
    const frozen = new Map<string, NodePartitions>();
    for (const id of [...byNode.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const e = byNode.get(id)!;
      frozen.set(id, Object.freeze({ primaries: Object.freeze(e.primaries), replicas: Object.freeze(e.replicas) }));
    }
    this.#byNode = frozen;
    this.nodes = Object.freeze([...frozen.keys()]);
    Object.freeze(this);
  }

  /**
   * Builds a table from a plain description, validating it: partition count and RF in range, one entry per
   * partition, owners distinct non-empty ids, at most RF owners, no replicas without a primary, epochs and version
   * non-negative integers. Throws InvalidArgumentError otherwise.
   */
  static of(init: PartitionTableInit): PartitionTable {
    assertCounter('version', init.version);
    assertPartitionCount(init.partitionCount);
    assertReplicationFactor(init.replicationFactor);
    const list: unknown = init.partitions;
    if (!isList(list) || list.length !== init.partitionCount) {
      throw new InvalidArgumentError(`expected ${init.partitionCount} partitions, got ${describe(list)}`);
    }
    for (const [index, p] of init.partitions.entries()) {
      const where = partitionId(index);
      if (typeof p !== 'object' || (p as unknown) === null) throw new InvalidArgumentError(`${where} is missing`);
      assertCounter(`${where} epoch`, p.epoch);
      const replicas: unknown = p.replicas;
      if (!isList(replicas)) throw new InvalidArgumentError(`${where} replicas must be an array`);
      if (p.primary === undefined) {
        if (replicas.length > 0) throw new InvalidArgumentError(`${where} has replicas but no primary`);
        continue;
      }
      assertNodeId(`${where} primary`, p.primary);
      if (replicas.length + 1 > init.replicationFactor) {
        throw new InvalidArgumentError(
          `${where} has ${replicas.length + 1} owners, more than the replication factor ${init.replicationFactor}`,
        );
      }
      // Pairwise: at most 32 owners, cheaper than a Set for the usual 3.
      for (let k = 0; k < replicas.length; k++) {
        const r = replicas[k];
        assertNodeId(`${where} replica`, r);
        if (r === p.primary || replicas.indexOf(r) !== k) {
          throw new InvalidArgumentError(`${where} lists owner ${describe(r)} twice`);
        }
      }
    }
    return new PartitionTable(init);
  }

  /** The partition index of `key`: `hashKey(key) % partitionCount`, as the Go original computes it. */
  partitionIndexOf(key: string): number {
    return hashKey(key) % this.partitionCount;
  }

  /** The partition that owns `key`. */
  partitionOf(key: string): PartitionAssignment {
    return this.partitions[hashKey(key) % this.partitionCount]!;
  }

  /** The primary node of `key`'s partition (undefined when the table has no members). The hot path. */
  primaryOf(key: string): string | undefined {
    return this.#primaries[hashKey(key) % this.partitionCount];
  }

  /** The replicas (owners other than the primary) of `key`'s partition. */
  replicasOf(key: string): readonly string[] {
    return this.partitions[hashKey(key) % this.partitionCount]!.replicas;
  }

  /** Every owner of `key`'s partition, primary first. */
  ownersOf(key: string): readonly string[] {
    return this.partitions[hashKey(key) % this.partitionCount]!.owners;
  }

  /** A partition by index or by `partition-<i>` id. Throws InvalidArgumentError if there is no such partition. */
  partition(indexOrId: number | string): PartitionAssignment {
    const index = typeof indexOrId === 'string' ? parsePartitionId(indexOrId, this.partitionCount) : indexOrId;
    const p = index === undefined ? undefined : this.partitions[index];
    if (p === undefined) throw new InvalidArgumentError(`no partition ${describe(indexOrId)} in this table`);
    return p;
  }

  /** The partitions `nodeId` is primary of, and those it holds a replica of (both empty for an unknown node). */
  partitionsOfNode(nodeId: string): NodePartitions {
    return this.#byNode.get(nodeId) ?? EMPTY;
  }

  /** The JSON form (see {@link PartitionTableJSON}); `JSON.stringify(table)` uses it. */
  toJSON(): PartitionTableJSON {
    const partitions: Record<string, PartitionJSON> = {};
    for (const p of this.partitions) {
      partitions[p.id] = { id: p.id, primary_node: p.primary ?? '', replica_nodes: [...p.replicas], epoch: p.epoch };
    }
    return {
      version: this.version,
      partition_count: this.partitionCount,
      replication_factor: this.replicationFactor,
      partitions,
    };
  }

  /**
   * Parses the JSON form (an object, or a string holding one). Also reads a Go `PartitionMap`
   * (`{"partitions": {...}}` without version, counts or epochs): version and epochs then default to 0, the partition
   * count to the number of partitions and RF to the largest owner count. `partitions` may also be an array of
   * partition objects (the Go `/partitions` endpoint's shape). Throws InvalidArgumentError on anything invalid.
   */
  static fromJSON(json: unknown): PartitionTable {
    let value = json;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch (err) {
        throw new InvalidArgumentError('partition table JSON does not parse', { cause: err });
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidArgumentError(`partition table must be a JSON object, got ${describe(value)}`);
    }
    const doc = value as Record<string, unknown>;
    const raw = doc['partitions'];
    let list: unknown[];
    if (Array.isArray(raw)) list = raw;
    else if (typeof raw === 'object' && raw !== null) {
      list = Object.entries(raw).map(([key, p]: [string, unknown]) => {
        if (typeof p === 'object' && p !== null && (p as Record<string, unknown>)['id'] !== key) {
          throw new InvalidArgumentError(`partition under key ${describe(key)} has a different id`);
        }
        return p;
      });
    } else throw new InvalidArgumentError(`partitions must be an object or an array, got ${describe(raw)}`);
    const count = doc['partition_count'] ?? list.length;
    assertPartitionCount(count);
    if (list.length !== count) {
      throw new InvalidArgumentError(`expected ${count} partitions, got ${list.length}`);
    }
    const slots: (PartitionTableInit['partitions'][number] | undefined)[] = new Array<undefined>(count);
    let widest = 1;
    for (const p of list) {
      if (typeof p !== 'object' || p === null) throw new InvalidArgumentError(`partition must be an object`);
      const { id, primary_node, replica_nodes, epoch } = p as Record<string, unknown>;
      const index = typeof id === 'string' ? parsePartitionId(id, count) : undefined;
      if (index === undefined) throw new InvalidArgumentError(`bad partition id ${describe(id)}`);
      if (slots[index] !== undefined) throw new InvalidArgumentError(`partition ${id as string} appears twice`);
      if (typeof primary_node !== 'string')
        throw new InvalidArgumentError(`${id as string} primary_node must be a string`);
      const replicas: unknown = replica_nodes ?? [];
      if (!isList(replicas) || !replicas.every((r) => typeof r === 'string')) {
        throw new InvalidArgumentError(`${id as string} replica_nodes must be an array of strings`);
      }
      const e = epoch ?? 0;
      assertCounter(`${id as string} epoch`, e);
      const primary = primary_node === '' ? undefined : primary_node;
      widest = Math.max(widest, (primary === undefined ? 0 : 1) + replicas.length);
      slots[index] = { primary, replicas, epoch: e };
    }
    const version = doc['version'] ?? 0;
    const replicationFactor = doc['replication_factor'] ?? widest;
    return PartitionTable.of({
      version: version as number,
      partitionCount: count,
      replicationFactor: replicationFactor as number,
      partitions: slots as PartitionTableInit['partitions'],
    });
  }

  /** True when both tables have the same partition count, RF, owners (in order), primaries and epochs. */
  sameAssignment(other: PartitionTable): boolean {
    if (other.partitionCount !== this.partitionCount || other.replicationFactor !== this.replicationFactor) {
      return false;
    }
    for (let i = 0; i < this.partitionCount; i++) {
      const a = this.partitions[i]!;
      const b = other.partitions[i]!;
      if (a.epoch !== b.epoch || a.owners.length !== b.owners.length) return false;
      for (let k = 0; k < a.owners.length; k++) if (a.owners[k] !== b.owners[k]) return false;
    }
    return true;
  }
}
