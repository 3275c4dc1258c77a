/**
 * Self-tests of the linearizability checker: hand-written histories with a known answer, then properties over
 * histories of a simulated atomic register (always linearizable, whatever the timing, timeouts and failures) and
 * mutations of them (never linearizable), and a size the fault-injection runs produce.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { seededRandom } from '../../src/util/io.js';
import { simulateHistory } from './lin/simulate.js';
import {
  type CheckResult,
  checkLinearizable,
  HistoryRecorder,
  type KvInput,
  type KvResult,
  type Op,
  resultFromError,
} from './linearizability.js';

/** Property runs are seeded (reproducible in CI); CK_FUZZ_SEED explores others. */
const SEED = Number(process.env.CK_FUZZ_SEED ?? 0x11ea_7e57);

/** A history written by hand: [client, input, start, end (undefined: never returned), result, key?]. */
type Row = [string, KvInput, number, number | undefined, KvResult, string?];

function history(...rows: Row[]): Op[] {
  return rows.map(([client, input, start, end, result, key], id) => ({
    id,
    client,
    key: key ?? 'k',
    input,
    start,
    end,
    result,
  }));
}

const get: KvInput = { f: 'get' };
const del: KvInput = { f: 'delete' };
const set = (value: string): KvInput => ({ f: 'set', value });
const cas = (expectedRevision: number, value: string | null): KvInput => ({ f: 'cas', expectedRevision, value });
const ok = (fields: { value?: string; revision?: number; existed?: boolean } = {}): KvResult => ({
  status: 'ok',
  ...fields,
});
const val = (value: string, revision?: number): KvResult =>
  revision === undefined ? { status: 'ok', value } : { status: 'ok', value, revision };
const notFound: KvResult = { status: 'not-found' };
const unknown: KvResult = { status: 'unknown', error: 'timeout' };
const failed: KvResult = { status: 'failed', error: 'bad request' };
const conflict: KvResult = { status: 'conflict' };

function violation(r: CheckResult): Extract<CheckResult, { status: 'violation' }> {
  if (r.status !== 'violation') throw new Error(`expected a violation, got ${r.status}`);
  return r;
}

