/**
 * I/O failures injected through the FileSystem interface: a full disk (a write that fails part-way), a failing
 * fdatasync, a rollback that fails too, a slow disk. The log on disk must always reopen to exactly the
 * acknowledged entries, and errors must surface as ERR_STORAGE_IO (retriable only for ENOSPC).
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WalLogStore } from '../../../src/raft/storage/wal/wal.js';
import {
  entries,
  errno,
  FaultyFileSystem,
  plain,
  SyncedFaultyFileSystem,
  segmentFiles,
  tempDirPerTest,
} from './helpers.js';

describe('WAL under I/O faults', () => {
  const dir = tempDirPerTest();

  it('a write failing with ENOSPC part-way leaves exactly the acknowledged entries, and later appends work', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 10, 1));
    const [file] = segmentFiles(d) as [string];
    const sizeBefore = statSync(file).size;

    fs.writeFailure = 'ENOSPC';
    fs.partialBytes = 150;
    const failed = wal.append(entries(11, 5, 1));
    await expect(failed).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: true });
    await expect(failed).rejects.toThrow(/ENOSPC/);
    expect(statSync(file).size).toBe(sizeBefore);
    expect(wal.lastIndex()).toBe(10);

    // The disk has space again: the same append now succeeds, right after the acknowledged entries.
    fs.writeFailure = null;
    await wal.append(entries(11, 5, 1));
    await wal.close();
    const reopened = await WalLogStore.open(d);
    expect(reopened.recoveryNotes).toEqual([]);
    expect(plain(reopened.entries(1, 16))).toEqual(plain(entries(1, 15, 1)));
    await reopened.close();
  });

  it('a crash after a failed append (never retried) reopens to the acknowledged entries', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 10, 1));
    fs.writeFailure = 'ENOSPC';
    fs.partialBytes = 1000;
    await expect(wal.append(entries(11, 20, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO' });
    // No close: a crash. Reopen with a healthy filesystem.
    const reopened = await WalLogStore.open(d);
    expect(reopened.recoveryNotes).toEqual([]);
    expect(reopened.lastIndex()).toBe(10);
    expect(plain(reopened.entries(1, 11))).toEqual(plain(entries(1, 10, 1)));
    await reopened.close();
    await wal.close();
  });

  it('a failed fdatasync (EIO) is not retriable and rolls the append back', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 3, 1));
    fs.syncFailure = 'EIO';
    // The rollback's own sync fails too here, so the store must stop taking writes.
    await expect(wal.append(entries(4, 3, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: false });
    fs.syncFailure = null;
    await expect(wal.append(entries(4, 3, 1))).rejects.toThrow(/must be reopened/);
    expect(wal.lastIndex()).toBe(3);
    await wal.close();
    const reopened = await WalLogStore.open(d);
    expect(reopened.lastIndex()).toBe(3);
    expect(plain(reopened.entries(1, 4))).toEqual(plain(entries(1, 3, 1)));
    await reopened.append(entries(4, 1, 2));
    await reopened.close();
  });

  it('when the rollback fails too, the store fails and a reopen cuts the partial record off', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 5, 1));
    fs.writeFailure = 'EIO';
    fs.partialBytes = 50;
    fs.truncateFailure = 'EIO';
    await expect(wal.append(entries(6, 2, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: false });
    fs.writeFailure = null;
    fs.truncateFailure = null;
    await expect(wal.append(entries(6, 2, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: false });
    await expect(wal.compact(2, 1)).rejects.toThrow(/must be reopened/);
    await wal.close();
    const reopened = await WalLogStore.open(d);
    expect(reopened.recoveryNotes.join()).toMatch(/torn final write/);
    expect(plain(reopened.entries(1, 6))).toEqual(plain(entries(1, 5, 1)));
    await reopened.close();
  });

  it('a failure while rolling over to a new segment leaves no trace', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs, segmentBytes: 200 });
    await wal.append(entries(1, 4, 1, 100)); // fills the first segment
    expect(segmentFiles(d)).toHaveLength(1);
    fs.writeFailure = 'ENOSPC';
    await expect(wal.append(entries(5, 2, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: true });
    expect(segmentFiles(d)).toHaveLength(1);
    // Fails after the new segment exists: the empty segment is removed again.
    fs.writeFailure = null;
    const failOnSecondWrite = fs.write.bind(fs);
    let calls = 0;
    fs.write = async (fd, data, position) => {
      calls += 1;
      if (calls === 2) throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
      return failOnSecondWrite(fd, data, position);
    };
    await expect(wal.append(entries(5, 2, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: true });
    expect(segmentFiles(d)).toHaveLength(1);
    await wal.append(entries(5, 2, 3));
    expect(segmentFiles(d)).toHaveLength(2);
    await wal.close();
    const reopened = await WalLogStore.open(d);
    expect(reopened.recoveryNotes).toEqual([]);
    expect(plain(reopened.entries(1, 7))).toEqual(plain([...entries(1, 4, 1, 100), ...entries(5, 2, 3)]));
    await reopened.close();
  });

  it('one append call is one write and one fdatasync, however many entries', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 1, 1)); // creates the first segment
    const [writes, syncs] = [fs.writes, fs.syncs];
    await wal.append(entries(2, 256, 1));
    expect([fs.writes - writes, fs.syncs - syncs]).toEqual([1, 1]);
    await wal.append(entries(258, 1, 1));
    expect([fs.writes - writes, fs.syncs - syncs]).toEqual([2, 2]);
    await wal.close();
  });

  it('with O_DSYNC (openSynced) one append is one durable write and no fdatasync, and reopens intact', async () => {
    const d = dir();
    const fs = new SyncedFaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 1, 1));
    const [writes, durable, syncs] = [fs.writes, fs.durableWrites, fs.syncs];
    await wal.append(entries(2, 256, 1));
    await wal.append(entries(258, 1, 1));
    expect([fs.writes - writes, fs.durableWrites - durable, fs.syncs - syncs]).toEqual([2, 2, 0]);
    await wal.close();
    const reopened = await WalLogStore.open(d, { fs: new SyncedFaultyFileSystem() });
    expect(reopened.recoveryNotes).toEqual([]);
    expect(plain(reopened.entries(1, 259))).toEqual(plain(entries(1, 258, 1)));
    await reopened.close();
  });

  it('with O_DSYNC, a write failing with ENOSPC part-way still leaves exactly the acknowledged entries', async () => {
    const d = dir();
    const fs = new SyncedFaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    await wal.append(entries(1, 10, 1));
    fs.writeFailure = 'ENOSPC';
    fs.partialBytes = 150;
    await expect(wal.append(entries(11, 5, 1))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO', retriable: true });
    expect(wal.lastIndex()).toBe(10);
    fs.writeFailure = null;
    await wal.append(entries(11, 5, 1));
    // No close: a crash. What was acknowledged is there, nothing torn is.
    const reopened = await WalLogStore.open(d);
    expect(reopened.recoveryNotes).toEqual([]);
    expect(plain(reopened.entries(1, 16))).toEqual(plain(entries(1, 15, 1)));
    await reopened.close();
    await wal.close();
  });

  it('an append resolves only after its (slow) fdatasync', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs });
    fs.syncDelayMs = 30;
    let resolved = false;
    const pending = wal.append(entries(1, 3, 1)).then(() => {
      resolved = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    expect(wal.lastIndex()).toBe(0); // not visible before it is durable
    await pending;
    expect(wal.lastIndex()).toBe(3);
    await wal.close();
  });

  it('a compaction interrupted after its commit point is finished by the next open', async () => {
    for (const matching of [true, false]) {
      const d = dir();
      const fs = new FaultyFileSystem();
      const wal = await WalLogStore.open(d, { fs, segmentBytes: 512 });
      for (let i = 1; i <= 60; i += 5) await wal.append(entries(i, 5, 1));
      const before = segmentFiles(d).length;
      expect(before).toBeGreaterThan(3);
      fs.unlink = () => Promise.reject(errno('EIO', 'unlink'));
      await expect(wal.compact(40, matching ? 1 : 9)).rejects.toMatchObject({ code: 'ERR_STORAGE_IO' });
      expect(segmentFiles(d)).toHaveLength(before); // nothing deleted: "crash" here
      const reopened = await WalLogStore.open(d, { segmentBytes: 512 });
      expect(reopened.recoveryNotes.join()).toMatch(/removed compacted segment/);
      expect(reopened.firstIndex()).toBe(41);
      expect(reopened.lastIndex()).toBe(matching ? 60 : 40);
      if (matching) expect(plain(reopened.entries(41, 61))).toEqual(plain(entries(41, 20, 1)));
      expect(segmentFiles(d).length).toBeLessThan(before);
      await reopened.append(entries(reopened.lastIndex() + 1, 1, 2));
      await reopened.close();
      await wal.close();
    }
  });

  it('a truncation interrupted part-way leaves a prefix of the old log, never old entries after new ones', async () => {
    const d = dir();
    const fs = new FaultyFileSystem();
    const wal = await WalLogStore.open(d, { fs, segmentBytes: 512 });
    for (let i = 1; i <= 60; i += 5) await wal.append(entries(i, 5, 1));
    // Cut back to 23: later segments are unlinked first, then the one holding 23 is truncated, which fails.
    fs.truncateFailure = 'EIO';
    await expect(wal.append(entries(23, 3, 2))).rejects.toMatchObject({ code: 'ERR_STORAGE_IO' });
    await expect(wal.append(entries(23, 3, 2))).rejects.toThrow(/must be reopened/);
    await wal.close();
    const reopened = await WalLogStore.open(d, { segmentBytes: 512 });
    const last = reopened.lastIndex();
    expect(last).toBeGreaterThanOrEqual(22);
    expect(last).toBeLessThan(60);
    expect(plain(reopened.entries(1, last + 1))).toEqual(plain(entries(1, last, 1)));
    await reopened.append(entries(23, 3, 2));
    expect(plain(reopened.entries(20, 26))).toEqual(plain([...entries(20, 3, 1), ...entries(23, 3, 2)]));
    await reopened.close();
  });
});
