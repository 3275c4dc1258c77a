/** Shared helpers of the storage tests: temp dirs, deterministic entries, and a filesystem with injected faults. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../../src/raft/storage/fs.js';
import { type Entry, EntryType } from '../../../src/raft/types.js';

export function tempDir(prefix = 'ck-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** For a describe block: each call makes a fresh temp directory, and every one is removed after each test. */
export function tempDirPerTest(): () => string {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  return () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };
}

/** Deterministic data for (index, term): its length and bytes both depend on both, so mix-ups show. */
export function dataFor(index: number, term: number, maxLength = 300): Uint8Array {
  const length = (index * 7 + term * 13) % maxLength;
  const data = new Uint8Array(length);
  for (let j = 0; j < length; j++) data[j] = (index * 31 + term * 17 + j) & 0xff;
  return data;
}

export function entry(index: number, term: number, maxLength?: number): Entry {
  const type = index % 17 === 0 ? EntryType.Config : index % 5 === 0 ? EntryType.Noop : EntryType.Command;
  return { index, term, type, data: dataFor(index, term, maxLength) };
}

export function entries(first: number, count: number, term: number, maxLength?: number): Entry[] {
  return Array.from({ length: count }, (_, k) => entry(first + k, term, maxLength));
}

/** Plain objects with plain Uint8Arrays, for deep equality regardless of views and buffers. */
export function plain(list: readonly Entry[]): { index: number; term: number; type: number; data: number[] }[] {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }));
}

export function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected failure, ${syscall}`);
  err.code = code;
  err.syscall = syscall;
  return err;
}

/**
 * node:fs with switchable faults: `writeFailure` makes writes fail after writing `partialBytes` of their data
 * (a disk that fills up mid-write); `syncFailure` makes fdatasync fail; `syncDelayMs` slows it down.
 */
export class FaultyFileSystem implements FileSystem {
  writeFailure: string | null = null;
  partialBytes = 0;
  syncFailure: string | null = null;
  truncateFailure: string | null = null;
  syncDelayMs = 0;
  writes = 0;
  syncs = 0;

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  mkdirp(dir: string): void {
    this.inner.mkdirp(dir);
  }
  readdir(dir: string): string[] {
    return this.inner.readdir(dir);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  open(path: string, mode: 'r' | 'r+' | 'w+'): number {
    return this.inner.open(path, mode);
  }
  close(fd: number): void {
    this.inner.close(fd);
  }
  size(fd: number): number {
    return this.inner.size(fd);
  }
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, buffer, offset, length, position);
  }
  async write(fd: number, data: Uint8Array, position: number): Promise<void> {
    this.writes += 1;
    if (this.writeFailure !== null) {
      const part = Math.min(this.partialBytes, data.length);
      if (part > 0) await this.inner.write(fd, data.subarray(0, part), position);
      throw errno(this.writeFailure, 'write');
    }
    await this.inner.write(fd, data, position);
  }
  async datasync(fd: number): Promise<void> {
    this.syncs += 1;
    if (this.syncDelayMs > 0) await new Promise((r) => setTimeout(r, this.syncDelayMs));
    if (this.syncFailure !== null) throw errno(this.syncFailure, 'fdatasync');
    await this.inner.datasync(fd);
  }
  async truncate(fd: number, length: number): Promise<void> {
    if (this.truncateFailure !== null) throw errno(this.truncateFailure, 'ftruncate');
    await this.inner.truncate(fd, length);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  syncDir(dir: string): Promise<void> {
    return this.inner.syncDir(dir);
  }
}

/**
 * The same faults over descriptors opened with O_DSYNC (FileSystem.openSynced), the path the default filesystems
 * take: appends then make no datasync call, and `durableWrites` counts the writes that are syncs themselves.
 */
export class SyncedFaultyFileSystem extends FaultyFileSystem {
  durableWrites = 0;
  private readonly synced = new Set<number>();
  private readonly base: FileSystem;

  constructor(inner: FileSystem = nodeFileSystem) {
    super(inner);
    if (inner.openSynced === undefined) throw new Error('the inner filesystem has no openSynced');
    this.base = inner;
  }
  openSynced(path: string, mode: 'r+' | 'w+'): number {
    const fd = (this.base.openSynced as NonNullable<FileSystem['openSynced']>)(path, mode);
    this.synced.add(fd);
    return fd;
  }
  override close(fd: number): void {
    this.synced.delete(fd);
    super.close(fd);
  }
  override async write(fd: number, data: Uint8Array, position: number): Promise<void> {
    if (this.synced.has(fd)) this.durableWrites += 1;
    await super.write(fd, data, position);
  }
}

/** Record offsets of a (valid) segment file, found by walking its length fields. */
export function recordOffsets(file: Buffer): number[] {
  const offsets: number[] = [];
  let pos = 32;
  while (pos + 32 <= file.length) {
    offsets.push(pos);
    pos += 32 + file.readUInt32LE(pos + 4);
  }
  return offsets;
}

/** Paths of the WAL segment files in `dir`, oldest first. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort()
    .map((n) => join(dir, n));
}
