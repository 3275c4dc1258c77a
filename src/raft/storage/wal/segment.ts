/**
 * One open segment file and its in-memory index (file offset and term of every record), plus the file naming.
 * Records of a segment hold consecutive indexes starting at its base index.
 */
import { StorageCorruptError } from '../../../errors.js';
import type { Entry } from '../../types.js';
import { type FileSystem, readFully, storageIoError } from '../fs.js';
import { entryAt, RECORD_HEADER_BYTES, readRecordHeader, recordCrcOk } from './record.js';

const NAME = /^([0-9a-f]{16})-(\d{20})\.wal$/;
/** Largest single read when serving a range from disk. */
const READ_CHUNK_BYTES = 1 << 20;

export function segmentFileName(seq: number, base: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${String(base).padStart(20, '0')}.wal`;
}

export function parseSegmentFileName(name: string): { seq: number; base: number } | undefined {
  const m = NAME.exec(name);
  if (m === null) return undefined;
  return { seq: Number.parseInt(m[1]!, 16), base: Number(m[2]) };
}

export class Segment {
  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    readonly seq: number,
    readonly base: number,
    public fd: number,
    /** File offset of each record; offsets[k] holds index base + k. */
    readonly offsets: number[],
    readonly terms: number[],
    /** Bytes of whole, durable records (header included): where the next append writes. */
    public size: number,
    /** Opened with FileSystem.openSynced: a resolved write is durable without a datasync. */
    readonly syncedWrites = false,
  ) {}

  get count(): number {
    return this.offsets.length;
  }

  /** Index of the last record, or base - 1 when empty. */
  get lastIndex(): number {
    return this.base + this.offsets.length - 1;
  }

  termAt(index: number): number | undefined {
    return this.terms[index - this.base];
  }

  /** End offset of the record at local position k. */
  private endOf(k: number): number {
    return k + 1 < this.offsets.length ? this.offsets[k + 1]! : this.size;
  }

  /** Records the appended batch (already durable) whose records start at the given file offsets. */
  pushRecords(offsets: readonly number[], terms: readonly number[], newSize: number): void {
    for (let k = 0; k < offsets.length; k++) {
      this.offsets.push(offsets[k]!);
      this.terms.push(terms[k]!);
    }
    this.size = newSize;
  }

  /** Forgets records from `index` on (memory only) and returns the file offset where they started. */
  forgetFrom(index: number): number {
    const k = index - this.base;
    const cut = k < this.offsets.length ? this.offsets[k]! : this.size;
    this.offsets.length = k;
    this.terms.length = k;
    this.size = cut;
    return cut;
  }

  /**
   * Reads entries [lo, hi) into `out`, verifying each record, while their data fits in `budget` bytes (the first
   * one regardless when `takeFirst`). Returns the data bytes added; fewer than hi - lo entries means the budget
   * stopped it.
   */
  read(lo: number, hi: number, budget: number, takeFirst: boolean, out: Entry[]): number {
    const firstK = lo - this.base;
    const end = hi - this.base;
    let added = 0;
    let k = firstK;
    while (k < end) {
      // Plan a chunk of whole records: within the budget and at most READ_CHUNK_BYTES (but at least one record).
      const start = this.offsets[k]!;
      let stop = k;
      let planned = added;
      while (stop < end) {
        const data = this.endOf(stop) - this.offsets[stop]! - RECORD_HEADER_BYTES;
        if (planned + data > budget && !(takeFirst && stop === firstK)) break;
        if (stop > k && this.endOf(stop) - start > READ_CHUNK_BYTES) break;
        planned += data;
        stop += 1;
      }
      if (stop === k) break;
      const chunkEnd = this.endOf(stop - 1);
      let buf: Buffer;
      try {
        buf = readFully(this.fs, this.fd, start, chunkEnd - start);
      } catch (err) {
        throw storageIoError('read', this.path, err);
      }
      for (; k < stop; k++) {
        out.push(this.verified(buf, this.offsets[k]! - start, this.base + k, this.endOf(k) - this.offsets[k]!));
      }
      added = planned;
    }
    return added;
  }

  /** Decodes the record at `pos` of `buf` after checking it is the one the index promises: never serve damage. */
  private verified(buf: Buffer, pos: number, index: number, size: number): Entry {
    const fileOffset = this.offsets[index - this.base]!;
    if (buf.length - pos < size) {
      throw new StorageCorruptError(this.path, fileOffset, `record of index ${index} is cut short on disk`);
    }
    const h = readRecordHeader(buf, pos);
    if (RECORD_HEADER_BYTES + h.length !== size || !recordCrcOk(buf, pos, h.length)) {
      throw new StorageCorruptError(this.path, fileOffset, `record of index ${index} fails its checksum on read`);
    }
    if (h.index !== index || h.term !== this.terms[index - this.base]) {
      throw new StorageCorruptError(this.path, fileOffset, `record holds index ${h.index}, expected ${index}`);
    }
    return entryAt(buf, pos, h);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      this.fs.close(fd);
    } catch (err) {
      throw storageIoError('close', this.path, err);
    }
  }
}

/**
 * Opens a segment file for appending: with O_DSYNC when the filesystem offers it (see FileSystem.openSynced), so
 * an append is one durable write; otherwise plainly, and appends add a datasync.
 */
export function openForAppend(fs: FileSystem, path: string, mode: 'r+' | 'w+'): { fd: number; synced: boolean } {
  if (fs.openSynced !== undefined) return { fd: fs.openSynced(path, mode), synced: true };
  return { fd: fs.open(path, mode), synced: false };
}
