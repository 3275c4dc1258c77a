import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computePlacement,
  hashKey,
  type Member,
  PartitionTable,
  partitionForKey,
} from '../../src/partitioning/index.js';
import { richMembersArb } from './helpers.js';

const members: Member[] = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'].map((id) => ({ id }));
const table = computePlacement({ members, partitionCount: 64, replicationFactor: 3 });
const invalid = expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error;

describe('PartitionTable lookups', () => {
  it('maps a key to its partition, primary, replicas and owners', () => {
    for (let i = 0; i < 500; i++) {
      const key = `user:${i}`;
      const index = hashKey(key) % 64;
      const p = table.partitions[index]!;
      expect(table.partitionIndexOf(key)).toBe(index);
      expect(table.partitionIndexOf(key)).toBe(partitionForKey(key, 64));
      expect(table.partitionOf(key)).toBe(p);
      expect(table.primaryOf(key)).toBe(p.primary);
      expect(table.replicasOf(key)).toBe(p.replicas);
      expect(table.ownersOf(key)).toEqual([p.primary, ...p.replicas]);
    }
  });

  it('finds partitions by index or id, and rejects unknown ones', () => {
    expect(table.partition(7)).toBe(table.partitions[7]);
    expect(table.partition('partition-7')).toBe(table.partitions[7]);
    expect(table.partition(7).id).toBe('partition-7');
    for (const bad of [64, -1, 1.5, 'partition-64', 'partition-07', 'x']) {
      expect(() => table.partition(bad)).toThrow(invalid);
    }
  });

  it('lists the partitions of each node, consistent with the partitions themselves', () => {
    fc.assert(
      fc.property(
        richMembersArb(0, 12),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 4 }),
        (ms, P, rf) => {
          const t = computePlacement({ members: ms, partitionCount: P, replicationFactor: rf });
          let copies = 0;
          for (const id of t.nodes) {
            const mine = t.partitionsOfNode(id);
            for (const i of mine.primaries) expect(t.partitions[i]!.primary).toBe(id);
            for (const i of mine.replicas) expect(t.partitions[i]!.replicas).toContain(id);
            expect([...mine.primaries].sort((a, b) => a - b)).toEqual(mine.primaries);
            copies += mine.primaries.length + mine.replicas.length;
          }
          expect(copies).toBe(t.partitions.reduce((s, p) => s + p.owners.length, 0));
          expect(t.partitionsOfNode('no-such-node')).toEqual({ primaries: [], replicas: [] });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('PartitionTable immutability', () => {
  it('is deeply frozen: no caller can change what others see', () => {
    expect(Object.isFrozen(table)).toBe(true);
    expect(Object.isFrozen(table.partitions)).toBe(true);
    expect(Object.isFrozen(table.nodes)).toBe(true);
    const p = table.partitions[0]!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.owners)).toBe(true);
    expect(Object.isFrozen(p.replicas)).toBe(true);
    const mine = table.partitionsOfNode('node-1');
    expect(Object.isFrozen(mine) && Object.isFrozen(mine.primaries) && Object.isFrozen(mine.replicas)).toBe(true);
    const before = JSON.stringify(table);
    // ES modules run in strict mode: writes to frozen objects throw.
    expect(() => {
      (p.replicas as string[]).push('intruder');
    }).toThrow(TypeError);
    expect(() => {
      (p as { primary: string | undefined }).primary = 'intruder';
    }).toThrow(TypeError);
    expect(() => {
      (table.partitions as unknown[])[0] = null;
    }).toThrow(TypeError);
    expect(() => {
      (mine.primaries as number[]).pop();
    }).toThrow(TypeError);
    expect(JSON.stringify(table)).toBe(before);
  });

  it('copies its input: changing the arrays given to PartitionTable.of changes nothing', () => {
    const replicas = ['b'];
    const t = PartitionTable.of({
      version: 1,
      partitionCount: 1,
      replicationFactor: 2,
      partitions: [{ primary: 'a', replicas, epoch: 1 }],
    });
    replicas.push('c');
    expect(t.partitions[0]!.replicas).toEqual(['b']);
  });
});

describe('PartitionTable JSON', () => {
  it('round-trips through JSON, keeping the Go field names', () => {
    fc.assert(
      fc.property(
        richMembersArb(0, 10),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 4 }),
        (ms, P, rf) => {
          const t = computePlacement({ members: ms, partitionCount: P, replicationFactor: rf });
          const text = JSON.stringify(t);
          const back = PartitionTable.fromJSON(text);
          expect(back.toJSON()).toEqual(t.toJSON());
          expect(back.sameAssignment(t)).toBe(true);
          expect(PartitionTable.fromJSON(JSON.parse(text)).version).toBe(t.version);
        },
      ),
      { numRuns: 60 },
    );
    const json = table.toJSON();
    expect(Object.keys(json)).toEqual(['version', 'partition_count', 'replication_factor', 'partitions']);
    expect(Object.keys(json.partitions['partition-0']!)).toEqual(['id', 'primary_node', 'replica_nodes', 'epoch']);
    expect(computePlacement({ members: [], partitionCount: 2 }).toJSON().partitions['partition-1']).toEqual({
      id: 'partition-1',
      primary_node: '',
      replica_nodes: [],
      epoch: 0,
    });
  });

  it('reads a Go PartitionMap (no version, counts or epochs) and the Go /partitions array shape', () => {
    const goMap = {
      partitions: {
        'partition-1': { id: 'partition-1', primary_node: 'node-1', replica_nodes: ['node-2', 'node-3'] },
        'partition-0': { id: 'partition-0', primary_node: 'node-3', replica_nodes: ['node-2', 'node-1'] },
      },
    };
    const t = PartitionTable.fromJSON(goMap);
    expect(t.partitionCount).toBe(2);
    expect(t.replicationFactor).toBe(3);
    expect(t.version).toBe(0);
    expect(t.partition(0).owners).toEqual(['node-3', 'node-2', 'node-1']);
    expect(t.partition(1).epoch).toBe(0);
    const arrayShape = PartitionTable.fromJSON({ partitions: Object.values(goMap.partitions), count: 2 });
    expect(arrayShape.toJSON()).toEqual(t.toJSON());
  });

  it('rejects invalid documents with InvalidArgumentError', () => {
    const good = table.toJSON();
    const part = (over: Record<string, unknown>): unknown => ({
      ...good,
      partitions: { ...good.partitions, 'partition-0': { ...good.partitions['partition-0']!, ...over } },
    });
    const bad: unknown[] = [
      '{not json',
      'null',
      42,
      [],
      { partitions: 'x' },
      { ...good, version: -1 },
      { ...good, version: 1.5 },
      { ...good, partition_count: 65 },
      { ...good, partition_count: 0 },
      { ...good, replication_factor: 0 },
      { ...good, replication_factor: 2 },
      part({ id: 'partition-1' }),
      part({ primary_node: 7 }),
      part({ replica_nodes: 'node-1' }),
      part({ replica_nodes: [1] }),
      part({ replica_nodes: [''] }),
      part({ primary_node: '', replica_nodes: ['node-1'] }),
      part({ replica_nodes: [good.partitions['partition-0']!.primary_node] }),
      part({ replica_nodes: ['x', 'x'] }),
      part({ epoch: -1 }),
      part({ epoch: '1' }),
      {
        partitions: [
          { id: 'partition-0', primary_node: 'a' },
          { id: 'partition-0', primary_node: 'b' },
        ],
      },
      { partitions: [{ id: 'partition-5', primary_node: 'a' }] },
      { partitions: [null] },
    ];
    for (const doc of bad) {
      expect(() => PartitionTable.fromJSON(doc), JSON.stringify(doc)?.slice(0, 80)).toThrow(invalid);
    }
  });

  it('rejects invalid descriptions in PartitionTable.of', () => {
    const base = { version: 1, partitionCount: 1, replicationFactor: 2 };
    const bad: unknown[] = [
      { ...base, partitions: [] },
      { ...base, partitions: [{ primary: undefined, replicas: ['a'], epoch: 0 }] },
      { ...base, partitions: [{ primary: 'a', replicas: ['b', 'c'], epoch: 0 }] },
      { ...base, partitions: [{ primary: 'a', replicas: [], epoch: Number.NaN }] },
      { ...base, version: -1, partitions: [{ primary: 'a', replicas: [], epoch: 0 }] },
      { ...base, partitions: [undefined] },
    ];
    for (const init of bad) expect(() => PartitionTable.of(init as never)).toThrow(invalid);
  });
});
