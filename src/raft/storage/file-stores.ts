/**
 * Opens the three durable stores of a Raft node in one data directory:
 *
 *   <dir>/wal/          segmented write-ahead log (LogStore)
 *   <dir>/raft-state    current term and vote (StableStore)
 *   <dir>/snapshots/    snapshots (SnapshotStore)
 *
 * Only one process may use a directory at a time; nothing here locks it.
 */
import { join } from 'node:path';
import type { LogStore, SnapshotStore, StableStore } from '../types.js';
import { createNodeFileSystem, ensureDurableDir, type FileSystem } from './fs.js';
import { FileSnapshotStore } from './snapshot-file.js';
import { FileStableStore } from './stable-file.js';
import { WalLogStore, type WalOptions } from './wal/wal.js';

export interface FileStoresOptions {
  /**
   * The filesystem. Default: the real one with write/fdatasync in libuv's threadpool. A synchronous fdatasync is
   * a little faster on an idle disk, but it blocks the event loop for as long as the disk takes (up to 390 ms was
   * measured on a contended disk, docs/RAFT-FIGURES.md finding 3): timers and heartbeats stall and followers start
   * elections. Pass `createNodeFileSystem()` (or `nodeFileSystem`) for the synchronous variant on a fast,
   * dedicated disk.
   */
  readonly fs?: FileSystem;
  /** Options of the log store (its `fs` defaults to the one above). */
  readonly wal?: Omit<WalOptions, 'fs'>;
  /** Snapshots kept on disk. Default 2. */
  readonly retainSnapshots?: number;
}

export interface FileStores {
  readonly log: WalLogStore;
  readonly stable: FileStableStore;
  readonly snapshots: FileSnapshotStore;
  /** Everything the stores repaired while opening (torn tails, leftover files), for the operator's log. */
  readonly recoveryNotes: readonly string[];
  /** Closes all three. */
  close(): Promise<void>;
}

export async function openFileStores(dir: string, options: FileStoresOptions = {}): Promise<FileStores> {
  const fs = options.fs ?? defaultFileSystem();
  await ensureDurableDir(fs, dir);
  const stable = await FileStableStore.open(join(dir, 'raft-state'), { fs });
  let log: WalLogStore | undefined;
  try {
    log = await WalLogStore.open(join(dir, 'wal'), { ...options.wal, fs });
    const snapshots = await FileSnapshotStore.open(join(dir, 'snapshots'), {
      fs,
      ...(options.retainSnapshots === undefined ? {} : { retain: options.retainSnapshots }),
    });
    const stores: [LogStore, StableStore, SnapshotStore] = [log, stable, snapshots];
    return {
      log,
      stable,
      snapshots,
      recoveryNotes: [...stable.recoveryNotes, ...log.recoveryNotes, ...snapshots.recoveryNotes],
      close: async () => {
        const results = await Promise.allSettled(stores.map((s) => s.close()));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      },
    };
  } catch (err) {
    await Promise.allSettled([stable.close(), log?.close()]);
    throw err;
  }
}

let threadpoolFs: FileSystem | null = null;

/** The threadpool filesystem, created on first use and shared (it holds no per-store state). */
function defaultFileSystem(): FileSystem {
  threadpoolFs ??= createNodeFileSystem({ threadpool: true });
  return threadpoolFs;
}
