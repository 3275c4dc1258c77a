/**
 * The node's view of its Raft log: what the LogStore holds (read synchronously) plus the "unstable" entries that
 * are only in memory, either not yet handed to the store or part of the append currently in flight. It also
 * tracks the commit and apply cursors and which prefix is durable, which is what the node may acknowledge.
 *
 * Shape (indexes):   [ snapshot/compaction point ] [ first … stable part in the store … ] [ offset … unstable … last ]
 *
 * Writes to the store happen strictly one at a time and each one truncates from its first index, so after the
 * append of [lo, hi] completes the store holds exactly this view's prefix up to hi provided the view still has the
 * same term at hi (two entries with the same index and term have identical prefixes: Log Matching).
 */
import { ClusterKitError } from '../../errors.js';
import type { Entry } from '../types.js';
import type { LogReader } from './types.js';

export class RaftLog {
  /** Index of the first entry the view can return. */
  private first: number;
  /** The index just before `first` and its term when known (snapshot or compaction point; 0/0 at the start). */
  private prevIndex: number;
  private prevTerm: number | undefined;
  /** The newest snapshot known to this node (saved, or being installed). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** unstable[k] has index offset + k. Entries below offset are read from the store. */
  private unstable: Entry[] = [];
  private offset: number;
  /** Highest unstable index already handed to the store (offset - 1 when none). */
  private inProgress: number;
  /** Highest index whose entry and every one before it are durable and agree with this view. */
  durable: number;
  committed: number;
  applied: number;

  constructor(
    private readonly store: LogReader,
    snapshot: { index: number; term: number } | null,
  ) {
    const storeFirst = store.firstIndex();
    const storeLast = store.lastIndex();
    this.snapshotIndex = snapshot?.index ?? 0;
    this.snapshotTerm = snapshot?.term ?? 0;
    this.first = storeFirst;
    this.prevIndex = storeFirst - 1;
    this.prevTerm = this.knownTermBelowStore(this.prevIndex);
    this.offset = storeLast + 1;
    this.inProgress = storeLast;
    this.durable = storeLast;
    this.committed = this.snapshotIndex;
    this.applied = this.snapshotIndex;
  }

  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.offset + this.unstable.length - 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term at `index`, or undefined when the view cannot tell (compacted away, or past the end). */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    if (index >= this.offset) return this.unstable[index - this.offset]?.term;
    if (index >= this.first) return this.store.term(index);
    if (index === this.prevIndex && this.prevTerm !== undefined) return this.prevTerm;
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return undefined;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction (§5.4.1): is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi), stopping early (after at least one) once maxBytes of data is reached. */
  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (lo < this.first || hi > this.lastIndex() + 1 || lo > hi) {
      throw new ClusterKitError(
        'ERR_INTERNAL',
        `log view read [${lo}, ${hi}) outside [${this.first}, ${this.lastIndex() + 1})`,
      );
    }
    const out: Entry[] = [];
    let bytes = 0;
    if (lo < this.offset) {
      const fromStore = this.store.entries(lo, Math.min(hi, this.offset), maxBytes);
      for (const e of fromStore) {
        out.push(e);
        bytes += e.data.length;
      }
      if (out.length < Math.min(hi, this.offset) - lo) return out; // the store stopped at maxBytes
    }
    for (let i = Math.max(lo, this.offset); i < hi; i++) {
      const e = this.unstable[i - this.offset]!;
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }

  /** Leader append: entries must continue the log. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1)
        throw new ClusterKitError('ERR_INTERNAL', `append out of order at ${e.index}`);
      this.unstable.push(e);
    }
  }

  /**
   * Index of the first entry in `entries` that this log does not already have (absent, or a different term), or
   * 0 when it has them all. Entries below the first index are committed and therefore match.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index < this.first) continue;
      if (this.term(e.index) !== e.term) return e.index;
    }
    return 0;
  }

  /** Replaces everything from entries[0].index on with `entries` (a follower resolving a conflict). */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const at = entries[0]!.index;
    if (at < this.first || at > this.lastIndex() + 1) {
      throw new ClusterKitError('ERR_INTERNAL', `truncate at ${at} outside [${this.first}, ${this.lastIndex() + 1}]`);
    }
    if (at >= this.offset) {
      this.unstable.length = at - this.offset;
      this.unstable.push(...entries);
    } else {
      this.unstable = [...entries];
      this.offset = at;
    }
    this.inProgress = Math.min(this.inProgress, at - 1);
    this.durable = Math.min(this.durable, at - 1);
  }

  /** True when some unstable entries have not been handed to the store yet. */
  hasUnsentWrites(): boolean {
    return this.inProgress < this.lastIndex();
  }

  /** Hands every unstable entry not yet written to the store (one append call: group commit). */
  takeWrite(): Entry[] {
    const lo = this.inProgress + 1;
    const out = this.unstable.slice(lo - this.offset);
    this.inProgress = this.lastIndex();
    return out;
  }

  /** The append whose last entry is (hi, term) completed. */
  writeDone(hi: number, term: number): void {
    if (this.term(hi) !== term || hi < this.offset - 1) return; // superseded by a truncation since
    this.durable = Math.max(this.durable, hi);
    if (hi >= this.offset) {
      this.unstable.splice(0, hi - this.offset + 1);
      this.offset = hi + 1;
    }
  }

  /** Compaction of the store up to `index` (at `term`) is being issued: stop reading below it. */
  compactTo(index: number, term: number): void {
    if (index < this.first) return;
    if (index >= this.offset) {
      throw new ClusterKitError('ERR_INTERNAL', `compaction at ${index} would drop unstable entries`);
    }
    this.first = index + 1;
    this.prevIndex = index;
    this.prevTerm = term;
  }

  /** A snapshot (index, term) whose entries this log does not have replaces the whole log. */
  restore(index: number, term: number): void {
    this.first = index + 1;
    this.prevIndex = index;
    this.prevTerm = term;
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.unstable = [];
    this.offset = index + 1;
    this.inProgress = index;
    this.durable = index;
    this.committed = Math.max(this.committed, index);
    this.applied = index;
  }

  /** A snapshot taken locally at (index, term) was saved. */
  snapshotSaved(index: number, term: number): void {
    if (index > this.snapshotIndex) {
      this.snapshotIndex = index;
      this.snapshotTerm = term;
    }
  }

  /** Bytes of entries that are only in memory (for status and flow control). */
  unstableCount(): number {
    return this.unstable.length;
  }

  private knownTermBelowStore(index: number): number | undefined {
    if (index === 0) return 0;
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return undefined;
  }
}
