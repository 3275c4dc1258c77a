/**
 * One copy of a node's log (the page-cache view or the durable view), with the prefix hash of every entry kept
 * alongside so the checkers can compare logs in O(1) per entry.
 */
import type { Entry } from '../../src/raft/types.js';
import { chain, EMPTY_PREFIX } from './hash.js';

export class LogImage {
  /** Index of the last compacted entry (the snapshot point); entries start at base + 1. */
  base = 0;
  baseTerm = 0;
  /** Prefix hash at `base`, or null when unknown (a log dropped for a snapshot whose entry no one has seen). */
  baseHash: number | null = EMPTY_PREFIX;
  entries: Entry[] = [];
  hashes: (number | null)[] = [];

  clone(): LogImage {
    const c = new LogImage();
    c.base = this.base;
    c.baseTerm = this.baseTerm;
    c.baseHash = this.baseHash;
    c.entries = this.entries.slice();
    c.hashes = this.hashes.slice();
    return c;
  }

  firstIndex(): number {
    return this.base + 1;
  }

  lastIndex(): number {
    return this.base + this.entries.length;
  }

  entry(index: number): Entry | undefined {
    return index > this.base ? this.entries[index - this.base - 1] : undefined;
  }

  term(index: number): number | undefined {
    return this.entry(index)?.term;
  }

  /** Prefix hash at `index`: a number, null when unknown, undefined when the index is beyond the log. */
  hashAt(index: number): number | null | undefined {
    if (index === this.base) return this.baseHash;
    if (index < this.base) return undefined;
    return this.hashes[index - this.base - 1];
  }

  /**
   * Appends consecutive entries, first removing any suffix from the first new index on. The caller has checked
   * the indexes. `onEntry` sees each new entry with its prefix hash.
   */
  append(entries: readonly Entry[], onEntry?: (e: Entry, hash: number | null) => void): void {
    const first = entries[0];
    if (first === undefined) return;
    const keep = first.index - this.base - 1;
    this.entries.length = keep;
    this.hashes.length = keep;
    let prev = this.hashAt(first.index - 1) ?? null;
    for (const e of entries) {
      const h = prev === null ? null : chain(prev, e);
      this.entries.push(e);
      this.hashes.push(h);
      onEntry?.(e, h);
      prev = h;
    }
  }

  /**
   * Drops entries up to `index`; when the log does not hold `index` at `term`, drops everything and restarts at
   * index + 1 (the LogStore.compact contract). `lookup` supplies the prefix hash of a snapshot point.
   */
  compact(index: number, term: number, lookup: (index: number, term: number) => number | undefined): void {
    if (index <= this.base) return;
    if (this.term(index) === term) {
      const drop = index - this.base;
      this.baseHash = this.hashAt(index) ?? null;
      this.entries = this.entries.slice(drop);
      this.hashes = this.hashes.slice(drop);
    } else {
      this.entries = [];
      this.hashes = [];
      this.baseHash = lookup(index, term) ?? null;
    }
    this.base = index;
    this.baseTerm = term;
  }
}
