import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  configurationProblem,
  decodeConfiguration,
  encodeConfiguration,
} from '../../../src/raft/core/config.js';
import { firstIndexOfTerm, nextIndexAfterRejection } from '../../../src/raft/core/conflict.js';
import { LatencyHistogram } from '../../../src/raft/core/histogram.js';
import { RaftLog } from '../../../src/raft/core/log.js';
import { quorumIndex, quorumSize, tallyVotes } from '../../../src/raft/core/quorum.js';
import { MemoryLogStore } from '../../../src/raft/storage/memory.js';
import { type Configuration, type Entry, EntryType } from '../../../src/raft/types.js';

/** A log as a list of terms (index k+1 has terms[k]), non-decreasing. */
const termsArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }).map((steps) => {
  let t = 1;
  return steps.map((s) => (t += s === 3 ? 1 : 0));
});

describe('quorum arithmetic', () => {
  it('quorumIndex is the highest index a majority has reached', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (matches) => {
        const q = quorumSize(matches.length);
        const r = quorumIndex(matches);
        expect(matches.filter((m) => m >= r).length).toBeGreaterThanOrEqual(q);
        expect(matches.filter((m) => m >= r + 1).length).toBeLessThan(q);
      }),
    );
    expect(quorumIndex([])).toBe(0);
  });

  it('tallyVotes agrees with counting by hand', () => {
    const answer = fc.constantFrom<boolean | undefined>(true, false, undefined);
    fc.assert(
      fc.property(fc.array(answer, { minLength: 1, maxLength: 9 }), (answers) => {
        const voters = answers.map((_, i) => `n${i}`);
        const votes = new Map<string, boolean>();
        answers.forEach((a, i) => {
          if (a !== undefined) votes.set(`n${i}`, a);
        });
        votes.set('stranger', true); // non-voters never count
        const yes = answers.filter((a) => a === true).length;
        const no = answers.filter((a) => a === false).length;
        const q = quorumSize(voters.length);
        const expected = yes >= q ? 'won' : voters.length - no < q ? 'lost' : 'pending';
        expect(tallyVotes(voters, votes)).toBe(expected);
      }),
    );
  });
});

describe('conflict search', () => {
  it('firstIndexOfTerm finds the first index of the term at hi', () => {
    fc.assert(
      fc.property(termsArb, fc.nat(), fc.nat(), (terms, a, b) => {
        const n = terms.length;
        const hi = 1 + (a % n);
        const lo = 1 + (b % hi);
        const termAt = (i: number): number | undefined => terms[i - 1];
        const t = terms[hi - 1]!;
        let expected = hi;
        while (expected > lo && terms[expected - 2] === t) expected--;
        expect(firstIndexOfTerm(termAt, lo, hi, t)).toBe(expected);
      }),
    );
  });

  it('nextIndexAfterRejection retries after the leader’s last entry of the conflicting term, or skips that term', () => {
    fc.assert(
      fc.property(termsArb, fc.nat({ max: 6 }), fc.nat({ max: 80 }), fc.nat({ max: 80 }), (terms, ct, ci, fl) => {
        const hi = terms.length;
        const termAt = (i: number): number | undefined => (i === 0 ? 0 : terms[i - 1]);
        const floor = Math.min(fl, hi + 1);
        const next = nextIndexAfterRejection(termAt, 0, hi, ct, ci, floor);
        expect(next).toBeGreaterThanOrEqual(floor);
        expect(next).toBeLessThanOrEqual(Math.max(floor, hi + 1));
        const lastOfTerm = terms.lastIndexOf(ct) + 1; // 0 when absent
        const raw = ct > 0 && lastOfTerm > 0 ? lastOfTerm + 1 : ci;
        expect(next).toBe(Math.max(floor, Math.min(raw, hi + 1)));
      }),
    );
  });
});

