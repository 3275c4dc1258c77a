/**
 * The pure parts of security: secrets that never print, tokens, signed node requests (replay, staleness,
 * tampering), the access matrix, id-takeover rules, rate limits and option validation.
 */
import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JoinCoordinator, type JoinHost } from '../../src/cluster/join.js';
import { resolveOptions } from '../../src/cluster/options.js';
import type { NodeRecord } from '../../src/cluster/state/index.js';
import type { Access, JoinRequest } from '../../src/http/api.js';
import { HttpError } from '../../src/http/errors.js';
import { HttpAuth, SIGNATURE_HEADERS, signRequest } from '../../src/security/http-auth.js';
import { isLoopbackHost, NodeSecurity } from '../../src/security/node-security.js';
import { resolveSecurity, type SecurityOptions } from '../../src/security/options.js';
import { RateLimiter } from '../../src/security/rate-limit.js';
import { ClusterSecret, mac, TokenSet } from '../../src/security/secret.js';
import { silentLogger } from '../../src/util/logger.js';

const SECRET = 'the cluster secret, 32 bytes !!!';
const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef00';

describe('secrets never print', () => {
  it('a ClusterSecret and resolved options show [redacted], and validation errors never quote a secret', () => {
    const s = ClusterSecret.fromString(SECRET);
    for (const text of [JSON.stringify({ s }), String(s), [s].join(''), inspect(s), inspect({ s }, { depth: 9 })]) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('[redacted]');
    }
    const o = resolveOptions({ nodeId: 'n', httpAddr: '127.0.0.1:0', clusterSecret: SECRET, adminToken: ADMIN });
    for (const text of [inspect(o, { depth: 20, showHidden: true }), JSON.stringify(o)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(ADMIN);
    }
    const attempts: SecurityOptions[] = [
      { clusterSecret: 'short-secret' },
      { clusterSecret: ` ${SECRET}` },
      { adminToken: ['tiny-token'] },
      { readToken: 'x'.repeat(5000) },
    ];
    for (const a of attempts) {
      let message = '';
      try {
        resolveSecurity(a);
      } catch (err) {
        message = (err as Error).message;
        expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      }
      expect(message).toMatch(/not shown/);
      for (const v of Object.values(a).flat()) expect(message).not.toContain(String(v).trim());
    }
  });

  it('tokens match only themselves; mac keeps part boundaries', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 2, maxLength: 6 }), (tokens) => {
        const set = new TokenSet(tokens.slice(1));
        expect(set.has(tokens[0]!)).toBe(false);
        for (const t of tokens.slice(1)) expect(set.has(t)).toBe(true);
      }),
    );
    const k = Buffer.alloc(32, 1);
    expect(mac(k, 'ab', 'c').equals(mac(k, 'a', 'bc'))).toBe(false);
  });

  it('validates the other security options', () => {
    expect(() => resolveSecurity({ tls: { certFile: 'c', keyFile: 'k', clientCerts: 'require' } })).toThrow(
      /needs tls.caFile/,
    );
    expect(() => resolveSecurity({ limits: { joinRate: { perSecond: 0, burst: 1 } } })).toThrow(/perSecond/);
    expect(() => resolveSecurity({ limits: { maxConnections: 0 } })).toThrow(/maxConnections/);
    expect(() => resolveOptions({ nodeId: 'n', httpAddr: ':1', limits: { bogus: 1 } as never })).toThrow(/bogus/);
    expect(resolveSecurity({ limits: { adminRate: false } }).limits.adminRate).toBe(false);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost(undefined)).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });
});

describe('rate limits', () => {
  it('never let through more than burst + rate × elapsed, and a refusal says how long to wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
        (perSecond, burst, gaps) => {
          let now = 0;
          const limiter = new RateLimiter({ perSecond, burst, clock: { now: () => now } });
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            const wait = limiter.take('ip');
            if (wait === 0) allowed++;
            else {
              expect(wait).toBeGreaterThan(0);
              expect(wait).toBeLessThanOrEqual(Math.ceil(1000 / perSecond));
            }
            expect(allowed).toBeLessThanOrEqual(burst + (perSecond * now) / 1000 + 1e-6);
          }
          // Waiting what it said is enough.
          const wait = limiter.take('ip');
          now += wait;
          if (wait > 0) expect(limiter.take('ip')).toBe(0);
        },
      ),
    );
  });

  it('gives the token to a client that waited exactly the time it was told (rounding, CI seed -291985502)', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 6, burst: 2, clock: { now: () => now } });
    for (const gap of [0, 125, 194, 37]) {
      now += gap;
      limiter.take('ip');
    }
    const wait = limiter.take('ip');
    expect(wait).toBeGreaterThan(0);
    now += wait;
    expect(limiter.take('ip')).toBe(0);
  });

  it('keeps at most maxKeys clients', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, clock: { now: () => 0 }, maxKeys: 3 });
    for (let i = 0; i < 10; i++) limiter.take(`ip${i}`);
    expect(limiter.size).toBe(3);
  });
});

