/**
 * The HTTP layer's own Prometheus metrics, registered in the node's registry. Labels are bounded: `route` is the
 * route pattern (`/custom-data/:key`, never the key) or `unmatched`, `method` one of the known methods or `OTHER`.
 */
import type { Counter, Histogram, MetricsRegistry } from '../metrics/registry.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']);

/** Seconds: 1 ms … 10 s. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class HttpMetrics {
  private readonly requests: Counter;
  private readonly duration: Histogram;

  constructor(registry: MetricsRegistry, inFlight: () => number) {
    this.requests = registry.counter(
      'clusterkit_http_requests_total',
      'HTTP requests answered, by route, method and status.',
    );
    this.duration = registry.histogram(
      'clusterkit_http_request_duration_seconds',
      'Time from receiving an HTTP request to finishing its response.',
      BUCKETS,
    );
    registry
      .gauge('clusterkit_http_requests_in_flight', 'HTTP requests being handled.')
      .collect((set) => set(inFlight()));
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ route, method: METHODS.has(method) ? method : 'OTHER', code: String(status) });
    this.duration.observe(seconds);
  }
}
