/**
 * Opening a WAL directory: reads the meta file, deletes obsolete and unfinished files, scans every segment
 * (verifying every record), cuts a torn tail off the last segment and checks that the segments chain into one
 * gap-free log that starts where the meta file says. Anything else is reported as StorageCorruptError.
 */
import { join } from 'node:path';
import { StorageCorruptError } from '../../../errors.js';
import { DualSlotFile } from '../dual-slot.js';
import { ensureDurableDir, type FileSystem, readWhole, storageIoError } from '../fs.js';
import { decodeWalMeta, encodeWalMeta, WAL_META_MAGIC, type WalMeta } from './meta.js';
import { decodeSegmentHeader } from './record.js';
import { scanSegment } from './scan.js';
import { openForAppend, parseSegmentFileName, Segment } from './segment.js';

export const WAL_META_FILE = 'wal-meta';

export interface RecoveredWal {
  readonly meta: DualSlotFile;
  readonly state: WalMeta;
  readonly segments: Segment[];
  readonly nextSeq: number;
  readonly notes: string[];
}

async function io<T>(operation: string, path: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageIoError(operation, path, err);
  }
}

export async function recoverWal(fs: FileSystem, dir: string, maxEntryBytes: number): Promise<RecoveredWal> {
  const notes: string[] = [];
  await ensureDurableDir(fs, dir);
  const names = await io('list', dir, () => fs.readdir(dir));
  let dirDirty = false;
  for (const name of names.filter((n) => n.endsWith('.wal.tmp'))) {
    // A segment whose creation crashed before its rename: it never held records.
    await io('unlink', join(dir, name), () => fs.unlink(join(dir, name)));
    notes.push(`removed unfinished segment ${join(dir, name)}`);
    dirDirty = true;
  }
  const files = names
    .map((name) => ({ name, parsed: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; parsed: { seq: number; base: number } } => f.parsed !== undefined)
    .sort((a, b) => a.parsed.seq - b.parsed.seq);

  const metaPath = join(dir, WAL_META_FILE);
  if (files.length > 0 && !fs.exists(metaPath)) {
    throw new StorageCorruptError(metaPath, 0, 'the WAL meta file is missing but segment files exist');
  }
  const initial = encodeWalMeta({ compactIndex: 0, compactTerm: 0, minSeq: 1 });
  const { file: meta, payload } = await DualSlotFile.open(fs, metaPath, WAL_META_MAGIC, initial, notes);
  const segments: Segment[] = [];
  try {
    const state = decodeWalMeta(metaPath, payload);
    const live = [];
    for (const f of files) {
      if (f.parsed.seq >= state.minSeq) {
        live.push(f);
        continue;
      }
      // Left behind by a compaction that committed (meta written) but crashed before deleting.
      await io('unlink', join(dir, f.name), () => fs.unlink(join(dir, f.name)));
      notes.push(`removed compacted segment ${join(dir, f.name)}`);
      dirDirty = true;
    }
    if (dirDirty) await io('sync', dir, () => fs.syncDir(dir));

    for (let i = 0; i < live.length; i++) {
      const f = live[i]!;
      const path = join(dir, f.name);
      const isLast = i === live.length - 1;
      const { fd, synced } = await io('open', path, () => openForAppend(fs, path, 'r+'));
      let buf: Buffer;
      try {
        buf = readWhole(fs, fd);
      } catch (err) {
        fs.close(fd);
        throw storageIoError('read', path, err);
      }
      const header = decodeSegmentHeader(buf);
      if (!header.ok || header.seq !== f.parsed.seq || header.base !== f.parsed.base) {
        fs.close(fd);
        // Segments are created under a temporary name and renamed once their header is durable, so a bad header
        // under a final name is damage, not a crash artefact.
        const [offset, reason] = header.ok
          ? [16, 'segment header does not match its file name']
          : [header.offset, header.reason];
        throw new StorageCorruptError(path, offset, reason);
      }
      let scan: ReturnType<typeof scanSegment>;
      try {
        scan = scanSegment(buf, path, f.parsed.base, isLast, maxEntryBytes);
      } catch (err) {
        fs.close(fd);
        throw err;
      }
      const segment = new Segment(
        fs,
        path,
        f.parsed.seq,
        f.parsed.base,
        fd,
        scan.offsets,
        scan.terms,
        scan.end,
        synced,
      );
      segments.push(segment);
      const prev = segments[segments.length - 2];
      if (prev !== undefined && segment.base !== prev.lastIndex + 1) {
        if (segment.base > prev.lastIndex + 1 && segment.seq === prev.seq + 1) {
          // Headers are checksummed and match their file names, so this segment's base is right: the previous one,
          // sealed and consecutive, lost records at its end (cut short at a record boundary, so it looked whole).
          // Name that file, where its records stop, rather than this intact one.
          throw new StorageCorruptError(
            prev.path,
            prev.size,
            `sealed segment ends at index ${prev.lastIndex} but the next segment (${path}) starts at index ${segment.base}`,
          );
        }
        throw new StorageCorruptError(
          path,
          24,
          `segment starts at index ${segment.base} but the previous one (${prev.path}) ends at ${prev.lastIndex}`,
        );
      }
      if (scan.torn !== null) {
        await io('truncate', path, async () => {
          await fs.truncate(fd, scan.end);
          await fs.datasync(fd);
        });
        notes.push(`${path}: cut off a torn final write (${scan.torn}), ${buf.length - scan.end} bytes`);
      }
      if (segment.count === 0) {
        if (!isLast) throw new StorageCorruptError(path, buf.length, 'sealed segment holds no records');
        // Created by an append that crashed (or failed) before any record of it became durable.
        segments.pop();
        segment.close();
        await io('unlink', path, () => fs.unlink(path));
        await io('sync', dir, () => fs.syncDir(dir));
        notes.push(`removed empty last segment ${path}`);
      }
    }
    const first = segments[0];
    if (first !== undefined && first.base > state.compactIndex + 1) {
      throw new StorageCorruptError(
        first.path,
        24,
        `the log should continue at index ${state.compactIndex + 1} but its first segment starts at ${first.base}`,
      );
    }
    const last = segments[segments.length - 1];
    if (last !== undefined && last.lastIndex < state.compactIndex) {
      // Entries up to the compaction point were durable before compaction committed; only damage that looked
      // like a torn tail can have cut them.
      throw new StorageCorruptError(
        last.path,
        last.size,
        `the log ends at index ${last.lastIndex}, before its compaction point ${state.compactIndex}`,
      );
    }
    const lastSeq = files.length > 0 ? files[files.length - 1]!.parsed.seq : 0;
    return { meta, state, segments, nextSeq: Math.max(state.minSeq, lastSeq + 1), notes };
  } catch (err) {
    for (const s of segments) s.close();
    meta.close();
    throw err;
  }
}
