/**
 * The default durable LogStore: a segmented write-ahead log.
 *
 * Entries are records with a CRC each (record.ts), appended to the last of a chain of segment files that roll over
 * at a soft size limit. Each append call is one durable write (group commit: the engine batches): a write on an
 * O_DSYNC descriptor when the filesystem offers FileSystem.openSynced, else a write and an fdatasync. An
 * in-memory index (segment.ts) maps every index to its file offset and term, so `term()` is a lookup and
 * `entries()` one positioned read per chunk, or none for entries still in the tail cache (cache.ts).
 *
 * Crash safety, in short:
 * - append: the bytes of one call are the only ones that can be torn; recovery cuts them off (scan.ts).
 * - conflicting suffix: the files are cut (whole segments unlinked newest first, then ftruncate + fdatasync)
 *   before the new entries are written, so a crash can never leave old entries after new ones. Any intermediate
 *   state is a prefix of the old log, which is safe because Raft only ever cuts uncommitted entries.
 * - compaction: committed by one write of the meta file (meta.ts); segment deletion follows and is redone on open.
 * - new segments: header written to a temporary file, synced, renamed, directory synced.
 *
 * An I/O error leaves the log as it was before the failing call: a failed append cuts its partial bytes off again.
 * If even that fails the store marks itself failed and rejects all further writes until reopened (recovery then
 * repairs the tail).
 */
