/**
 * The simulated disk of one node: a durable image that survives crashes, and per-incarnation LogStore,
 * StableStore and SnapshotStore objects over it.
 *
 * Durability boundary: a write is visible to the node at once (the page cache) but only durable when its promise
 * resolves, after a simulated latency. A crash keeps what was durable; each in-flight write is then either
 * completed (it reached the platter but the node never heard back), torn (an append keeps a random prefix of its
 * entries: a torn last record truncated back on recovery), or lost. Snapshot saves and hard-state saves are atomic.
 * A restart opens new stores over the durable image only.
 */
import type { Entry, HardState, LogStore, Snapshot, SnapshotStore, StableStore } from '../../src/raft/types.js';
import { LogImage } from './log-image.js';
import type { SimLoop } from './loop.js';
import type { Rng } from './rng.js';

export interface DiskHooks {
  /** The engine broke a storage contract (overlapping writes, a gap, a write after close...). */
  onContractViolation(what: string): void;
  /** Every entry as it lands in a view, with its prefix hash, for the log-matching checker. */
  onEntry(view: 'volatile' | 'durable', e: Entry, hash: number | null): void;
  /** The prefix hash of (index, term) if any log ever held that entry. */
  lookupPrefix(index: number, term: number): number | undefined;
  /** A hard state about to be saved, with the previous one (vote safety checks). */
  onHardState(prev: HardState, next: HardState): void;
}

export interface DiskTiming {
  minLatencyMs: number;
  maxLatencyMs: number;
}

export interface CrashOptions {
  /** Chance that an in-flight write completed even though the node never saw it resolve. */
  completeRate: number;
  /** Chance that an in-flight multi-entry append leaves a prefix of its entries. */
  tearRate: number;
}

export interface CrashReport {
  completed: number;
  torn: number;
  lost: number;
}

type StoreKind = 'log' | 'stable' | 'snapshot';

interface PendingWrite {
  readonly store: StoreKind;
  readonly what: string;
  /** Makes the write durable. */
  readonly commit: () => void;
  /** Makes a prefix of `n` entries durable (appends only). */
  readonly tear?: (n: number) => void;
  readonly entries: number;
  readonly resolve: () => void;
  readonly doneAt: number;
}

const NO_HARD_STATE: HardState = { term: 0, votedFor: null };

export class SimDisk {
  durableLog = new LogImage();
  durableHard: HardState = NO_HARD_STATE;
  durableSnapshots: Snapshot[] = [];
  timing: DiskTiming;
  /** Until this time every write takes `slowExtraMs` longer (a slow or saturated disk). */
  slowUntil = 0;
  slowExtraMs = 0;
  /** A broken disk for the checkers' self-test: writes resolve at once and never become durable. */
  lying = false;
  writes = 0;
  private pending: PendingWrite[] = [];
  private views: DiskViews | null = null;
  private inc = -1;

  constructor(
    readonly node: string,
    private readonly loop: SimLoop,
    private readonly rng: Rng,
    private readonly hooks: DiskHooks,
    timing: DiskTiming = { minLatencyMs: 0.1, maxLatencyMs: 1 },
  ) {
    this.timing = { ...timing };
  }

  /** Stores for a new incarnation, reading only what is durable. */
  open(inc: number): DiskViews {
    if (this.views !== null) this.views.dead = true;
    this.inc = inc;
    this.pending = [];
    this.views = new DiskViews(this, this.durableLog.clone(), this.durableHard, this.durableSnapshots.at(-1) ?? null);
    return this.views;
  }

  /** The process died: settle the in-flight writes (see the module comment) and detach the stores. */
  crash(opts: CrashOptions): CrashReport {
    const report: CrashReport = { completed: 0, torn: 0, lost: 0 };
    const blocked = new Set<StoreKind>();
    for (const w of this.pending) {
      // Writes to one store reach the disk in order: after one is lost, the later ones are lost too.
      if (blocked.has(w.store)) {
        report.lost++;
        continue;
      }
      if (!this.lying && this.rng.chance(opts.completeRate)) {
        w.commit();
        report.completed++;
        continue;
      }
      blocked.add(w.store);
      if (!this.lying && w.tear !== undefined && w.entries >= 2 && this.rng.chance(opts.tearRate)) {
        w.tear(this.rng.int(1, w.entries - 1));
        report.torn++;
      } else {
        report.lost++;
      }
    }
    this.pending = [];
    if (this.views !== null) this.views.dead = true;
    this.views = null;
    return report;
  }

