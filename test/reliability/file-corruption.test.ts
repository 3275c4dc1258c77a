/**
 * Hostile disks: the files of a Raft data directory (WAL segments, the WAL meta file, the term/vote file,
 * snapshots) damaged at offsets fast-check picks (seeded: CK_FUZZ_SEED replays a run). Opening must either refuse
 * with StorageCorruptError naming the damaged file and an offset no later than the damage, or serve exactly what was
 * written, except that the log may lose entries of its last append call, and only when the damage is in the last
 * segment (a torn tail, repaired and noted). Never anything else: no changed term, vote, entry or snapshot.
 *
 * test/raft/storage has the targeted cases (every byte of a torn record, each header field); this adds random
 * coverage over whole data directories, and the same promises for a ClusterKit node starting on one.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKit } from '../../src/cluster/index.js';
import { StorageCorruptError } from '../../src/errors.js';
import { openFileStores } from '../../src/raft/storage/file-stores.js';
import { createNodeFileSystem, type FileSystem } from '../../src/raft/storage/fs.js';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { seededRandom } from '../../src/util/io.js';
import { FAST } from '../cluster/node/helpers.js';
import { entry, plain, recordOffsets } from '../raft/storage/helpers.js';

const SEED = Number(process.env.CK_FUZZ_SEED ?? 0x5eed_f11e);
const SEGMENT_BYTES = 2048;
const SEGMENT_HEADER_BYTES = 32;

/** The real filesystem without fsync: durability is not under test here, only what opening makes of the bytes. */
// Without openSynced, so that appends use the (skipped) datasync rather than O_DSYNC writes.
const quickFs: FileSystem = {
  ...createNodeFileSystem({ synced: false }),
  datasync: async () => {},
  syncDir: async () => {},
};

interface Golden {
  /** Every file of the data directory, by path relative to it. */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly hard: HardState;
  readonly snapshot: Snapshot;
  readonly log: readonly Entry[];
  /** First index of the last append call: damage in place may only lose entries from here on. */
  readonly lastBatchFirst: number;
  readonly lastSegment: string;
  /** First index in the last segment: a cut file may lose entries from here on (see the report in the test). */
  readonly lastSegmentFirst: number;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name), base) : [relative(base, join(dir, d.name))],
  );
}

/** Writes a data directory with several segments, a compaction, two snapshots and a few term changes. */
async function buildGolden(dir: string): Promise<Golden> {
  const rand = seededRandom(SEED);
  const stores = await openFileStores(dir, { fs: quickFs, wal: { segmentBytes: SEGMENT_BYTES } });
  const log: Entry[] = [];
  let lastBatchFirst = 1;
  let term = 1;
  const members = { members: [{ id: 'node-1', addr: '127.0.0.1:1', voter: true }] };
  for (let next = 1; next <= 90; ) {
    const count = 1 + Math.floor(rand.next() * 6);
    if (rand.next() < 0.15) {
      term++;
      await stores.stable.save({ term, votedFor: `node-${term % 3}` });
    }
    const batch = Array.from({ length: count }, (_, k) => entry(next + k, term, 150));
    await stores.log.append(batch);
    log.push(...batch);
    lastBatchFirst = next;
    next += count;
    if (log.length >= 30 && stores.snapshots.latest() === null) {
      const data = Buffer.from(`state machine at 25 (term ${log[24]!.term})`.repeat(20));
      await stores.snapshots.save({
        meta: { index: 25, term: log[24]!.term, size: data.length, config: members },
        data,
      });
      await stores.log.compact(20, log[19]!.term);
    }
  }
  const data = Buffer.from('the newest snapshot'.repeat(40));
  const snapshot: Snapshot = { meta: { index: 60, term: log[59]!.term, size: data.length, config: members }, data };
  await stores.snapshots.save(snapshot);
  const hard = stores.stable.load();
  await stores.close();
  const files = new Map(listFiles(dir).map((f) => [f, readFileSync(join(dir, f))] as const));
  const segments = [...files.keys()].filter((f) => f.endsWith('.wal')).sort();
  expect(segments.length).toBeGreaterThan(3);
  const lastSegment = segments[segments.length - 1]!;
  const lastSegmentFirst = Number(files.get(lastSegment)!.readBigUInt64LE(24));
  return { files, hard, snapshot, log: log.slice(20), lastBatchFirst, lastSegment, lastSegmentFirst };
}

