/**
 * Hostile HTTP clients against a real ClusterKit node (in process, 127.0.0.1, port 0): every route the handler
 * declares fuzzed with fast-check (path parameters, query strings, headers, bodies: malformed JSON, wrong types,
 * huge or negative numbers, invalid percent-encoding), unknown methods and paths, malformed requests, oversized
 * bodies, and slow clients that never finish their headers or body.
 *
 * Requests built to be invalid must get a 4xx; nothing may ever get a 5xx; a slow client gets a 408 or a closed
 * connection once its (shortened) deadline passes. Throughout, the node keeps serving, its heap does not keep
 * what oversized requests sent, and the cluster state (/cluster, the custom data, the table version) is exactly
 * what it was before.
 */
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterKit } from '../../src/cluster/index.js';
import { createHttpHandler, DEFAULT_BODY_TIMEOUT_MS } from '../../src/http/handler.js';
import { type Scheduler, systemScheduler, type TimerHandle } from '../../src/util/io.js';
import { TestNodes, until } from '../cluster/node/helpers.js';

const SEED = Number(process.env.CK_FUZZ_SEED ?? 0x5eed_0b77);
/** Deadlines of the node under test, short so that slow clients are cut off quickly. */
const HEADERS_MS = 400;
const BODY_MS = 400;
const FIRST_BYTES_MS = 800;
/** How long a test waits for a deadline to act (generous: the machine may be loaded). */
const WAIT_MS = 15_000;

/**
 * The node's scheduler, with the request-body deadline (10 s, not an option of a node) shortened. Nothing else in
 * a node uses a 10 s timer on this scheduler once `limits` sets the headers and first-bytes deadlines.
 */
class ShortBodyDeadline implements Scheduler {
  shortened = 0;
  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (ms === DEFAULT_BODY_TIMEOUT_MS) {
      this.shortened++;
      return systemScheduler.setTimeout(fn, BODY_MS);
    }
    return systemScheduler.setTimeout(fn, ms);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed error bodies are inspected loosely
  readonly json: any;
}

let nodes: TestNodes;
let ck: ClusterKit;
let port = 0;
const scheduler = new ShortBodyDeadline();
let before = '';
const counts = { requests: 0, by: {} as Record<string, number> };

/**
 * One request over its own connection. Error bodies are read and parsed; a 2xx body is not waited for (a route
 * may stream), the connection is dropped once the status is known.
 */