  /** A clean shutdown: the OS flushes whatever the node wrote. */
  flush(): void {
    for (const w of this.pending) if (!this.lying) w.commit();
    this.pending = [];
    if (this.views !== null) this.views.dead = true;
    this.views = null;
  }

  /** Forgets everything (a brand-new machine reusing the id). */
  wipe(): void {
    this.durableLog = new LogImage();
    this.durableHard = NO_HARD_STATE;
    this.durableSnapshots = [];
  }

  hooksForViews(): DiskHooks {
    return this.hooks;
  }

  /** Queues a write: it resolves after the disk latency, after any earlier write to the same store. */
  submit(
    store: StoreKind,
    what: string,
    entries: number,
    commit: () => void,
    tear?: (n: number) => void,
  ): Promise<void> {
    this.writes++;
    const owner = { node: this.node, inc: this.inc };
    return new Promise<void>((resolve) => {
      if (this.lying) {
        this.loop.schedule(0, `${this.node} disk ${what} (lying)`, resolve, owner, 'io');
        return;
      }
      let latency = this.rng.float(this.timing.minLatencyMs, this.timing.maxLatencyMs);
      if (this.loop.now() < this.slowUntil) latency += this.rng.float(0.5, 1) * this.slowExtraMs;
      let doneAt = this.loop.now() + latency;
      for (const p of this.pending) if (p.store === store) doneAt = Math.max(doneAt, p.doneAt);
      const w: PendingWrite = { store, what, commit, entries, resolve, doneAt, ...(tear ? { tear } : {}) };
      this.pending.push(w);
      this.loop.schedule(
        doneAt - this.loop.now(),
        `${this.node} disk ${what}`,
        () => {
          const i = this.pending.indexOf(w);
          if (i < 0) return;
          this.pending.splice(i, 1);
          w.commit();
          w.resolve();
        },
        owner,
        'io',
      );
    });
  }

  pendingWrites(): number {
    return this.pending.length;
  }
}

/** The three stores of one incarnation. Reads come from the page-cache view; writes go through the disk. */
export class DiskViews {
  dead = false;
  readonly logStore: SimLogStore;
  readonly stableStore: SimStableStore;
  readonly snapshotStore: SimSnapshotStore;

  constructor(disk: SimDisk, log: LogImage, hard: HardState, snap: Snapshot | null) {
    this.logStore = new SimLogStore(disk, this, log);
    this.stableStore = new SimStableStore(disk, this, hard);
    this.snapshotStore = new SimSnapshotStore(disk, this, snap);
  }
}

function copyEntry(e: Entry): Entry {
  return { index: e.index, term: e.term, type: e.type, data: new Uint8Array(e.data) };
}

/** Enforces "the engine never has two writes to the same store in flight at once" and no use after close. */
class WriteGate {
  inFlight = false;
  closed = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly name: string,
  ) {}

  enter(what: string): void {
    const hooks = this.disk.hooksForViews();
    if (this.closed) hooks.onContractViolation(`${this.disk.node}: ${this.name}.${what} after close()`);
    if (this.inFlight) hooks.onContractViolation(`${this.disk.node}: two ${this.name} writes in flight (${what})`);
    this.inFlight = true;
  }

  async run(p: Promise<void>): Promise<void> {
    try {
      await p;
    } finally {
      this.inFlight = false;
    }
  }
}

export class SimLogStore implements LogStore {
  private readonly gate: WriteGate;

  constructor(
    private readonly disk: SimDisk,
    private readonly views: DiskViews,
    /** The page-cache view: what the node reads. */
    readonly image: LogImage,
  ) {
    this.gate = new WriteGate(disk, 'LogStore');
  }

  firstIndex(): number {
    return this.image.firstIndex();
  }

  lastIndex(): number {
    return this.image.lastIndex();
  }

  term(index: number): number | undefined {
    return this.image.term(index);
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (lo < this.image.firstIndex() || hi > this.image.lastIndex() + 1 || lo > hi) {
      throw new RangeError(
        `${this.disk.node}: entries(${lo}, ${hi}) outside [${this.image.firstIndex()}, ${this.image.lastIndex() + 1})`,
      );
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.image.entry(i) as Entry;
      if (out.length > 0 && maxBytes !== undefined && bytes + e.data.length > maxBytes) break;
      bytes += e.data.length;
      out.push(e);
    }
    return out;
  }

