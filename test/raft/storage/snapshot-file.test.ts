/** The file SnapshotStore: round trip, retention, refusing a damaged newest snapshot, crash leftovers, ENOSPC. */
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageCorruptError } from '../../../src/errors.js';
import { FileSnapshotStore } from '../../../src/raft/storage/snapshot-file.js';
import type { Snapshot } from '../../../src/raft/types.js';
import { FaultyFileSystem, tempDirPerTest } from './helpers.js';

function snapshot(index: number, term: number, size = 1000): Snapshot {
  const data = new Uint8Array(size);
  for (let j = 0; j < size; j++) data[j] = (index * 13 + j) & 0xff;
  return {
    meta: {
      index,
      term,
      size,
      config: {
        members: [
          { id: 'n1', addr: '127.0.0.1:7001', voter: true },
          { id: 'n2', addr: '127.0.0.1:7002', voter: false },
        ],
      },
    },
    data,
  };
}

function plainSnapshot(s: Snapshot | null): unknown {
  return s === null ? null : { meta: s.meta, data: Array.from(s.data) };
}

function snapshotFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('FileSnapshotStore', () => {
  const newDir = tempDirPerTest();
  const dir = (): string => join(newDir(), 'snapshots');

  it('returns the newest snapshot across reopen and keeps only the newest two files', async () => {
    const d = dir();
    const store = await FileSnapshotStore.open(d);
    expect(store.latest()).toBeNull();
    for (const [index, term] of [
      [10, 1],
      [20, 1],
      [35, 2],
      [50, 3],
    ] as const) {
      await store.save(snapshot(index, term));
      expect(plainSnapshot(store.latest())).toEqual(plainSnapshot(snapshot(index, term)));
    }
    expect(snapshotFiles(d)).toEqual([
      'snapshot-00000000000000000035-00000000000000000002.snap',
      'snapshot-00000000000000000050-00000000000000000003.snap',
    ]);
    // An older snapshot saved late does not replace the newest.
    await store.save(snapshot(40, 2));
    expect(store.latest()?.meta.index).toBe(50);
    await store.close();
    const reopened = await FileSnapshotStore.open(d);
    expect(plainSnapshot(reopened.latest())).toEqual(plainSnapshot(snapshot(50, 3)));
    expect(snapshotFiles(d)).toHaveLength(2);
    await reopened.close();
  });

  it('copies the data it is given, and handles an empty snapshot', async () => {
    const d = dir();
    const store = await FileSnapshotStore.open(d);
    const s = snapshot(5, 1, 0);
    await store.save(s);
    const t = snapshot(6, 1, 10);
    await store.save(t);
    t.data[0] = 99;
    expect(store.latest()?.data[0]).toBe(snapshot(6, 1, 10).data[0]);
    await store.close();
    await expect(store.save(snapshot(7, 1))).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
  });

  it('refuses to open when the newest snapshot is damaged, naming the file and the offset', async () => {
    const d = dir();
    const store = await FileSnapshotStore.open(d);
    await store.save(snapshot(10, 1));
    await store.save(snapshot(20, 2));
    await store.close();
    const newest = join(d, 'snapshot-00000000000000000020-00000000000000000002.snap');
    const original = readFileSync(newest);
    const metaLength = original.readUInt32LE(12);
    const cases: [number, number, RegExp][] = [
      [32 + metaLength + 500, 32 + metaLength, /data checksum mismatch/],
      [40, 32, /meta checksum mismatch/],
      [18, 0, /header checksum mismatch/],
    ];
    for (const [flip, offset, detail] of cases) {
      const damaged = Buffer.from(original);
      damaged[flip] = damaged[flip]! ^ 1;
      writeFileSync(newest, damaged);
      const err = await FileSnapshotStore.open(d).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageCorruptError);
      expect(err).toMatchObject({ file: newest, offset });
      expect((err as Error).message).toContain(`${newest} at offset ${offset}`);
      expect((err as Error).message).toMatch(detail);
    }
    writeFileSync(newest, original);
    truncateSync(newest, original.length - 1);
    await expect(FileSnapshotStore.open(d)).rejects.toMatchObject({
      code: 'ERR_STORAGE_CORRUPT',
      file: newest,
      offset: original.length - 1,
    });
  });

  it('ignores and removes an unfinished save left by a crash', async () => {
    const d = dir();
    const store = await FileSnapshotStore.open(d);
    await store.save(snapshot(10, 1));
    await store.close();
    writeFileSync(join(d, 'snapshot-00000000000000000030-00000000000000000002.snap.tmp'), Buffer.alloc(77));
    const reopened = await FileSnapshotStore.open(d);
    expect(reopened.latest()?.meta.index).toBe(10);
    expect(reopened.recoveryNotes.join()).toMatch(/removed unfinished snapshot/);
    expect(snapshotFiles(d)).toEqual(['snapshot-00000000000000000010-00000000000000000001.snap']);
    await reopened.close();
  });

  it('a save failing with ENOSPC leaves the previous snapshot in place and is retriable', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const store = await FileSnapshotStore.open(d, { fs });
    await store.save(snapshot(10, 1));
    fs.writeFailure = 'ENOSPC';
    fs.partialBytes = 10;
    await expect(store.save(snapshot(20, 2))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: true });
    expect(store.latest()?.meta.index).toBe(10);
    expect(snapshotFiles(d)).toEqual(['snapshot-00000000000000000010-00000000000000000001.snap']);
    fs.writeFailure = null;
    await store.save(snapshot(20, 2));
    await store.close();
    const reopened = await FileSnapshotStore.open(d);
    expect(reopened.latest()?.meta.index).toBe(20);
    await reopened.close();
  });

  it('rejects a snapshot whose meta.size does not match its data', async () => {
    const d = dir();
    const store = await FileSnapshotStore.open(d);
    const bad = snapshot(1, 1, 10);
    await expect(store.save({ meta: { ...bad.meta, size: 11 }, data: bad.data })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await store.close();
  });
});