function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<Answer> {
  counts.requests++;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        counts.by[status] = (counts.by[status] ?? 0) + 1;
        if (status < 300) {
          res.destroy();
          resolve({ status, headers: res.headers, json: undefined });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Raw bytes over a fresh connection; resolves with everything received once the node closes it. */
function raw(write: (socket: net.Socket) => void): Promise<{ text: string; closedByNode: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after the answer is fine: 'close' follows
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByNode: true });
    });
    socket.once('connect', () => {
      counts.requests++;
      timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the node kept the connection open for ${WAIT_MS} ms`));
      }, WAIT_MS);
      write(socket);
    });
  });
}

function statusOf(rawText: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(rawText);
  return m === null ? 0 : Number(m[1]);
}

/** What must not change: membership, placement and table version, custom data, as the API and HTTP show them. */
async function fingerprint(): Promise<string> {
  const c = ck.getCluster();
  const cluster = await fetch(`http://127.0.0.1:${port}/cluster`).then((r) => r.json());
  const keys = await fetch(`http://127.0.0.1:${port}/custom-data?limit=10000`).then((r) => r.json());
  const values = ck.listCustomDataKeys().map((k) => [k, Buffer.from(ck.getCustomData(k)!).toString('base64')]);
  return JSON.stringify({ cluster, keys, values, tableVersion: c.tableVersion, nodes: c.nodes.map((n) => n.id) });
}

function expect4xx(a: { status: number }, what: string): void {
  if (a.status < 400 || a.status > 499) throw new Error(`${what}: expected a 4xx, got ${a.status}`);
}

function expectNo5xx(a: { status: number }, what: string): void {
  if (a.status >= 500) throw new Error(`${what}: got ${a.status}`);
}

/** An error reply carries the JSON error body every error of the API has. */
function expectErrorBody(a: Answer, what: string): void {
  if (a.status >= 400 && typeof a.json?.error?.code !== 'string') {
    throw new Error(`${what}: ${a.status} without a JSON error body: ${JSON.stringify(a.json)}`);
  }
}

beforeAll(async () => {
  nodes = new TestNodes();
  ck = await nodes.start('node-1', {
    scheduler,
    limits: {
      headersTimeoutMs: HEADERS_MS,
      handshakeTimeoutMs: FIRST_BYTES_MS,
      // Rate limits would answer 429 before the handlers: off, so the handlers themselves are fuzzed.
      adminRate: false,
      joinRate: false,
    },
  });
  port = Number(ck.address.slice(ck.address.lastIndexOf(':') + 1));
  await ck.setCustomData('existing', 'value');
  await ck.setCustomData('a/b', 'slash');
  before = await fingerprint();
});
afterAll(async () => {
  console.log(`http fuzz (seed ${SEED}): ${counts.requests} requests, statuses ${JSON.stringify(counts.by)}`);
  await nodes.destroy();
});

// --- generators ------------------------------------------------------------------------------------------------

const weirdText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '..', '%', '%ZZ', '%C3%28', '%E0%A4%A', '%00', '\u0000', 'node-2', 'existing', 'a%2Fb'),
  fc.string({ minLength: 257, maxLength: 600 }),
);
/** A path segment: anything, percent-encoded, or raw text (possibly invalid percent-encoding) made URL-safe. */
const segment = fc.oneof(
  weirdText.map((s) => encodeURIComponent(s)),
  weirdText.map((s) => s.replace(/[^\x21-\x7e]|[/?#]/g, '_')),
);
const number = fc.oneof(
  fc.constantFrom('-1', '0', '1e309', '1e400', '-0', 'NaN', 'Infinity', '0x10', '1.5', '99999999999999999999', ''),
  fc.integer().map(String),
  fc.double().map(String),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom('limit', 'offset', 'prefix', 'consistent', 'format', 'key', 'since', 'node', 'x', ''),
      fc.oneof(number, weirdText),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`));
const jsonJunk = fc.oneof(
  fc.constantFrom('{', '[1,2', 'nul', '{"a":}', '{"a":1,}', "{'a':1}", '"\\u12"', '1e999999', '{"a":1}{', ']'),
  fc.constant('['.repeat(20_000) + ']'.repeat(20_000)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([Buffer.from([0xff, 0xfe]), b])),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(anyJson), fc.object());
const badPort = fc.constantFrom(-1, 65_536, 1.5, 1e308, '80', null, true, [], {});
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  '*/*',
  'application/octet-stream',
);

/** A body that must make the route refuse: malformed JSON, a non-object, or an object a check refuses. */
function invalidBody(route: string): fc.Arbitrary<string | Uint8Array> {
  const object: fc.Arbitrary<unknown> =
    route === '/join'
      ? fc.record({
          node: fc.oneof(
            notString,
            fc.record({ id: fc.oneof(anyJson, fc.string()), ip: fc.oneof(anyJson, fc.string()), port: badPort }),
          ),
          raft_addr: anyJson,
          partition_count: fc.oneof(number.map(Number), anyJson),
        })
      : route === '/rebalance'
        ? fc.oneof(
            // (A null reason counts as none: the request would be valid.)
            fc.record({ reason: notString.filter((v) => v !== null) }),
            fc.record({ reason: fc.string(), bogus: anyJson }),
          )
        : route === '/leave'
          ? fc.dictionary(fc.string({ minLength: 1 }), anyJson, { minKeys: 1 })
          : fc.oneof(
              fc.record({ value: notString, encoding: fc.constantFrom('utf8', 'base64') }),
              fc.record({ value: fc.string(), encoding: fc.string().filter((e) => e !== 'utf8' && e !== 'base64') }),
              fc.record({
                value: fc.constantFrom('not base64!', 'abc', '====', 'YQ='),
                encoding: fc.constant('base64'),
              }),
              fc.record({ value: fc.string(), extra: anyJson }),
            );
  return fc.oneof(
    jsonJunk,
    fc.oneof(fc.integer(), fc.string(), fc.array(anyJson), fc.constant(null)).map((v) => JSON.stringify(v)),
    object.map((v) => JSON.stringify(v)),
  );
}

// --- tests -----------------------------------------------------------------------------------------------------

describe('every route, fuzzed', () => {
  it('reads (GET) with any parameters, query and headers never answer 5xx', async () => {
    const routes = createHttpHandler(ck.httpApi)
      .routes()
      .filter((r) => r.method === 'GET');
    expect(routes.length).toBeGreaterThan(10);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(segment, { minLength: 2, maxLength: 2 }),
        queryString,
        fc.record(
          { accept: contentType, 'if-none-match': fc.oneof(fc.constant('*'), fc.string()) },
          { requiredKeys: [] },
        ),
        async (route, params, query, headers) => {
          let i = 0;
          const path = route.path.replace(/:[a-z]+/g, () => params[i++]!);
          const a = await send('GET', `${path}${query}`, { headers });
          expectNo5xx(a, `GET ${path}${query}`);
          expectErrorBody(a, `GET ${path}${query}`);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('writes with invalid input (bodies, keys, preconditions, types) answer 4xx and change nothing', async () => {
    const writes = createHttpHandler(ck.httpApi)
      .routes()
      .filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      expect.arrayContaining(['POST /join', 'POST /rebalance', 'PUT /custom-data/:key', 'DELETE /custom-data/:key']),
    );
    const badKey = fc.oneof(
      fc.constantFrom('', '%ZZ', '%C3%28', encodeURIComponent('__clusterkit/health')),
      fc.string({ minLength: 257, maxLength: 400 }).map(encodeURIComponent),
    );
    const badPrecondition = fc.oneof(
      fc.record({ 'if-match': fc.constantFrom('"r0"', 'W/"r1"', 'r1', '"r99999999999999999999"', '"x"', '') }),
      fc.record({ 'if-none-match': fc.string().filter((s) => s.trim() !== '*') }),
      fc.record({ 'if-match': fc.constant('*'), 'if-none-match': fc.constant('*') }),
    );
    const requestArb = fc.oneof(
      // Custom data: a key that cannot be valid, with any body.
      fc.record({
        method: fc.constantFrom('PUT', 'DELETE'),
        path: badKey.map((k) => `/custom-data/${k}`),
        headers: fc.record({ 'content-type': contentType }),
        body: fc.oneof(fc.string(), fc.uint8Array({ maxLength: 64 })),
      }),
      // Custom data: a good key with a precondition that cannot hold or is malformed.
      fc.record({
        method: fc.constantFrom('PUT', 'DELETE'),
        path: fc.constantFrom('/custom-data/existing', '/custom-data/fresh', '/custom-data/a%2Fb'),
        headers: badPrecondition,
        body: fc.string(),
      }),
      // Custom data: a JSON envelope that is malformed or wrong.
      fc.record({
        method: fc.constant('PUT'),
        path: fc.constantFrom('/custom-data/existing', '/custom-data/fresh'),
        headers: fc.record({ 'content-type': fc.constantFrom('application/json', 'application/vnd.x+json') }),
        body: invalidBody('/custom-data'),
      }),
      // Membership: bodies every check must refuse, with a JSON (or no) content type.
      ...['/join', '/rebalance', '/leave'].map((path) =>
        fc.record({
          method: fc.constant('POST'),
          path: fc.constant(path),
          headers: fc.record({
            'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8'),
          }),
          body: invalidBody(path),
        }),
      ),
      // Membership: a body of another media type.
      fc.record({
        method: fc.constant('POST'),
        path: fc.constantFrom('/join', '/rebalance', '/leave'),
        headers: fc.record({ 'content-type': fc.constantFrom('text/plain', 'application/x-www-form-urlencoded') }),
        body: fc.string({ minLength: 1 }),
      }),
      // Removing a node that is not a member (or whose id is not valid percent-encoding).
      fc.record({
        method: fc.constant('DELETE'),
        path: segment.filter((s) => safeDecode(s) !== 'node-1').map((s) => `/nodes/${s}`),
        headers: fc.constant({}),
        body: fc.constant(''),
      }),
    );
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const a = await send(r.method, r.path, { headers: r.headers, body: r.body });
        const what = `${r.method} ${r.path} ${JSON.stringify(r.headers)} ${String(r.body).slice(0, 80)}`;
        expect4xx(a, what);
        expectErrorBody(a, what);
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(await fingerprint()).toBe(before);
  });

  it('unknown methods, unknown paths and methods a path does not take answer 4xx', async () => {
    const paths = createHttpHandler(ck.httpApi)
      .routes()
      .map((r) => r.path.replace(/:[a-z]+/g, 'x'));
    const methodArb = fc.constantFrom(
      'PATCH',
      'PROPFIND',
      'PURGE',
      'MKCOL',
      'LOCK',
      'SEARCH',
      'TRACE',
      'PUT',
      'DELETE',
    );
    await fc.assert(
      fc.asyncProperty(
        methodArb,
        fc.oneof(
          fc.constantFrom(...paths),
          fc.webPath(),
          segment.map((s) => `/${s}/${s}`),
        ),
        async (method, path) => {
          const target = path.startsWith('/') ? path : `/${path}`;
          // Only paths and methods no route takes: a real PUT or DELETE is the previous test's business.
          const route = createHttpHandler(ck.httpApi)
            .routes()
            .some((r) => r.method === method && new RegExp(`^${r.path.replace(/:[a-z]+/g, '[^/]*')}$`).test(target));
          fc.pre(!route);
          const a = await send(method, target, { body: 'x' });
          expect4xx(a, `${method} ${target}`);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
    for (const line of [
      'get /health HTTP/1.1',
      'G@T /health HTTP/1.1',
      'GET /health HTTP/9.9',
      'GET health HTTP/1.1',
      `${'A'.repeat(5000)} / HTTP/1.1`,
    ]) {
      const r = await raw((s) => s.write(`${line}\r\nHost: x\r\n\r\n`));
      const status = statusOf(r.text);
      if (status !== 0) expect4xx({ status }, line);
    }
    const headerAttacks = [
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`,
      'GET /health HTTP/1.1\r\nHost x\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
      'PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n',
      'GET /health HTTP/1.1\r\n\r\n',
    ];
    for (const attack of headerAttacks) {
      const r = await raw((s) => s.write(attack));
      const status = statusOf(r.text);
      if (status !== 0) expect4xx({ status }, attack.slice(0, 60));
    }
    expect(await fingerprint()).toBe(before);
  });
});

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

