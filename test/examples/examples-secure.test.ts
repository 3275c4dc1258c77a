/**
 * Security in the other examples: the environment every example node reads (examples/kv/secure.ts) and what it
 * becomes; the custom-data scenario on a secure cluster (both ports HTTPS, GET /cluster with the read token); and
 * `npm start -- --secure`, the main job on a secure cluster, end to end with its cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runFlagsScenario } from '../../examples/custom-data/scenario.js';
import { LocalCredentials } from '../../examples/kv/credentials.js';
import { createAppServer, securityFromEnv } from '../../examples/kv/secure.js';
import { parseOptions } from '../../examples/local-cluster/args.js';
import { InvalidArgumentError } from '../../src/index.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('the security environment of an example node', () => {
  let dir: string;
  let creds: LocalCredentials;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ck-secure-env-'));
    creds = new LocalCredentials(join(dir, 'pki'), ['node-1']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Only the headers and the socket's `authorized` flag are looked at.
  const request = (authorization?: string, authorized = false): IncomingMessage =>
    ({
      headers: authorization === undefined ? {} : { authorization },
      socket: { authorized },
    }) as unknown as IncomingMessage;

  it('nothing set: no options, plain HTTP, node-to-node endpoints open', () => {
    const s = securityFromEnv({});
    expect(s).toMatchObject({ clusterkit: {}, serverTls: undefined, peer: {}, enabled: false });
    expect(s.isPeerRequest(request())).toBe(true);
  });

  it('maps every variable to the ClusterKit options, and the first admin token to what the node sends', () => {
    const env = {
      ...creds.nodeEnv('node-1'),
      TLS_CLIENT_CERTS: 'require',
      TLS_VERIFY_HOSTNAME: 'false',
      TLS_WATCH_INTERVAL: '2s',
      ADMIN_TOKEN: `${'a'.repeat(20)}, ${'b'.repeat(20)}`,
    };
    const s = securityFromEnv(env);
    expect(s.clusterkit).toEqual({
      clusterSecret: creds.clusterSecret,
      tls: {
        certFile: creds.certFile('node-1'),
        keyFile: creds.keyFile('node-1'),
        caFile: creds.caFile,
        clientCerts: 'require',
        verifyHostname: false,
        watchIntervalMs: 2000,
      },
      adminToken: ['a'.repeat(20), 'b'.repeat(20)],
      readToken: [creds.readToken],
    });
    expect(s.enabled).toBe(true);
    expect(s.serverTls).toEqual({
      certFile: creds.certFile('node-1'),
      keyFile: creds.keyFile('node-1'),
      caFile: creds.caFile,
      clientCerts: 'require',
    });
    // Peers are called with the CA, this node's certificate as client certificate, and the first admin token.
    expect(s.peer.token).toBe('a'.repeat(20));
    expect(s.peer.tls?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(s.peer.tls?.cert?.toString()).toContain('BEGIN CERTIFICATE');
    expect(s.peer.tls?.key?.toString()).toContain('PRIVATE KEY');
    expect(s.peer.tls?.verifyHostname).toBe(false);
    // Either admin token opens the node-to-node endpoints; a read token, another token or none do not.
    expect(s.isPeerRequest(request(`Bearer ${'b'.repeat(20)}`))).toBe(true);
    expect(s.isPeerRequest(request(`Bearer ${'a'.repeat(20)}`))).toBe(true);
    expect(s.isPeerRequest(request(`Bearer ${creds.readToken}`))).toBe(false);
    expect(s.isPeerRequest(request(`Bearer ${'a'.repeat(21)}`))).toBe(false);
    expect(s.isPeerRequest(request())).toBe(false);
    // A certificate the TLS layer verified against the CA is as good as the token.
    expect(s.isPeerRequest(request(undefined, true))).toBe(true);
    // The application port serves HTTPS.
    const server = createAppServer(s.serverTls, () => undefined);
    expect(server).toBeInstanceOf(HttpsServer);
    server.close();
    expect(createAppServer(undefined, () => undefined)).not.toBeInstanceOf(HttpsServer);
  });

  it('refuses incomplete or malformed settings, naming the variable and never a secret', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TLS_CERT: creds.certFile('node-1') }, /TLS_CERT and TLS_KEY/],
      [{ TLS_CA: creds.caFile }, /TLS_CERT and TLS_KEY/],
      [{ ...creds.nodeEnv('node-1'), TLS_CLIENT_CERTS: 'sometimes' }, /TLS_CLIENT_CERTS/],
      [{ ...creds.nodeEnv('node-1'), TLS_CA: '', TLS_CLIENT_CERTS: 'request' }, /needs TLS_CA/],
      [{ ...creds.nodeEnv('node-1'), TLS_VERIFY_HOSTNAME: 'maybe' }, /TLS_VERIFY_HOSTNAME/],
      [{ ...creds.nodeEnv('node-1'), TLS_WATCH_INTERVAL: 'soon' }, /TLS_WATCH_INTERVAL/],
      [{ ...creds.nodeEnv('node-1'), TLS_KEY: join(dir, 'missing.key') }, /TLS_KEY: cannot read .*ENOENT/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        securityFromEnv(env);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(Object.keys(env))).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(creds.clusterSecret);
      expect((error as Error).message).not.toContain(creds.adminToken);
    }
  });
});

describe('custom-data on a secure cluster (real processes)', () => {
  it('3 nodes: the whole scenario over https with a secret and tokens', async () => {
    const lines: string[] = [];
    const result = await runFlagsScenario({ nodes: 3, secure: true, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/starting 3 nodes \(secure: secret, TLS, tokens\)/);
    expect(result.checks).toBeGreaterThanOrEqual(30);
    expect(lines.at(-1)).toMatch(/PASS: \d+ checks/);
  }, 120_000);
});

describe('npm start -- --secure (real processes)', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    // A failed test must not leave a cluster behind: SIGINT makes main stop its nodes; SIGKILL if it hangs.
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.on('exit', resolve));
    c.kill('SIGINT');
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });

  it('parses --secure', () => {
    expect(parseOptions(['--secure'])).toMatchObject({ kind: 'run', options: { secure: true } });
    expect(parseOptions([])).toMatchObject({ kind: 'run', options: { secure: false } });
  });

  it('runs the main job over https and cleans up', async () => {
    const c = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/local-cluster/main.ts', '--secure', '--nodes', '3', '--keys', '100', '--plain'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    child = c;
    let output = '';
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (s: string) => (output += s));
    c.stderr.on('data', (s: string) => (output += s));
    const code = await new Promise<number | null>((resolve) => c.on('exit', (n) => resolve(n)));
    expect(code, output).toBe(0);
    expect(output).toMatch(/secure: a cluster secret, admin and read tokens, TLS on every port/);
    expect(output).toMatch(/node-1 ready: cluster API https:\/\/127\.0\.0\.1:\d+, KV API https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain('✔ PASS: 100/100 keys verified after a node was killed and restarted');
    const dir = /removed (\/\S*clusterkit-local-\S+)/.exec(output)?.[1];
    expect(dir, output).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  }, 150_000);
});
