import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePlacement, hashKey, type Member, partitionId } from '../../src/partitioning/index.js';
import { plainMembersArb, shuffledArb } from './helpers.js';

const nodes = (n: number): Member[] => Array.from({ length: n }, (_, i) => ({ id: `node-${i + 1}` }));
const rendezvous = (members: readonly Member[], partitionCount: number, replicationFactor = 3) =>
  computePlacement({ members, partitionCount, replicationFactor, strategy: 'rendezvous' });

describe("strategy 'rendezvous' (the Go original's assignment)", () => {
  it('matches the vectors of seed-behavior.md §6.2', () => {
    const t = rendezvous(nodes(3), 16);
    expect(t.partition(0).primary).toBe('node-3');
    expect(t.partition(0).replicas).toEqual(['node-2', 'node-1']);
    expect(t.partition(1).primary).toBe('node-1');
    expect(t.partition(1).replicas).toEqual(['node-2', 'node-3']);
    expect(t.partition(5).primary).toBe('node-1');
    expect(t.partition(5).replicas).toEqual(['node-2', 'node-3']);
    // The scores behind partition-0.
    expect(hashKey('partition-0node-3')).toBe(398276479);
    expect(hashKey('partition-0node-2')).toBe(1225891313);
    expect(hashKey('partition-0node-1')).toBe(2585611144);
    // 16 partitions on 3 nodes: primaries 6 / 6 / 4.
    expect(['node-1', 'node-2', 'node-3'].map((n) => t.partitionsOfNode(n).primaries.length)).toEqual([6, 6, 4]);
  });

  it('64 partitions on 10 nodes, RF 3: 3–10 primaries and 10–17 replicas per node (§6.2)', () => {
    const t = rendezvous(nodes(10), 64);
    const primaries = t.nodes.map((n) => t.partitionsOfNode(n).primaries.length);
    const replicas = t.nodes.map((n) => t.partitionsOfNode(n).replicas.length);
    expect([Math.min(...primaries), Math.max(...primaries)]).toEqual([3, 10]);
    expect([Math.min(...replicas), Math.max(...replicas)]).toEqual([10, 17]);
  });

  it('adding node-4 to 3 nodes (64 partitions, RF 3) changes 14 primaries and 44 replica-set entries (§6.2)', () => {
    const a = rendezvous(nodes(3), 64);
    const b = computePlacement({ members: nodes(4), previous: a, strategy: 'rendezvous' });
    let primaries = 0;
    let entries = 0;
    for (let i = 0; i < 64; i++) {
      if (a.partitions[i]!.primary !== b.partitions[i]!.primary) primaries++;
      entries += b.partitions[i]!.owners.filter((o) => !a.partitions[i]!.owners.includes(o)).length;
    }
    expect(primaries).toBe(14);
    expect(entries).toBe(44);
  });

  it('is the lowest-score-first order of hashKey(partitionId + nodeId), whatever the member order', () => {
    fc.assert(
      fc.property(
        plainMembersArb(0, 12).chain((m) => fc.tuple(fc.constant(m), shuffledArb(m))),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        ([members, shuffled], P, rf) => {
          const t = rendezvous(members, P, rf);
          expect(rendezvous(shuffled, P, rf).toJSON()).toEqual(t.toJSON());
          for (let p = 0; p < P; p++) {
            const expected = members
              .map((m) => ({ id: m.id, score: hashKey(partitionId(p) + m.id) }))
              .sort((x, y) => x.score - y.score || (x.id < y.id ? -1 : 1))
              .slice(0, Math.min(rf, members.length))
              .map((x) => x.id);
            expect(t.partitions[p]!.owners).toEqual(expected);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
