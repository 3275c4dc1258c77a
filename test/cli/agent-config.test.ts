import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGENT_SECRETS,
  AGENT_SETTINGS,
  agentNodeOptions,
  DEFAULT_AGENT_HTTP_ADDR,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type Env,
  type Flags,
  parseAgentArgs,
  redacted,
  resolveAgentConfig,
} from '../../src/cli/agent-config.js';
import { formatDuration, parseDuration } from '../../src/cli/duration.js';
import { resolveOptions } from '../../src/cluster/options.js';
import { InvalidArgumentError } from '../../src/errors.js';

const ID: Env = { NODE_ID: 'node-1' };

function refusal(flags: Flags, env: Env): string {
  try {
    resolveAgentConfig(flags, env);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`accepted ${JSON.stringify({ flags, env })}`);
}

describe('durations', () => {
  it('reads milliseconds and Go-style durations', () => {
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m30s')).toBe(150_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1m500ms')).toBe(60_500);
    expect(parseDuration(' 2s ')).toBe(2000);
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['', 's', '1x', '-1s', '1s1s', '1 s', '1e3', 'ms1', '0x10', '1,5s', 'NaN', 'Infinity']) {
      expect(parseDuration(bad), bad).toBeUndefined();
    }
  });

  it('reads back what it formats (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it('adds up its parts in any combination of units (property)', () => {
    const part = fc.record({ n: fc.integer({ min: 0, max: 10_000 }), unit: fc.constantFrom('h', 'm', 's', 'ms') });
    fc.assert(
      fc.property(fc.uniqueArray(part, { selector: (p) => p.unit, minLength: 1, maxLength: 4 }), (parts) => {
        const factor: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
        const text = parts.map((p) => `${p.n}${p.unit}`).join('');
        expect(parseDuration(text)).toBe(parts.reduce((sum, p) => sum + p.n * factor[p.unit]!, 0));
      }),
    );
  });
});

