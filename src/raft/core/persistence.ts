/**
 * The core's storage pipeline: which log write (append or compaction) and which snapshot save to hand to the
 * driver next, never more than one in flight per store; the apply cursor; when to take a snapshot; and the
 * sequence of installing a snapshot received from the leader (save it, then cut the log at it, and only then
 * append anything after it).
 */
import type { Configuration, Entry, Snapshot } from '../types.js';
import type { RaftLog } from './log.js';
import type { CoreConfig, CoreCounters, LogWrite, SnapshotRequest } from './types.js';

/** Most committed entries handed out for applying in one Ready (the driver loops until nothing is left). */
const MAX_APPLY_BATCH = 1024;
const MAX_APPLY_BYTES = 16 * 1024 * 1024;

export class Persistence {
  /** A snapshot from the leader replaced the log; appends wait until it is saved and the log is cut. */
  installing: { index: number; term: number; saved: boolean } | null = null;
  private readonly snapshotQueue: Snapshot[] = [];
  private snapshotSaving: Snapshot | null = null;
  private snapshotRequested = false;
  private pendingRestore: Snapshot | null = null;
  /** Compactions waiting to be issued (before any further append). */
  private readonly compactions: { index: number; term: number }[] = [];
  private logWriting: { kind: 'append'; hi: number; term: number } | { kind: 'compact'; index: number } | null = null;

  constructor(
    private readonly log: RaftLog,
    private readonly cfg: CoreConfig,
    private readonly counters: CoreCounters,
  ) {}

  /** The next log write to start, if the log store is idle and there is something to write. */
  nextLogWrite(): LogWrite | null {
    if (this.logWriting !== null) return null;
    const inst = this.installing;
    if (inst !== null && !inst.saved) return null;
    for (let c = this.compactions.shift(); c !== undefined; c = this.compactions.shift()) {
      const isInstall = inst !== null && c.index === inst.index;
      if (!isInstall) {
        // A compaction queued after a snapshot: still valid only if that prefix is durable and agreed on.
        if (c.index < this.log.firstIndex() || c.index > this.log.durable) continue;
        if (this.log.term(c.index) !== c.term) continue;
        this.log.compactTo(c.index, c.term);
      }
      this.logWriting = { kind: 'compact', index: c.index };
      return { kind: 'compact', index: c.index, term: c.term };
    }
    if (inst !== null || !this.log.hasUnsentWrites()) return null;
    const entries = this.log.takeWrite();
    const last = entries[entries.length - 1]!;
    this.logWriting = { kind: 'append', hi: last.index, term: last.term };
    return { kind: 'append', entries };
  }

  /** The log write in flight completed. Returns whether it was an append (the durable index may have moved). */
  logWriteDone(): boolean {
    const w = this.logWriting;
    this.logWriting = null;
    if (w === null) return false;
    if (w.kind === 'append') {
      this.log.writeDone(w.hi, w.term);
      return true;
    }
    if (this.installing !== null && this.installing.saved && w.index === this.installing.index) this.installing = null;
    return false;
  }

  nextSnapshotSave(): Snapshot | null {
    if (this.snapshotSaving !== null || this.snapshotQueue.length === 0) return null;
    this.snapshotSaving = this.snapshotQueue.shift()!;
    return this.snapshotSaving;
  }

  /**
   * The snapshot save in flight completed. For a snapshot taken here, `cutAt(index)` says where to compact the
   * log (keeping trailing entries).
   */
  snapshotSaved(cutAt: (index: number) => number): void {
    const s = this.snapshotSaving;
    this.snapshotSaving = null;
    if (s === null) return;
    const { index, term } = s.meta;
    const inst = this.installing;
    if (inst !== null && inst.index === index && inst.term === term && !inst.saved) {
      inst.saved = true;
      // The log must be cut at the snapshot before anything after it is appended.
      this.compactions.unshift({ index, term });
      return;
    }
    if (index <= this.log.snapshotIndex) return; // superseded by a newer snapshot meanwhile
    this.log.snapshotSaved(index, term);
    this.counters.snapshotsTaken++;
    const cut = cutAt(index);
    if (cut >= this.log.firstIndex() && cut <= Math.min(this.log.durable, this.log.committed)) {
      const t = this.log.term(cut);
      if (t !== undefined) this.compactions.push({ index: cut, term: t });
    }
  }

  /** The driver serialised the state machine as asked by a SnapshotRequest. */
  snapshotCreated(snapshot: Snapshot): void {
    this.snapshotRequested = false;
    this.snapshotQueue.push(snapshot);
  }

  /** When enough entries were applied since the last snapshot, asks the driver to take one (at most one at a time). */
  nextSnapshotRequest(configAt: (index: number) => Configuration): SnapshotRequest | null {
    if (this.snapshotRequested || this.snapshotSaving !== null || this.snapshotQueue.length > 0) return null;
    if (this.installing !== null) return null;
    const applied = this.log.applied;
    if (applied - this.log.snapshotIndex < this.cfg.snapshotThreshold) return null;
    const term = this.log.term(applied);
    if (term === undefined) return null;
    this.snapshotRequested = true;
    return { index: applied, term, config: configAt(applied) };
  }

  /** Committed entries to apply now, in order; they count as applied once handed out. */
  nextApply(): Entry[] {
    const lo = this.log.applied + 1;
    const hi = Math.min(this.log.committed, this.log.applied + MAX_APPLY_BATCH);
    if (hi < lo) return [];
    const entries = this.log.entries(lo, hi + 1, MAX_APPLY_BYTES);
    if (entries.length > 0) this.log.applied = entries[entries.length - 1]!.index;
    return entries;
  }

  /** A snapshot received from the leader replaces the log: save it, restore it, then cut the log. */
  install(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    this.log.restore(index, term);
    this.installing = { index, term, saved: false };
    // Older snapshots not yet written are superseded; compactions queued for the old log are moot.
    for (let k = this.snapshotQueue.length - 1; k >= 0; k--) {
      if (this.snapshotQueue[k]!.meta.index <= index) this.snapshotQueue.splice(k, 1);
    }
    this.compactions.length = 0;
    this.snapshotQueue.push(snapshot);
    this.pendingRestore = snapshot;
    this.counters.snapshotsInstalled++;
  }

  /** The snapshot the state machine must be restored from before applying anything else, if any. */
  takeRestore(): Snapshot | null {
    const s = this.pendingRestore;
    this.pendingRestore = null;
    return s;
  }
}
