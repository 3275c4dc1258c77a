/**
 * The small filesystem surface the durable stores use, so tests (and later fault-injection work) can slow down
 * fsync or make writes fail with ENOSPC/EIO without touching the stores.
 *
 * Reads, directory listing and open/close are synchronous: LogStore reads are synchronous by contract and the rest
 * only run while a store opens. Everything that makes data durable or can fail for lack of space returns a
 * promise, so an injected implementation can delay it and the default one can run it in libuv's threadpool.
 */
import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import { ClusterKitError } from '../../errors.js';

/** 'r' read-only; 'r+' read/write an existing file; 'w+' create or truncate, read/write. */
export type OpenMode = 'r' | 'r+' | 'w+';

export interface FileSystem {
  /** Creates the directory and any missing parents. */
  mkdirp(dir: string): void;
  /** Names of the entries in `dir` (not paths). */
  readdir(dir: string): string[];
  exists(path: string): boolean;
  open(path: string, mode: OpenMode): number;
  /**
   * Optional: opens for writing with O_DSYNC, so that a write on the returned descriptor is as durable when its
   * promise resolves as a write followed by datasync (data and the size needed to read it back; not a truncate,
   * which still needs datasync). The WAL appends through it: one system call, and with the threadpool one hop
   * to a worker thread, per group commit instead of two. Stores fall back to write + datasync without it.
   */
  openSynced?(path: string, mode: 'r+' | 'w+'): number;
  close(fd: number): void;
  /** Current size of an open file in bytes. */
  size(fd: number): number;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; returns the count read (0 at end of file). */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes all of `data` at `position`, or rejects (possibly after writing a part of it). */
  write(fd: number, data: Uint8Array, position: number): Promise<void>;
  /** Makes the file's data and size durable (fdatasync). */
  datasync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes creations, renames and deletions inside `dir` durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
}

export interface NodeFileSystemOptions {
  /**
   * Run write/fdatasync/ftruncate in libuv's threadpool instead of on the calling thread. Synchronous calls were
   * the fastest here (ecosystem.md §1.3: ~5.7k single-entry appends/s against ~3.5k), but they block the event
   * loop for the duration of each sync, which on a slow disk (several ms per fsync) delays timers and network
   * handling. Default false.
   */
  readonly threadpool?: boolean;
  /**
   * Offer openSynced (O_DSYNC descriptors), so that a log append is one durable write instead of a write and an
   * fdatasync. Default true; false keeps every sync an explicit fdatasync.
   */
  readonly synced?: boolean;
}

function writeAllSync(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    // A short write is legal (e.g. the disk filled up mid-way); continue until an error or completion.
    done += nodeFs.writeSync(fd, data, done, data.length - done, position + done);
  }
}

function writeAllAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === data.length) {
        resolve();
        return;
      }
      nodeFs.write(fd, data, done, data.length - done, position + done, (err, written) => {
        if (err) reject(err);
        else step(done + written);
      });
    };
    step(0);
  });
}

