/**
 * Counts of observations per fixed bucket: the one bucketing both histograms share (the Raft engine's latency
 * summary in raft/core and the Prometheus histogram in metrics/), so they cannot disagree about which bucket a value
 * falls in. Bounds are inclusive upper bounds; one more bucket catches everything above the last bound.
 */
export class BucketCounts {
  /** counts[k] is for values <= bounds[k] (and above bounds[k - 1]); the last is for values above every bound. */
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(
    readonly bounds: readonly number[],
    what = 'histogram',
  ) {
    for (let i = 1; i < bounds.length; i++) {
      if ((bounds[i] ?? 0) <= (bounds[i - 1] ?? 0)) throw new RangeError(`${what}: buckets must increase`);
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  add(value: number): void {
    let k = 0;
    while (k < this.bounds.length && value > this.bounds[k]!) k++;
    this.counts[k]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /**
   * Where the value of rank `q × count` lies: its bucket, and how many values came before that bucket. Undefined
   * when nothing was counted.
   */
  locate(q: number): { bucket: number; before: number; rank: number } | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.min(this.count, Math.max(0, q * this.count));
    let before = 0;
    for (let k = 0; k < this.counts.length; k++) {
      const inBucket = this.counts[k]!;
      if (inBucket > 0 && before + inBucket >= rank) return { bucket: k, before, rank };
      before += inBucket;
    }
    return { bucket: this.counts.length - 1, before: this.count - this.counts[this.counts.length - 1]!, rank };
  }
}
