/**
 * A tiny fixed-bucket latency histogram (milliseconds). Cheap enough to record every proposal; percentiles are
 * estimated as the upper bound of the bucket they fall in, which is what a dashboard needs.
 */

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
  private readonly counts: number[];
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BUCKETS_MS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    let k = 0;
    while (k < this.bounds.length && ms > this.bounds[k]!) k++;
    this.counts[k]!++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** Value below which `q` (0..1) of the recorded values fall, as a bucket upper bound (max for the last bucket). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let k = 0; k < this.counts.length; k++) {
      seen += this.counts[k]!;
      if (seen >= rank) return Math.min(k < this.bounds.length ? this.bounds[k]! : this.max, this.max);
    }
    return this.max;
  }

  snapshot(): HistogramSnapshot {
    return {
      count: this.count,
      sumMs: this.sum,
      minMs: this.count === 0 ? 0 : this.min,
      maxMs: this.max,
      bounds: this.bounds,
      counts: [...this.counts],
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
    };
  }
}