// --- HTTP access ------------------------------------------------------------------------------------------------

interface FakeReq {
  method: string;
  url: string;
  headers: Record<string, string>;
  socket: { remoteAddress: string };
}

function req(method: string, url: string, headers: Record<string, string> = {}, ip = '10.0.0.1'): IncomingMessage {
  const r: FakeReq = { method, url, headers, socket: { remoteAddress: ip } };
  return r as unknown as IncomingMessage;
}

function auth(options: SecurityOptions, now: () => number = () => 1_000_000, members: string[] = []): HttpAuth {
  return new HttpAuth({
    security: resolveSecurity({ limits: { joinRate: false, adminRate: false }, ...options }),
    clock: { now },
    wallClock: now,
    isMember: (id) => members.includes(id),
    logger: silentLogger,
  });
}

/** The decision, or the status of the HttpError thrown. */
function decide(a: HttpAuth, r: IncomingMessage, access: Access): string | number {
  try {
    return a.authorize(r, access);
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

const signed = (nodeId: string, body: string, overrides: Partial<{ secret: string; now: number; url: string }> = {}) =>
  signRequest(
    ClusterSecret.fromString(overrides.secret ?? SECRET),
    nodeId,
    'POST',
    overrides.url ?? '/join',
    Buffer.from(body),
    'ab'.repeat(16),
    overrides.now ?? 1_000_000,
  );

describe('HTTP access levels', () => {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('follows the access matrix', () => {
    const open = auth({});
    const tokens = auth({ adminToken: ADMIN, readToken: READ });
    const secured = auth({ clusterSecret: SECRET, adminToken: ADMIN });
    const rows: [HttpAuth, Record<string, string>, Access, string | number][] = [
      [open, {}, 'public', 'allow'],
      [open, {}, 'read', 'allow'],
      [open, {}, 'admin', 'allow'],
      [open, {}, 'peer', 'allow'],
      [tokens, {}, 'public', 'allow'],
      [tokens, {}, 'read', 'unauthenticated'],
      [tokens, bearer(READ), 'read', 'allow'],
      [tokens, bearer(READ), 'admin', 'forbidden'],
      [tokens, bearer(ADMIN), 'admin', 'allow'],
      [tokens, bearer(ADMIN), 'read', 'allow'],
      [tokens, bearer('not-a-token-at-all'), 'read', 401],
      [tokens, { authorization: 'Basic dXNlcjpwYXNz' }, 'read', 401],
      [tokens, {}, 'peer', 'allow'], // membership is not authenticated without a secret or client certificates
      [secured, {}, 'read', 'allow'],
      [secured, {}, 'admin', 'unauthenticated'],
      [secured, {}, 'peer', 'unauthenticated'],
      [secured, bearer(ADMIN), 'peer', 'allow'],
      [secured, signed('n2', '{}'), 'peer', 'allow'],
      [secured, signed('n2', '{}', { url: '/rebalance' }), 'admin', 401], // signed for another path
    ];
    for (const [a, headers, access, want] of rows) {
      expect([access, headers, decide(a, req('POST', '/join', headers), access)]).toEqual([access, headers, want]);
    }
  });

  it('accepts requests signed with any secret of a rotation, and signs with the first', () => {
    const NEW = 'the next secret, 32 characters!!';
    const by = (secret: string, nonce: string) =>
      signRequest(ClusterSecret.fromString(secret), 'n2', 'POST', '/join', Buffer.from('{}'), nonce, 1_000_000);
    const rotating = auth({ clusterSecret: [NEW, SECRET] });
    expect(decide(rotating, req('POST', '/join', by(SECRET, 'ab'.repeat(16))), 'peer')).toBe('allow'); // old
    const byNew = by(NEW, 'cd'.repeat(16));
    expect(decide(rotating, req('POST', '/join', byNew), 'peer')).toBe('allow'); // new
    expect(decide(auth({ clusterSecret: SECRET }), req('POST', '/join', byNew), 'peer')).toBe(401); // old only
    const third = by('a third secret of 32 characters!', 'ef'.repeat(16));
    expect(decide(rotating, req('POST', '/join', third), 'peer')).toBe(401);
    // What a node with [NEW, SECRET] signs is what NEW alone signs.
    const both = ClusterSecret.fromStrings(NEW, SECRET);
    expect(both.key('http-node').equals(ClusterSecret.fromString(NEW).key('http-node'))).toBe(true);
    expect(() => resolveSecurity({ clusterSecret: [] })).toThrow(/list of 1 to 8/);
    expect(() => resolveSecurity({ clusterSecret: [NEW, NEW] })).toThrow(/twice/);
    expect(() => resolveSecurity({ clusterSecret: [NEW, 'short'] })).toThrow(/clusterSecret\[1\]/);
  });

  it('refuses stale, future, replayed, tampered and foreign signatures, and bodies that do not match', () => {
    let now = 1_000_000;
    const a = auth({ clusterSecret: SECRET }, () => now);
    const body = JSON.stringify({ node: { id: 'n2' } });
    const ok = req('POST', '/join', signed('n2', body));
    expect(decide(a, ok, 'peer')).toBe('allow');
    expect(() => a.inspectBody(ok, { method: 'POST', path: '/join' }, Buffer.from(body))).not.toThrow();
    expect(decide(a, req('POST', '/join', signed('n2', body)), 'peer')).toBe(401); // the same nonce again
    const fresh = (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADERS.nonce]: 'cd'.repeat(16) });
    now = 1_000_000 + 121_000;
    expect(decide(a, req('POST', '/join', fresh(signed('n2', body))), 'peer')).toBe(401); // stale
    now = 1_000_000 - 121_000;
    expect(decide(a, req('POST', '/join', fresh(signed('n2', body))), 'peer')).toBe(401); // from the future
    now = 1_000_000;
    expect(
      decide(a, req('POST', '/join', signed('n2', body, { secret: 'another secret, 32 bytes long!!' })), 'peer'),
    ).toBe(401);
    const renamed = { ...fresh(signed('n2', body)), [SIGNATURE_HEADERS.node]: 'n3' };
    expect(decide(a, req('POST', '/join', renamed), 'peer')).toBe(401);
    const other = req('POST', '/join', { ...signed('n2', body), [SIGNATURE_HEADERS.nonce]: 'ef'.repeat(16) });
    expect(decide(a, other, 'peer')).toBe(401); // the nonce is signed too
    const swap = req(
      'POST',
      '/join',
      signRequest(ClusterSecret.fromString(SECRET), 'n2', 'POST', '/join', Buffer.from(body), '03'.repeat(16), now),
    );
    expect(decide(a, swap, 'peer')).toBe('allow');
    expect(() =>
      a.inspectBody(swap, { method: 'POST', path: '/join' }, Buffer.from('{"node":{"id":"n2"},"x":1}')),
    ).toThrow(/does not match its signature/);
  });

  it('lets a node join only as itself, and an admin token never under a member id', () => {
    const a = auth({ clusterSecret: SECRET, adminToken: ADMIN }, undefined, ['n1', 'n2']);
    const join = (headers: Record<string, string>, body: string): string | number => {
      const r = req('POST', '/join', headers);
      const d = decide(a, r, 'peer');
      if (d !== 'allow') return d;
      try {
        a.inspectBody(r, { method: 'POST', path: '/join' }, Buffer.from(body));
        return 'allow';
      } catch (err) {
        return (err as HttpError).status;
      }
    };
    const as = (id: string) => JSON.stringify({ node: { id } });
    expect(join(signed('n2', as('n2')), as('n2'))).toBe('allow');
    expect(join({ ...signed('n3', as('n2')), [SIGNATURE_HEADERS.nonce]: '01'.repeat(16) }, as('n2'))).toBe(401);
    const n3 = signRequest(
      ClusterSecret.fromString(SECRET),
      'n3',
      'POST',
      '/join',
      Buffer.from(as('n2')),
      '02'.repeat(16),
      1_000_000,
    );
    expect(join(n3, as('n2'))).toBe(403); // n3 claiming n2's id
    expect(join({ authorization: `Bearer ${ADMIN}` }, as('n2'))).toBe(403); // a member's id
    expect(join({ authorization: `Bearer ${ADMIN}` }, as('n9'))).toBe('allow'); // a new node
  });

  it('answers 429 with Retry-After once a client address is over its rate, before checking credentials', () => {
    const now = 0;
    const a = new HttpAuth({
      security: resolveSecurity({ clusterSecret: SECRET, limits: { joinRate: { perSecond: 1, burst: 2 } } }),
      clock: { now: () => now },
      wallClock: () => 1_000_000,
      isMember: () => false,
    });
    const statuses = [1, 2, 3].map(() => decide(a, req('POST', '/join', {}, '10.9.9.9'), 'peer'));
    expect(statuses).toEqual(['unauthenticated', 'unauthenticated', 429]);
    expect(decide(a, req('POST', '/join', {}, '10.9.9.8'), 'peer')).toBe('unauthenticated'); // another client
    let err: unknown;
    try {
      a.authorize(req('POST', '/join', {}, '10.9.9.9'), 'peer');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 429, wireCode: 'ERR_RATE_LIMITED', headers: { 'Retry-After': '1' } });
    expect(decide(a, req('GET', '/health', {}, '10.9.9.9'), 'public')).toBe('allow'); // probes are never limited
  });
});

