/**
 * The in-memory store of one KV node: entries grouped by partition index, so a whole partition can be copied to a
 * new owner or dropped in one step.
 *
 * Every entry carries a version, and a write only replaces an older one (last writer wins). That is what lets the
 * three write paths and the data movement meet safely: a copy that arrives after a newer write, a replication
 * that arrives twice, or two sources merged one after the other all converge to the same value. Deletes are
 * tombstones (value null) for the same reason: dropping the key would let an older copy bring it back.
 */

/** One stored value. `value: null` is a deletion. */
export interface Entry {
  readonly value: string | null;
  readonly version: number;
}

/** An entry on the wire: [key, value, version]. */
export type WireEntry = readonly [key: string, value: string | null, version: number];

/** True when `a` should replace `b`: a higher version, or on a tie a deterministic order so replicas agree. */
export function newer(a: Entry, b: Entry): boolean {
  if (a.version !== b.version) return a.version > b.version;
  if (a.value === b.value) return false;
  if (a.value === null) return true; // a delete wins a tie
  if (b.value === null) return false;
  return a.value > b.value;
}

/**
 * Versions for last-writer-wins: wall-clock microseconds, but never less than one more than any version produced
 * or seen here, so a writer's versions always increase even if its clock steps back (a hybrid logical clock).
 */
export class VersionClock {
  #last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(): number {
    this.#last = Math.max(this.now() * 1000, this.#last + 1);
    return this.#last;
  }

  /** Remembers a version seen from elsewhere, so the next one here is higher. */
  observe(version: number): void {
    if (version > this.#last) this.#last = version;
  }
}

export function isValidVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

export class KvStore {
  readonly #parts = new Map<number, Map<string, Entry>>();

  get(partition: number, key: string): Entry | undefined {
    return this.#parts.get(partition)?.get(key);
  }

  /** Stores `entry` unless the store has a newer one; returns whether it was stored. */
  apply(partition: number, key: string, entry: Entry): boolean {
    let part = this.#parts.get(partition);
    const current = part?.get(key);
    if (current !== undefined && !newer(entry, current)) return false;
    if (part === undefined) {
      part = new Map();
      this.#parts.set(partition, part);
    }
    part.set(key, entry);
    return true;
  }

  /** Applies many entries of one partition (a copy from another node); returns how many were stored. */
  merge(partition: number, entries: Iterable<WireEntry>): number {
    let n = 0;
    for (const [key, value, version] of entries) if (this.apply(partition, key, { value, version })) n++;
    return n;
  }

  /** Makes sure the partition exists (an empty partition is still held). */
  ensure(partition: number): void {
    if (!this.#parts.has(partition)) this.#parts.set(partition, new Map());
  }

  has(partition: number): boolean {
    return this.#parts.has(partition);
  }

  entries(partition: number): WireEntry[] {
    const part = this.#parts.get(partition);
    if (part === undefined) return [];
    const out: WireEntry[] = [];
    for (const [key, e] of part) out.push([key, e.value, e.version]);
    return out;
  }

  /** Forgets a partition; returns how many live keys it had. */
  drop(partition: number): number {
    const n = this.liveKeysIn(partition);
    this.#parts.delete(partition);
    return n;
  }

  clear(): void {
    this.#parts.clear();
  }

  /** Partition indexes held, ascending. */
  partitions(): number[] {
    return [...this.#parts.keys()].sort((a, b) => a - b);
  }

  liveKeysIn(partition: number): number {
    let n = 0;
    for (const e of this.#parts.get(partition)?.values() ?? []) if (e.value !== null) n++;
    return n;
  }

  liveKeys(): number {
    let n = 0;
    for (const p of this.#parts.keys()) n += this.liveKeysIn(p);
    return n;
  }
}
