import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const r = new MetricsRegistry();
    const c = r.counter('ck_events_total', 'Events.');
    c.inc({ type: 'join' });
    c.inc({ type: 'join' }, 2);
    r.gauge('ck_term', 'Raft term.').collect((set) => set(7));
    const h = r.histogram('ck_latency_seconds', 'Latency.', [0.001, 0.01, 0.1]);
    h.observe(0.0005);
    h.observe(0.05);
    const text = r.render();
    expect(text).toContain('# TYPE ck_events_total counter');
    expect(text).toContain('ck_events_total{type="join"} 3');
    expect(text).toContain('ck_term 7');
    expect(text).toContain('ck_latency_seconds_bucket{le="0.001"} 1');
    expect(text).toContain('ck_latency_seconds_bucket{le="0.1"} 2');
    expect(text).toContain('ck_latency_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('ck_latency_seconds_count 2');
  });

  it('escapes label values and rejects bad names and duplicates', () => {
    const r = new MetricsRegistry();
    r.counter('x_total', 'x').inc({ node: 'a"b\\c\nd' });
    expect(r.render()).toContain('x_total{node="a\\"b\\\\c\\nd"} 1');
    expect(() => r.counter('x_total', 'again')).toThrow(/twice/);
    expect(() => r.gauge('bad name', 'x')).toThrow(/invalid/);
    expect(() => r.counter('y_total', 'y').inc({}, -1)).toThrow(/decrease/);
  });

  it('estimates quantiles within the bucket', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('h', 'h', [1, 2, 4, 8]);
    for (let i = 0; i < 100; i++) h.observe(i < 50 ? 0.5 : 3);
    expect(h.quantile(0.25)).toBeLessThanOrEqual(1);
    expect(h.quantile(0.9)).toBeGreaterThan(2);
    expect(h.quantile(0.9)).toBeLessThanOrEqual(4);
  });
});
