import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterKitError, type ErrorCode } from '../../src/errors.js';
import type { Access } from '../../src/http/api.js';
import type { Logger } from '../../src/util/logger.js';
import { get, type Running, request, sendJson, startServer } from './helpers.js';

interface BadCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly status: number;
  readonly code: string;
  readonly message?: RegExp;
}

const join = (value: unknown): Pick<BadCase, 'method' | 'path' | 'headers' | 'body'> => ({
  method: 'POST',
  path: '/join',
  headers: { 'content-type': 'application/json' },
  body: typeof value === 'string' ? value : JSON.stringify(value),
});
const goNode = { id: 'node-9', name: 'Server-9', ip: '10.0.0.9:8089' };
const envelope = (value: unknown): Pick<BadCase, 'method' | 'path' | 'headers' | 'body'> => ({
  method: 'PUT',
  path: '/custom-data/k',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

const BAD: readonly BadCase[] = [
  { name: 'unknown path', method: 'GET', path: '/nope', status: 404, code: 'ERR_NOT_FOUND' },
  { name: 'trailing slash', method: 'GET', path: '/cluster/', status: 404, code: 'ERR_NOT_FOUND' },
  { name: 'POST on a GET route', method: 'POST', path: '/cluster', status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  { name: 'GET /join', method: 'GET', path: '/join', status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  { name: 'DELETE /partitions', method: 'DELETE', path: '/partitions', status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  { name: 'PATCH custom data', method: 'PATCH', path: '/custom-data/k', status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  {
    name: 'limit not a number',
    method: 'GET',
    path: '/nodes?limit=abc',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /limit must be a non-negative integer/,
  },
  { name: 'negative limit', method: 'GET', path: '/nodes?limit=-1', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'negative offset (crashed the Go original)',
    method: 'GET',
    path: '/nodes?offset=-1',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /offset/,
  },
  { name: 'fractional offset', method: 'GET', path: '/nodes?offset=1.5', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'exponent limit', method: 'GET', path: '/nodes?limit=1e3', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'empty offset', method: 'GET', path: '/nodes?offset=', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'huge offset',
    method: 'GET',
    path: '/nodes?offset=99999999999999999999',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'repeated limit',
    method: 'GET',
    path: '/nodes?limit=1&limit=2',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /2 times/,
  },
  {
    name: 'bad consistent flag',
    method: 'GET',
    path: '/cluster?consistent=maybe',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'bad metrics format', method: 'GET', path: '/metrics?format=xml', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'bad custom data format',
    method: 'GET',
    path: '/custom-data/k?format=xml',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'bad percent-encoding', method: 'GET', path: '/nodes/%ZZ', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'encoded lone surrogate',
    method: 'GET',
    path: '/custom-data/%ED%A0%80',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'empty node id', method: 'DELETE', path: '/nodes/', status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'join: malformed JSON',
    ...join('{"node":'),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /malformed JSON/,
  },
  { name: 'join: array', ...join([]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'join: null', ...join('null'), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'join: empty object', ...join({}), status: 400, code: 'ERR_INVALID_ARGUMENT', message: /node is required/ },
  { name: 'join: empty body', ...join(''), status: 400, code: 'ERR_INVALID_ARGUMENT', message: /empty/ },
  {
    name: 'join: invalid UTF-8',
    ...join(''),
    body: Buffer.from([0x7b, 0xff, 0x7d]),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /UTF-8/,
  },
  {
    name: 'join: no id',
    ...join({ node: { ip: '1.2.3.4:5' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /id is required/,
  },
  { name: 'join: numeric id', ...join({ node: { ...goNode, id: 7 } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'join: control char in id',
    ...join({ node: { ...goNode, id: 'a\nb' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: unknown field',
    ...join({ node: goNode, replication_factr: 3 }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /unknown field "replication_factr"/,
  },
  {
    name: 'join: unknown node field',
    ...join({ node: { ...goNode, colour: 'red' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'join: no address', ...join({ node: { id: 'n' } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'join: address without port',
    ...join({ node: { ...goNode, ip: 'host' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: port out of range',
    ...join({ node: { ...goNode, ip: 'host:99999' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: bad raft_addr',
    ...join({ node: goNode, raft_addr: 'x y:1' }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: ip and http_addr differ',
    ...join({ node: { ...goNode, http_addr: 'other:1' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: negative weight',
    ...join({ node: { ...goNode, weight: -1 } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: string weight',
    ...join({ node: { ...goNode, weight: '1' } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: negative port',
    ...join({ node: { ...goNode, port: -1 } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: zero partitions',
    ...join({ node: goNode, partition_count: 0 }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: fractional RF',
    ...join({ node: goNode, replication_factor: 1.5 }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: service without colon',
    ...join({ node: { ...goNode, services: { kv: 'nope' } } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: services not an object',
    ...join({ node: { ...goNode, services: ['kv'] } }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'join: form content type',
    ...join({ node: goNode }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'join: body over 64 KiB',
    ...join({ node: { ...goNode, name: 'x'.repeat(70_000) } }),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'rebalance: reason not a string',
    method: 'POST',
    path: '/rebalance',
    headers: { 'content-type': 'application/json' },
    body: '{"reason":5}',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'rebalance: unknown field',
    method: 'POST',
    path: '/rebalance',
    headers: { 'content-type': 'application/json' },
    body: '{"force":true}',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'leave: not implemented', method: 'POST', path: '/leave', status: 404, code: 'ERR_NOT_FOUND' },
  {
    name: 'custom data: empty key',
    method: 'PUT',
    path: '/custom-data/',
    body: 'v',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
    message: /key/,
  },
  {
    name: 'custom data: key of 257',
    method: 'PUT',
    path: `/custom-data/${'k'.repeat(257)}`,
    body: 'v',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'custom data: value over 1 MiB',
    method: 'PUT',
    path: '/custom-data/k',
    body: Buffer.alloc((1 << 20) + 1),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'custom data: decoded value over 1 MiB',
    ...envelope({ value: Buffer.alloc((1 << 20) + 1).toString('base64'), encoding: 'base64' }),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  { name: 'custom data: envelope without value', ...envelope({}), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'custom data: numeric value', ...envelope({ value: 5 }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'custom data: unknown encoding',
    ...envelope({ value: 'aa', encoding: 'hex' }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'custom data: bad base64',
    ...envelope({ value: 'a*b=', encoding: 'base64' }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'custom data: unknown envelope field',
    ...envelope({ value: 'a', ttl: 5 }),
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'custom data: If-Match we never issued',
    method: 'PUT',
    path: '/custom-data/k',
    headers: { 'if-match': '"abc"' },
    body: 'v',
    status: 412,
    code: 'ERR_PRECONDITION_FAILED',
  },
  {
    name: 'custom data: If-None-Match tag on write',
    method: 'PUT',
    path: '/custom-data/k',
    headers: { 'if-none-match': '"r1"' },
    body: 'v',
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'custom data: both preconditions',
    method: 'DELETE',
    path: '/custom-data/k',
    headers: { 'if-match': '"r1"', 'if-none-match': '*' },
    status: 400,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

describe('bad input: a 4xx JSON error, and nothing changes', () => {
  let s: Running;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it.each(BAD.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = s.fake.fingerprint();
    s.fake.calls.length = 0;
    const r = await request(s.port, c.method, c.path, {
      ...(c.headers === undefined ? {} : { headers: c.headers }),
      ...(c.body === undefined ? {} : { body: c.body }),
    });
    expect(r.status).toBe(c.status);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(Object.keys(r.json.error)).toEqual(['code', 'message']);
    expect(r.json.error.code).toBe(c.code);
    expect(r.json.error.message.length).toBeGreaterThan(5);
    if (c.message !== undefined) expect(r.json.error.message).toMatch(c.message);
    if (c.status === 405) expect(r.headers.allow).toMatch(/OPTIONS$/);
    expect(s.fake.fingerprint()).toBe(before);
    expect(s.fake.calls.filter((n) => n !== 'readBarrier')).toEqual([]);
  });
});

describe('ClusterKitError codes map to statuses', () => {
  let s: Running;
  const logged: unknown[] = [];
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj) => logged.push(obj),
    child: () => logger,
  };
  beforeAll(async () => {
    s = await startServer({ logger, operationTimeoutMs: 100 });
  });
  afterAll(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.fake.failWith = undefined;
    s.fake.hang = false;
    logged.length = 0;
  });

  const table: readonly [ErrorCode, number, boolean][] = [
    ['ERR_INVALID_ARGUMENT', 400, false],
    ['ERR_NOT_FOUND', 404, false],
    ['ERR_CONFLICT', 409, false],
    ['ERR_MEMBERSHIP', 409, false],
    ['ERR_TIMEOUT', 504, false],
    ['ERR_UNAVAILABLE', 503, true],
    ['ERR_SHUTTING_DOWN', 503, true],
    ['ERR_TRANSPORT', 503, true],
    ['ERR_STORAGE_IO', 500, false],
    ['ERR_STORAGE_CORRUPT', 500, false],
    ['ERR_PROTOCOL', 500, false],
    ['ERR_INTERNAL', 500, false],
  ];

  it.each(table)('%s → %i', async (code, status, retryAfter) => {
    s.fake.failWith = new ClusterKitError(code, `detail of ${code} in /var/lib/secret`);
    for (const r of [await request(s.port, 'POST', '/rebalance'), await get(s.port, '/cluster')]) {
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.headers['retry-after']).toBe(retryAfter ? '1' : undefined);
      if (status === 500) {
        // Internal details go to the log, never to the client.
        expect(r.text).not.toContain('secret');
        expect(r.json.error.message).toMatch(/internal error/);
      } else expect(r.json.error.message).toBe(`detail of ${code} in /var/lib/secret`);
    }
    expect(logged.length).toBe(status === 500 ? 2 : 0);
  });

  it('an unexpected exception is a 500 without its message or stack', async () => {
    s.fake.failWith = new TypeError('cannot read properties of undefined (reading "x") at /src/secret.ts:12');
    const r = await get(s.port, '/partitions');
    expect(r.status).toBe(500);
    expect(r.json.error).toEqual({ code: 'ERR_INTERNAL', message: 'internal error; the details are in the node log' });
    expect(r.text).not.toMatch(/secret|at \//);
    expect(logged).toHaveLength(1);
  });

  it('a NodeApi call that does not settle answers 504', async () => {
    s.fake.hang = true;
    const r = await sendJson(s.port, 'PUT', '/custom-data/k', { value: 'v' });
    expect(r.status).toBe(504);
    expect(r.json.error.code).toBe('ERR_TIMEOUT');
    const barrier = await get(s.port, '/cluster?consistent=1');
    expect(barrier.status).toBe(504);
  });
});

describe('the authorize hook', () => {
  let s: Running;
  const seen: [Access, string][] = [];
  let decision: 'allow' | 'unauthenticated' | 'forbidden' | 'throw' = 'allow';
  beforeAll(async () => {
    s = await startServer({
      authorize: async (req, access, route) => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push([access, `${route.method} ${route.path}`]);
        if (decision === 'throw') throw new Error('auth backend down');
        if (access === 'public') return 'allow';
        return req.headers.authorization === 'Bearer good' ? 'allow' : decision;
      },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('is asked with the route access level, and can refuse with 401 or 403 before the body is read', async () => {
    decision = 'unauthenticated';
    seen.length = 0;
    const before = s.fake.fingerprint();
    const r401 = await request(s.port, 'PUT', '/custom-data/k', { body: 'v' });
    expect(r401.status).toBe(401);
    expect(r401.headers['www-authenticate']).toBe('Bearer');
    // The body was never read, so the connection is closed rather than drained.
    expect(r401.headers.connection).toBe('close');
    decision = 'forbidden';
    const r403 = await sendJson(s.port, 'POST', '/join', { node: { id: 'x', ip: 'h:1' } });
    expect(r403.status).toBe(403);
    expect(r403.json.error.code).toBe('ERR_FORBIDDEN');
    expect(s.fake.fingerprint()).toBe(before);
    expect((await get(s.port, '/health')).status).toBe(200);
    const ok = await request(s.port, 'PUT', '/custom-data/k', {
      body: 'value',
      headers: { authorization: 'Bearer good' },
    });
    expect(ok.status).toBe(201);
    // The body was fully parsed while the (asynchronous) hook ran, and is still read whole afterwards.
    expect(Buffer.from(s.fake.custom.get('k')!.value).toString()).toBe('value');
    expect(seen).toEqual([
      ['admin', 'PUT /custom-data/:key'],
      ['peer', 'POST /join'],
      ['public', 'GET /health'],
      ['admin', 'PUT /custom-data/:key'],
    ]);
  });

  it('a failing hook is a 500, and unknown paths never reach it', async () => {
    decision = 'throw';
    seen.length = 0;
    expect((await get(s.port, '/cluster')).status).toBe(500);
    expect((await get(s.port, '/unknown')).status).toBe(404);
    expect(seen).toEqual([['read', 'GET /cluster']]);
  });
});
