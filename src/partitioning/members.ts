/**
 * Members as placement sees them: validated, de-duplicated by id and put in one canonical order (by id, code unit
 * order), so that placement never depends on the order callers list them in.
 */
import { InvalidArgumentError } from '../errors.js';
import { describe } from '../util/assert.js';
import { md5First32 } from './md5.js';

/** A node that can own partitions. */
export interface Member {
  /** Unique, non-empty, at most 256 characters. Compared as an exact string. */
  readonly id: string;
  /**
   * Failure domain (rack, availability zone). When the members span at least RF' zones, no two copies of a partition
   * share a zone. A member without a zone counts as a zone of its own.
   */
  readonly zone?: string | undefined;
  /** Relative capacity, a finite number in (0, 1e6]; default 1. A member's share of copies follows its weight. */
  readonly weight?: number | undefined;
}

/** Largest member count accepted by placement. */
export const MAX_MEMBERS = 10_000;

/** Members in canonical order with derived per-node data, indexed 0..n-1. */
export interface CanonicalMembers {
  readonly ids: readonly string[];
  readonly weights: Float64Array;
  /** Zone index per node: members without a zone get a zone of their own. */
  readonly zones: Int32Array;
  readonly zoneCount: number;
  /** md5First32(id): seeds the per-partition preference order (highest-random-weight) among nodes. */
  readonly seeds: Int32Array;
  readonly index: ReadonlyMap<string, number>;
  /** True when every weight is equal (the balance bounds of docs/PARTITIONING.md apply exactly). */
  readonly uniformWeights: boolean;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Validates `members` and returns them in canonical order. Throws InvalidArgumentError on bad input. */
export function canonicalizeMembers(members: readonly Member[]): CanonicalMembers {
  if (!Array.isArray(members)) throw new InvalidArgumentError(`members must be an array, got ${describe(members)}`);
  if (members.length > MAX_MEMBERS) {
    throw new InvalidArgumentError(`at most ${MAX_MEMBERS} members are supported, got ${members.length}`);
  }
  const list: { id: string; zone: string | undefined; weight: number }[] = [];
  for (const [k, m] of members.entries()) {
    if (typeof m !== 'object' || m === null) {
      throw new InvalidArgumentError(`members[${k}] must be an object, got ${describe(m)}`);
    }
    const { id, zone, weight } = m as { id: unknown; zone?: unknown; weight?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      throw new InvalidArgumentError(`members[${k}].id must be a non-empty string of at most 256 characters`);
    }
    if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0 || zone.length > 256)) {
      throw new InvalidArgumentError(`members[${k}].zone must be a non-empty string of at most 256 characters`);
    }
    if (
      weight !== undefined &&
      (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > 1e6)
    ) {
      throw new InvalidArgumentError(
        `members[${k}].weight must be a finite number in (0, 1e6], got ${describe(weight)}`,
      );
    }
    list.push({ id, zone, weight: weight ?? 1 });
  }
  list.sort((a, b) => compareIds(a.id, b.id));
  const n = list.length;
  const ids: string[] = new Array<string>(n);
  const weights = new Float64Array(n);
  const zones = new Int32Array(n);
  const seeds = new Int32Array(n);
  const index = new Map<string, number>();
  const zoneIndex = new Map<string, number>();
  let zoneCount = 0;
  let uniformWeights = true;
  for (let i = 0; i < n; i++) {
    const m = list[i]!;
    if (i > 0 && list[i - 1]!.id === m.id) throw new InvalidArgumentError(`duplicate member id ${describe(m.id)}`);
    ids[i] = m.id;
    weights[i] = m.weight;
    if (m.weight !== list[0]!.weight) uniformWeights = false;
    seeds[i] = md5First32(m.id) | 0;
    index.set(m.id, i);
  }
  // Zones are numbered in canonical member order, so the numbering is order-independent too.
  for (let i = 0; i < n; i++) {
    const z = list[i]!.zone;
    if (z === undefined) {
      zones[i] = zoneCount++;
    } else {
      let zi = zoneIndex.get(z);
      if (zi === undefined) {
        zi = zoneCount++;
        zoneIndex.set(z, zi);
      }
      zones[i] = zi;
    }
  }
  return { ids, weights, zones, zoneCount, seeds, index, uniformWeights };
}

/**
 * A cheap, well-mixed 32-bit score for (partition, node): the per-partition preference order among nodes
 * (highest-random-weight). Not MD5: placement evaluates it P × N times.
 */
export function affinity(partition: number, seed: number): number {
  let h = Math.imul(partition + 0x9e3779b9, 0x85ebca6b) ^ seed;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
