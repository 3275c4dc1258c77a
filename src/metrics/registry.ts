/**
 * A tiny metrics registry rendering the Prometheus text format (version 0.0.4). Each node owns one, so several nodes
 * in one process (tests, simulations) never clash in a global registry, and the library adds no dependency.
 */
import { BucketCounts } from '../util/buckets.js';

export type Labels = Readonly<Record<string, string>>;

/** What every metric kind renders: its name, help, type and its Prometheus text lines. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  render(lines: string[]): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export class Counter implements Family {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`counter ${this.name} cannot decrease`);
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(lines: string[]): void {
    for (const [key, v] of this.values) lines.push(`${this.name}${key === '' ? '' : `{${key}}`} ${formatValue(v)}`);
  }
}

export class Gauge implements Family {
  readonly type = 'gauge' as const;
  private readonly values = new Map<string, number>();
  private collector: ((set: (value: number, labels?: Labels) => void) => void) | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  /** Computes the values at scrape time instead of keeping them up to date. Replaces any set() values. */
  collect(fn: (set: (value: number, labels?: Labels) => void) => void): this {
    this.collector = fn;
    return this;
  }

  render(lines: string[]): void {
    if (this.collector !== undefined) {
      this.values.clear();
      this.collector((value, labels = {}) => this.values.set(labelKey(labels), value));
    }
    for (const [key, v] of this.values) lines.push(`${this.name}${key === '' ? '' : `{${key}}`} ${formatValue(v)}`);
  }
}

/** A fixed-bucket histogram. Buckets are upper bounds; +Inf is implicit. */
export class Histogram implements Family {
  readonly type = 'histogram' as const;
  private readonly counts: BucketCounts;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new BucketCounts(buckets, `histogram ${name}`);
  }

  observe(value: number): void {
    this.counts.add(value);
  }

  /** The value under which a fraction q of the observations fall, interpolated within its bucket. */
  quantile(q: number): number {
    const at = this.counts.locate(q);
    if (at === undefined) return 0;
    const last = this.buckets[this.buckets.length - 1] ?? 0;
    if (at.bucket >= this.buckets.length) return last; // above every bound: the last bound is all we know
    const lo = at.bucket === 0 ? 0 : (this.buckets[at.bucket - 1] ?? 0);
    const hi = this.buckets[at.bucket] ?? lo;
    return lo + ((hi - lo) * (at.rank - at.before)) / (this.counts.counts[at.bucket] ?? 1);
  }

  snapshot(): { count: number; sum: number } {
    return { count: this.counts.count, sum: this.counts.sum };
  }

  render(lines: string[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts.counts[i] ?? 0;
      lines.push(`${this.name}_bucket{le="${formatValue(this.buckets[i] ?? 0)}"} ${cumulative}`);
    }
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.counts.count}`);
    lines.push(`${this.name}_sum ${formatValue(this.counts.sum)}`);
    lines.push(`${this.name}_count ${this.counts.count}`);
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      lines.push(`# TYPE ${f.name} ${f.type}`);
      f.render(lines);
    }
    return `${lines.join('\n')}\n`;
  }

  private register<F extends Family>(family: F): F {
    if (!NAME.test(family.name)) throw new RangeError(`invalid metric name ${JSON.stringify(family.name)}`);
    if (this.families.has(family.name)) throw new RangeError(`metric ${family.name} registered twice`);
    this.families.set(family.name, family);
    return family;
  }
}