describe('RaftLog view over a store', () => {
  type Op =
    | { kind: 'append'; n: number; bump: boolean }
    | { kind: 'conflict'; at: number; n: number }
    | { kind: 'write' }
    | { kind: 'complete' }
    | { kind: 'commit'; at: number }
    | { kind: 'compact'; at: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }), bump: fc.boolean() }),
    fc.record({ kind: fc.constant('conflict' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
    fc.constant({ kind: 'write' as const }),
    fc.constant({ kind: 'complete' as const }),
    fc.record({ kind: fc.constant('commit' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('compact' as const), at: fc.nat() }),
  );

  it('always shows the model log, and its durable prefix is exactly what the store holds', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const store = new MemoryLogStore();
        const log = new RaftLog(store, null);
        let model: number[] = []; // terms of indexes 1..n
        let term = 1;
        let inflight: { hi: number; term: number } | null = null;
        const mk = (index: number, t: number): Entry => ({
          index,
          term: t,
          type: EntryType.Command,
          data: new Uint8Array([index % 256]),
        });
        for (const o of ops) {
          switch (o.kind) {
            case 'append': {
              if (o.bump) term++;
              const es = Array.from({ length: o.n }, (_, k) => mk(model.length + 1 + k, term));
              log.append(es);
              model.push(...es.map((e) => e.term));
              break;
            }
            case 'conflict': {
              // A new leader's entries replace everything after the commit point.
              const lo = Math.max(log.committed + 1, log.firstIndex());
              const at = lo + (o.at % (model.length + 2 - lo));
              if (at > model.length + 1) break;
              term++;
              const es = Array.from({ length: o.n }, (_, k) => mk(at + k, term));
              log.truncateAndAppend(es);
              model = [...model.slice(0, at - 1), ...es.map((e) => e.term)];
              break;
            }
            case 'write': {
              if (inflight !== null || !log.hasUnsentWrites()) break;
              const es = log.takeWrite();
              void store.append(es);
              inflight = { hi: es[es.length - 1]!.index, term: es[es.length - 1]!.term };
              break;
            }
            case 'complete': {
              if (inflight === null) break;
              log.writeDone(inflight.hi, inflight.term);
              inflight = null;
              break;
            }
            case 'commit': {
              const at = Math.min(model.length, log.durable, log.committed + (o.at % 5));
              if (at > log.committed) log.committed = at;
              break;
            }
            case 'compact': {
              if (inflight !== null) break;
              const limit = Math.min(log.durable, log.committed);
              if (limit < log.firstIndex()) break;
              const at = log.firstIndex() + (o.at % (limit - log.firstIndex() + 1));
              const t = log.term(at)!;
              log.compactTo(at, t);
              void store.compact(at, t);
              break;
            }
          }
          // The view is the model.
          expect(log.lastIndex()).toBe(model.length);
          for (let i = log.firstIndex(); i <= model.length; i++) expect(log.term(i)).toBe(model[i - 1]);
          if (model.length >= log.firstIndex()) {
            expect(log.entries(log.firstIndex(), model.length + 1).map((e) => e.term)).toEqual(
              model.slice(log.firstIndex() - 1),
            );
          }
          // What is durable is in the store and agrees with the view.
          expect(log.durable).toBeLessThanOrEqual(model.length);
          for (let i = log.firstIndex(); i <= log.durable; i++) expect(store.term(i)).toBe(model[i - 1]);
        }
      }),
    );
  });
});

describe('configuration', () => {
  const member = fc.record({
    id: fc.string({ minLength: 1, maxLength: 12 }),
    addr: fc.string({ minLength: 1, maxLength: 20 }),
    voter: fc.boolean(),
  });

  it('round-trips through its entry encoding', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 7 }), (members) => {
        const config: Configuration = { members };
        if (configurationProblem(config) !== null) {
          expect(() => decodeConfiguration(encodeConfiguration(config))).toThrow();
        } else {
          expect(decodeConfiguration(encodeConfiguration(config))).toEqual(config);
        }
      }),
    );
  });

  it('decoding never accepts garbage silently', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const c = decodeConfiguration(bytes);
          expect(configurationProblem(c)).toBeNull();
        } catch (err) {
          expect((err as { code?: string }).code).toBe('ERR_PROTOCOL');
        }
      }),
    );
  });

  it('single-server changes keep at least one voter and unique members', () => {
    const base: Configuration = {
      members: [
        { id: 'a', addr: 'a:1', voter: true },
        { id: 'b', addr: 'b:1', voter: false },
      ],
    };
    expect(applyChange(base, { kind: 'promote', id: 'b' })?.members[1]?.voter).toBe(true);
    expect(applyChange(base, { kind: 'promote', id: 'a' })).toBeNull();
    expect(() => applyChange(base, { kind: 'demote', id: 'a' })).toThrow(/no voters/);
    expect(() => applyChange(base, { kind: 'remove', id: 'a' })).toThrow(/no voters/);
    expect(() => applyChange(base, { kind: 'add', id: 'c', addr: 'a:1', voter: false })).toThrow(/already used/);
    expect(() => applyChange(base, { kind: 'add', id: 'a', addr: 'z:1', voter: true })).toThrow(/already a member/);
    expect(applyChange(base, { kind: 'remove', id: 'zzz' })).toBeNull();
  });
});

describe('latency histogram', () => {
  it('counts every value once and reports bucket-bound quantiles', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 20_000, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const h = new LatencyHistogram();
        for (const x of xs) h.record(x);
        const s = h.snapshot();
        expect(s.count).toBe(xs.length);
        expect(s.counts.reduce((a, b) => a + b, 0)).toBe(xs.length);
        const sorted = [...xs].sort((a, b) => a - b);
        const p50 = sorted[Math.ceil(0.5 * xs.length) - 1]!;
        expect(s.p50Ms).toBeGreaterThanOrEqual(p50 - 1e-9);
        expect(s.p99Ms).toBeLessThanOrEqual(s.maxMs);
        expect(s.p50Ms).toBeLessThanOrEqual(s.p99Ms);
      }),
    );
  });
});
