import fc from 'fast-check';
import type { Member, PartitionTable } from '../../src/partitioning/index.js';

/** Copies per node (primary included) and primaries per node; members without any copy count 0. */
export function loads(table: PartitionTable, members: readonly Member[]): { copies: number[]; primaries: number[] } {
  const copies: number[] = [];
  const primaries: number[] = [];
  for (const m of members) {
    const mine = table.partitionsOfNode(m.id);
    copies.push(mine.primaries.length + mine.replicas.length);
    primaries.push(mine.primaries.length);
  }
  return { copies, primaries };
}

/** Copies created going from a to b: owners of a partition in b that were not owners in a ("slots moved"). */
export function copiesMoved(a: PartitionTable, b: PartitionTable): number {
  let moved = 0;
  for (let i = 0; i < a.partitionCount; i++) {
    const before = a.partitions[i]!.owners;
    for (const o of b.partitions[i]!.owners) if (!before.includes(o)) moved++;
  }
  return moved;
}

/** Unique member ids, 1..maxN of them. */
export function idsArb(minN: number, maxN: number): fc.Arbitrary<string[]> {
  return fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: minN, maxLength: maxN });
}

/** Equal-weight, zone-less members. */
export function plainMembersArb(minN: number, maxN: number): fc.Arbitrary<Member[]> {
  return idsArb(minN, maxN).map((ids) => ids.map((id) => ({ id })));
}

/** Members with optional zones (from a small set) and optional weights. */
export function richMembersArb(minN: number, maxN: number): fc.Arbitrary<Member[]> {
  return idsArb(minN, maxN).chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record(
          {
            id: fc.constant(id),
            zone: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
            weight: fc.constantFrom(0.5, 1, 2, 3, 1.25),
          },
          { requiredKeys: ['id'] },
        ),
      ),
    ),
  );
}

/** A permutation of `xs` chosen by fast-check. */
export function shuffledArb<T>(xs: readonly T[]): fc.Arbitrary<T[]> {
  return fc.array(fc.nat(), { minLength: xs.length, maxLength: xs.length }).map((keys) =>
    xs
      .map((x, i) => ({ x, k: keys[i]! }))
      .sort((a, b) => a.k - b.k)
      .map((e) => e.x),
  );
}

/** Zone of each member; a member without a zone is its own zone. */
export function zoneOf(members: readonly Member[]): Map<string, string> {
  return new Map(members.map((m) => [m.id, m.zone ?? `\u0000${m.id}`]));
}
