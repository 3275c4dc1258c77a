/**
 * Seeded randomness for the simulation. Every random choice in a run comes from one integer seed, split into
 * named, independent streams (network, disk, nemesis, workload, each node's engine). A stream's values depend only
 * on the seed and its name, never on how much another stream was consumed, so adding a fault type or a client does
 * not reshuffle the rest of the run.
 */
import { type Random, seededRandom } from '../../src/util/io.js';

/** 32-bit FNV-1a of a string: used to turn stream names into seed material. */
export function fnv1a(text: string, h = 0x811c9dc5): number {
  let x = h >>> 0;
  for (let i = 0; i < text.length; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x >>> 0;
}

/** A strong 32-bit integer mix (the murmur3 finaliser), so nearby seeds give unrelated streams. */
function mix32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** A named random stream with the helpers the simulation needs. Implements the engine's `Random` contract. */
export class Rng implements Random {
  private readonly source: Random;

  constructor(
    readonly seed: number,
    readonly path = 'root',
  ) {
    this.source = seededRandom(mix32(fnv1a(path, mix32(seed))));
  }

  /** An independent stream named `name` under this one; the same name always yields the same stream. */
  fork(name: string): Rng {
    return new Rng(this.seed, `${this.path}/${name}`);
  }

  next(): number {
    return this.source.next();
  }

  /** An integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** A float in [lo, hi). */
  float(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight; entries with weight <= 0 are never chosen. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += Math.max(0, w);
    if (total <= 0) throw new Error('weighted pick with no positive weight');
    let r = this.next() * total;
    for (const [item, w] of items) {
      if (w <= 0) continue;
      r -= w;
      if (r < 0) return item;
    }
    // Floating-point rounding can leave r at exactly 0 after the loop: fall back to the last eligible item.
    for (let i = items.length - 1; i >= 0; i--) {
      const entry = items[i];
      if (entry !== undefined && entry[1] > 0) return entry[0];
    }
    throw new Error('unreachable');
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = out[i] as T;
      out[i] = out[j] as T;
      out[j] = t;
    }
    return out;
  }

  /** A random subset of `items`, keeping each with probability p (order preserved). */
  subset<T>(items: readonly T[], p: number): T[] {
    return items.filter(() => this.chance(p));
  }
}
