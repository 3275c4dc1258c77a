/**
 * Fingerprints for the checkers: an entry's digest and a log's prefix hash (a hash chain), so "two logs with the
 * same (index, term) are identical up to it" becomes "they have the same prefix hash at that index", checked in
 * O(1) per appended entry. Collisions can only hide a violation, never invent one.
 */
import type { Entry } from '../../src/raft/types.js';

/** Prefix hash of the empty log (index 0). */
export const EMPTY_PREFIX = 0x5eed;

function lane(h: number, v: number): number {
  let x = (h ^ v) >>> 0;
  x = Math.imul(x, 0x01000193) >>> 0;
  x ^= x >>> 15;
  return x >>> 0;
}

/** Combines a running 52-bit hash (held in a double) with one 32-bit word. */
function step(h: number, v: number): number {
  const hi = Math.floor(h / 0x100000000) >>> 0;
  const lo = h >>> 0;
  const nlo = lane(lo, v);
  const nhi = lane(hi ^ 0x9e3779b9, (v + nlo) >>> 0) & 0xfffff;
  return nhi * 0x100000000 + nlo;
}

export function hashBytes(h: number, data: Uint8Array): number {
  let x = step(h, data.length);
  for (let i = 0; i < data.length; i++) x = step(x, data[i] ?? 0);
  return x;
}

export function hashString(h: number, s: string): number {
  let x = step(h, s.length);
  for (let i = 0; i < s.length; i++) x = step(x, s.charCodeAt(i));
  return x;
}

export function entryDigest(e: Entry): number {
  let h = step(step(step(0x1234567, e.index), e.term), e.type);
  h = step(h, Math.floor(e.index / 0x100000000));
  return hashBytes(h, e.data);
}

/** The prefix hash at `e.index` given the prefix hash at `e.index - 1`. */
export function chain(prev: number, e: Entry): number {
  const d = entryDigest(e);
  return step(step(prev, d >>> 0), Math.floor(d / 0x100000000));
}

/** Running hash of an applied command sequence (the state machine's fingerprint). */
export function chainCommand(prev: number, index: number, command: string): number {
  return hashString(step(prev, index), command);
}
