/**
 * Recovery of the WAL from damaged files: a torn final write is cut off (at every possible byte offset), while
 * damage to acknowledged data (before the tail, in a sealed segment, in headers, missing files) refuses to open
 * with a StorageCorruptError that names the file and the byte offset.
 */
import { readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageCorruptError } from '../../../src/errors.js';
import { WalLogStore } from '../../../src/raft/storage/wal/wal.js';
import { entries, plain, recordOffsets, segmentFiles, tempDirPerTest } from './helpers.js';

async function expectCorrupt(dir: string, file: string, offset: number, detail: RegExp): Promise<void> {
  const err: unknown = await WalLogStore.open(dir, { segmentBytes: 1024 }).then(
    async (w) => {
      await w.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageCorruptError);
  const corrupt = err as StorageCorruptError;
  expect(corrupt.code).toBe('ERR_STORAGE_CORRUPT');
  expect(corrupt.file).toBe(file);
  expect(corrupt.offset).toBe(offset);
  expect(corrupt.message).toContain(file);
  expect(corrupt.message).toContain(`offset ${offset}`);
  expect(corrupt.message).toMatch(detail);
}

function flipByte(file: string, offset: number): void {
  const buf = readFileSync(file);
  buf[offset] = buf[offset]! ^ 0x5a;
  writeFileSync(file, buf);
}

describe('WAL recovery', () => {
  const dir = tempDirPerTest();

  it('cuts a torn last record back to the previous record, at every byte offset of it', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d);
    await wal.append(entries(1, 5, 1, 200));
    await wal.append(entries(6, 1, 1, 200));
    await wal.close();
    const [file] = segmentFiles(d) as [string];
    const original = readFileSync(file);
    const lastStart = recordOffsets(original)[5]!;
    expect(original.length - lastStart).toBeGreaterThan(32);
    for (let cut = lastStart; cut < original.length; cut++) {
      writeFileSync(file, original.subarray(0, cut));
      const reopened = await WalLogStore.open(d);
      expect(reopened.lastIndex()).toBe(5);
      expect(plain(reopened.entries(1, 6))).toEqual(plain(entries(1, 5, 1, 200)));
      expect(reopened.recoveryNotes.join()).toMatch(cut === lastStart ? /^$/ : /torn final write/);
      expect(statSync(file).size).toBe(lastStart);
      await reopened.close();
    }
    // And the repaired log takes appends that survive another reopen.
    const again = await WalLogStore.open(d);
    await again.append(entries(6, 2, 2));
    await again.close();
    const final = await WalLogStore.open(d);
    expect(final.recoveryNotes).toEqual([]);
    expect(plain(final.entries(1, 8))).toEqual(plain([...entries(1, 5, 1, 200), ...entries(6, 2, 2)]));
    await final.close();
  });

  it('cuts a zero-filled tail and a garbled last record', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d);
    await wal.append(entries(1, 3, 1));
    await wal.close();
    const [file] = segmentFiles(d) as [string];
    const size = statSync(file).size;
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(8192)]));
    let reopened = await WalLogStore.open(d);
    expect(reopened.lastIndex()).toBe(3);
    expect(reopened.recoveryNotes.join()).toMatch(/torn final write/);
    await reopened.close();
    expect(statSync(file).size).toBe(size);

    flipByte(file, recordOffsets(readFileSync(file))[2]! + 40);
    reopened = await WalLogStore.open(d);
    expect(reopened.lastIndex()).toBe(2);
    expect(reopened.recoveryNotes.join()).toMatch(/checksum mismatch/);
    await reopened.close();
  });

  it('treats a bad record followed by valid records of the same append call as torn (pages land out of order)', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d);
    await wal.append(entries(1, 3, 1));
    await wal.append(entries(4, 5, 1)); // the final call: records 4..8
    await wal.close();
    const [file] = segmentFiles(d) as [string];
    flipByte(file, recordOffsets(readFileSync(file))[4]! + 35); // record 5, in the middle of the final call
    const reopened = await WalLogStore.open(d);
    expect(reopened.lastIndex()).toBe(4);
    expect(plain(reopened.entries(1, 5))).toEqual(plain(entries(1, 4, 1)));
    await reopened.close();
  });

  it('refuses to open when a bad record is followed by a record of a later append call', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d);
    await wal.append(entries(1, 3, 1));
    await wal.append(entries(4, 3, 1));
    await wal.append(entries(7, 1, 1));
    await wal.close();
    const [file] = segmentFiles(d) as [string];
    const offset = recordOffsets(readFileSync(file))[4]!; // record 5, acknowledged before record 7 was written
    flipByte(file, offset + 33);
    await expectCorrupt(d, file, offset, /checksum mismatch, but a later acknowledged record \(index 7\)/);
    // Damaging the length field instead, so the rest cannot be walked, is caught as well.
    flipByte(file, offset + 33);
    flipByte(file, offset + 6);
    await expectCorrupt(d, file, offset, /later acknowledged record/);
  });

  it('refuses to open when a sealed segment is damaged anywhere, even in its last record', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d, { segmentBytes: 1024 });
    for (let i = 1; i <= 60; i += 6) await wal.append(entries(i, 6, 1));
    await wal.close();
    const files = segmentFiles(d);
    expect(files.length).toBeGreaterThan(2);
    const sealed = files[1]!;
    const offsets = recordOffsets(readFileSync(sealed));
    const last = offsets[offsets.length - 1]!;
    flipByte(sealed, last + 20);
    await expectCorrupt(d, sealed, last, /checksum mismatch \(in a sealed segment\)/);
    flipByte(sealed, last + 20);
    // A sealed segment cut short is damage too, not a torn write.
    const size = statSync(sealed).size;
    truncateSync(sealed, size - 3);
    await expectCorrupt(d, sealed, last, /runs past the end of the file \(in a sealed segment\)/);
  });

  it('refuses to open with a damaged segment header, a missing segment or a missing meta file', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d, { segmentBytes: 1024 });
    for (let i = 1; i <= 60; i += 6) await wal.append(entries(i, 6, 1));
    await wal.close();
    const files = segmentFiles(d);
    flipByte(files[0]!, 2);
    await expectCorrupt(d, files[0]!, 0, /segment header checksum mismatch/);
    flipByte(files[0]!, 2);

    const middle = files[1]!;
    const saved = readFileSync(middle);
    unlinkSync(middle);
    await expectCorrupt(d, files[2]!, 24, /previous one .* ends at/);
    writeFileSync(middle, saved);

    const metaPath = join(d, 'wal-meta');
    const meta = readFileSync(metaPath);
    unlinkSync(metaPath);
    await expectCorrupt(d, metaPath, 0, /meta file is missing/);
    writeFileSync(metaPath, meta);

    const ok = await WalLogStore.open(d, { segmentBytes: 1024 });
    expect(ok.lastIndex()).toBe(60);
    await ok.close();
  });

  it('refuses to open when damage that looks torn would cut the log below its compaction point', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d);
    await wal.append(entries(1, 10, 1)); // one call, so damage anywhere in it looks like a torn final write
    await wal.compact(5, 1);
    await wal.close();
    const [file] = segmentFiles(d) as [string];
    const offset = recordOffsets(readFileSync(file))[3]!; // index 4
    flipByte(file, offset + 40);
    await expectCorrupt(d, file, offset, /the log ends at index 3, before its compaction point 5/);
  });

  it('never serves a record damaged after open', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d, { cacheBytes: 0 });
    await wal.append(entries(1, 4, 1));
    const [file] = segmentFiles(d) as [string];
    const offset = recordOffsets(readFileSync(file))[1]!;
    flipByte(file, offset + 40);
    expect(plain(wal.entries(1, 2))).toEqual(plain(entries(1, 1, 1)));
    expect(() => wal.entries(1, 4)).toThrow(StorageCorruptError);
    let caught: unknown;
    try {
      wal.entries(2, 3);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', file, offset });
    await wal.close();
  });

  it('removes an empty last segment and unfinished files left by a crash', async () => {
    const d = dir();
    const wal = await WalLogStore.open(d, { segmentBytes: 256 });
    await wal.append(entries(1, 4, 1));
    await wal.append(entries(5, 4, 1)); // rolls over into a second segment
    await wal.close();
    const files = segmentFiles(d);
    expect(files).toHaveLength(2);
    truncateSync(files[1]!, 32); // the second segment's first write never made it
    writeFileSync(join(d, '00000000000000ff-00000000000000000009.wal.tmp'), Buffer.alloc(10));
    const reopened = await WalLogStore.open(d, { segmentBytes: 256 });
    expect(reopened.lastIndex()).toBe(4);
    expect(reopened.recoveryNotes.join('\n')).toMatch(/removed unfinished segment[\s\S]*removed empty last segment/);
    expect(segmentFiles(d)).toEqual([files[0]]);
    await reopened.append(entries(5, 2, 2));
    await reopened.close();
    const final = await WalLogStore.open(d, { segmentBytes: 256 });
    expect(plain(final.entries(1, 7))).toEqual(plain([...entries(1, 4, 1), ...entries(5, 2, 2)]));
    await final.close();
  });
});
