import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterKitError } from '../../src/errors.js';
import { HttpError, statusForCode } from '../../src/http/errors.js';
import { goDuration, goTime } from '../../src/http/format.js';
import { parseJoinRequest } from '../../src/http/handlers/membership.js';
import { contentEtag, etagMatches } from '../../src/http/reply.js';
import { Router } from '../../src/http/router.js';
import { queryBoolean, queryInteger, queryPage, resolveAddr } from '../../src/http/validate.js';

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof HttpError ? err.status : -1;
  }
}

describe('Router', () => {
  const router = new Router<string>()
    .add('GET', '/custom-data', 'list')
    .add('GET', '/custom-data/:key', 'get')
    .add('PUT', '/custom-data/:key', 'put')
    .add('GET', '/partitions/stats', 'stats')
    .add('GET', '/partitions/:id', 'partition');

  it('round-trips any parameter value through percent-encoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (key) => {
        const m = router.match('PUT', `/custom-data/${encodeURIComponent(key)}`);
        expect(m).toEqual({ kind: 'match', pattern: '/custom-data/:key', value: 'put', params: { key } });
      }),
    );
  });

  it('prefers literals, serves HEAD from GET, and reports allowed methods', () => {
    expect(router.match('GET', '/partitions/stats')).toMatchObject({ value: 'stats' });
    expect(router.match('GET', '/partitions/7')).toMatchObject({ value: 'partition', params: { id: '7' } });
    expect(router.match('HEAD', '/custom-data/x')).toMatchObject({ value: 'get' });
    expect(router.match('DELETE', '/custom-data/x')).toEqual({ kind: 'method', allow: ['GET', 'HEAD', 'PUT'] });
    expect(router.match('GET', '/custom-data/x/y')).toEqual({ kind: 'none' });
    expect(router.match('GET', '/custom-data/')).toMatchObject({ params: { key: '' } });
    expect(status(() => router.match('GET', '/custom-data/%E0%A4%A'))).toBe(400);
  });

  it('refuses duplicate routes and parameters', () => {
    expect(() => router.add('GET', '/custom-data', 'again')).toThrow(/twice/);
    expect(() => new Router().add('GET', '/a/:x/:x', 1)).toThrow(/duplicate/);
  });
});

describe('query parameters', () => {
  it('queryInteger accepts exactly the canonical decimal forms of safe non-negative integers', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(queryInteger(new URLSearchParams({ n: String(n) }), 'n')).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (raw) => {
        fc.pre(!/^(?:0|[1-9][0-9]*)$/.test(raw) || !Number.isSafeInteger(Number(raw)));
        expect(status(() => queryInteger(new URLSearchParams({ n: raw }), 'n'))).toBe(400);
      }),
    );
  });

  it('queryPage clamps the limit to [1, max] and defaults both', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(5000), { nil: undefined }),
        fc.option(fc.nat(), { nil: undefined }),
        (limit, offset) => {
          const q = new URLSearchParams();
          if (limit !== undefined) q.set('limit', String(limit));
          if (offset !== undefined) q.set('offset', String(offset));
          const page = queryPage(q, 50, 1000);
          expect(page.limit).toBe(limit === undefined ? 50 : Math.min(1000, Math.max(1, limit)));
          expect(page.offset).toBe(offset ?? 0);
        },
      ),
    );
  });

  it('queryBoolean', () => {
    expect(queryBoolean(new URLSearchParams('consistent'), 'consistent')).toBe(true);
    expect(queryBoolean(new URLSearchParams('consistent=0'), 'consistent')).toBe(false);
    expect(queryBoolean(new URLSearchParams(''), 'consistent')).toBe(false);
    expect(status(() => queryBoolean(new URLSearchParams('consistent=2'), 'consistent'))).toBe(400);
  });
});

