import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/metrics/registry.js';
import { LatencyHistogram } from '../../src/raft/core/histogram.js';
import { BucketCounts } from '../../src/util/buckets.js';

const boundsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 })
  .map((xs) => xs.sort((a, b) => a - b));
const valuesArb = fc.array(fc.integer({ min: 0, max: 1200 }), { minLength: 1, maxLength: 200 });

/** The bucket of `v`, the slow way: the first bound at or above it, else the overflow bucket. */
function bucketOf(bounds: readonly number[], v: number): number {
  const k = bounds.findIndex((b) => v <= b);
  return k < 0 ? bounds.length : k;
}

describe('BucketCounts', () => {
  it('puts each value in the first bucket whose bound holds it, and locates ranks like a sorted list', () => {
    fc.assert(
      fc.property(boundsArb, valuesArb, fc.double({ min: 0, max: 1, noNaN: true }), (bounds, values, q) => {
        const b = new BucketCounts(bounds);
        for (const v of values) b.add(v);
        const expected = new Array<number>(bounds.length + 1).fill(0);
        for (const v of values) expected[bucketOf(bounds, v)]!++;
        expect(b.counts).toEqual(expected);
        expect(b.count).toBe(values.length);
        expect(b.sum).toBe(values.reduce((x, y) => x + y, 0));
        expect(b.min).toBe(Math.min(...values));
        expect(b.max).toBe(Math.max(...values));
        // The value of rank ceil(q × n) (the first when q × n < 1) lies in the bucket locate() names.
        const sorted = [...values].sort((x, y) => x - y);
        const ranked = sorted[Math.max(1, Math.ceil(q * values.length)) - 1]!;
        expect(b.locate(q)?.bucket).toBe(bucketOf(bounds, ranked));
      }),
    );
  });

  it('refuses bounds that do not increase, and locates nothing when empty', () => {
    expect(() => new BucketCounts([1, 1])).toThrow(RangeError);
    expect(() => new BucketCounts([2, 1], 'histogram x')).toThrow(/histogram x: buckets must increase/);
    expect(new BucketCounts([1]).locate(0.5)).toBeUndefined();
  });
});

describe('the two histograms on one bucketing', () => {
  it('agree on the bucket of every quantile: the engine reports its upper bound, Prometheus interpolates inside it', () => {
    fc.assert(
      fc.property(boundsArb, valuesArb, fc.double({ min: 0.01, max: 1, noNaN: true }), (bounds, values, q) => {
        const engine = new LatencyHistogram(bounds);
        const prom = new Histogram('h', 'h', bounds);
        for (const v of values) {
          engine.record(v);
          prom.observe(v);
        }
        const k = bucketOf(bounds, [...values].sort((x, y) => x - y)[Math.ceil(q * values.length) - 1]!);
        const lo = k === 0 ? 0 : bounds[k - 1]!;
        const max = Math.max(...values);
        if (k < bounds.length) {
          expect(engine.quantile(q)).toBe(Math.min(bounds[k]!, max));
          expect(prom.quantile(q)).toBeGreaterThanOrEqual(lo);
          expect(prom.quantile(q)).toBeLessThanOrEqual(bounds[k]!);
        } else {
          expect(engine.quantile(q)).toBe(max);
          expect(prom.quantile(q)).toBe(bounds[bounds.length - 1]);
        }
      }),
    );
  });
});