// --- id takeover in an open cluster -------------------------------------------------------------------------------

describe('JoinCoordinator without credentials', () => {
  const present = {
    id: 'n2',
    name: 'n2',
    httpAddr: '10.0.0.2:8080',
    raftAddr: '10.0.0.2:8080',
    incarnation: 'aaaa.1',
    weight: 1,
    services: {},
  } as unknown as NodeRecord;

  function coordinator(reachable: boolean, authenticatedJoins: boolean): { c: JoinCoordinator; proposed: string[] } {
    const proposed: string[] = [];
    const host = {
      state: {
        bootstrapped: true,
        config: undefined,
        clusterId: 'cid',
        nodeCount: 2,
        table: undefined,
        node: (id: string) => (id === 'n2' ? present : undefined),
      },
      propose: (c: { type: string }) => {
        proposed.push(c.type);
        return Promise.resolve({ ok: true, index: 1, join: 'rejoin' });
      },
      ensureRaftMember: () => Promise.resolve(),
      isLeader: () => true,
      redirect: () => ({ kind: 'redirect', leader: null }),
      isReachable: () => reachable,
      lastSeenBeforeOutage: () => 0,
      pendingJoins: new Set<string>(),
      authenticatedJoins,
      wallClock: () => 1,
      logger: silentLogger,
    } as unknown as JoinHost;
    return { c: new JoinCoordinator(host), proposed };
  }

  const restart = (addr: string): JoinRequest => ({
    node: { id: 'n2', name: 'n2', httpAddr: addr, raftAddr: addr, incarnation: 'aaaa.2' },
    remoteAddress: addr.split(':')[0],
  });

  it('believes a restart claim from another address only once the member stops answering', async () => {
    const live = coordinator(true, false);
    await expect(live.c.handle(restart('10.6.6.6:8080'))).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
      message: expect.stringMatching(/belongs to a live member/),
    });
    expect(live.proposed).toEqual([]);
    // From the member's own address, or once it is silent, or with credentials: a restart.
    for (const [c, addr] of [
      [coordinator(true, false), '10.0.0.2:8080'],
      [coordinator(false, false), '10.6.6.6:8080'],
      [coordinator(true, true), '10.6.6.6:8080'],
    ] as const) {
      await expect(c.c.handle(restart(addr))).resolves.toMatchObject({ kind: 'joined' });
      expect(c.proposed[0]).toBe('nodeLeave');
    }
  });
});

