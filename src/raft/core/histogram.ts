/**
 * A tiny fixed-bucket latency histogram (milliseconds). Cheap enough to record every proposal; percentiles are
 * estimated as the upper bound of the bucket they fall in, which is what a dashboard needs.
 */
import { BucketCounts } from '../../util/buckets.js';

/** Upper bounds (inclusive) of the buckets, in milliseconds; a last implicit bucket catches everything above. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

export interface HistogramSnapshot {
  readonly count: number;
  readonly sumMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** One count per bucket: counts[k] is for values <= bounds[k]; the last count is for values above every bound. */
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

export class LatencyHistogram {
  private readonly buckets: BucketCounts;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_MS) {
    this.buckets = new BucketCounts(bounds, 'latency histogram');
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.buckets.add(ms);
  }

  /** Value below which `q` (0..1) of the recorded values fall, as a bucket upper bound (max for the last bucket). */
  quantile(q: number): number {
    const at = this.buckets.locate(q);
    if (at === undefined) return 0;
    const { bounds, max } = this.buckets;
    return Math.min(bounds[at.bucket] ?? max, max);
  }

  snapshot(): HistogramSnapshot {
    const b = this.buckets;
    return {
      count: b.count,
      sumMs: b.sum,
      minMs: b.count === 0 ? 0 : b.min,
      maxMs: b.count === 0 ? 0 : b.max,
      bounds: b.bounds,
      counts: [...b.counts],
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
    };
  }
}