describe('checkLinearizable: hand-written histories', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkLinearizable([]).ok).toBe(true);
    const h = history(
      ['c1', get, 0, 1, notFound],
      ['c1', set('a'), 2, 3, ok({ revision: 4, existed: false })],
      ['c1', get, 4, 5, val('a', 4)],
      ['c1', del, 6, 7, ok({ existed: true })],
      ['c1', get, 8, 9, notFound],
      ['c1', del, 10, 11, ok({ existed: false })],
    );
    const r = checkLinearizable(h);
    expect(r).toMatchObject({ ok: true, status: 'linearizable', stats: { ops: 6, keys: 1 } });
  });

  it('accepts overlapping concurrent ops in any order their intervals allow', () => {
    const h = history(
      ['w', set('a'), 0, 10, ok()],
      ['r1', get, 1, 2, notFound], // before the write took effect
      ['r2', get, 3, 4, val('a')], // after
      ['r3', get, 5, 12, val('a')],
      ['w2', set('b'), 9, 20, ok()],
      ['r4', get, 11, 13, val('b')], // b may take effect before r4 and after a
      ['r5', get, 14, 15, val('b')],
    );
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it('rejects a read that goes back to the old value (new-old inversion), naming the late read', () => {
    const h = history(['w', set('a'), 0, 10, ok()], ['r1', get, 1, 2, val('a')], ['r2', get, 3, 4, notFound]);
    const r = violation(checkLinearizable(h));
    expect(r.key).toBe('k');
    expect(r.culprit.id).toBe(2);
    expect(r.window.map((o) => o.id)).toEqual([0, 1, 2]);
    expect(r.explanation).toContain('#2 r2');
    expect(r.explanation).toContain('cannot be explained');
  });

  it('rejects a stale read and shows the write that made it stale', () => {
    const h = history(['c1', set('a'), 0, 1, ok()], ['c1', set('b'), 2, 3, ok()], ['c2', get, 4, 5, val('a')]);
    const r = violation(checkLinearizable(h));
    expect(r.culprit.id).toBe(2);
    // Either the window holds the overwrite, or it starts after it with the key known to hold "b".
    const shown = [...r.window, ...r.before].map((o) => o.id);
    expect(shown).toContain(1);
    expect(r.explanation).toMatch(/"b"/);
  });

  it('rejects a lost write (acknowledged, then never visible)', () => {
    const h = history(['c1', set('a'), 0, 1, ok()], ['c2', get, 2, 3, notFound]);
    const r = violation(checkLinearizable(h));
    expect(r.culprit.id).toBe(1);
    expect([...r.window, ...r.before].map((o) => o.id)).toContain(0);
  });

  it('rejects a read of a value never written, with a window of that read alone', () => {
    const h = history(
      ['c1', set('a'), 0, 1, ok()],
      ['c1', get, 2, 3, val('a')],
      ['c2', get, 4, 5, val('zzz')],
      ['c1', set('b'), 6, 7, ok()],
    );
    const r = violation(checkLinearizable(h));
    expect(r.culprit.id).toBe(2);
    expect(r.window.map((o) => o.id)).toEqual([2]);
  });

  it('rejects a read from the future (a value written only after the read returned)', () => {
    const h = history(['c2', get, 0, 1, val('a')], ['c1', set('a'), 2, 3, ok()]);
    expect(violation(checkLinearizable(h)).culprit.id).toBe(0);
  });

  it('treats a timed-out write as maybe applied, at any time after its call, but not before it', () => {
    const applied = history(['c1', set('a'), 0, undefined, unknown], ['c2', get, 5, 6, val('a')]);
    expect(checkLinearizable(applied).ok).toBe(true);
    const lost = history(['c1', set('a'), 0, 3, unknown], ['c2', get, 5, 6, notFound], ['c2', get, 7, 8, notFound]);
    expect(checkLinearizable(lost).ok).toBe(true);
    const late = history(['c1', set('a'), 0, 3, unknown], ['c2', get, 5, 6, notFound], ['c2', get, 7, 8, val('a')]);
    expect(checkLinearizable(late).ok).toBe(true);
    const flicker = history(
      ['c1', set('a'), 0, undefined, unknown],
      ['c2', get, 1, 2, val('a')],
      ['c2', get, 3, 4, notFound],
    );
    expect(violation(checkLinearizable(flicker)).culprit.id).toBe(2);
    const beforeCall = history(['c2', get, 0, 1, val('a')], ['c1', set('a'), 2, undefined, unknown]);
    expect(violation(checkLinearizable(beforeCall)).culprit.id).toBe(0);
  });

  it('ignores failed ops: they never took effect', () => {
    const h = history(['c1', set('x'), 0, 1, failed], ['c2', get, 2, 3, notFound]);
    expect(checkLinearizable(h).ok).toBe(true);
    const seen = history(['c1', set('x'), 0, 1, failed], ['c2', get, 2, 3, val('x')]);
    expect(violation(checkLinearizable(seen)).culprit.id).toBe(1);
  });

  it('checks compare-and-set against the revision, and revisions against the order of writes', () => {
    const good = history(
      ['c1', set('a'), 0, 1, ok({ revision: 3 })],
      ['c2', get, 2, 3, val('a', 3)],
      ['c2', cas(3, 'b'), 4, 5, ok({ revision: 7 })],
      ['c1', cas(3, 'c'), 6, 7, conflict],
      ['c1', get, 8, 9, val('b', 7)],
      ['c1', cas(7, null), 10, 11, ok({ revision: 0 })],
      ['c2', cas(0, 'd'), 12, 13, ok({ revision: 9 })],
    );
    expect(checkLinearizable(good).ok).toBe(true);
    const staleCas = history(
      ['c1', set('a'), 0, 1, ok({ revision: 3 })],
      ['c1', set('b'), 2, 3, ok({ revision: 5 })],
      ['c2', cas(3, 'c'), 4, 5, ok({ revision: 6 })],
    );
    expect(violation(checkLinearizable(staleCas)).culprit.id).toBe(2);
    const wrongConflict = history(['c1', set('a'), 0, 1, ok({ revision: 3 })], ['c2', cas(3, 'b'), 2, 3, conflict]);
    expect(violation(checkLinearizable(wrongConflict)).culprit.id).toBe(1);
    const backwards = history(['c1', set('a'), 0, 1, ok({ revision: 5 })], ['c1', set('b'), 2, 3, ok({ revision: 4 })]);
    expect(violation(checkLinearizable(backwards)).culprit.id).toBe(1);
    const wrongRevision = history(['c1', set('a'), 0, 1, ok({ revision: 5 })], ['c2', get, 2, 3, val('a', 6)]);
    expect(violation(checkLinearizable(wrongRevision)).culprit.id).toBe(1);
  });

  it('resolves an unknown revision from what is observed later', () => {
    const h = history(
      ['c1', set('a'), 0, 1, ok({ revision: 2 })],
      ['c1', set('b'), 2, undefined, unknown],
      ['c2', get, 4, 5, val('b', 9)],
      ['c2', cas(9, 'c'), 6, 7, ok({ revision: 10 })],
    );
    expect(checkLinearizable(h).ok).toBe(true);
    const behind = history(
      ['c1', set('a'), 0, 1, ok({ revision: 2 })],
      ['c1', set('b'), 2, undefined, unknown],
      ['c2', get, 4, 5, val('b', 2)],
    );
    expect(violation(checkLinearizable(behind)).culprit.id).toBe(2);
  });

  it('checks the existed flags of writes and deletes', () => {
    const h = history(['c1', del, 0, 1, ok({ existed: true })]);
    expect(violation(checkLinearizable(h)).culprit.id).toBe(0);
    const created = history(
      ['c1', set('a'), 0, 1, ok({ existed: false })],
      ['c1', set('b'), 2, 3, ok({ existed: false })],
    );
    expect(violation(checkLinearizable(created)).culprit.id).toBe(1);
  });

  it('checks keys independently and reports the key that fails', () => {
    const h = history(
      ['c1', set('a'), 0, 1, ok(), 'x'],
      ['c1', set('a'), 2, 3, ok(), 'y'],
      ['c2', get, 4, 5, val('a'), 'x'],
      ['c2', get, 6, 7, notFound, 'y'],
    );
    const r = violation(checkLinearizable(h));
    expect(r.key).toBe('y');
    expect(r.failedKeys).toEqual(['y']);
    expect(r.window.every((o) => o.key === 'y')).toBe(true);
  });

  it('refuses malformed histories', () => {
    expect(() => checkLinearizable(history(['c', get, 5, 4, notFound]))).toThrow(InvalidArgumentError);
    expect(() => checkLinearizable(history(['c', get, 0, undefined, notFound]))).toThrow(/never returned/);
    expect(() => checkLinearizable(history(['c', get, 0, 1, ok()]))).toThrow(/needs value/);
    const dup = history(['c', get, 0, 1, notFound], ['c', get, 2, 3, notFound]).map((o) => ({ ...o, id: 1 }));
    expect(() => checkLinearizable(dup)).toThrow(/twice/);
  });

  it('gives up with inconclusive, not a verdict, when the work bound is reached', () => {
    const h = simulateHistory(seededRandom(1), { clients: 6, keys: 1, opsPerClient: 40, unknownRate: 0.2 });
    const r = checkLinearizable(h, { maxSteps: 20, maxShrinkSteps: 1000 });
    expect(r.status).toBe('inconclusive');
    expect(r.ok).toBe(false);
  });
});

