/**
 * Model-based test of the WAL: random sequences of appends (including conflicting suffixes), compactions,
 * reads and reopens, checked after every step against a plain array. Segments are tiny so rollover, truncation
 * across segments and multi-segment compaction all happen constantly. Runs on both the synchronous and the
 * threadpool node:fs variants.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeFileSystem, type FileSystem, nodeFileSystem } from '../../../src/raft/storage/fs.js';
import { WalLogStore } from '../../../src/raft/storage/wal/wal.js';
import type { Entry } from '../../../src/raft/types.js';
import { entries as makeEntries, plain, tempDir } from './helpers.js';

/** The reference: every entry after compactIndex, in order. */
class Model {
  compactIndex = 0;
  log: Entry[] = [];

  get first(): number {
    return this.compactIndex + 1;
  }
  get last(): number {
    return this.compactIndex + this.log.length;
  }
  term(index: number): number | undefined {
    return index > this.compactIndex ? this.log[index - this.first]?.term : undefined;
  }
  append(batch: Entry[]): void {
    this.log.length = batch[0]!.index - this.first;
    this.log.push(...batch);
  }
  compact(index: number, term: number): void {
    if (index <= this.compactIndex) return;
    this.log = this.term(index) === term ? this.log.slice(index - this.compactIndex) : [];
    this.compactIndex = index;
  }
  range(lo: number, hi: number, maxBytes?: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.first]!;
      if (out.length > 0 && maxBytes !== undefined && bytes + e.data.length > maxBytes) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }
}

type Op =
  | { kind: 'append'; back: number; count: number; newTerm: boolean; maxLength: number }
  | { kind: 'compact'; ahead: number; matching: boolean }
  | { kind: 'read'; a: number; b: number; maxBytes: number | undefined }
  | { kind: 'reopen'; cacheBytes: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
      count: fc.integer({ min: 1, max: 24 }),
      newTerm: fc.boolean(),
      maxLength: fc.constantFrom(1, 40, 120),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('compact' as const),
      ahead: fc.integer({ min: -3, max: 60 }),
      matching: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      a: fc.nat(),
      b: fc.nat(),
      maxBytes: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reopen' as const), cacheBytes: fc.constantFrom(0, 600, 1 << 20) }),
  },
);

const threadpoolFs = createNodeFileSystem({ threadpool: true });
// Without O_DSYNC descriptors: appends take the write + fdatasync path.
const plainFs = createNodeFileSystem({ synced: false });
const filesystems: Record<'sync' | 'threadpool' | 'plain', FileSystem> = {
  sync: nodeFileSystem,
  threadpool: threadpoolFs,
  plain: plainFs,
};

function check(wal: WalLogStore, model: Model): void {
  expect(wal.firstIndex()).toBe(model.first);
  expect(wal.lastIndex()).toBe(model.last);
  for (let i = model.first - 2; i <= model.last + 2; i++) expect(wal.term(i)).toBe(model.term(i));
  expect(plain(wal.entries(model.first, model.last + 1))).toEqual(plain(model.log));
}

describe('WalLogStore against an array model', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of dirs.splice(0)) cleanup();
  });

  it('matches the model after every append, truncation, compaction, read and reopen', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 45 }),
        fc.constantFrom(256, 700, 2048),
        fc.constantFrom('sync' as const, 'threadpool' as const, 'plain' as const),
        async (ops, segmentBytes, variant) => {
          const fs = filesystems[variant];
          const { dir, cleanup } = tempDir();
          dirs.push(cleanup);
          const model = new Model();
          let wal = await WalLogStore.open(dir, { fs, segmentBytes, cacheBytes: 600 });
          let term = 1;
          try {
            for (const op of ops) {
              switch (op.kind) {
                case 'append': {
                  const first = Math.max(model.first, model.last + 1 - op.back);
                  if (op.newTerm || first <= model.last) term += 1;
                  const batch = makeEntries(first, op.count, term, op.maxLength);
                  await wal.append(batch);
                  model.append(batch);
                  break;
                }
                case 'compact': {
                  const index = Math.max(0, model.compactIndex + op.ahead);
                  const held = model.term(index);
                  const t = op.matching && held !== undefined ? held : term + 1000;
                  await wal.compact(index, t);
                  model.compact(index, t);
                  break;
                }
                case 'read': {
                  const span = model.last + 1 - model.first;
                  const lo = model.first + (span === 0 ? 0 : op.a % (span + 1));
                  const hi = lo + (model.last + 1 - lo === 0 ? 0 : op.b % (model.last + 2 - lo));
                  expect(plain(wal.entries(lo, hi, op.maxBytes))).toEqual(plain(model.range(lo, hi, op.maxBytes)));
                  break;
                }
                case 'reopen':
                  await wal.close();
                  wal = await WalLogStore.open(dir, { fs, segmentBytes, cacheBytes: op.cacheBytes });
                  expect(wal.recoveryNotes).toEqual([]);
                  break;
              }
              check(wal, model);
            }
          } finally {
            await wal.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects appends that leave a gap or rewrite compacted entries, and reads outside the log', async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const wal = await WalLogStore.open(dir);
    await wal.append(makeEntries(1, 10, 1));
    await expect(wal.append(makeEntries(12, 1, 1))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(wal.append([...makeEntries(11, 1, 1), ...makeEntries(13, 1, 1)])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await wal.compact(5, 1);
    await expect(wal.append(makeEntries(5, 1, 2))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(() => wal.entries(5, 8)).toThrow(/outside the log/);
    expect(() => wal.entries(6, 12)).toThrow(/outside the log/);
    expect(wal.entries(7, 7)).toEqual([]);
    // A rejected call changed nothing.
    expect(wal.lastIndex()).toBe(10);
    expect(plain(wal.entries(6, 11))).toEqual(plain(makeEntries(6, 5, 1)));
    await wal.close();
    await expect(wal.append(makeEntries(11, 1, 1))).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
  });
});