describe('warnings at start', () => {
  const ctx = (listenHost: string | undefined) => ({
    nodeId: 'n1',
    clusterName: 'c',
    listenHost,
    logger: silentLogger,
    clock: { now: () => 0 },
    scheduler: { setTimeout: () => ({ cancel: () => undefined }) },
    wallClock: () => 0,
  });

  it('hand the HTTP server its timeouts and limits, including the body timeout', () => {
    const limits = { headersTimeoutMs: 1234, requestTimeoutMs: 5678, bodyTimeoutMs: 250, maxJsonBytes: 999 };
    const http = new NodeSecurity(resolveSecurity({ limits }), ctx('127.0.0.1')).httpOptions(() => false);
    expect(http).toMatchObject(limits);
    expect(new NodeSecurity(resolveSecurity({}), ctx('127.0.0.1')).httpOptions(() => false).bodyTimeoutMs).toBe(10_000);
    expect(() => resolveSecurity({ limits: { bodyTimeoutMs: 0 } })).toThrow(/bodyTimeoutMs/);
  });

  it('are loud on a non-loopback address without a secret, quiet on loopback or when secured with TLS', () => {
    const open = new NodeSecurity(resolveSecurity({}), ctx(undefined)).warnings('0.0.0.0:8080');
    expect(open).toHaveLength(2);
    expect(open[0]).toMatch(/without a cluster secret.*anyone who can reach this port can join/);
    expect(open[0]).toMatch(/admin endpoints/);
    expect(open[1]).toMatch(/without TLS/);
    expect(new NodeSecurity(resolveSecurity({}), ctx('127.0.0.1')).warnings('127.0.0.1:8080')).toEqual([]);
    const secretOnly = new NodeSecurity(resolveSecurity({ clusterSecret: SECRET }), ctx('10.1.2.3'));
    expect(secretOnly.warnings('10.1.2.3:8080')).toEqual([expect.stringMatching(/without TLS/)]);
    const full = resolveSecurity({ clusterSecret: SECRET, tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
    expect(new NodeSecurity(full, ctx('10.1.2.3')).warnings('10.1.2.3:8080')).toEqual([]);
  });
});