describe('oversized requests', () => {
  it('are refused with 413 without being kept: the heap stays bounded', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const start = heap();
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const one = async (i: number): Promise<void> => {
      const r = await raw((s) => {
        if (i % 3 === 0) {
          // Declared too large: refused before a byte of it is read.
          s.write(`PUT /custom-data/big-${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
          s.write(mib);
        } else {
          // Chunked, no length: refused once it passes the limit, though it never ends.
          const [method, path, type] =
            i % 3 === 1
              ? ['PUT', `/custom-data/big-${i}`, 'application/octet-stream']
              : ['POST', '/join', 'application/json'];
          s.write(
            `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`,
          );
          for (let k = 0; k < 2; k++) s.write(`${mib.length.toString(16)}\r\n${mib.toString('latin1')}\r\n`);
        }
        sent += 2 * mib.length;
      });
      expect(statusOf(r.text)).toBe(413);
    };
    for (let round = 0; round < 6; round++) await Promise.all([0, 1, 2, 3, 4, 5].map((k) => one(round * 6 + k)));
    const grown = heap() - start;
    console.log(
      `oversized: ${(sent / 2 ** 20).toFixed(0)} MiB sent in 36 requests, heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(sent).toBeGreaterThan(60 * 2 ** 20);
    expect(grown).toBeLessThan(24 * 2 ** 20);
    expect(await fingerprint()).toBe(before);
  });
});

describe('slow clients', () => {
  it('are answered 408 or cut off once their deadline passes, whatever stage they stall in', async () => {
    const stalls: [string, (s: net.Socket) => void][] = [
      ['nothing sent at all', () => undefined],
      ['headers never finished', (s) => s.write('GET /cluster HTTP/1.1\r\nHost: x\r\n')],
      ['a request line never finished', (s) => s.write('GET /clus')],
      [
        'headers dripping a byte at a time',
        (s) => {
          const text = 'GET /cluster HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
          let i = 0;
          const t = setInterval(() => {
            if (s.destroyed || i >= text.length) clearInterval(t);
            else s.write(text[i++]!);
          }, 40);
          s.once('close', () => clearInterval(t));
        },
      ],
      [
        'a body that stops arriving',
        (s) => s.write('PUT /custom-data/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'),
      ],
      [
        'a JSON body that stops arriving',
        (s) =>
          s.write(
            'POST /join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"node":',
          ),
      ],
      [
        'a chunked body that never ends',
        (s) => s.write('PUT /custom-data/slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'),
      ],
    ];
    const shortenedBefore = scheduler.shortened;
    const results = await Promise.all(stalls.map(async ([what, write]) => ({ what, r: await raw(write) })));
    for (const { what, r } of results) {
      expect(r.closedByNode, what).toBe(true);
      const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      const last = statuses[statuses.length - 1];
      // Either a 408 (the request was under way) or a plain close (nothing that looked like a request yet).
      if (last !== undefined) expect(last, what).toBe(408);
    }
    // The body deadlines ran on the shortened timer (else this test measured nothing but the 10 s default). A
    // kept-alive connection stalling in its next request is cut off too, after the 5 s keep-alive allowance
    // (test/http/limits.test.ts covers it with short timeouts).
    expect(scheduler.shortened).toBeGreaterThan(shortenedBefore);
    expect(await fingerprint()).toBe(before);
  });
});

describe('after all of it', () => {
  it('the node still serves reads and writes', async () => {
    const health = await send('GET', '/health');
    expect(health.status).toBe(200);
    expect(await fingerprint()).toBe(before);
    const put = await send('PUT', '/custom-data/after-fuzz', { body: 'ok', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(201);
    await until(() => ck.getCustomData('after-fuzz') !== undefined, 5000, 'the write to be applied');
    expect(ck.healthCheck().live).toBe(true);
  });
});