function materialize(golden: Golden, dir: string): void {
  for (const [name, bytes] of golden.files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
}

type Damage =
  | { readonly kind: 'xor'; readonly at: number; readonly byte: number }
  | { readonly kind: 'fill'; readonly at: number; readonly length: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array };

/** Applies `damage` (offsets taken modulo the file size); returns the [first, last] damaged offsets. */
function applyDamage(path: string, damage: Damage): { from: number; to: number } {
  const buf = readFileSync(path);
  switch (damage.kind) {
    case 'xor': {
      const at = damage.at % buf.length;
      buf[at] = buf[at]! ^ damage.byte;
      writeFileSync(path, buf);
      return { from: at, to: at };
    }
    case 'fill': {
      const at = damage.at % buf.length;
      const end = Math.min(buf.length, at + damage.length);
      buf.fill(damage.byte, at, end);
      writeFileSync(path, buf);
      return { from: at, to: end - 1 };
    }
    case 'truncate': {
      const at = damage.at % buf.length;
      writeFileSync(path, buf.subarray(0, at));
      return { from: at, to: buf.length };
    }
    case 'append':
      writeFileSync(path, Buffer.concat([buf, damage.bytes]));
      return { from: buf.length, to: buf.length + damage.bytes.length };
  }
}

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('xor' as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('fill' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    byte: fc.constantFrom(0, 0xff, 0x41),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 100 }) }),
);

/**
 * Opens the damaged directory and checks the promise of this file. Returns what happened, for the statistics.
 */
async function openAndCheck(
  golden: Golden,
  dir: string,
  damaged: string,
  damage: Damage,
  range: { from: number; to: number },
) {
  const opened = await openFileStores(dir, { fs: quickFs, wal: { segmentBytes: SEGMENT_BYTES } }).catch(
    (err: unknown) => err as Error,
  );
  if (opened instanceof Error) {
    if (!(opened instanceof StorageCorruptError)) throw new Error(`expected StorageCorruptError, got ${opened.stack}`);
    const err = opened;
    expect(err.file).toBe(join(dir, damaged));
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(range.to);
    expect(err.message).toContain(join(dir, damaged));
    expect(err.message).toContain(`offset ${err.offset}`);
    return 'refused' as const;
  }
  try {
    expect(opened.stable.load()).toEqual(golden.hard);
    const snap = opened.snapshots.latest();
    expect(snap?.meta).toEqual(golden.snapshot.meta);
    expect(Buffer.from(snap!.data).equals(Buffer.from(golden.snapshot.data))).toBe(true);
    const log = opened.log;
    const written = golden.log;
    expect(log.firstIndex()).toBe(written[0]!.index);
    const last = log.lastIndex();
    expect(last).toBeLessThanOrEqual(written[written.length - 1]!.index);
    expect(plain(log.entries(log.firstIndex(), last + 1))).toEqual(plain(written.filter((e) => e.index <= last)));
    if (last < written[written.length - 1]!.index) {
      // Entries lost: only to a torn tail of the last segment, and it is noted. Damage in place can only be taken
      // for a torn tail within the last append call; a cut file can lose more (a torn write and a file cut short
      // look the same to the WAL, which keeps no record of the last acknowledged index).
      expect(damaged).toBe(golden.lastSegment);
      const lowest = damage.kind === 'truncate' ? golden.lastSegmentFirst : golden.lastBatchFirst;
      expect(last).toBeGreaterThanOrEqual(lowest - 1);
      const boundary = [SEGMENT_HEADER_BYTES, ...recordOffsets(golden.files.get(damaged)!)].includes(range.from);
      // A file cut exactly at a record boundary looks whole: nothing to note (see above).
      if (!(damage.kind === 'truncate' && boundary)) {
        expect(opened.recoveryNotes.join('\n')).toMatch(/torn|empty last segment/);
      }
      return 'repaired' as const;
    }
    return 'intact' as const;
  } finally {
    await opened.close();
  }
}

