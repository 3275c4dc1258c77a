import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClusterKitError } from '../../src/errors.js';
import {
  DEFAULT_PARTITION_COUNT,
  hashKey,
  parsePartitionId,
  partitionForKey,
  partitionId,
  partitionIdForKey,
} from '../../src/partitioning/index.js';

interface Vector {
  key: string;
  md5_be_u32: number;
  partition_of_64: string;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/go-key-vectors.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

describe('key → partition, compatible with the Go original', () => {
  it('matches every vector computed by the Go original', () => {
    expect(fixture.vectors.length).toBeGreaterThanOrEqual(10);
    for (const v of fixture.vectors) {
      expect(hashKey(v.key), JSON.stringify(v.key)).toBe(v.md5_be_u32);
      expect(partitionIdForKey(v.key, 64)).toBe(v.partition_of_64);
      expect(partitionId(partitionForKey(v.key, 64))).toBe(v.partition_of_64);
    }
  });

  it('matches the table of seed-behavior.md §6.1 (hashKey, % 16, % 64)', () => {
    const table: [string, number, number, number][] = [
      ['user:1', 3182550288, 0, 16],
      ['user:2', 4223113410, 2, 2],
      ['user:123', 2430271536, 0, 48],
      ['test-key', 1393779313, 1, 49],
      ['order:100', 3739334958, 14, 46],
      ['product:abc', 2034088786, 2, 18],
      ['', 3558706393, 9, 25],
    ];
    for (const [key, h, m16, m64] of table) {
      expect(hashKey(key)).toBe(h);
      expect(partitionForKey(key, 16)).toBe(m16);
      expect(partitionForKey(key, 64)).toBe(m64);
    }
  });

  it('spreads user:1..1000 over all 64 partitions with 7 to 26 keys each (§6.1)', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 1; i <= 1000; i++) counts[partitionForKey(`user:${i}`, 64)]!++;
    expect(Math.min(...counts)).toBe(7);
    expect(Math.max(...counts)).toBe(26);
  });

  it('defaults to 64 partitions', () => {
    expect(DEFAULT_PARTITION_COUNT).toBe(64);
    expect(partitionForKey('user:1')).toBe(16);
    expect(partitionIdForKey('user:1')).toBe('partition-16');
  });

  it('rejects invalid partition counts and non-string keys with InvalidArgumentError', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 65_537, Number.POSITIVE_INFINITY]) {
      expect(() => partitionForKey('k', bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error,
      );
    }
    expect(() => partitionForKey(42 as unknown as string, 8)).toThrow(ClusterKitError);
  });

  it('parses partition ids strictly', () => {
    expect(parsePartitionId('partition-0')).toBe(0);
    expect(parsePartitionId('partition-63', 64)).toBe(63);
    expect(parsePartitionId('partition-64', 64)).toBeUndefined();
    for (const bad of ['partition-01', 'partition--1', 'partition-', 'Partition-1', 'partition-1 ', 'p-1']) {
      expect(parsePartitionId(bad)).toBeUndefined();
    }
  });
});