describe('HistoryRecorder', () => {
  it('records calls with their times and results; calls still running are unknown', async () => {
    let now = 100;
    const rec = new HistoryRecorder({ clock: { now: () => now } });
    const a = rec.invoke('c1', 'k', set('a'));
    now = 105;
    const b = rec.invoke('c2', 'k', get);
    now = 107;
    a.complete(ok({ revision: 1 }));
    expect(() => a.complete(ok())).toThrow(/twice/);
    const value = await rec.record(
      'c3',
      'k',
      get,
      async () => {
        now = 110;
        return 'a';
      },
      (o) => ('value' in o ? val(o.value) : unknown),
    );
    expect(value).toBe('a');
    const boom = new Error('lost connection');
    await expect(
      rec.record(
        'c3',
        'k',
        set('b'),
        () => Promise.reject(boom),
        (o) => ('error' in o ? resultFromError(set('b'), o.error) : ok()),
      ),
    ).rejects.toBe(boom);
    const h = rec.history();
    expect(h.map((o) => [o.id, o.client, o.start, o.end, o.result.status])).toEqual([
      [0, 'c1', 100, 107, 'ok'],
      [1, 'c2', 105, undefined, 'unknown'],
      [2, 'c3', 107, 110, 'ok'],
      [3, 'c3', 110, 110, 'unknown'],
    ]);
    expect(b.id).toBe(1);
    expect(checkLinearizable(h).ok).toBe(true);
  });

  it('reads ClusterKit errors conservatively', () => {
    expect(resultFromError(set('a'), { code: 'ERR_INVALID_ARGUMENT' }).status).toBe('failed');
    expect(resultFromError(cas(1, 'a'), { code: 'ERR_CONFLICT' }).status).toBe('conflict');
    expect(resultFromError(set('a'), { code: 'ERR_CONFLICT' }).status).toBe('unknown');
    expect(resultFromError(set('a'), { code: 'ERR_NOT_LEADER' }).status).toBe('unknown');
    expect(resultFromError(get, new Error('ECONNRESET')).status).toBe('unknown');
  });
});

