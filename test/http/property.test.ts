/**
 * Random requests against a real server: whatever the method, path, query, headers and body, the answer is a
 * well-formed response with a status below 500 (unless the fake is told to fail), every error is the JSON error
 * shape, and a refused request never changes the fake's state.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKitError, type ErrorCode } from '../../src/errors.js';
import { type Response, type Running, request, startServer } from './helpers.js';

const SEGMENTS = [
  'cluster',
  'nodes',
  'node-1',
  'node-2',
  'partitions',
  'stats',
  'custom-data',
  'join',
  'health',
  'detailed',
  'ready',
  'metrics',
  'consensus',
  'leader',
  'rebalance',
  'leave',
  '',
  '%',
  '%ZZ',
  '%ED%A0%80',
  '%2F',
  '..',
  '%00',
];

const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map(encodeURIComponent) },
);

const queryPair = fc.tuple(
  fc.constantFrom('limit', 'offset', 'consistent', 'format', 'prefix', 'x'),
  fc.oneof(
    fc.constantFrom('1', '0', '-1', 'abc', '', 'true', 'false', 'json', 'raw', '1e3', '99999999999999999999', '1.5'),
    fc.string({ maxLength: 8 }).map(encodeURIComponent),
  ),
);

/** Mostly real routes (so handlers, not only the router, see the random input), sometimes anything. */
const segments = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 4 }),
  fc.constantFrom(['join'], ['rebalance'], ['cluster'], ['nodes'], ['partitions'], ['metrics'], ['custom-data']),
  segment.map((k) => ['custom-data', k]),
  segment.map((k) => ['nodes', k]),
);

const path = fc.tuple(segments, fc.array(queryPair, { maxLength: 3 })).map(([segs, query]) => {
  const q = query.map(([k, v]) => `${k}=${v}`).join('&');
  return `/${segs.join('/')}${q === '' ? '' : `?${q}`}`;
});

const joinLike = fc
  .record(
    {
      node: fc.record(
        {
          id: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
          name: fc.string({ maxLength: 10 }),
          ip: fc.constantFrom(':8089', 'h:1', 'x', '10.0.0.1:99999', ''),
          http_addr: fc.constantFrom('h:1', 'h:2'),
          weight: fc.oneof(fc.double(), fc.constant(1), fc.constant('1')),
          zone: fc.string({ maxLength: 4 }),
          services: fc.dictionary(fc.string({ maxLength: 4 }), fc.constantFrom(':1', 'x', 'h:2')),
          colour: fc.constant('red'),
        },
        { requiredKeys: [] },
      ),
      raft_addr: fc.constantFrom('h:1', ':5', 'bad'),
      partition_count: fc.oneof(fc.integer({ min: -2, max: 100 }), fc.double()),
      replication_factor: fc.integer({ min: -1, max: 40 }),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

const body = fc.option(
  fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.json(),
    joinLike,
    fc
      .record(
        { value: fc.oneof(fc.string(), fc.integer()), encoding: fc.constantFrom('utf8', 'base64', 'hex') },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  ),
  { nil: undefined },
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/problem+json',
      'text/plain',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
    ),
    'if-match': fc.constantFrom('*', '"r1"', '"r999"', 'garbage'),
    'if-none-match': fc.constantFrom('*', '"r1"', 'W/"x"'),
    accept: fc.constantFrom('application/json', 'application/octet-stream', 'text/plain', '*/*'),
  },
  { requiredKeys: [] },
);

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  path,
  headers,
  body,
});

interface RandomRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | undefined;
}

function send(port: number, r: RandomRequest): Promise<Response> {
  return request(port, r.method, r.path, { headers: r.headers, ...(r.body === undefined ? {} : { body: r.body }) });
}

/** The response is well formed: errors have the JSON error shape. */
function expectWellFormed(method: string, r: Response): void {
  if (r.status >= 400 && method !== 'HEAD') {
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(typeof r.json.error.code).toBe('string');
    expect(typeof r.json.error.message).toBe('string');
  }
}

describe('random requests', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startServer({ maxValueBytes: 64 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('always get an answer below 500, and refused ones change nothing', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        // Each request meets the same healthy cluster (an earlier random DELETE /nodes/node-1 would make this node
        // legitimately unready: 503).
        s.fake.reset();
        const before = s.fake.fingerprint();
        const res = await send(s.port, r);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        expectWellFormed(r.method, res);
        if (res.status >= 300) expect(s.fake.fingerprint()).toBe(before);
      }),
      { numRuns: 400 },
    );
    // The generator reaches success, client errors and redirects alike (not only 404s).
    const seen = [...statuses.keys()];
    expect(seen.some((k) => k < 300)).toBe(true);
    for (const status of [400, 404, 405]) expect(seen, `status ${status} reached`).toContain(status);
  });

  it('with a failing node: still well-formed JSON errors, and nothing changes', async () => {
    const codes: ErrorCode[] = ['ERR_INTERNAL', 'ERR_UNAVAILABLE', 'ERR_TIMEOUT', 'ERR_CONFLICT', 'ERR_STORAGE_IO'];
    try {
      await fc.assert(
        fc.asyncProperty(requestArb, fc.constantFrom(...codes), fc.boolean(), async (r, code, plain) => {
          s.fake.reset();
          s.fake.failWith = plain ? new Error('boom') : new ClusterKitError(code, 'injected');
          const before = s.fake.fingerprint();
          const res = await send(s.port, r);
          expectWellFormed(r.method, res);
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.text).not.toContain('boom');
          expect(s.fake.fingerprint()).toBe(before);
        }),
        { numRuns: 150 },
      );
    } finally {
      s.fake.reset();
    }
  });
});