describe('Go formats', () => {
  /** Parses what goDuration prints, back to milliseconds. */
  function parseGoDuration(s: string): number {
    if (s.endsWith('ms')) return Number(s.slice(0, -2));
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)$/.exec(s);
    if (m === null) throw new Error(`not a Go duration: ${s}`);
    return Number(m[1] ?? 0) * 3_600_000 + Number(m[2] ?? 0) * 60_000 + Math.round(Number(m[3]) * 1000);
  }

  it('goDuration prints Go Duration.String() forms that parse back to the same milliseconds', () => {
    expect(goDuration(0)).toBe('0s');
    expect(goDuration(250)).toBe('250ms');
    expect(goDuration(62_500)).toBe('1m2.5s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
    expect(goDuration(3_723_004)).toBe('1h2m3.004s');
    fc.assert(
      fc.property(fc.nat(10 * 24 * 3_600_000), (ms) => {
        expect(parseGoDuration(goDuration(ms))).toBe(ms);
      }),
    );
  });

  it('goTime renders RFC 3339, and unknown times as the Go zero time', () => {
    expect(goTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(goTime(null)).toBe('0001-01-01T00:00:00Z');
    expect(goTime(Number.NaN)).toBe('0001-01-01T00:00:00Z');
    expect(goTime(1e20)).toBe('0001-01-01T00:00:00Z');
  });
});

describe('entity tags', () => {
  it('match by weak comparison within lists, and "*"', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.stringMatching(/^"[a-z0-9]{1,8}"$/)), fc.boolean(), (body, others, weak) => {
        const tag = contentEtag('t1', body);
        const list = [...others, weak ? `W/${tag}` : tag].join(', ');
        expect(etagMatches(list, tag)).toBe(true);
        expect(etagMatches(others.join(', '), tag)).toBe(false);
      }),
    );
    expect(etagMatches('*', '"x"')).toBe(true);
    expect(etagMatches(undefined, '"x"')).toBe(false);
  });

  it('differ when the body differs', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(contentEtag('p', a)).not.toBe(contentEtag('p', b));
      }),
    );
  });
});

describe('addresses and join requests', () => {
  it('resolveAddr keeps host:port, fills a Go ":port" from the source address, refuses the rest', () => {
    expect(resolveAddr('h:1', 'a', undefined)).toBe('h:1');
    expect(resolveAddr(':8080', 'a', '::ffff:10.1.2.3')).toBe('10.1.2.3:8080');
    expect(resolveAddr(':8080', 'a', '::1')).toBe('[::1]:8080');
    expect(resolveAddr('[fe80::1]:9', 'a', undefined)).toBe('[fe80::1]:9');
    for (const bad of ['h', 'h:0', 'h:65536', 'h:08', 'a b:1', ':x', 'h:1:2']) {
      expect(
        status(() => resolveAddr(bad, 'a', '127.0.0.1')),
        bad,
      ).toBe(400);
    }
    expect(status(() => resolveAddr(':80', 'a', undefined))).toBe(400);
  });

  it('parseJoinRequest maps the Go request and ours to JoinRequest', () => {
    const go = parseJoinRequest(
      {
        node: { id: 'node-2', name: 'Server-2', ip: ':8082', port: 0, status: 'active', services: { kv: ':9082' } },
        raft_addr: '127.0.0.1:10002',
      },
      '127.0.0.1',
    );
    expect(go).toEqual({
      node: {
        id: 'node-2',
        name: 'Server-2',
        httpAddr: '127.0.0.1:8082',
        raftAddr: '127.0.0.1:10002',
        services: { kv: ':9082' },
      },
      remoteAddress: '127.0.0.1',
    });
    const ours = parseJoinRequest(
      {
        node: { id: 'n', http_addr: 'h:1', zone: 'z', weight: 2, incarnation: 'abc' },
        cluster_id: 'c',
        partition_count: 16,
        replication_factor: 3,
      },
      undefined,
    );
    expect(ours).toEqual({
      node: { id: 'n', name: 'n', httpAddr: 'h:1', raftAddr: 'h:1', zone: 'z', weight: 2, incarnation: 'abc' },
      clusterId: 'c',
      partitionCount: 16,
      replicationFactor: 3,
      remoteAddress: undefined,
    });
  });

  it('a "__proto__" service name stays a service, not a prototype', () => {
    const r = parseJoinRequest(JSON.parse('{"node":{"id":"n","ip":"h:1","services":{"__proto__":"h:2"}}}'), undefined);
    expect(Object.getPrototypeOf(r.node.services)).toBe(Object.prototype);
    expect(Object.keys(r.node.services!)).toEqual(['__proto__']);
  });
});

describe('error mapping', () => {
  it('HttpError is not confused with other ClusterKitErrors', () => {
    expect(new ClusterKitError('ERR_CONFLICT', 'x') instanceof HttpError).toBe(false);
    expect(new HttpError(413, 'ERR_PAYLOAD_TOO_LARGE', 'x') instanceof ClusterKitError).toBe(true);
    expect(new HttpError(413, 'ERR_PAYLOAD_TOO_LARGE', 'x').code).toBe('ERR_INVALID_ARGUMENT');
  });

  it('statusForCode', () => {
    expect(statusForCode('ERR_INVALID_ARGUMENT')).toBe(400);
    expect(statusForCode('ERR_MEMBERSHIP')).toBe(409);
    expect(statusForCode('ERR_SHUTTING_DOWN')).toBe(503);
    expect(statusForCode('ERR_STORAGE_CORRUPT')).toBe(500);
  });
});
