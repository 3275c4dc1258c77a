/** openFileStores: the three stores in one directory, reopened together. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileStores } from '../../../src/raft/storage/file-stores.js';
import { entries, FaultyFileSystem, plain, tempDir } from './helpers.js';

describe('openFileStores', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('opens, writes and reopens the log, stable and snapshot stores of one data directory', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const stores = await openFileStores(dir, { wal: { segmentBytes: 4096 } });
    expect(stores.recoveryNotes).toEqual([]);
    await stores.log.append(entries(1, 40, 1));
    await stores.stable.save({ term: 4, votedFor: 'n1' });
    const config = { members: [{ id: 'n1', addr: '127.0.0.1:7001', voter: true }] };
    await stores.snapshots.save({ meta: { index: 20, term: 1, config, size: 3 }, data: new Uint8Array([1, 2, 3]) });
    await stores.log.compact(20, 1);
    await stores.close();
    expect(readdirSync(dir).sort()).toEqual(['raft-state', 'snapshots', 'wal']);

    const again = await openFileStores(dir);
    expect(again.stable.load()).toEqual({ term: 4, votedFor: 'n1' });
    expect(again.snapshots.latest()?.meta).toEqual({ index: 20, term: 1, config, size: 3 });
    expect(again.log.firstIndex()).toBe(21);
    expect(plain(again.log.entries(21, 41))).toEqual(plain(entries(21, 20, 1)));
    await again.close();
  });

  it('makes newly created directories durable by syncing their parents', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const fs = new FaultyFileSystem();
    const synced: string[] = [];
    const syncDir = fs.syncDir.bind(fs);
    fs.syncDir = (d) => {
      synced.push(d);
      return syncDir(d);
    };
    const data = join(dir, 'a', 'b');
    const stores = await openFileStores(data, { fs });
    await stores.close();
    // The entries of a/, a/b/, a/b/wal and a/b/snapshots live in their parents.
    for (const parent of [dir, join(dir, 'a'), data]) expect(synced).toContain(parent);
    expect(synced.filter((d) => d === data).length).toBeGreaterThanOrEqual(3); // wal/, snapshots/, raft-state
  });
});