import { join } from 'node:path';
import { ClusterKitError, InvalidArgumentError, ShuttingDownError } from '../../../errors.js';
import type { Entry, LogStore } from '../../types.js';
import type { DualSlotFile } from '../dual-slot.js';
import { type FileSystem, nodeFileSystem, storageIoError } from '../fs.js';
import { TailCache } from './cache.js';
import { encodeWalMeta } from './meta.js';
import { encodeBatch, encodeSegmentHeader, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './record.js';
import { recoverWal } from './recover.js';
import { openForAppend, Segment, segmentFileName } from './segment.js';

export interface WalOptions {
  /** Filesystem to use (tests inject faults and delays). Default: node:fs with synchronous syscalls. */
  readonly fs?: FileSystem;
  /** Soft size limit of a segment file: a new one starts once this is reached. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Memory budget for recently appended entries served without disk reads. Default 4 MiB (0 disables). */
  readonly cacheBytes?: number;
  /** Largest entry data accepted. Default 64 MiB. */
  readonly maxEntryBytes?: number;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024;
const MAX_ENTRY_BYTES_LIMIT = 0xffff_ffff - RECORD_HEADER_BYTES;

export class WalLogStore implements LogStore {
  private compactIndex: number;
  private closed = false;
  private failure: ClusterKitError | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly cache: TailCache;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    private readonly meta: DualSlotFile,
    compactIndex: number,
    private segments: Segment[],
    private nextSeq: number,
    private readonly segmentBytes: number,
    private readonly maxEntryBytes: number,
    cacheBytes: number,
    /** What opening had to repair (torn tail, leftover files), for the operator's log. */
    readonly recoveryNotes: readonly string[],
  ) {
    this.compactIndex = compactIndex;
    this.cache = new TailCache(cacheBytes);
  }

  /** Opens (creating if needed) the WAL in `dir`, recovering from a crash if one happened. */
  static async open(dir: string, options: WalOptions = {}): Promise<WalLogStore> {
    const fs = options.fs ?? nodeFileSystem;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    for (const [name, value, min, max] of [
      ['segmentBytes', segmentBytes, SEGMENT_HEADER_BYTES + 1, 0xffff_ffff],
      ['cacheBytes', cacheBytes, 0, Number.MAX_SAFE_INTEGER],
      ['maxEntryBytes', maxEntryBytes, 0, MAX_ENTRY_BYTES_LIMIT],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
      }
    }
    const r = await recoverWal(fs, dir, maxEntryBytes);
    return new WalLogStore(
      fs,
      dir,
      r.meta,
      r.state.compactIndex,
      r.segments,
      r.nextSeq,
      segmentBytes,
      maxEntryBytes,
      cacheBytes,
      r.notes,
    );
  }

  firstIndex(): number {
    return this.compactIndex + 1;
  }

  lastIndex(): number {
    const tail = this.segments[this.segments.length - 1];
    return tail === undefined ? this.compactIndex : Math.max(this.compactIndex, tail.lastIndex);
  }

  term(index: number): number | undefined {
    if (index <= this.compactIndex) return undefined;
    return this.segmentFor(index)?.termAt(index);
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    if (this.closed) throw new ShuttingDownError('the log store is closed');
    const first = this.firstIndex();
    const last = this.lastIndex();
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < first || hi > last + 1 || lo > hi) {
      throw new InvalidArgumentError(`entries(${lo}, ${hi}) is outside the log [${first}, ${last + 1})`);
    }
    const budget = maxBytes ?? Number.POSITIVE_INFINITY;
    const out: Entry[] = [];
    let added = 0;
    let i = lo;
    // Like MemoryLogStore: take entries while their data fits in maxBytes, but always the first.
    while (i < hi) {
      const cached = this.cache.get(i);
      if (cached !== undefined) {
        if (out.length > 0 && added + cached.data.length > budget) break;
        out.push(cached);
        added += cached.data.length;
        i += 1;
        continue;
      }
      const segment = this.segmentFor(i)!;
      const stop = Math.min(hi, segment.lastIndex + 1, Math.max(i + 1, this.cache.firstIndex));
      const before = out.length;
      added += segment.read(i, stop, budget - added, out.length === 0, out);
      i += out.length - before;
      if (i < stop) break;
    }
    return out;
  }

  append(entries: readonly Entry[]): Promise<void> {
    return this.serialize(() => this.doAppend(entries));
  }

  compact(index: number, term: number): Promise<void> {
    return this.serialize(() => this.doCompact(index, term));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.cache.clear();
    let firstError: ClusterKitError | undefined;
    for (const s of this.segments) {
      try {
        s.close();
      } catch (err) {
        firstError ??= storageIoError('close', s.path, err);
      }
    }
    try {
      this.meta.close();
    } catch (err) {
      firstError ??= storageIoError('close', this.meta.path, err);
    }
    if (firstError !== undefined) throw firstError;
  }

  /** Runs writes one at a time, in call order (the engine does not overlap them, but a caller might). */
  private serialize(op: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new ShuttingDownError('the log store is closed'));
    const run = this.queue.then(() => {
      if (this.failure !== null) throw this.failure;
      return op();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private segmentFor(index: number): Segment | undefined {
    const segs = this.segments;
    const tail = segs[segs.length - 1];
    if (tail === undefined || index > tail.lastIndex) return undefined;
    if (index >= tail.base) return tail;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.base <= index) lo = mid;
      else hi = mid - 1;
    }
    const s = segs[lo]!;
    return index >= s.base ? s : undefined;
  }

  /**
   * Marks the store unusable after a failure that may have left disk and memory out of step, and returns the
   * (non-retriable) error that every later write gets too.
   */
  private fail(operation: string, path: string, cause: unknown): ClusterKitError {
    const err = storageIoError(operation, path, cause);
    const failure = new ClusterKitError('ERR_STORAGE_IO', `the log store failed and must be reopened: ${err.message}`, {
      retriable: false,
      cause: err,
    });
    this.failure = failure;
    return failure;
  }

  private async doAppend(entries: readonly Entry[]): Promise<void> {
    const firstEntry = entries[0];
    if (firstEntry === undefined) return;
    const first = firstEntry.index;
    for (let k = 0; k < entries.length; k++) {
      if (entries[k]!.index !== first + k || !Number.isSafeInteger(first + k)) {
        throw new InvalidArgumentError(`append: entry indexes must be consecutive (position ${k})`);
      }
    }
    if (first <= this.compactIndex) {
      throw new InvalidArgumentError(`append at ${first}: the log is compacted through ${this.compactIndex}`);
    }
    const last = this.lastIndex();
    if (first > last + 1) throw new InvalidArgumentError(`append at ${first} would leave a gap after ${last}`);
    // Encode (and validate) before touching the disk, so a bad entry changes nothing.
    const batch = encodeBatch(entries, this.maxEntryBytes);

    if (first <= last) await this.truncateFrom(first);
    let tail = this.segments[this.segments.length - 1];
    if (tail === undefined || tail.size >= this.segmentBytes) tail = await this.createSegment(first);
    if (tail.lastIndex + 1 !== first) {
      throw new ClusterKitError('ERR_INTERNAL', `WAL tail ends at ${tail.lastIndex}, cannot append ${first}`);
    }

    const position = tail.size;
    try {
      await this.fs.write(tail.fd, batch.bytes, position);
      // One durable write per group commit: O_DSYNC when the filesystem offers it, else write + fdatasync.
      if (!tail.syncedWrites) await this.fs.datasync(tail.fd);
    } catch (err) {
      throw await this.rollBack(tail, position, err);
    }
    const offsets = batch.offsets.map((o) => o + position);
    tail.pushRecords(
      offsets,
      entries.map((e) => e.term),
      position + batch.bytes.length,
    );
    // Cache views of the encoded batch rather than the caller's arrays, which the caller may reuse.
    const cached = entries.map((e, k) => ({
      index: e.index,
      term: e.term,
      type: e.type,
      data: new Uint8Array(
        batch.bytes.buffer,
        batch.bytes.byteOffset + batch.offsets[k]! + RECORD_HEADER_BYTES,
        e.data.length,
      ),
    }));
    this.cache.add(cached);
  }

  /**
   * Cuts off the partial bytes of a failed append so no later append writes after them. Returns the error to
   * report: the append's own (retriable for ENOSPC) if the log is intact again, else the store's failure.
   */
  private async rollBack(tail: Segment, position: number, cause: unknown): Promise<ClusterKitError> {
    try {
      await this.fs.truncate(tail.fd, position);
      await this.fs.datasync(tail.fd);
      // A segment created for this append would otherwise stay empty with a base index later appends may not use.
      if (tail.count === 0) await this.removeTail(tail);
    } catch (rollbackErr) {
      const failure = this.fail('append rollback', tail.path, rollbackErr);
      return new ClusterKitError(
        'ERR_STORAGE_IO',
        `${storageIoError('append', tail.path, cause).message}; ${failure.message}`,
        {
          retriable: false,
          cause,
        },
      );
    }
    return storageIoError('append', tail.path, cause);
  }

  private async removeTail(tail: Segment): Promise<void> {
    this.segments.pop();
    tail.close();
    await this.fs.unlink(tail.path);
    await this.fs.syncDir(this.dir);
  }

  /** Durably removes entries from `index` on. `index` is within the log and above the compaction point. */
  private async truncateFrom(index: number): Promise<void> {
    // Memory first: reads must never reach bytes that are being cut.
    this.cache.truncateFrom(index);
    const doomed = this.segments.filter((s) => s.base >= index);
    this.segments = this.segments.filter((s) => s.base < index);
    const keep = this.segments[this.segments.length - 1];
    const cut = keep !== undefined && keep.lastIndex >= index ? keep.forgetFrom(index) : undefined;
    let path = this.dir;
    try {
      // Newest first, each deletion durable before the next: a crash leaves a prefix of the old log.
      for (const s of doomed.reverse()) {
        path = s.path;
        s.close();
        await this.fs.unlink(s.path);
        await this.fs.syncDir(this.dir);
      }
      if (keep !== undefined && cut !== undefined) {
        path = keep.path;
        await this.fs.truncate(keep.fd, cut);
        await this.fs.datasync(keep.fd);
      }
    } catch (err) {
      throw this.fail('truncate', path, err);
    }
  }

  private async createSegment(base: number): Promise<Segment> {
    const seq = this.nextSeq;
    this.nextSeq += 1;
    const path = join(this.dir, segmentFileName(seq, base));
    const tmp = `${path}.tmp`;
    let fd: number;
    let synced: boolean;
    try {
      ({ fd, synced } = openForAppend(this.fs, tmp, 'w+'));
    } catch (err) {
      throw storageIoError('create', tmp, err);
    }
    try {
      await this.fs.write(fd, encodeSegmentHeader(seq, base), 0);
      await this.fs.datasync(fd);
      await this.fs.rename(tmp, path);
    } catch (err) {
      this.fs.close(fd);
      // Best effort: open() removes unfinished segments anyway, and the append reports `err`.
      await this.fs.unlink(tmp).catch(() => undefined);
      throw storageIoError('create', path, err);
    }
    try {
      await this.fs.syncDir(this.dir);
    } catch (err) {
      // The file may or may not survive a crash now; recovery handles both, but this process cannot tell.
      this.fs.close(fd);
      throw this.fail('create', path, err);
    }
    const segment = new Segment(this.fs, path, seq, base, fd, [], [], SEGMENT_HEADER_BYTES, synced);
    this.segments.push(segment);
    return segment;
  }

  private async doCompact(index: number, term: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(term) || term < 0) {
      throw new InvalidArgumentError(`compact(${index}, ${term}): index and term must be non-negative integers`);
    }
    if (index <= this.compactIndex) return;
    const held = this.term(index) === term;
    // The first segment still needed: the one holding index + 1. Without a match, none is.
    let minSeq = this.nextSeq;
    if (held) {
      const keep = this.segments.find((s) => s.lastIndex > index);
      if (keep !== undefined) minSeq = keep.seq;
    }
    try {
      await this.meta.write(encodeWalMeta({ compactIndex: index, compactTerm: term, minSeq }));
    } catch (err) {
      // The new record may or may not be on disk: memory can no longer be trusted to match it.
      throw this.fail('compact', this.meta.path, err);
    }
    this.compactIndex = index;
    if (held) this.cache.dropThrough(index);
    else this.cache.clear();
    const doomed = this.segments.filter((s) => s.seq < minSeq);
    this.segments = this.segments.filter((s) => s.seq >= minSeq);
    if (doomed.length === 0) return;
    // The compaction is already committed; a failure here leaves files that the next open deletes.
    let path = this.dir;
    try {
      for (const s of doomed) {
        path = s.path;
        s.close();
        await this.fs.unlink(s.path);
      }
      path = this.dir;
      await this.fs.syncDir(this.dir);
    } catch (err) {
      throw storageIoError('delete compacted segment', path, err);
    }
  }
}
