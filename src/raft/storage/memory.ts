/**
 * In-memory implementations of the Raft storage contracts. They are correct and simple rather than fast: tests
 * and the simulation use them (the simulation may wrap them to inject latency, failures and lost writes). Every
 * write takes effect when called and its promise resolves on the next microtask, which is "durable" for a store
 * that lives exactly as long as the process.
 */
import { ClusterKitError } from '../../errors.js';
import type { Entry, HardState, LogStore, Snapshot, SnapshotStore, StableStore } from '../types.js';

function closedError(what: string): ClusterKitError {
  return new ClusterKitError('ERR_STORAGE_IO', `${what} is closed`);
}

export class MemoryLogStore implements LogStore {
  /** entries[k] has index `first + k`. */
  private entriesHeld: Entry[] = [];
  private first = 1;
  private closed = false;

  constructor(initial: readonly Entry[] = []) {
    if (initial.length > 0) {
      this.first = initial[0]!.index;
      const problem = this.consecutiveProblem(initial, this.first);
      if (problem !== null) throw problem;
      this.entriesHeld = [...initial];
    }
  }

  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.first + this.entriesHeld.length - 1;
  }

  term(index: number): number | undefined {
    if (index < this.first) return undefined;
    return this.entriesHeld[index - this.first]?.term;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo < this.first || hi > this.lastIndex() + 1 || lo > hi) {
      throw new ClusterKitError(
        'ERR_INVALID_ARGUMENT',
        `entries [${lo}, ${hi}) out of range [${this.first}, ${this.lastIndex() + 1})`,
      );
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entriesHeld[i - this.first]!;
      if (out.length > 0 && maxBytes !== undefined && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }

  append(entries: readonly Entry[]): Promise<void> {
    if (this.closed) return Promise.reject(closedError('the log store'));
    if (entries.length === 0) return Promise.resolve();
    const start = entries[0]!.index;
    const problem = this.consecutiveProblem(entries, start);
    if (problem !== null) return Promise.reject(problem);
    if (start < this.first || start > this.lastIndex() + 1) {
      return Promise.reject(
        new ClusterKitError(
          'ERR_INVALID_ARGUMENT',
          `append at ${start} leaves a gap or rewrites compacted entries (log is [${this.first}, ${this.lastIndex()}])`,
        ),
      );
    }
    this.entriesHeld.length = start - this.first;
    // Copy the entry objects so a caller mutating its array afterwards cannot change the "disk".
    for (const e of entries) this.entriesHeld.push({ index: e.index, term: e.term, type: e.type, data: e.data });
    return Promise.resolve();
  }

  compact(index: number, term: number): Promise<void> {
    if (this.closed) return Promise.reject(closedError('the log store'));
    if (index < this.first) return Promise.resolve();
    if (this.term(index) === term) {
      this.entriesHeld = this.entriesHeld.slice(index - this.first + 1);
    } else {
      this.entriesHeld = [];
    }
    this.first = index + 1;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private consecutiveProblem(entries: readonly Entry[], start: number): ClusterKitError | null {
    for (let k = 0; k < entries.length; k++) {
      if (entries[k]!.index !== start + k) {
        return new ClusterKitError('ERR_INVALID_ARGUMENT', `entries are not consecutive at position ${k}`);
      }
    }
    return null;
  }
}

export class MemoryStableStore implements StableStore {
  private state: HardState;
  private closed = false;

  constructor(initial: HardState = { term: 0, votedFor: null }) {
    this.state = { term: initial.term, votedFor: initial.votedFor };
  }

  load(): HardState {
    return this.state;
  }

  save(state: HardState): Promise<void> {
    if (this.closed) return Promise.reject(closedError('the stable store'));
    this.state = { term: state.term, votedFor: state.votedFor };
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class MemorySnapshotStore implements SnapshotStore {
  /** Ordered by index, oldest first; a few are retained like a file store would. */
  private held: Snapshot[] = [];
  private closed = false;

  constructor(
    initial: Snapshot | null = null,
    private readonly retain = 2,
  ) {
    if (initial !== null) this.held.push(initial);
  }

  latest(): Snapshot | null {
    // The newest by index, never a partial one since saves are atomic here.
    return this.held[this.held.length - 1] ?? null;
  }

  /** Every retained snapshot, oldest first (for tests and tools). */
  list(): readonly Snapshot[] {
    return this.held;
  }

  save(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(closedError('the snapshot store'));
    if (snapshot.meta.size !== snapshot.data.length) {
      return Promise.reject(
        new ClusterKitError(
          'ERR_INVALID_ARGUMENT',
          `snapshot size ${snapshot.meta.size} does not match its data (${snapshot.data.length} bytes)`,
        ),
      );
    }
    this.held.push(snapshot);
    // Keep them ordered by index (stable, so among equal indexes the last saved wins) and drop the oldest.
    this.held.sort((a, b) => a.meta.index - b.meta.index);
    while (this.held.length > Math.max(1, this.retain)) this.held.shift();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
