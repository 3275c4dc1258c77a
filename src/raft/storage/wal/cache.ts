/**
 * The most recently appended entries, kept in memory within a byte budget. A leader replicates what it has just
 * appended, so most reads are served from here without a system call.
 */
import type { Entry } from '../../types.js';

/** Rough per-entry overhead (object, view) counted against the budget on top of the data. */
const ENTRY_OVERHEAD = 96;

export class TailCache {
  private items: Entry[] = [];
  /** Position in `items` of the oldest live entry (eviction advances it; the array is compacted lazily). */
  private head = 0;
  private bytes = 0;

  constructor(private readonly budget: number) {}

  /** Index of the oldest cached entry, or Infinity when empty. */
  get firstIndex(): number {
    return this.items[this.head]?.index ?? Number.POSITIVE_INFINITY;
  }

  get(index: number): Entry | undefined {
    const first = this.items[this.head];
    if (first === undefined || index < first.index) return undefined;
    return this.items[this.head + index - first.index];
  }

  /** Adds entries that directly follow the cached ones (otherwise the cache restarts with them). */
  add(entries: readonly Entry[]): void {
    if (this.budget <= 0 || entries.length === 0) return;
    const last = this.items[this.items.length - 1];
    if (this.head >= this.items.length || last === undefined || last.index + 1 !== entries[0]!.index) this.clear();
    for (const e of entries) {
      this.items.push(e);
      this.bytes += e.data.length + ENTRY_OVERHEAD;
    }
    while (this.bytes > this.budget && this.head < this.items.length) this.evictOne();
    this.compactArray();
  }

  /** Drops entries with index >= `index`. */
  truncateFrom(index: number): void {
    while (this.items.length > this.head && this.items[this.items.length - 1]!.index >= index) {
      const e = this.items.pop()!;
      this.bytes -= e.data.length + ENTRY_OVERHEAD;
    }
  }

  /** Drops entries with index <= `index`. */
  dropThrough(index: number): void {
    while (this.head < this.items.length && this.items[this.head]!.index <= index) this.evictOne();
    this.compactArray();
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }

  private evictOne(): void {
    const e = this.items[this.head]!;
    this.bytes -= e.data.length + ENTRY_OVERHEAD;
    this.head += 1;
  }

  private compactArray(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.head >= this.items.length) this.clear();
  }
}
