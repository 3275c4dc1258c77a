import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseError, transportError } from '../../src/cli/client.js';
import { ExitCode, exitCodeFor } from '../../src/cli/command.js';
import { parseAddr, resolveConnection } from '../../src/cli/connection.js';
import { InvalidArgumentError } from '../../src/errors.js';

const files: Record<string, string> = { '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY' };
const readFile = (path: string): Buffer => {
  const content = files[path];
  if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return Buffer.from(content);
};

describe('--addr', () => {
  it('accepts host:port, :port, a bare host, IPv6 and http(s) URLs', () => {
    expect(parseAddr('10.0.0.1:9000', false).href).toBe('http://10.0.0.1:9000/');
    expect(parseAddr(':8081', false).href).toBe('http://127.0.0.1:8081/');
    expect(parseAddr('node-1', false).href).toBe('http://node-1:8080/');
    expect(parseAddr('[::1]:8080', false).href).toBe('http://[::1]:8080/');
    expect(parseAddr('https://node-1:8443/', false).href).toBe('https://node-1:8443/');
    expect(parseAddr('node-1:8443', true).protocol).toBe('https:');
    expect(parseAddr('HTTP://a:1', false).href).toBe('http://a:1/');
  });

  it('refuses what is not an address', () => {
    const refused = [
      '',
      'ftp://a:1',
      'a:1/path',
      'user@a:1',
      'a b:1',
      'http://',
      'a:99999',
      'a:port',
      '&\\:0',
      'a\\b:1',
      'a:0',
    ];
    for (const bad of refused) {
      expect(() => parseAddr(bad, false), bad).toThrow(InvalidArgumentError);
    }
  });

  it('never throws anything but InvalidArgumentError (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const url = parseAddr(s, false);
          expect(['http:', 'https:']).toContain(url.protocol);
          expect(url.pathname).toBe('/');
          // An explicit port, or the scheme's default one, which URL leaves out (`a:80` over http).
          const defaultPort = url.protocol === 'https:' ? 443 : 80;
          const named = /:([0-9]+)\/?$/.exec(s.trim())?.[1];
          if (url.port === '') expect(Number(named)).toBe(defaultPort);
          else expect(Number(url.port)).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
        }
      }),
    );
  });
});

describe('connection options', () => {
  it('defaults to 127.0.0.1:8080 over http, no token, 10 s', () => {
    const c = resolveConnection({}, {}, readFile);
    expect(c.base.href).toBe('http://127.0.0.1:8080/');
    expect(c.token).toBeUndefined();
    expect(c.tls).toBeUndefined();
    expect(c.timeoutMs).toBe(10_000);
  });

  it('reads the environment, and flags win', () => {
    const env = { CLUSTERKIT_ADDR: '10.0.0.1:8080', CLUSTERKIT_TOKEN: 'env-token' };
    const fromEnv = resolveConnection({}, env, readFile);
    expect(fromEnv.base.host).toBe('10.0.0.1:8080');
    expect(fromEnv.token).toBe('env-token');
    const fromFlags = resolveConnection({ addr: '10.0.0.2:1', token: 'flag-token', timeout: '2s' }, env, readFile);
    expect(fromFlags.base.host).toBe('10.0.0.2:1');
    expect(fromFlags.token).toBe('flag-token');
    expect(fromFlags.timeoutMs).toBe(2000);
  });

  it('turns TLS on with --tls, https:// or certificate files, and reads them', () => {
    expect(resolveConnection({ tls: true }, {}, readFile).base.protocol).toBe('https:');
    expect(resolveConnection({ addr: 'https://a:1' }, {}, readFile).tls).toEqual({});
    const mtls = resolveConnection(
      {},
      { CLUSTERKIT_CA: '/ca.pem', CLUSTERKIT_CERT: '/c.pem', CLUSTERKIT_KEY: '/k.pem' },
      readFile,
    );
    expect(mtls.base.protocol).toBe('https:');
    expect(mtls.tls?.ca?.toString()).toBe('CA');
    expect(mtls.tls?.cert?.toString()).toBe('CERT');
    expect(mtls.tls?.key?.toString()).toBe('KEY');
  });

  it('refuses contradictions and unreadable files with usage errors', () => {
    const cases: [Parameters<typeof resolveConnection>[0], Record<string, string>, RegExp][] = [
      [{ addr: 'http://a:1', tls: true }, {}, /says http/],
      [{ addr: 'http://a:1', ca: '/ca.pem' }, {}, /says http/],
      [{ cert: '/c.pem' }, {}, /needs its key/],
      [{}, { CLUSTERKIT_KEY: '/k.pem' }, /needs its key/],
      [{ ca: '/missing.pem' }, {}, /cannot read the CA file "\/missing.pem": ENOENT/],
      [{ timeout: 'soon' }, {}, /--timeout/],
      [{ token: 'a\nb' }, {}, /one line/],
    ];
    for (const [flags, env, message] of cases) {
      let caught: unknown;
      try {
        resolveConnection(flags, env, readFile);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(flags)).toBeInstanceOf(InvalidArgumentError);
      expect((caught as Error).message).toMatch(message);
      expect(exitCodeFor(caught)).toBe(ExitCode.Usage);
    }
  });
});

