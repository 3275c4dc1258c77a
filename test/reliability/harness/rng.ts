/** The harness's seeded randomness: every choice of a run (faults, victims, timings, workload) comes from here. */
import { seededRandom } from '../../../src/util/io.js';

export class Rng {
  readonly #r;

  constructor(readonly seed: number) {
    this.#r = seededRandom(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#r.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#r.next() * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** An independent generator for another consumer (so adding calls in one does not shift the other). */
  fork(): Rng {
    return new Rng(Math.floor(this.#r.next() * 2 ** 32));
  }
}
