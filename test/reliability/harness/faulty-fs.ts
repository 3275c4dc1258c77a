/**
 * A FileSystem (src/raft/storage/fs.ts) that can be made slow or full while a node runs, for the disk faults of
 * the reliability scenarios. It wraps the real filesystem (threadpool I/O, ClusterKit's default):
 *
 * - slow: every fdatasync, directory fsync and durable (O_DSYNC, see FileSystem.openSynced) write waits `delayMs`
 *   more (a contended or failing disk);
 * - full: every write fails with ENOSPC after writing half of its bytes (a disk that fills up mid-write leaves a
 *   torn record behind: the store must cut it off), and so do renames (a new file cannot be linked in).
 *
 * Reads, truncation and deletion keep working when full, as on a real full disk.
 */
import { createNodeFileSystem, type FileSystem } from '../../../src/raft/storage/fs.js';

export type DiskMode =
  | { readonly mode: 'ok' }
  | { readonly mode: 'slow'; readonly delayMs: number }
  | { readonly mode: 'full' };

export interface FaultyFileSystem extends FileSystem {
  set(mode: DiskMode): void;
  readonly mode: DiskMode;
  /** Operations failed with ENOSPC so far. */
  readonly failures: number;
}

function enospc(op: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, ${op} '${path}'`);
  err.code = 'ENOSPC';
  err.errno = -28;
  err.syscall = op;
  return err;
}

export function createFaultyFileSystem(
  base: FileSystem = createNodeFileSystem({ threadpool: true }),
): FaultyFileSystem {
  let mode: DiskMode = { mode: 'ok' };
  let failures = 0;
  /** Descriptors opened with openSynced: their writes are the syncs a slow disk delays. */
  const synced = new Set<number>();
  const delay = (): Promise<void> =>
    mode.mode === 'slow'
      ? new Promise((resolve) => setTimeout(resolve, mode.mode === 'slow' ? mode.delayMs : 0))
      : Promise.resolve();
  return {
    get mode() {
      return mode;
    },
    get failures() {
      return failures;
    },
    set(next) {
      mode = next;
    },
    mkdirp: (dir) => base.mkdirp(dir),
    readdir: (dir) => base.readdir(dir),
    exists: (path) => base.exists(path),
    open: (path, m) => base.open(path, m),
    ...(base.openSynced === undefined
      ? {}
      : {
          openSynced(path: string, m: 'r+' | 'w+') {
            const fd = (base.openSynced as NonNullable<FileSystem['openSynced']>)(path, m);
            synced.add(fd);
            return fd;
          },
        }),
    close: (fd) => {
      synced.delete(fd);
      base.close(fd);
    },
    size: (fd) => base.size(fd),
    read: (fd, buffer, offset, length, position) => base.read(fd, buffer, offset, length, position),
    async write(fd, data, position) {
      if (mode.mode !== 'full') {
        if (synced.has(fd)) await delay();
        return base.write(fd, data, position);
      }
      failures++;
      const half = Math.floor(data.length / 2);
      if (half > 0) await base.write(fd, data.subarray(0, half), position);
      throw enospc('write', `fd ${fd}`);
    },
    async datasync(fd) {
      await delay();
      return base.datasync(fd);
    },
    truncate: (fd, length) => base.truncate(fd, length),
    async rename(from, to) {
      if (mode.mode === 'full') {
        failures++;
        throw enospc('rename', to);
      }
      return base.rename(from, to);
    },
    unlink: (path) => base.unlink(path),
    async syncDir(dir) {
      await delay();
      return base.syncDir(dir);
    },
  };
}
