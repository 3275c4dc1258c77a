/**
 * SnapshotStore on files: one file per snapshot, `snapshot-<index>-<term>.snap`, written to a temporary name,
 * synced, renamed and followed by a sync of the directory, so a file under a final name is always complete.
 *
 * The newest snapshot is loaded and fully verified when the store opens, because `latest()` is synchronous. If it
 * fails verification the store refuses to open (StorageCorruptError naming the file and offset) instead of falling
 * back to an older snapshot: the log may already be compacted past the older one, and silently restoring it would
 * leave a hole between the snapshot and the log. An operator can move the bad file away to choose otherwise.
 *
 * File layout (little-endian):
 *    0 u32 CRC-32 of bytes [4, 32)
 *    4 u32 magic 'CKSN'
 *    8 u32 format version (1)
 *   12 u32 meta length M
 *   16 u64 data length D
 *   24 u32 CRC-32 of the meta bytes
 *   28 u32 CRC-32 of the data bytes
 *   32     meta: UTF-8 JSON {index, term, config, size}
 * 32 + M   data
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { InvalidArgumentError, ShuttingDownError, StorageCorruptError } from '../../errors.js';
import type { Configuration, Member, Snapshot, SnapshotMeta, SnapshotStore } from '../types.js';
import { crcOf, readU64, writeU64 } from './binary.js';
import { ensureDurableDir, type FileSystem, nodeFileSystem, readWhole, storageIoError } from './fs.js';

const MAGIC = 0x434b534e;
const VERSION = 1;
const HEADER = 32;
/** How many snapshots stay on disk; older ones are deleted after each save. */
const DEFAULT_RETAIN = 2;
const NAME = /^snapshot-(\d{20})-(\d{20})\.snap$/;

function fileName(index: number, term: number): string {
  return `snapshot-${String(index).padStart(20, '0')}-${String(term).padStart(20, '0')}.snap`;
}

interface SnapshotFile {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

function newerFirst(a: SnapshotFile, b: SnapshotFile): number {
  return b.index - a.index || b.term - a.term;
}

function isMember(value: unknown): value is Member {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m.id === 'string' && typeof m.addr === 'string' && typeof m.voter === 'boolean';
}

function parseMeta(json: unknown): SnapshotMeta | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const m = json as Record<string, unknown>;
  const config = m.config as Record<string, unknown> | null | undefined;
  if (
    !Number.isSafeInteger(m.index) ||
    !Number.isSafeInteger(m.term) ||
    !Number.isSafeInteger(m.size) ||
    typeof config !== 'object' ||
    config === null ||
    !Array.isArray(config.members) ||
    !config.members.every(isMember)
  ) {
    return undefined;
  }
  const members: Member[] = config.members.map((x) => ({ id: x.id, addr: x.addr, voter: x.voter }));
  return { index: m.index as number, term: m.term as number, size: m.size as number, config: { members } };
}

/** Checks a whole snapshot file; returns the snapshot or throws StorageCorruptError at the first bad byte range. */
function decodeSnapshotFile(path: string, buf: Buffer, expected: SnapshotFile): Snapshot {
  if (buf.length < HEADER) throw new StorageCorruptError(path, buf.length, 'file is shorter than its header');
  if (crcOf(buf, 4, HEADER) !== buf.readUInt32LE(0)) throw new StorageCorruptError(path, 0, 'header checksum mismatch');
  if (buf.readUInt32LE(4) !== MAGIC) throw new StorageCorruptError(path, 4, 'not a snapshot file (bad magic)');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new StorageCorruptError(path, 8, `unsupported snapshot format version ${version}`);
  const metaLength = buf.readUInt32LE(12);
  const dataLength = readU64(buf, 16);
  if (HEADER + metaLength + dataLength !== buf.length) {
    throw new StorageCorruptError(
      path,
      Math.min(buf.length, HEADER + metaLength + dataLength),
      `file is ${buf.length} bytes, header says ${HEADER + metaLength + dataLength}`,
    );
  }
  const metaEnd = HEADER + metaLength;
  if (crcOf(buf, HEADER, metaEnd) !== buf.readUInt32LE(24)) {
    throw new StorageCorruptError(path, HEADER, 'meta checksum mismatch');
  }
  let meta: SnapshotMeta | undefined;
  try {
    meta = parseMeta(JSON.parse(buf.toString('utf8', HEADER, metaEnd)));
  } catch {
    meta = undefined;
  }
  if (meta === undefined || meta.size !== dataLength || meta.index !== expected.index || meta.term !== expected.term) {
    throw new StorageCorruptError(path, HEADER, 'meta does not describe this file');
  }
  if (crcOf(buf, metaEnd, buf.length) !== buf.readUInt32LE(28)) {
    throw new StorageCorruptError(path, metaEnd, 'data checksum mismatch');
  }
  return { meta, data: new Uint8Array(buf.buffer, buf.byteOffset + metaEnd, dataLength) };
}

function encodeHeader(meta: SnapshotMeta, data: Uint8Array): Buffer {
  const config: Configuration = {
    members: meta.config.members.map((m) => ({ id: m.id, addr: m.addr, voter: m.voter })),
  };
  const metaBytes = Buffer.from(
    JSON.stringify({ index: meta.index, term: meta.term, size: meta.size, config }),
    'utf8',
  );
  const buf = Buffer.alloc(HEADER + metaBytes.length);
  buf.writeUInt32LE(MAGIC, 4);
  buf.writeUInt32LE(VERSION, 8);
  buf.writeUInt32LE(metaBytes.length, 12);
  writeU64(buf, 16, data.length);
  buf.set(metaBytes, HEADER);
  buf.writeUInt32LE(crc32(metaBytes), 24);
  buf.writeUInt32LE(crc32(data), 28);
  buf.writeUInt32LE(crcOf(buf, 4, HEADER), 0);
  return buf;
}