  append(entries: readonly Entry[]): Promise<void> {
    // A crashed incarnation's leftover code may still call in: its writes never complete, like a dead process's.
    if (this.views.dead) return new Promise(() => {});
    const hooks = this.disk.hooksForViews();
    const node = this.disk.node;
    this.gate.enter('append');
    const copies = entries.map(copyEntry);
    const first = copies[0];
    if (first === undefined) return this.gate.run(Promise.resolve());
    for (let i = 1; i < copies.length; i++) {
      if (copies[i]?.index !== first.index + i) {
        hooks.onContractViolation(`${node}: append with non-consecutive indexes at ${first.index + i}`);
        return this.gate.run(Promise.reject(new Error('non-consecutive append')));
      }
    }
    if (first.index > this.image.lastIndex() + 1 || first.index <= this.image.base) {
      hooks.onContractViolation(
        `${node}: append at ${first.index} but the log holds [${this.image.firstIndex()}, ${this.image.lastIndex()}]`,
      );
      return this.gate.run(Promise.reject(new Error('append out of range')));
    }
    this.image.append(copies, (e, h) => hooks.onEntry('volatile', e, h));
    const durable = (list: Entry[]): void => {
      const img = this.disk.durableLog;
      const head = list[0];
      if (head === undefined) return;
      // The durable log may be shorter than the page-cache view the append was checked against.
      if (head.index > img.lastIndex() + 1 || head.index <= img.base) {
        hooks.onContractViolation(`${node}: durable append at ${head.index} leaves a gap after ${img.lastIndex()}`);
        return;
      }
      img.append(list, (e, h) => hooks.onEntry('durable', e, h));
    };
    return this.gate.run(
      this.disk.submit(
        'log',
        `append [${first.index}..${first.index + copies.length - 1}]`,
        copies.length,
        () => durable(copies),
        (n) => durable(copies.slice(0, n)),
      ),
    );
  }

  compact(index: number, term: number): Promise<void> {
    if (this.views.dead) return new Promise(() => {});
    this.gate.enter('compact');
    const hooks = this.disk.hooksForViews();
    const lookup = (i: number, t: number): number | undefined => hooks.lookupPrefix(i, t);
    this.image.compact(index, term, lookup);
    return this.gate.run(
      this.disk.submit('log', `compact ${index}/${term}`, 0, () => this.disk.durableLog.compact(index, term, lookup)),
    );
  }

  async close(): Promise<void> {
    this.gate.closed = true;
  }
}

export class SimStableStore implements StableStore {
  private readonly gate: WriteGate;

  constructor(
    private readonly disk: SimDisk,
    private readonly views: DiskViews,
    private current: HardState,
  ) {
    this.gate = new WriteGate(disk, 'StableStore');
  }

  load(): HardState {
    return this.current;
  }

  save(state: HardState): Promise<void> {
    if (this.views.dead) return new Promise(() => {});
    this.gate.enter('save');
    const next: HardState = { term: state.term, votedFor: state.votedFor };
    this.disk.hooksForViews().onHardState(this.current, next);
    this.current = next;
    return this.gate.run(
      this.disk.submit('stable', `save t${next.term} v=${next.votedFor ?? '-'}`, 0, () => {
        this.disk.durableHard = next;
      }),
    );
  }

  async close(): Promise<void> {
    this.gate.closed = true;
  }
}

export class SimSnapshotStore implements SnapshotStore {
  private readonly gate: WriteGate;

  constructor(
    private readonly disk: SimDisk,
    private readonly views: DiskViews,
    private current: Snapshot | null,
  ) {
    this.gate = new WriteGate(disk, 'SnapshotStore');
  }

  latest(): Snapshot | null {
    return this.current;
  }

  save(snapshot: Snapshot): Promise<void> {
    if (this.views.dead) return new Promise(() => {});
    this.gate.enter('save');
    const copy: Snapshot = { meta: snapshot.meta, data: new Uint8Array(snapshot.data) };
    return this.gate.run(
      this.disk.submit('snapshot', `snapshot ${copy.meta.index}/${copy.meta.term}`, 0, () => {
        const list = this.disk.durableSnapshots;
        list.push(copy);
        if (list.length > 3) list.shift();
        // The rename makes the new snapshot visible only once it is complete.
        if (!this.views.dead) this.current = copy;
      }),
    );
  }

  async close(): Promise<void> {
    this.gate.closed = true;
  }
}
