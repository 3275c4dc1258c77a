/** The file StableStore: durability across reopen, mirrored slots surviving one bad copy, corruption of both. */
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageCorruptError } from '../../../src/errors.js';
import { SLOT_BYTES } from '../../../src/raft/storage/dual-slot.js';
import { FileStableStore } from '../../../src/raft/storage/stable-file.js';
import { errno, FaultyFileSystem, tempDirPerTest } from './helpers.js';

function flipByte(file: string, offset: number): void {
  const buf = readFileSync(file);
  buf[offset] = buf[offset]! ^ 0xff;
  writeFileSync(file, buf);
}

describe('FileStableStore', () => {
  const newDir = tempDirPerTest();
  const path = (): string => join(newDir(), 'raft-state');

  it('starts at term 0 with no vote and keeps every saved state across reopen', async () => {
    const p = path();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            term: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
            votedFor: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (states) => {
          const store = await FileStableStore.open(p);
          for (const s of states) {
            await store.save(s);
            expect(store.load()).toEqual(s);
          }
          await store.close();
          const reopened = await FileStableStore.open(p);
          expect(reopened.load()).toEqual(states[states.length - 1]);
          expect(reopened.recoveryNotes).toEqual([]);
          await reopened.close();
        },
      ),
      { numRuns: 25 },
    );
    const fresh = await FileStableStore.open(path());
    expect(fresh.load()).toEqual({ term: 0, votedFor: null });
    await fresh.close();
  });

  it('survives one damaged copy (either slot) and repairs it', async () => {
    for (const slot of [0, 1]) {
      const p = path();
      const store = await FileStableStore.open(p);
      await store.save({ term: 7, votedFor: 'n2' });
      await store.close();
      flipByte(p, slot * SLOT_BYTES + 30);
      const reopened = await FileStableStore.open(p);
      expect(reopened.load()).toEqual({ term: 7, votedFor: 'n2' });
      expect(reopened.recoveryNotes.join()).toContain(`rewrote slot at offset ${slot * SLOT_BYTES}`);
      await reopened.close();
      const again = await FileStableStore.open(p);
      expect(again.recoveryNotes).toEqual([]);
      expect(again.load()).toEqual({ term: 7, votedFor: 'n2' });
      await again.close();
    }
  });

  it('refuses to open when both copies are damaged or the file is cut short', async () => {
    const p = path();
    const store = await FileStableStore.open(p);
    await store.save({ term: 3, votedFor: null });
    await store.close();
    flipByte(p, 2);
    flipByte(p, SLOT_BYTES + 30);
    const err = await FileStableStore.open(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageCorruptError);
    expect(err).toMatchObject({ code: 'ERR_STORAGE_CORRUPT', file: p, offset: 0 });
    expect((err as Error).message).toMatch(
      new RegExp(`corrupt data in ${p} at offset 0: both copies are unreadable .*checksum mismatch`),
    );

    const q = path();
    const other = await FileStableStore.open(q);
    await other.close();
    truncateSync(q, 100);
    await expect(FileStableStore.open(q)).rejects.toMatchObject({ code: 'ERR_STORAGE_CORRUPT', file: q });
  });

  it('a crash between the two copies keeps the new state; a failed first copy keeps the old one', async () => {
    const p = path();
    const fs = new FaultyFileSystem();
    const store = await FileStableStore.open(p, { fs });
    await store.save({ term: 1, votedFor: 'a' });
    const write = fs.write.bind(fs);
    let calls = 0;
    fs.write = async (fd, data, position) => {
      calls += 1;
      if (calls === 2) throw errno('EIO', 'write'); // the second copy
      return write(fd, data, position);
    };
    await expect(store.save({ term: 2, votedFor: 'b' })).rejects.toMatchObject({ code: 'ERR_STORAGE_IO' });
    const afterCrash = await FileStableStore.open(p);
    expect(afterCrash.load()).toEqual({ term: 2, votedFor: 'b' });
    expect(afterCrash.recoveryNotes.join()).toContain('was at generation');
    await afterCrash.close();

    calls = 10;
    fs.writeFailure = 'ENOSPC';
    fs.partialBytes = 20;
    fs.write = write;
    await expect(store.save({ term: 3, votedFor: 'c' })).rejects.toMatchObject({
      code: 'ERR_STORAGE_IO',
      retriable: true,
    });
    const afterFailure = await FileStableStore.open(p);
    expect(afterFailure.load()).toEqual({ term: 2, votedFor: 'b' });
    await afterFailure.close();
    await store.close();
  });

  it('rejects invalid states and saves after close; removes a leftover temporary file', async () => {
    const p = path();
    const store = await FileStableStore.open(p);
    await expect(store.save({ term: -1, votedFor: null })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.save({ term: 1, votedFor: 'x'.repeat(300) })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await store.close();
    await expect(store.save({ term: 1, votedFor: null })).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    writeFileSync(`${p}.tmp`, 'junk');
    const reopened = await FileStableStore.open(p);
    expect(existsSync(`${p}.tmp`)).toBe(false);
    expect(reopened.load()).toEqual({ term: 0, votedFor: null });
    await reopened.close();
  });
});