export interface FileSnapshotStoreOptions {
  readonly fs?: FileSystem;
  /** Snapshots kept on disk (at least 1). Default 2. */
  readonly retain?: number;
}

export class FileSnapshotStore implements SnapshotStore {
  private current: Snapshot | null;
  private files: SnapshotFile[];
  private closed = false;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    private readonly retain: number,
    files: SnapshotFile[],
    current: Snapshot | null,
    /** What opening had to clean up (leftover temporary files), for the operator's log. */
    readonly recoveryNotes: readonly string[],
  ) {
    this.files = files;
    this.current = current;
  }

  /** Opens (creating if needed) the snapshot directory and verifies the newest snapshot in it. */
  static async open(dir: string, options: FileSnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    const fs = options.fs ?? nodeFileSystem;
    const retain = options.retain ?? DEFAULT_RETAIN;
    if (!Number.isInteger(retain) || retain < 1) throw new InvalidArgumentError(`retain must be >= 1, got ${retain}`);
    const notes: string[] = [];
    let names: string[];
    await ensureDurableDir(fs, dir);
    try {
      names = fs.readdir(dir);
    } catch (err) {
      throw storageIoError('list', dir, err);
    }
    const leftovers = names.filter((n) => n.startsWith('snapshot-') && n.endsWith('.tmp'));
    for (const name of leftovers) {
      // A save that crashed before its rename; it was never acknowledged.
      try {
        await fs.unlink(join(dir, name));
      } catch (err) {
        throw storageIoError('unlink', join(dir, name), err);
      }
      notes.push(`removed unfinished snapshot ${join(dir, name)}`);
    }
    if (leftovers.length > 0) {
      try {
        await fs.syncDir(dir);
      } catch (err) {
        throw storageIoError('sync', dir, err);
      }
    }
    const files: SnapshotFile[] = [];
    for (const name of names) {
      const m = NAME.exec(name);
      if (m !== null) files.push({ name, index: Number(m[1]), term: Number(m[2]) });
    }
    files.sort(newerFirst);
    let current: Snapshot | null = null;
    const newest = files[0];
    if (newest !== undefined) {
      const path = join(dir, newest.name);
      let buf: Buffer;
      try {
        const fd = fs.open(path, 'r');
        try {
          buf = readWhole(fs, fd);
        } finally {
          fs.close(fd);
        }
      } catch (err) {
        throw storageIoError('read', path, err);
      }
      current = decodeSnapshotFile(path, buf, newest);
    }
    return new FileSnapshotStore(fs, dir, retain, files, current, notes);
  }

  latest(): Snapshot | null {
    return this.current;
  }

  save(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(new ShuttingDownError('the snapshot store is closed'));
    const { meta, data } = snapshot;
    if (!Number.isSafeInteger(meta.index) || meta.index < 0 || !Number.isSafeInteger(meta.term) || meta.term < 0) {
      return Promise.reject(new InvalidArgumentError('snapshot index and term must be non-negative integers'));
    }
    if (meta.size !== data.length) {
      return Promise.reject(
        new InvalidArgumentError(`snapshot meta.size is ${meta.size} but the data is ${data.length} bytes`),
      );
    }
    // Copy now: the caller may reuse its buffers, and latest() must return exactly what was written.
    const copy: Snapshot = {
      meta: {
        index: meta.index,
        term: meta.term,
        size: meta.size,
        config: { members: meta.config.members.map((m) => ({ ...m })) },
      },
      data: new Uint8Array(data),
    };
    const run = this.tail.then(() => this.write(copy));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(snapshot: Snapshot): Promise<void> {
    const { meta, data } = snapshot;
    const entry: SnapshotFile = { name: fileName(meta.index, meta.term), index: meta.index, term: meta.term };
    const path = join(this.dir, entry.name);
    const tmp = `${path}.tmp`;
    const header = encodeHeader(meta, data);
    let fd: number;
    try {
      fd = this.fs.open(tmp, 'w+');
    } catch (err) {
      throw storageIoError('create', tmp, err);
    }
    try {
      await this.fs.write(fd, header, 0);
      await this.fs.write(fd, data, header.length);
      await this.fs.datasync(fd);
    } catch (err) {
      this.fs.close(fd);
      await this.fs.unlink(tmp).catch(() => undefined); // best effort: open() removes leftovers anyway
      throw storageIoError('write', tmp, err);
    }
    try {
      this.fs.close(fd);
      await this.fs.rename(tmp, path);
      await this.fs.syncDir(this.dir);
    } catch (err) {
      throw storageIoError('rename', path, err);
    }
    this.files = [entry, ...this.files.filter((f) => f.name !== entry.name)].sort(newerFirst);
    if (this.files[0]?.name === entry.name) this.current = snapshot;
    await this.prune();
  }

  /** Deletes all but the newest `retain` snapshots. */
  private async prune(): Promise<void> {
    const doomed = this.files.slice(this.retain);
    if (doomed.length === 0) return;
    this.files = this.files.slice(0, this.retain);
    for (const f of doomed) {
      const path = join(this.dir, f.name);
      try {
        await this.fs.unlink(path);
      } catch (err) {
        throw storageIoError('unlink', path, err);
      }
    }
    try {
      await this.fs.syncDir(this.dir);
    } catch (err) {
      throw storageIoError('sync', this.dir, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
  }
}
