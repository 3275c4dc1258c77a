/**
 * The CLI's HTTP client against real local servers (127.0.0.1, port 0): the token header, redirects to the leader
 * with method and body kept, the Go original's redirect without Location, retries of 503, the deadline, and TLS
 * with a CA and a client certificate (certificates made with openssl at test time; skipped without openssl).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeClient, RequestError } from '../../src/cli/client.js';
import { ExitCode, exitCodeFor } from '../../src/cli/command.js';
import { hasOpenssl, makeCertificates } from './helpers.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const servers: (http.Server | https.Server)[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

function wrap(handler: Handler) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  };
}

async function listen(server: http.Server | https.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function serve(handler: Handler): Promise<string> {
  return listen(http.createServer(wrap(handler)));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function client(addr: string, extra: Partial<ConstructorParameters<typeof NodeClient>[0]> = {}): NodeClient {
  return new NodeClient({ base: new URL(`http://${addr}`), timeoutMs: 5000, ...extra });
}

async function failure(p: Promise<unknown>): Promise<RequestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    return err as RequestError;
  }
  throw new Error('the request succeeded');
}

describe('CLI HTTP client', () => {
  it('sends the bearer token and reads JSON', async () => {
    const seen: (string | undefined)[] = [];
    const addr = await serve((req, _body, res) => {
      seen.push(req.headers.authorization);
      json(res, 200, { ok: true, path: req.url });
    });
    expect(await client(addr, { token: 's3cret' }).getJson('/cluster?x=1')).toEqual({ ok: true, path: '/cluster?x=1' });
    expect(await client(addr).getJson('/health')).toEqual({ ok: true, path: '/health' });
    expect(seen).toEqual(['Bearer s3cret', undefined]);
  });

  it('follows 307 to the leader, keeping the method, body and token', async () => {
    const leaderSaw: { method?: string; body?: string; auth?: string | undefined; url?: string } = {};
    const leader = await serve((req, body, res) => {
      Object.assign(leaderSaw, {
        method: req.method,
        body: body.toString(),
        auth: req.headers.authorization,
        url: req.url,
      });
      json(res, 201, { success: true, data: { revision: 7, created: true } });
    });
    const follower = await serve((req, _body, res) => {
      json(res, 307, { error: { code: 'ERR_NOT_LEADER' } }, { Location: `http://${leader}${req.url}` });
    });
    const res = await client(follower, { token: 't' }).request('PUT', '/custom-data/k%2Fx', {
      body: Buffer.from('value'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(res.status).toBe(201);
    expect(leaderSaw).toEqual({ method: 'PUT', body: 'value', auth: 'Bearer t', url: '/custom-data/k%2Fx' });
  });

  it("follows the Go original's redirect (no Location, leader_ip in the body)", async () => {
    const leader = await serve((req, _body, res) => json(res, 200, { at: 'leader', url: req.url }));
    const follower = await serve((_req, _body, res) => json(res, 307, { error: 'not the leader', leader_ip: leader }));
    expect(await client(follower).sendJson('POST', '/rebalance', { reason: 'r' })).toEqual({
      at: 'leader',
      url: '/rebalance',
    });
  });

  it('gives up on a redirect loop with a clear error', async () => {
    let self = '';
    self = await serve((req, _body, res) => json(res, 307, {}, { Location: `http://${self}${req.url}` }));
    const err = await failure(client(self, { maxRedirects: 3 }).getJson('/x'));
    expect(err.status).toBe(307);
    expect(exitCodeFor(err)).toBe(ExitCode.Failure);
  });

  it('retries a 503 with Retry-After (no leader for a moment), then succeeds', async () => {
    let calls = 0;
    const addr = await serve((_req, _body, res) => {
      calls++;
      if (calls < 3)
        json(res, 503, { error: { code: 'ERR_UNAVAILABLE', message: 'no leader' } }, { 'Retry-After': '0' });
      else json(res, 200, { ok: true });
    });
    expect(await client(addr).getJson('/cluster')).toEqual({ ok: true });
    expect(calls).toBe(3);
  });

  it('reports a lasting 503 with the node message', async () => {
    const addr = await serve((_req, _body, res) =>
      json(res, 503, { error: { code: 'ERR_UNAVAILABLE', message: 'no leader elected' } }, { 'Retry-After': '0' }),
    );
    const err = await failure(client(addr, { maxRetries: 2 }).getJson('/consensus/leader'));
    expect(err.message).toBe('no leader elected');
    expect(err.wireCode).toBe('ERR_UNAVAILABLE');
    expect(exitCodeFor(err)).toBe(ExitCode.Failure);
  });

  it('gives up at the deadline when the node never answers (exit code 3)', async () => {
    const addr = await serve(() => undefined); // accepts, never answers
    const started = Date.now();
    const err = await failure(client(addr, { timeoutMs: 300 }).getJson('/cluster'));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.message).toMatch(/did not answer in time/);
    expect(exitCodeFor(err)).toBe(ExitCode.Unreachable);
  });

  it('reports a closed port as unreachable (exit code 3)', async () => {
    const addr = await serve(() => undefined);
    const closed = servers.pop()!;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(client(addr).getJson('/cluster'));
    expect(err.message).toBe(`node unreachable at ${addr}: connection refused`);
    expect(exitCodeFor(err)).toBe(ExitCode.Unreachable);
  });

  it('reports an answer that is not JSON', async () => {
    const addr = await serve((_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>');
    });
    const err = await failure(client(addr).getJson('/cluster'));
    expect(err.message).toMatch(/not JSON/);
    expect(exitCodeFor(err)).toBe(ExitCode.Failure);
  });
});

describe.skipIf(!hasOpenssl())('CLI HTTP client over TLS', () => {
  it('verifies the node with --ca, presents a client certificate, and never follows a redirect to plain http', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-cli-tls-'));
    try {
      makeCertificates(dir, ['server', 'client']);
      const read = (f: string): Buffer => readFileSync(join(dir, f));
      const seen: { cn: string | undefined; auth: string | undefined; path: string }[] = [];
      let addr = '';
      const server = https.createServer(
        {
          key: read('server.key'),
          cert: read('server.pem'),
          ca: read('ca.pem'),
          requestCert: true,
          rejectUnauthorized: true,
        },
        wrap((req, _body, res) => {
          // An https server's sockets are TLS sockets; only the peer certificate's name is needed here.
          const socket = req.socket as unknown as { getPeerCertificate(): { subject?: { CN?: string } } };
          const cert = socket.getPeerCertificate();
          seen.push({ cn: cert.subject?.CN, auth: req.headers.authorization, path: req.url ?? '' });
          // The node's redirect says http:// (a misconfigured scheme): the client must stay on https.
          if (req.url === '/write') json(res, 307, {}, { Location: `http://${addr}/leader-write` });
          else json(res, 200, { ok: true });
        }),
      );
      addr = await listen(server);
      const tls = { ca: read('ca.pem'), cert: read('client.pem'), key: read('client.key') };
      const c = new NodeClient({ base: new URL(`https://${addr}`), timeoutMs: 5000, token: 'tok', tls });
      expect(await c.getJson('/cluster')).toEqual({ ok: true });
      expect(await c.sendJson('PUT', '/write', { v: 1 })).toEqual({ ok: true });
      expect(seen).toEqual([
        { cn: 'client', auth: 'Bearer tok', path: '/cluster' },
        { cn: 'client', auth: 'Bearer tok', path: '/write' },
        { cn: 'client', auth: 'Bearer tok', path: '/leader-write' },
      ]);
      // Without the CA, the self-made certificate is refused: a TLS failure, exit code 3.
      const untrusted = new NodeClient({ base: new URL(`https://${addr}`), timeoutMs: 5000 });
      const err = await failure(untrusted.getJson('/cluster'));
      expect(err.message).toMatch(/^TLS with 127\.0\.0\.1:[0-9]+ failed: .*check --ca/);
      expect(exitCodeFor(err)).toBe(ExitCode.Unreachable);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