describe('agent configuration', () => {
  it('needs a node id, and says where to give it', () => {
    expect(refusal({}, {})).toMatch(/NODE_ID is required.*--node-id/);
    expect(refusal({}, { NODE_ID: '' })).toMatch(/NODE_ID is required/);
  });

  it('fills in the defaults and leaves the rest to ClusterKit', () => {
    const c = resolveAgentConfig({}, ID);
    expect(c).toMatchObject({
      nodeId: 'node-1',
      httpAddr: DEFAULT_AGENT_HTTP_ADDR,
      joinAddr: [],
      dataDir: undefined,
      partitionCount: undefined,
      healthCheck: {},
      raft: {},
      logLevel: 'info',
      shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
    });
    const o = resolveOptions(agentNodeOptions(c, undefined));
    expect(o.partitionCount).toBe(64);
    expect(o.healthCheck.enabled).toBe(true);
  });

  it("reads the Go original's docker-compose variables", () => {
    const c = resolveAgentConfig(
      {},
      {
        NODE_ID: 'node-2',
        HTTP_PORT: '8080',
        JOIN_ADDR: 'node-1:8080, node-3:8080,,node-1:8080',
        DATA_DIR: '/data',
        PARTITION_COUNT: '128',
        REPLICATION_FACTOR: '2',
        HEALTH_CHECK_ENABLED: 'true',
        HEALTH_CHECK_INTERVAL: '1s',
        HEALTH_CHECK_TIMEOUT: '500ms',
        HEALTH_CHECK_FAILURE_THRESHOLD: '4',
        ZONE: 'eu-1a',
        WEIGHT: '2.5',
        CLUSTER_NAME: 'prod',
        MAX_VOTERS: '3',
        SERVICES: 'kv=127.0.0.1:9000,grpc=:9001',
        LOG_LEVEL: 'debug',
        ADVERTISE_ADDR: '10.0.0.5:8080',
        PLACEMENT: 'rendezvous',
        RAFT_ELECTION_TIMEOUT: '2s',
        RAFT_HEARTBEAT_INTERVAL: '100ms',
        SHUTDOWN_TIMEOUT: '20s',
      },
    );
    expect(c).toEqual({
      nodeId: 'node-2',
      nodeName: undefined,
      httpAddr: ':8080',
      advertiseAddr: '10.0.0.5:8080',
      joinAddr: ['node-1:8080', 'node-3:8080'],
      dataDir: '/data',
      clusterName: 'prod',
      partitionCount: 128,
      replicationFactor: 2,
      maxVoters: 3,
      placement: 'rendezvous',
      healthCheck: { enabled: true, interval: 1000, timeout: 500, failureThreshold: 4 },
      zone: 'eu-1a',
      weight: 2.5,
      services: { kv: '127.0.0.1:9000', grpc: ':9001' },
      raft: { electionMs: 2000, heartbeatMs: 100 },
      logLevel: 'debug',
      shutdownTimeoutMs: 20_000,
      tls: undefined,
      clusterSecret: undefined,
      adminToken: undefined,
      readToken: undefined,
    });
    // ClusterKit accepts everything the agent produced.
    const o = resolveOptions(agentNodeOptions(c, undefined));
    expect(o.listen).toEqual({ host: undefined, port: 8080 });
    expect(o.joinAddrs).toEqual(['node-1:8080', 'node-3:8080']);
    expect(o.services).toEqual({ grpc: ':9001', kv: '127.0.0.1:9000' });
  });

  it('lets a flag override its variable, and treats an empty variable as unset', () => {
    const c = resolveAgentConfig(
      { 'node-id': 'from-flag', 'partition-count': '16', 'join-addr': '127.0.0.1:9000' },
      { NODE_ID: 'from-env', PARTITION_COUNT: '32', JOIN_ADDR: '127.0.0.1:8000', ZONE: '' },
    );
    expect(c.nodeId).toBe('from-flag');
    expect(c.partitionCount).toBe(16);
    expect(c.joinAddr).toEqual(['127.0.0.1:9000']);
    expect(c.zone).toBeUndefined();
    expect(resolveAgentConfig({}, { ...ID, JOIN_ADDR: '' }).joinAddr).toEqual([]);
  });

  it('takes HTTP_ADDR or HTTP_PORT, not both at the same level; a flag of either wins over the variables', () => {
    expect(resolveAgentConfig({}, { ...ID, HTTP_ADDR: '0.0.0.0:9090' }).httpAddr).toBe('0.0.0.0:9090');
    expect(resolveAgentConfig({}, { ...ID, HTTP_ADDR: '127.0.0.1:0' }).httpAddr).toBe('127.0.0.1:0');
    expect(refusal({}, { ...ID, HTTP_ADDR: '127.0.0.1:1', HTTP_PORT: '2' })).toMatch(/HTTP_ADDR or HTTP_PORT/);
    expect(refusal({ 'http-addr': '127.0.0.1:1', 'http-port': '2' }, ID)).toMatch(/--http-addr or --http-port/);
    expect(resolveAgentConfig({ 'http-port': '7000' }, { ...ID, HTTP_ADDR: '127.0.0.1:1' }).httpAddr).toBe(':7000');
    expect(resolveAgentConfig({ 'http-addr': '127.0.0.1:7' }, { ...ID, HTTP_PORT: '1' }).httpAddr).toBe('127.0.0.1:7');
  });

  it('refuses bad values with one line naming the flag or variable', () => {
    const cases: [Flags, Env, RegExp][] = [
      [{}, { ...ID, PARTITION_COUNT: 'abc' }, /invalid PARTITION_COUNT "abc": must be an integer from 1 to 65536/],
      [{}, { ...ID, PARTITION_COUNT: '0' }, /PARTITION_COUNT/],
      [{}, { ...ID, PARTITION_COUNT: '1.5' }, /PARTITION_COUNT/],
      [{ 'partition-count': '-3' }, ID, /invalid --partition-count "-3"/],
      [{}, { ...ID, REPLICATION_FACTOR: '33' }, /REPLICATION_FACTOR.*1 to 32/],
      [{}, { ...ID, MAX_VOTERS: '0' }, /MAX_VOTERS/],
      [{}, { ...ID, HTTP_PORT: '70000' }, /HTTP_PORT.*0 to 65535/],
      [{}, { ...ID, HTTP_ADDR: 'localhost' }, /HTTP_ADDR must be "host:port"/],
      [{}, { ...ID, HTTP_ADDR: '127.0.0.1:99999' }, /HTTP_ADDR has an invalid port/],
      [{}, { ...ID, ADVERTISE_ADDR: '10.0.0.1:0' }, /ADVERTISE_ADDR.*real port/],
      [{}, { ...ID, JOIN_ADDR: 'node-1' }, /JOIN_ADDR must be "host:port"/],
      [{}, { ...ID, JOIN_ADDR: 'a:1,b:0' }, /JOIN_ADDR.*real port/],
      [{}, { ...ID, HEALTH_CHECK_ENABLED: 'maybe' }, /HEALTH_CHECK_ENABLED.*true or false/],
      [{}, { ...ID, HEALTH_CHECK_INTERVAL: '5 seconds' }, /HEALTH_CHECK_INTERVAL.*duration/],
      [{}, { ...ID, HEALTH_CHECK_TIMEOUT: '0' }, /HEALTH_CHECK_TIMEOUT.*duration/],
      [{}, { ...ID, HEALTH_CHECK_TIMEOUT: '2h' }, /HEALTH_CHECK_TIMEOUT/],
      [{}, { ...ID, HEALTH_CHECK_FAILURE_THRESHOLD: '0' }, /HEALTH_CHECK_FAILURE_THRESHOLD/],
      [{}, { ...ID, WEIGHT: '0' }, /WEIGHT.*greater than 0/],
      [{}, { ...ID, WEIGHT: 'heavy' }, /WEIGHT/],
      [{}, { ...ID, SERVICES: 'kv' }, /SERVICES.*"kv" is not name=address/],
      [{}, { ...ID, SERVICES: 'kv=9000' }, /SERVICES.*:port or host:port/],
      [{}, { ...ID, SERVICES: 'kv=:1,kv=:2' }, /SERVICES.*listed twice/],
      [{}, { ...ID, LOG_LEVEL: 'loud' }, /LOG_LEVEL.*one of trace, debug/],
      [{}, { ...ID, PLACEMENT: 'random' }, /PLACEMENT.*balanced, rendezvous/],
      [{}, { NODE_ID: ' node-1' }, /NODE_ID/],
      [{}, { NODE_ID: 'a\u0001b' }, /NODE_ID/],
      [{}, { ...ID, RAFT_ELECTION_TIMEOUT: '100ms', RAFT_HEARTBEAT_INTERVAL: '100ms' }, /heartbeat.*shorter/],
      [{ zone: '' }, ID, /--zone.*must not be empty/],
    ];
    for (const [flags, env, message] of cases) expect(refusal(flags, env), JSON.stringify(env)).toMatch(message);
  });

  it('reads the security settings: TLS files, the cluster secret and token lists, secrets from the environment only', () => {
    const secret = 'a-cluster-secret-of-enough-length-0123456789';
    const c = resolveAgentConfig(
      { 'tls-client-certs': 'require' },
      {
        ...ID,
        TLS_CERT: '/etc/ck/node.pem',
        TLS_KEY: '/etc/ck/node.key',
        TLS_CA: '/etc/ck/ca.pem',
        TLS_VERIFY_HOSTNAME: 'no',
        TLS_WATCH_INTERVAL: '1m',
        CLUSTER_SECRET: secret,
        ADMIN_TOKEN: 'old-admin-token-0001, new-admin-token-0002',
        READ_TOKEN: 'reader-token-00000003',
      },
    );
    expect(c.tls).toEqual({
      certFile: '/etc/ck/node.pem',
      keyFile: '/etc/ck/node.key',
      caFile: '/etc/ck/ca.pem',
      clientCerts: 'require',
      verifyHostname: false,
      watchIntervalMs: 60_000,
    });
    expect(c.clusterSecret).toBe(secret);
    expect(c.adminToken).toEqual(['old-admin-token-0001', 'new-admin-token-0002']);
    expect(c.readToken).toEqual(['reader-token-00000003']);
    expect(agentNodeOptions(c, undefined)).toMatchObject({
      tls: c.tls,
      clusterSecret: secret,
      adminToken: ['old-admin-token-0001', 'new-admin-token-0002'],
      readToken: ['reader-token-00000003'],
    });
    // ClusterKit accepts them as they are.
    expect(resolveOptions(agentNodeOptions(c, undefined)).security.tls?.clientCerts).toBe('require');
    // --print-config and logs get them redacted.
    const shown = JSON.stringify(redacted(c));
    for (const s of [secret, 'old-admin-token-0001', 'new-admin-token-0002', 'reader-token-00000003'])
      expect(shown).not.toContain(s);
    expect(redacted(c)).toMatchObject({
      clusterSecret: '[redacted]',
      adminToken: '[redacted]',
      readToken: '[redacted]',
    });
    // A rotation: CLUSTER_SECRET proves, CLUSTER_SECRET_ACCEPTED are accepted too.
    const next = 'the-next-cluster-secret-0123456789';
    const rotating = resolveAgentConfig({}, { ...ID, CLUSTER_SECRET: next, CLUSTER_SECRET_ACCEPTED: ` ${secret} ,` });
    expect(rotating.clusterSecret).toEqual([next, secret]);
    expect(resolveOptions(agentNodeOptions(rotating, undefined)).security.secret).toBeDefined();
    expect(JSON.stringify(redacted(rotating))).not.toContain(next);
    expect(() => resolveAgentConfig({}, { ...ID, CLUSTER_SECRET_ACCEPTED: secret })).toThrow(/needs CLUSTER_SECRET/);
    // No flag can carry a secret.
    expect(() => parseAgentArgs(['--cluster-secret', 'x'])).toThrow(/cluster-secret/);
    expect(() => parseAgentArgs(['--admin-token', 'x'])).toThrow(/admin-token/);
  });

  it('refuses incomplete TLS settings and bad tokens without showing the token', () => {
    expect(refusal({}, { ...ID, TLS_CERT: '/c.pem' })).toMatch(/TLS_CERT and TLS_KEY/);
    expect(refusal({ 'tls-key': '/k.pem' }, ID)).toMatch(/TLS_CERT and TLS_KEY/);
    expect(refusal({}, { ...ID, TLS_CA: '/ca.pem' })).toMatch(/need the certificate and its key/);
    expect(refusal({}, { ...ID, TLS_CERT: '/c', TLS_KEY: '/k', TLS_CLIENT_CERTS: 'always' })).toMatch(
      /TLS_CLIENT_CERTS.*none, request, require/,
    );
    const bad = refusal({}, { ...ID, ADMIN_TOKEN: 'has space,ok' });
    expect(bad).toMatch(/^ADMIN_TOKEN: tokens must not contain spaces/);
    expect(bad).not.toContain('has space');
    expect(refusal({}, { ...ID, READ_TOKEN: ' , ' })).toMatch(/READ_TOKEN lists no token/);
  });

  it('parses the command line: every setting is a string flag, no positionals, unknown flags refused', () => {
    expect(parseAgentArgs(['--node-id', 'x', '--join-addr=a:1', '--print-config'])).toEqual({
      flags: { 'node-id': 'x', 'join-addr': 'a:1' },
      printConfig: true,
    });
    expect(() => parseAgentArgs(['--bogus'])).toThrow(/bogus/);
    expect(() => parseAgentArgs(['extra'])).toThrow(InvalidArgumentError);
    // Flags and variables correspond one to one.
    for (const s of AGENT_SETTINGS) expect(s.env).toBe(s.flag.toUpperCase().replace(/-/g, '_'));
  });

  it('gives the same result for a value from a flag or from its variable (property)', () => {
    const integers: [string, number, number][] = [
      ['partition-count', 1, 65_536],
      ['replication-factor', 1, 32],
      ['max-voters', 1, 99],
      ['health-check-failure-threshold', 1, 1000],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...integers), fc.integer({ min: -10, max: 70_000 }), ([flag, min, max], n) => {
        const env = flag.toUpperCase().replace(/-/g, '_');
        const fromFlag = attempt({ [flag]: String(n) }, ID);
        const fromEnv = attempt({}, { ...ID, [env]: String(n) });
        const ok = n >= min && n <= max;
        expect(fromFlag.ok).toBe(ok);
        expect(fromEnv.ok).toBe(ok);
        if (ok) expect(fromFlag.value).toEqual(fromEnv.value);
        else {
          expect(fromFlag.message).toContain(`--${flag}`);
          expect(fromEnv.message).toContain(env);
        }
      }),
    );
  });

  it('only ever fails with InvalidArgumentError, whatever the environment holds (property)', () => {
    const names = [...AGENT_SETTINGS, ...AGENT_SECRETS].map((s) => s.env);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.string({ maxLength: 30 })), (env) => {
        try {
          const c = resolveAgentConfig({}, { NODE_ID: 'n', ...env });
          expect(c.nodeId.length).toBeGreaterThan(0);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
        }
      }),
    );
  });

  it('keeps every service it is given (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const addr = fc.oneof(
      fc.integer({ min: 1, max: 65_535 }).map((p) => `:${p}`),
      fc.integer({ min: 1, max: 65_535 }).map((p) => `10.0.0.1:${p}`),
    );
    fc.assert(
      fc.property(fc.dictionary(name, addr, { minKeys: 1, maxKeys: 10 }), (services) => {
        const text = Object.entries(services)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        expect(resolveAgentConfig({}, { ...ID, SERVICES: text }).services).toEqual(services);
      }),
    );
  });
});

function attempt(flags: Flags, env: Env): { ok: boolean; value?: unknown; message?: string } {
  try {
    return { ok: true, value: resolveAgentConfig(flags, env) };
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return { ok: false, message: (err as Error).message };
  }
}
