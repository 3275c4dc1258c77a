import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePlacement, diffTables, PartitionTable } from '../../src/partitioning/index.js';
import { plainMembersArb } from './helpers.js';

/** A one-partition table, written as "primary|replica,replica" per partition. */
function tableOf(version: number, rf: number, ...parts: [string, number][]): PartitionTable {
  return PartitionTable.of({
    version,
    partitionCount: parts.length,
    replicationFactor: rf,
    partitions: parts.map(([owners, epoch]) => {
      const [primary, replicas] = owners.split('|');
      return {
        primary: primary === '' ? undefined : primary,
        replicas: replicas === undefined || replicas === '' ? [] : replicas.split(','),
        epoch,
      };
    }),
  });
}

describe('diffTables', () => {
  it('gives the new replica a source when a primary leaves with RF=2 (the Go original gave none)', () => {
    // [X | A] → [A | C]: A is promoted (no copy), C needs the data and A has it.
    const before = tableOf(1, 2, ['X|A', 1]);
    const after = tableOf(2, 2, ['A|C', 2]);
    const d = diffTables(before, after);
    expect(d.partitions).toHaveLength(1);
    const c = d.partitions[0]!;
    expect(c).toMatchObject({
      partition: 0,
      id: 'partition-0',
      oldPrimary: 'X',
      newPrimary: 'A',
      oldEpoch: 1,
      newEpoch: 2,
      copyTo: ['C'],
      copyFrom: ['X', 'A'],
      promoted: 'A',
      demoted: undefined,
      dropped: ['X'],
    });
    expect(d.nodes.get('A')).toMatchObject({ copyTo: [], becamePrimary: [0], promoted: [0] });
    expect(d.nodes.get('C')).toMatchObject({ copyTo: [0], becamePrimary: [] });
    expect(d.nodes.get('X')).toMatchObject({ dropped: [0], lostPrimary: [0], demoted: [] });
    expect(d).toMatchObject({ fromVersion: 1, toVersion: 2, copies: 1, primaryChanges: 1, isEmpty: false });
  });

  it('reports demotions, new primaries without a copy, dropped owners, and untouched partitions not at all', () => {
    const before = tableOf(4, 3, ['A|B,C', 3], ['B|C,A', 1], ['C|A,B', 5]);
    const after = tableOf(5, 3, ['D|A,B', 4], ['B|A,C', 1], ['C|A,B', 5]);
    const d = diffTables(before, after);
    expect(d.partitions.map((c) => c.partition)).toEqual([0]); // replica order alone is not a change
    expect(d.partitions[0]).toMatchObject({
      copyTo: ['D'],
      copyFrom: ['A', 'B', 'C'],
      promoted: undefined,
      demoted: 'A',
      dropped: ['C'],
    });
    expect([...d.nodes.keys()]).toEqual(['A', 'C', 'D']);
    expect(d.nodes.get('D')).toMatchObject({ copyTo: [0], becamePrimary: [0], promoted: [] });
    expect(d.nodes.get('A')).toMatchObject({ lostPrimary: [0], demoted: [0], dropped: [] });
  });

  it('from no table: every owner receives a copy and nobody has data', () => {
    const t = computePlacement({ members: [{ id: 'a' }, { id: 'b' }], partitionCount: 4, replicationFactor: 2 });
    const d = diffTables(undefined, t);
    expect(d.fromVersion).toBeUndefined();
    expect(d.copies).toBe(8);
    expect(d.primaryChanges).toBe(4);
    for (const c of d.partitions) {
      expect(c.copyFrom).toEqual([]);
      expect(c.copyTo).toEqual(c.newOwners);
      expect(c.oldEpoch).toBe(0);
    }
  });

  it('is empty between a table and itself, and refuses tables of different sizes', () => {
    const t = computePlacement({ members: [{ id: 'a' }], partitionCount: 4 });
    expect(diffTables(t, t).isEmpty).toBe(true);
    expect(diffTables(t, t).nodes.size).toBe(0);
    const other = computePlacement({ members: [{ id: 'a' }], partitionCount: 8 });
    expect(() => diffTables(t, other)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error);
  });

  it('is complete: applying each change to the old owners yields the new owners; node views agree', () => {
    fc.assert(
      fc.property(plainMembersArb(1, 12), plainMembersArb(1, 12), fc.integer({ min: 1, max: 64 }), (m1, m2, P) => {
        const a = computePlacement({ members: m1, partitionCount: P, replicationFactor: 3 });
        const b = computePlacement({ members: m2, previous: a });
        const d = diffTables(a, b);
        const changed = new Set(d.partitions.map((c) => c.partition));
        for (let i = 0; i < P; i++) {
          const before = a.partitions[i]!;
          const after = b.partitions[i]!;
          const c = d.partitions.find((x) => x.partition === i);
          if (c === undefined) {
            expect(new Set(after.owners)).toEqual(new Set(before.owners));
            expect(after.primary).toBe(before.primary);
            continue;
          }
          const rebuilt = new Set([...before.owners.filter((o) => !c.dropped.includes(o)), ...c.copyTo]);
          expect(rebuilt).toEqual(new Set(after.owners));
          expect(c.copyFrom).toEqual(before.owners);
          if (c.promoted !== undefined) expect(before.replicas).toContain(c.promoted);
        }
        let copyTo = 0;
        for (const n of d.nodes.values()) {
          copyTo += n.copyTo.length;
          for (const i of [...n.copyTo, ...n.dropped, ...n.becamePrimary, ...n.lostPrimary]) {
            expect(changed.has(i)).toBe(true);
          }
          for (const i of n.promoted) expect(n.becamePrimary).toContain(i);
          for (const i of n.demoted) expect(n.lostPrimary).toContain(i);
        }
        expect(copyTo).toBe(d.copies);
      }),
      { numRuns: 100 },
    );
  });
});