describe('Raft data directory damaged at random offsets', () => {
  let root = '';
  let golden: Golden;
  let run = 0;
  const outcomes = { refused: 0, repaired: 0, intact: 0 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ck-corrupt-'));
    golden = await buildGolden(join(root, 'golden'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    console.log(`file corruption (seed ${SEED}): ${JSON.stringify(outcomes)}`);
  });

  const fresh = (): string => {
    const dir = join(root, `run-${run++}`);
    materialize(golden, dir);
    return dir;
  };

  it('refuses to open, naming the file and the offset, or serves exactly what was written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), damageArb, async (pick, damage) => {
        const names = [...golden.files.keys()].sort();
        const damaged = names[pick % names.length]!;
        const dir = fresh();
        try {
          const range = applyDamage(join(dir, damaged), damage);
          outcomes[await openAndCheck(golden, dir, damaged, damage, range)]++;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: 250 },
    );
    // The run must have exercised both sides of the promise.
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.intact).toBeGreaterThan(0);
  });

  it('repairs a torn tail of the last segment (cut anywhere after its header, or trailing garbage)', async () => {
    const size = golden.files.get(golden.lastSegment)!.length;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: 32, max: size - 1 }) }),
          fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
        ),
        async (damage: Damage) => {
          const dir = fresh();
          try {
            const range = applyDamage(join(dir, golden.lastSegment), damage);
            const outcome = await openAndCheck(golden, dir, golden.lastSegment, damage, range);
            expect(outcome).not.toBe('refused');
            // The tail was cut off the file itself: back to a record boundary, or the original end.
            // (A segment left without records is removed altogether.)
            const path = join(dir, golden.lastSegment);
            const repaired = existsSync(path) ? statSync(path).size : SEGMENT_HEADER_BYTES;
            if (damage.kind === 'append') expect(repaired).toBe(size);
            else
              expect(
                repaired === range.from || recordOffsets(golden.files.get(golden.lastSegment)!).includes(repaired),
              ).toBe(true);
            outcomes[outcome]++;
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
  });
  it('names a sealed segment cut short at a record boundary, not the segment after it', async () => {
    // Regression: such a segment looks whole on its own; only the next segment's base index shows the gap, and
    // the error used to name that next (intact) file.
    const segments = [...golden.files.keys()].filter((f) => f.endsWith('.wal')).sort();
    const victim = segments[segments.length - 2]!;
    const offsets = recordOffsets(golden.files.get(victim)!);
    const cut = offsets[offsets.length - 1]!;
    const dir = fresh();
    try {
      applyDamage(join(dir, victim), { kind: 'truncate', at: cut });
      const err = await openFileStores(dir, { fs: quickFs }).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageCorruptError);
      expect((err as StorageCorruptError).file).toBe(join(dir, victim));
      expect((err as StorageCorruptError).offset).toBe(cut);
      expect((err as StorageCorruptError).message).toMatch(/next segment .* starts at index/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a ClusterKit node on a damaged data directory', () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'ck-corrupt-node-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const node = (dir: string): ClusterKit =>
    new ClusterKit({ nodeId: 'node-1', httpAddr: '127.0.0.1:0', dataDir: dir, ...FAST });

  /** A data directory whose log holds key-0..key-(n-1), written one commit each; returns the segment path. */
  async function prepare(dir: string, n: number): Promise<string> {
    const ck = node(dir);
    await ck.start();
    try {
      for (let i = 0; i < n; i++) await ck.setCustomData(`key-${i}`, `value-${i}`);
    } finally {
      await ck.stop();
    }
    const wal = join(dir, 'raft', 'wal');
    const segments = readdirSync(wal).filter((f) => f.endsWith('.wal'));
    expect(segments).toHaveLength(1);
    return join(wal, segments[0]!);
  }

  it('refuses to start when an acknowledged entry is damaged, naming the file and the offset', async () => {
    const dir = join(root, 'damaged');
    const segment = await prepare(dir, 6);
    const buf = readFileSync(segment);
    const offsets = recordOffsets(buf);
    // A byte of the data of an entry in the middle of the log: later appends were acknowledged on top of it.
    const at = offsets[Math.floor(offsets.length / 2)]! + 40;
    buf[at] = buf[at]! ^ 0x20;
    writeFileSync(segment, buf);
    const ck = node(dir);
    const err = await ck.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await ck.stop();
    expect(err).toBeInstanceOf(StorageCorruptError);
    expect((err as StorageCorruptError).file).toBe(segment);
    expect((err as StorageCorruptError).offset).toBeLessThanOrEqual(at);
    expect(ck.healthCheck().live).toBe(false);
  });

  it('starts after a torn tail, serving a prefix of what was written', async () => {
    const dir = join(root, 'torn');
    const segment = await prepare(dir, 6);
    const buf = readFileSync(segment);
    const last = recordOffsets(buf).at(-1)!;
    // Half of the last record: a write that never finished.
    writeFileSync(segment, buf.subarray(0, last + Math.floor((buf.length - last) / 2)));
    const ck = node(dir);
    try {
      await ck.start();
      const keys = ck.listCustomDataKeys();
      expect(keys.length).toBeGreaterThanOrEqual(5);
      expect(keys).toEqual(Array.from({ length: keys.length }, (_, i) => `key-${i}`));
      for (const k of keys) expect(Buffer.from(ck.getCustomData(k)!).toString()).toBe(k.replace('key', 'value'));
      // And it still takes writes.
      await ck.setCustomData('after-repair', 'ok');
      expect(ck.listCustomDataKeys()).toContain('after-repair');
    } finally {
      await ck.stop();
    }
  });

  it('refuses to start with a damaged identity file', async () => {
    const dir = join(root, 'identity');
    await prepare(dir, 1);
    const path = join(dir, 'identity.json');
    const buf = readFileSync(path);
    buf[Math.floor(buf.length / 2)] = 0x7b; // '{' in the middle of the JSON
    writeFileSync(path, buf);
    const ck = node(dir);
    const err = await ck.start().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    await ck.stop();
    expect(err?.code).toBe('ERR_STORAGE_CORRUPT');
    expect(err?.message).toContain(path);
  });
});
