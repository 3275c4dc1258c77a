/**
 * Durable storage benchmark: `npx tsx bench/storage.bench.ts` (add `--quick` for a smaller run).
 *
 * Mirrors the setup of ecosystem.md §1.3 so the figures compare: 200-byte entries, each batch durable before the
 * next starts; B=1 is 2000 batches, B=16 500, B=256 100; range reads take 256 consecutive entries at a random
 * start (from disk: the tail cache is disabled); point reads are single-entry reads; trunc64 removes the last 64
 * entries; the stable store does 500 durable saves. Runs once with synchronous syscalls (the default) and once
 * with libuv's threadpool.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFileSystem, type FileSystem } from '../src/raft/storage/fs.js';
import { FileStableStore } from '../src/raft/storage/stable-file.js';
import { WalLogStore } from '../src/raft/storage/wal/wal.js';
import { type Entry, EntryType } from '../src/raft/types.js';
import { seededRandom } from '../src/util/io.js';

const quick = process.argv.includes('--quick');
const fullScale = quick ? 0.25 : 1;
const ENTRY_BYTES = 200;
const random = seededRandom(42);

function batch(first: number, count: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < count; k++) {
    const data = new Uint8Array(ENTRY_BYTES);
    data.fill((first + k) & 0xff);
    out.push({ index: first + k, term, type: EntryType.Command, data });
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

interface Row {
  readonly name: string;
  readonly value: string;
}

async function benchWal(fs: FileSystem, dir: string, scale: number): Promise<Row[]> {
  const rows: Row[] = [];
  const wal = await WalLogStore.open(join(dir, 'wal'), { fs, cacheBytes: 0 });
  let next = 1;
  for (const [size, batches] of [
    [1, 2000],
    [16, 500],
    [256, 100],
  ] as const) {
    const n = Math.max(10, Math.round(batches * scale));
    const latencies: number[] = [];
    const t0 = performance.now();
    for (let b = 0; b < n; b++) {
      const entries = batch(next, size, 1);
      const s = performance.now();
      await wal.append(entries);
      latencies.push(performance.now() - s);
      next += size;
    }
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    rows.push({
      name: `append B=${size}`,
      value:
        `${fmt((n * size) / seconds)} entries/s, ${fmt(n / seconds)} appends/s, ` +
        `p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${percentile(latencies, 99).toFixed(3)} ms`,
    });
  }
  const last = wal.lastIndex();

  const reads = Math.round(200 * scale);
  for (const pass of ['first', 'second']) {
    const t0 = performance.now();
    let got = 0;
    for (let r = 0; r < reads; r++) {
      const lo = 1 + Math.floor(random.next() * (last - 256));
      got += wal.entries(lo, lo + 256).length;
    }
    const rate = got / ((performance.now() - t0) / 1000);
    rows.push({ name: `range read 256 (disk, ${pass} ${reads})`, value: `${fmt(rate)} entries/s` });
  }

  const points = Math.round(20_000 * scale);
  let t0 = performance.now();
  for (let r = 0; r < points; r++) {
    const i = 1 + Math.floor(random.next() * last);
    wal.entries(i, i + 1);
  }
  rows.push({ name: 'point read (disk)', value: `${fmt(points / ((performance.now() - t0) / 1000))} reads/s` });

  t0 = performance.now();
  for (let r = 0; r < points; r++) wal.term(1 + Math.floor(random.next() * last));
  rows.push({ name: 'term() lookup', value: `${fmt(points / ((performance.now() - t0) / 1000))} lookups/s` });

  // trunc64: replace the last 64 entries by one entry of a new term (truncation + append, both durable).
  const truncs = 20;
  let term = 2;
  t0 = performance.now();
  for (let r = 0; r < truncs; r++) {
    const at = wal.lastIndex() - 63;
    await wal.append(batch(at, 1, term++));
  }
  rows.push({ name: 'trunc64 + append 1', value: `${((performance.now() - t0) / truncs).toFixed(2)} ms each` });

  const half = Math.floor(wal.lastIndex() / 2);
  const removed = wal.lastIndex() - half + 1;
  t0 = performance.now();
  await wal.append(batch(half, 1, term));
  rows.push({ name: `trunc ${fmt(removed)} (half) + append 1`, value: `${(performance.now() - t0).toFixed(2)} ms` });
  await wal.close();

  // Reopen: the recovery scan verifies every record.
  t0 = performance.now();
  const reopened = await WalLogStore.open(join(dir, 'wal'), { fs });
  rows.push({
    name: `reopen (${fmt(reopened.lastIndex())} entries)`,
    value: `${(performance.now() - t0).toFixed(1)} ms`,
  });
  await reopened.close();
  return rows;
}

async function benchStable(fs: FileSystem, dir: string): Promise<Row[]> {
  const store = await FileStableStore.open(join(dir, 'raft-state'), { fs });
  const n = Math.round(500 * fullScale);
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    const s = performance.now();
    await store.save({ term: i, votedFor: 'node-1' });
    latencies.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  latencies.sort((a, b) => a - b);
  return [
    {
      name: 'stable save (2 syncs)',
      value: `${fmt(n / seconds)} saves/s, p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${percentile(latencies, 99).toFixed(3)} ms`,
    },
  ];
}

/**
 * The raw disk rate right now (one 232-byte write + fdatasync, i.e. one B=1 record, without any store code), so
 * the store's figures can be read against the disk's current state: other work on the machine moves it a lot.
 */
function rawBaseline(): Row {
  const dir = mkdtempSync(join(tmpdir(), 'ck-storage-bench-'));
  try {
    const fd = openSync(join(dir, 'raw'), 'w+');
    const record = Buffer.alloc(ENTRY_BYTES + 32, 1);
    const n = Math.round(2000 * fullScale);
    const latencies: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      writeSync(fd, record, 0, record.length, i * record.length);
      fdatasyncSync(fd);
      latencies.push(performance.now() - s);
    }
    const seconds = (performance.now() - t0) / 1000;
    closeSync(fd);
    latencies.sort((a, b) => a - b);
    return {
      name: 'raw writeSync+fdatasyncSync',
      value: `${fmt(n / seconds)} syncs/s, p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${percentile(latencies, 99).toFixed(3)} ms`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nbaseline: ${rawBaseline().value} (raw writeSync + fdatasyncSync of one 232-byte record)`);
for (const threadpool of [false, true]) {
  const dir = mkdtempSync(join(tmpdir(), 'ck-storage-bench-'));
  try {
    const fs = createNodeFileSystem({ threadpool });
    // A small untimed pass first, so JIT warm-up does not count against whichever mode runs first.
    await benchWal(fs, join(dir, 'warm-up'), 0.05);
    const rows = [...(await benchWal(fs, dir, fullScale)), ...(await benchStable(fs, dir))];
    console.log(`\nsegmented WAL, ${threadpool ? 'threadpool I/O' : 'synchronous I/O (default)'}, ${dir}`);
    const width = Math.max(...rows.map((r) => r.name.length));
    for (const r of rows) console.log(`  ${r.name.padEnd(width)}  ${r.value}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\nbaseline again: ${rawBaseline().value}`);
