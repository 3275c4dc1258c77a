import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePlacement, computeReplicaTargets, type Member, PartitionTable } from '../../src/partitioning/index.js';
import { loads, plainMembersArb, richMembersArb, shuffledArb, zoneOf } from './helpers.js';

const P_ARB = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 512 }));
const RF_ARB = fc.integer({ min: 1, max: 5 });

/** The table's JSON with its `partitions` keys (and top-level keys) in another order: order must not matter. */
function reorderedJSON(t: PartitionTable, seed: number): unknown {
  const json = t.toJSON();
  const scramble = (key: string): number => Math.imul(Number(key.slice(10)) + seed, 2654435761) >>> 0;
  const entries = Object.entries(json.partitions).sort(([a], [b]) => scramble(a) - scramble(b));
  return {
    partitions: Object.fromEntries(entries),
    replication_factor: json.replication_factor,
    version: json.version,
    partition_count: json.partition_count,
  };
}

describe('computePlacement (balanced): validity and balance', () => {
  it('gives every partition min(RF, N) distinct owners, copies in [⌊P·RF′/N⌋, ⌈P·RF′/N⌉], primaries in [⌊P/N⌋, ⌈P/N⌉]', () => {
    fc.assert(
      fc.property(plainMembersArb(1, 30), P_ARB, RF_ARB, (members, P, rf) => {
        const t = computePlacement({ members, partitionCount: P, replicationFactor: rf });
        const N = members.length;
        const R = Math.min(rf, N);
        for (const p of t.partitions) {
          expect(p.owners).toHaveLength(R);
          expect(new Set(p.owners).size).toBe(R);
          expect(p.primary).toBe(p.owners[0]);
          expect(p.epoch).toBe(1);
        }
        const { copies, primaries } = loads(t, members);
        for (const c of copies) {
          expect(c).toBeGreaterThanOrEqual(Math.floor((P * R) / N));
          expect(c).toBeLessThanOrEqual(Math.ceil((P * R) / N));
        }
        for (const c of primaries) {
          expect(c).toBeGreaterThanOrEqual(Math.floor(P / N));
          expect(c).toBeLessThanOrEqual(Math.ceil(P / N));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is deterministic: member order and the JSON key order of the previous table do not matter', () => {
    fc.assert(
      fc.property(
        richMembersArb(1, 20).chain((m) => fc.tuple(fc.constant(m), shuffledArb(m), shuffledArb(m))),
        P_ARB,
        RF_ARB,
        fc.nat(100),
        ([members, shuffled, other], P, rf, seed) => {
          const a = computePlacement({ members, partitionCount: P, replicationFactor: rf });
          const b = computePlacement({ members: shuffled, partitionCount: P, replicationFactor: rf });
          expect(b.toJSON()).toEqual(a.toJSON());
          // One more step from each, the second from a previous table re-read from reordered JSON.
          const next = other.slice(0, Math.max(1, other.length - 1));
          const fromA = computePlacement({ members: next, previous: a });
          const reloaded = PartitionTable.fromJSON(JSON.stringify(reorderedJSON(b, seed)));
          const fromB = computePlacement({ members: [...next].reverse(), previous: reloaded });
          expect(fromB.toJSON()).toEqual(fromA.toJSON());
        },
      ),
      { numRuns: 60 },
    );
  });

  it('zones: with at least RF′ zones no two owners of a partition share one; copies stay within the targets', () => {
    fc.assert(
      fc.property(richMembersArb(1, 20), P_ARB, RF_ARB, (members, P, rf) => {
        const t = computePlacement({ members, partitionCount: P, replicationFactor: rf });
        const zones = zoneOf(members);
        const R = Math.min(rf, members.length);
        const enforced = new Set(zones.values()).size >= R;
        for (const p of t.partitions) {
          expect(new Set(p.owners).size).toBe(R);
          if (enforced) expect(new Set(p.owners.map((o) => zones.get(o))).size).toBe(R);
        }
        const targets = computeReplicaTargets({ members, partitionCount: P, replicationFactor: rf });
        const W = members.reduce((sum, m) => sum + (m.weight ?? 1), 0);
        expect(targets.reduce((s, x) => s + x.share, 0)).toBeCloseTo(P * R, 6);
        for (const target of targets) {
          const mine = t.partitionsOfNode(target.id);
          const c = mine.primaries.length + mine.replicas.length;
          expect(c).toBeGreaterThanOrEqual(target.min);
          expect(c).toBeLessThanOrEqual(target.max);
          expect(target.max - target.min).toBeLessThanOrEqual(1);
          expect(target.share).toBeLessThanOrEqual(P);
          // Primaries follow copies and weight: at most ⌈c/RF′⌉, at least min(⌊c/RF′⌋, ⌊P·w/W⌋).
          const w = members.find((m) => m.id === target.id)!.weight ?? 1;
          expect(mine.primaries.length).toBeLessThanOrEqual(Math.ceil(c / R));
          expect(mine.primaries.length).toBeGreaterThanOrEqual(Math.min(Math.floor(c / R), Math.floor((P * w) / W)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('weights: each node holds ⌊S·w/W⌋ or ⌈S·w/W⌉ copies when no node would exceed one copy per partition', () => {
    const weighted = plainMembersArb(1, 20).chain((ms) =>
      fc.tuple(...ms.map((m) => fc.constantFrom(0.5, 1, 2, 3, 7.5).map((weight) => ({ ...m, weight })))),
    );
    fc.assert(
      fc.property(weighted, P_ARB, RF_ARB, (members, P, rf) => {
        const R = Math.min(rf, members.length);
        const S = P * R;
        const W = members.reduce((s, m) => s + m.weight, 0);
        const ideal = members.map((m) => (S * m.weight) / W);
        fc.pre(ideal.every((r) => r <= P));
        const t = computePlacement({ members, partitionCount: P, replicationFactor: rf });
        const { copies } = loads(t, members);
        copies.forEach((c, i) => {
          expect(Math.abs(c - ideal[i]!)).toBeLessThan(1 + 1e-9);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('caps a heavy node at one copy per partition and spreads the rest by weight', () => {
    const members: Member[] = [{ id: 'big', weight: 100 }, { id: 'a' }, { id: 'b' }, { id: 'c' }];
    const t = computePlacement({ members, partitionCount: 64, replicationFactor: 2 });
    const { copies } = loads(t, members);
    // S = 128 copies; 'big' would get 128·100/103 > 64, so it is capped at 64 and the other 64 split 3 ways.
    expect(copies[0]).toBe(64);
    expect(copies.slice(1).every((c) => c === 21 || c === 22)).toBe(true);
    expect(copies.reduce((s, c) => s + c, 0)).toBe(128);
  });

  it('lets zones override balance when they must: a zone with one node holds a copy of everything', () => {
    const members: Member[] = [
      { id: 'a1', zone: 'a' },
      ...['b1', 'b2', 'b3', 'b4'].map((id) => ({ id, zone: 'b' })),
      ...['c1', 'c2', 'c3', 'c4'].map((id) => ({ id, zone: 'c' })),
    ];
    const t = computePlacement({ members, partitionCount: 64, replicationFactor: 3 });
    expect(t.partitionsOfNode('a1').primaries.length + t.partitionsOfNode('a1').replicas.length).toBe(64);
    for (const id of ['b1', 'c4']) {
      const mine = t.partitionsOfNode(id);
      expect(mine.primaries.length + mine.replicas.length).toBe(16);
    }
  });
});

describe('computePlacement: degraded and empty memberships', () => {
  it('gives min(RF, N) owners with fewer nodes than RF, and full RF again when nodes return', () => {
    fc.assert(
      fc.property(plainMembersArb(5, 8), fc.integer({ min: 1, max: 300 }), (members, P) => {
        const full = computePlacement({ members, partitionCount: P, replicationFactor: 5 });
        const degraded = computePlacement({ members: members.slice(0, 2), previous: full });
        for (const p of degraded.partitions) expect(p.owners).toHaveLength(2);
        const back = computePlacement({ members, previous: degraded });
        for (const p of back.partitions) expect(new Set(p.owners).size).toBe(5);
      }),
      { numRuns: 30 },
    );
  });

  it('with zero members returns a table whose partitions have no owner (no error), and bumps epochs', () => {
    const empty = computePlacement({ members: [], partitionCount: 8 });
    expect(empty.version).toBe(1);
    for (const p of empty.partitions) {
      expect(p.primary).toBeUndefined();
      expect(p.owners).toEqual([]);
      expect(p.epoch).toBe(0);
    }
    expect(empty.primaryOf('user:1')).toBeUndefined();
    const some = computePlacement({ members: [{ id: 'a' }], previous: empty });
    expect(some.partitions.every((p) => p.primary === 'a' && p.epoch === 1)).toBe(true);
    const none = computePlacement({ members: [], previous: some });
    expect(none.version).toBe(3);
    expect(none.partitions.every((p) => p.primary === undefined && p.epoch === 2)).toBe(true);
  });

  it('rejects bad input with InvalidArgumentError', () => {
    const bad: unknown[] = [
      { members: [{ id: 'a' }, { id: 'a' }] },
      { members: [{ id: '' }] },
      { members: [{ id: 'a', weight: 0 }] },
      { members: [{ id: 'a', weight: Number.NaN }] },
      { members: [{ id: 'a', zone: '' }] },
      { members: 'a' },
      { members: [null] },
      { members: [], partitionCount: 0 },
      { members: [], replicationFactor: 0 },
      { members: [], replicationFactor: 33 },
      { members: [], strategy: 'round-robin' },
      { members: [], previous: { partitionCount: 64 } },
    ];
    for (const options of bad) {
      expect(() => computePlacement(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
      );
    }
    const t = computePlacement({ members: [{ id: 'a' }], partitionCount: 16 });
    expect(() => computePlacement({ members: [{ id: 'a' }], previous: t, partitionCount: 32 })).toThrow(
      /partition count cannot change/,
    );
  });
});