const simArb = fc
  .record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    clients: fc.integer({ min: 1, max: 6 }),
    keys: fc.integer({ min: 1, max: 4 }),
    opsPerClient: fc.integer({ min: 1, max: 30 }),
    unknownRate: fc.constantFrom(0, 0.05, 0.2),
    failedRate: fc.constantFrom(0, 0.1),
    revisions: fc.boolean(),
    valueAlphabet: fc.constantFrom(0, 0, 2),
  })
  // A compare-and-set without the revisions of the results to check it against only makes the search branch.
  .map((o) => (o.revisions ? o : { ...o, mix: { get: 4, set: 3, delete: 1, cas: 0 } }));

describe('checkLinearizable: properties', () => {
  it('histories of an atomic register are linearizable, whatever the timing, timeouts and failures', () => {
    fc.assert(
      fc.property(simArb, ({ seed, ...o }) => {
        const h = simulateHistory(seededRandom(seed), o);
        const r = checkLinearizable(h);
        if (!r.ok) throw new Error(r.explanation);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('forgetting outcomes (timeouts) never makes a linearizable history fail', () => {
    fc.assert(
      fc.property(simArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ seed, ...o }, share) => {
        const rand = seededRandom(seed ^ 0x5bd1e995);
        const h = simulateHistory(seededRandom(seed), o).map(
          (op): Op => (rand.next() < share ? { ...op, end: undefined, result: { status: 'unknown' } } : op),
        );
        expect(checkLinearizable(h).ok).toBe(true);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a read changed to a value never written makes the history fail, at that read', () => {
    fc.assert(
      fc.property(simArb, fc.nat(), ({ seed, ...o }, pick) => {
        const h = simulateHistory(seededRandom(seed), o);
        const reads = h.filter((op) => op.input.f === 'get' && op.end !== undefined && op.result.status !== 'failed');
        fc.pre(reads.length > 0);
        const target = reads[pick % reads.length]!;
        const mutated = h.map((op) => (op === target ? { ...op, result: val('never-written') } : op));
        const r = violation(checkLinearizable(mutated));
        expect(r.key).toBe(target.key);
        expect(r.culprit.id).toBe(target.id);
        expect(r.window.some((op) => op.id === target.id)).toBe(true);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a read changed to a value certainly overwritten before it began makes the history fail', () => {
    fc.assert(
      fc.property(simArb, fc.nat(), ({ seed, ...o }, pick) => {
        // Unique values, so that a value names one write.
        const h = simulateHistory(seededRandom(seed), { ...o, valueAlphabet: 0 });
        const isWrite = (op: Op): boolean =>
          op.result.status === 'ok' && op.end !== undefined && (op.input.f === 'set' || op.input.f === 'delete');
        // For each acknowledged set: the earliest return of an acknowledged write invoked after it returned.
        const overwrittenBy = new Map<Op, number>();
        for (const w1 of h) {
          if (w1.input.f !== 'set' || !isWrite(w1)) continue;
          let first = Number.POSITIVE_INFINITY;
          for (const w2 of h)
            if (w2.key === w1.key && isWrite(w2) && w2.start > w1.end!) first = Math.min(first, w2.end!);
          overwrittenBy.set(w1, first);
        }
        const candidates: { read: Op; value: string }[] = [];
        for (const read of h) {
          if (read.input.f !== 'get' || read.end === undefined || read.result.status === 'failed') continue;
          for (const [w1, at] of overwrittenBy) {
            if (w1.key === read.key && w1.input.f === 'set' && at < read.start) {
              candidates.push({ read, value: w1.input.value });
            }
          }
        }
        fc.pre(candidates.length > 0);
        const { read, value } = candidates[pick % candidates.length]!;
        const mutated = h.map((op) => (op === read ? { ...op, result: val(value) } : op));
        const r = violation(checkLinearizable(mutated));
        expect(r.culprit.id).toBe(read.id);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});

describe('checkLinearizable: size', () => {
  it('checks 10,000 ops from 10 clients over 50 keys (with timeouts and failures) well within its budget', () => {
    const h = simulateHistory(seededRandom(20_240_601), {
      clients: 10,
      keys: 50,
      opsPerClient: 1000,
      unknownRate: 0.02,
      failedRate: 0.01,
    });
    const r = checkLinearizable(h);
    expect(r.status).toBe('linearizable');
    expect(r.stats.ops).toBe(10_000);
    expect(r.stats.steps).toBeLessThan(1_000_000);
    // A figure for the record, not an assertion: time depends on the machine.
    console.log(
      `linearizability: ${r.stats.ops} ops, ${r.stats.keys} keys, ${r.stats.steps} steps, ${r.stats.elapsedMs.toFixed(0)} ms`,
    );
  });
});