describe('exit codes of failed requests', () => {
  const answer = (status: number, body: unknown) => ({
    status,
    headers: {},
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });

  it('maps HTTP answers to the documented codes, with the node message', () => {
    const err = (code: string, message: string) => ({ error: { code, message } });
    const cases: [number, unknown, number, RegExp][] = [
      [404, err('ERR_NOT_FOUND', 'key not found: k'), ExitCode.NotFound, /^key not found: k$/],
      [412, err('ERR_PRECONDITION_FAILED', 'precondition failed'), ExitCode.Conflict, /precondition/],
      [409, err('ERR_CONFLICT', 'refused'), ExitCode.Conflict, /refused/],
      [400, err('ERR_INVALID_ARGUMENT', 'key too long'), ExitCode.Usage, /key too long/],
      [413, err('ERR_PAYLOAD_TOO_LARGE', 'value too large'), ExitCode.Usage, /too large/],
      [401, err('ERR_UNAUTHENTICATED', 'missing token'), ExitCode.Failure, /not authenticated: missing token.*--token/],
      [403, err('ERR_FORBIDDEN', 'read-only token'), ExitCode.Failure, /not allowed: read-only token/],
      [503, err('ERR_UNAVAILABLE', 'no leader'), ExitCode.Failure, /no leader/],
      [504, err('ERR_TIMEOUT', 'slow'), ExitCode.Failure, /slow/],
      [500, err('ERR_INTERNAL', 'internal error'), ExitCode.Failure, /internal error \(HTTP 500\)/],
      [500, 'plain text failure\nmore', ExitCode.Failure, /^plain text failure \(HTTP 500\)$/],
      [502, '', ExitCode.Failure, /HTTP 502/],
      [307, { error: 'not the leader', leader_ip: '' }, ExitCode.Failure, /not the leader/],
    ];
    for (const [status, body, code, message] of cases) {
      const e = responseError(answer(status, body));
      expect(e.status).toBe(status);
      expect(exitCodeFor(e), `${status}`).toBe(code);
      expect(e.message).toMatch(message);
    }
  });

  it('maps network failures to "unreachable" (3)', () => {
    const url = new URL('http://127.0.0.1:1/');
    const refused = transportError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), url);
    expect(refused.message).toBe('node unreachable at 127.0.0.1:1: connection refused');
    expect(exitCodeFor(refused)).toBe(ExitCode.Unreachable);
    const dns = transportError(Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }), url);
    expect(dns.message).toMatch(/unknown host/);
    const tls = transportError(
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      url,
    );
    expect(tls.message).toMatch(/^TLS with 127.0.0.1:1 failed: self-signed certificate \(check --ca/);
    expect(exitCodeFor(tls)).toBe(ExitCode.Unreachable);
    const slow = transportError(Object.assign(new Error('no answer within 5 ms'), { code: 'CK_TIMEOUT' }), url);
    expect(slow.message).toMatch(/did not answer in time/);
    expect(exitCodeFor(slow)).toBe(ExitCode.Unreachable);
  });
});