function callback(fn: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    fn((err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

function syncDirSync(dir: string): void {
  const fd = nodeFs.openSync(dir, 'r');
  try {
    nodeFs.fsyncSync(fd);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/** open(2) flags of openSynced: 'r+' or 'w+' plus O_DSYNC. */
function syncedFlags(mode: 'r+' | 'w+'): number {
  const c = nodeFs.constants;
  const create = mode === 'w+' ? c.O_CREAT | c.O_TRUNC : 0;
  return c.O_RDWR | create | c.O_DSYNC;
}

/** The real filesystem. */
export function createNodeFileSystem(options: NodeFileSystemOptions = {}): FileSystem {
  const base = {
    mkdirp: (dir: string) => {
      nodeFs.mkdirSync(dir, { recursive: true });
    },
    readdir: (dir: string) => nodeFs.readdirSync(dir),
    exists: (path: string) => nodeFs.existsSync(path),
    open: (path: string, mode: OpenMode) => nodeFs.openSync(path, mode),
    ...(options.synced === false
      ? {}
      : { openSynced: (path: string, mode: 'r+' | 'w+') => nodeFs.openSync(path, syncedFlags(mode)) }),
    close: (fd: number) => {
      nodeFs.closeSync(fd);
    },
    size: (fd: number) => nodeFs.fstatSync(fd).size,
    read: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
      nodeFs.readSync(fd, buffer, offset, length, position),
  };
  if (options.threadpool === true) {
    return {
      ...base,
      write: writeAllAsync,
      datasync: (fd) => callback((cb) => nodeFs.fdatasync(fd, cb)),
      truncate: (fd, length) => callback((cb) => nodeFs.ftruncate(fd, length, cb)),
      rename: (from, to) => callback((cb) => nodeFs.rename(from, to, cb)),
      unlink: (path) => callback((cb) => nodeFs.unlink(path, cb)),
      syncDir: (dir) =>
        new Promise((resolve, reject) => {
          nodeFs.open(dir, 'r', (err, fd) => {
            if (err) {
              reject(err);
              return;
            }
            nodeFs.fsync(fd, (syncErr) => {
              nodeFs.close(fd, (closeErr) => {
                const failure = syncErr ?? closeErr;
                if (failure) reject(failure);
                else resolve();
              });
            });
          });
        }),
    };
  }
  return {
    ...base,
    write: (fd, data, position) => settle(() => writeAllSync(fd, data, position)),
    datasync: (fd) => settle(() => nodeFs.fdatasyncSync(fd)),
    truncate: (fd, length) => settle(() => nodeFs.ftruncateSync(fd, length)),
    rename: (from, to) => settle(() => nodeFs.renameSync(from, to)),
    unlink: (path) => settle(() => nodeFs.unlinkSync(path)),
    syncDir: (dir) => settle(() => syncDirSync(dir)),
  };
}

/** Runs a synchronous call, reporting a throw as a rejection as callers of the interface expect. */
function settle(fn: () => void): Promise<void> {
  try {
    fn();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** The default filesystem: node:fs with synchronous syscalls. */
export const nodeFileSystem: FileSystem = createNodeFileSystem();

/** Error codes after which trying again later may succeed (space can be freed). */
const RETRIABLE_IO_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Wraps a filesystem failure as ERR_STORAGE_IO, naming the operation and the file. */
export function storageIoError(operation: string, path: string, cause: unknown): ClusterKitError {
  if (cause instanceof ClusterKitError) return cause;
  const code = errnoCode(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ClusterKitError('ERR_STORAGE_IO', `storage ${operation} failed on ${path}: ${detail}`, {
    retriable: code !== undefined && RETRIABLE_IO_CODES.has(code),
    cause,
  });
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    return typeof err.code === 'string' ? err.code : undefined;
  }
  return undefined;
}

/** Reads exactly `length` bytes at `position`; fewer means the file is shorter than expected. */
export function readFully(fs: FileSystem, fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.read(fd, buf, done, length - done, position + done);
    if (n === 0) return buf.subarray(0, done);
    done += n;
  }
  return buf;
}

/** Reads a whole open file. */
export function readWhole(fs: FileSystem, fd: number): Buffer {
  return readFully(fs, fd, 0, fs.size(fd));
}

/**
 * Creates `dir` (and missing parents) so that the new directories survive a power loss: a file synced inside a
 * directory whose own entry was never synced can vanish with it. Syncs the parent of each directory created.
 */
export async function ensureDurableDir(fs: FileSystem, dir: string): Promise<void> {
  const created: string[] = [];
  for (let d = dir; !fs.exists(d); d = dirname(d)) {
    created.push(d);
    if (dirname(d) === d) break;
  }
  if (created.length === 0) return;
  try {
    fs.mkdirp(dir);
    for (const d of created) await fs.syncDir(dirname(d));
  } catch (err) {
    throw storageIoError('mkdir', dir, err);
  }
}
