/**
 * Key → partition, bit-for-bit compatible with the Go original (and so with Go clients):
 * `md5(utf8(key))`, first 4 bytes as a big-endian unsigned 32-bit integer, modulo the partition count, named
 * `partition-<i>`. This function must never change: every client and every stored table depends on it.
 */
import { createHash, hash as cryptoHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { describe } from '../util/assert.js';
import { md5First32 } from './md5.js';

/** Default number of partitions (the Go docs say 64; the Go code used 16 — we follow the docs). */
export const DEFAULT_PARTITION_COUNT = 64;

/** Largest partition count accepted anywhere (tables are dense arrays of this length). */
export const MAX_PARTITION_COUNT = 65_536;

/**
 * Keys up to this many UTF-16 code units are hashed by the hand-written MD5; longer ones by `node:crypto`.
 * Chosen from bench/partitioning.bench.ts: the JS digest costs about one compression (≈150 ns here) per 64 bytes
 * while a call into OpenSSL costs ≈1 µs whatever the length, so they cross between 256 and 512 bytes.
 */
export const HANDWRITTEN_MD5_MAX_LENGTH = 256;

/**
 * The Go original's `hashKey`: the first 4 bytes of MD5(UTF-8(key)) as a big-endian unsigned 32-bit integer.
 * Lone surrogates are encoded as U+FFFD, as `Buffer.from(key, 'utf8')` does.
 */
export function hashKey(key: string): number {
  return key.length <= HANDWRITTEN_MD5_MAX_LENGTH ? md5First32(key) : hashKeyCrypto(key);
}

/** {@link hashKey} computed by `node:crypto`'s one-shot `hash()` (OpenSSL). Same result; exported for benchmarks. */
export function hashKeyCrypto(key: string): number {
  return cryptoHash('md5', key, 'buffer').readUInt32BE(0);
}

/** {@link hashKey} computed with `createHash('md5')` (the classic Node idiom). Same result; for benchmarks. */
export function hashKeyCreateHash(key: string): number {
  return createHash('md5').update(key, 'utf8').digest().readUInt32BE(0);
}

/** {@link hashKey} always computed by the hand-written MD5, whatever the length. Same result; for benchmarks. */
export function hashKeyHandwritten(key: string): number {
  return md5First32(key);
}

/** Throws InvalidArgumentError unless `count` is a valid partition count (an integer in 1..65536). */
export function assertPartitionCount(count: unknown): asserts count is number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_PARTITION_COUNT) {
    throw new InvalidArgumentError(
      `partition count must be an integer between 1 and ${MAX_PARTITION_COUNT}, got ${describe(count)}`,
    );
  }
}

/**
 * The partition index (0-based) that owns `key` among `count` partitions. Validates its arguments; the table's own
 * lookups skip that work.
 */
export function partitionForKey(key: string, count: number = DEFAULT_PARTITION_COUNT): number {
  if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${describe(key)}`);
  assertPartitionCount(count);
  return hashKey(key) % count;
}

/** The partition id (`partition-<i>`) that owns `key` among `count` partitions. */
export function partitionIdForKey(key: string, count: number = DEFAULT_PARTITION_COUNT): string {
  return partitionId(partitionForKey(key, count));
}

/** `partition-<index>`, the Go original's partition naming. */
export function partitionId(index: number): string {
  return `partition-${index}`;
}

const ID_PATTERN = /^partition-(0|[1-9][0-9]{0,5})$/;

/**
 * The index in a `partition-<i>` id, or undefined if `id` is not in that exact form (no sign, no leading zeros).
 * `count`, when given, also bounds the index.
 */
export function parsePartitionId(id: string, count?: number): number | undefined {
  const m = ID_PATTERN.exec(id);
  if (m === null) return undefined;
  const index = Number(m[1]);
  if (index >= (count ?? MAX_PARTITION_COUNT)) return undefined;
  return index;
}
