/**
 * A secured `clusterkit agent` (TLS on its port, a cluster secret, admin and read tokens, all from environment
 * variables) driven by the CLI with `--addr https://…`, `--ca`, `--token` / CLUSTERKIT_TOKEN: the client half of
 * the security work meets the node half. Skipped without openssl (the certificates are made at test time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProc, cli, cliProcess, hasOpenssl, makeCertificates, tempDir } from './helpers.js';

const ADMIN = 'admin-token-for-the-cli-test-0001';
const READ = 'read-token-for-the-cli-test-00002';

describe.skipIf(!hasOpenssl())('a secured agent and the CLI', () => {
  const tmp = tempDir('ck-cli-secure-');
  let agent: AgentProc | undefined;
  let url = '';
  const ca = (): string => `${tmp.dir}/ca.pem`;

  beforeAll(async () => {
    makeCertificates(tmp.dir, ['s1']);
    agent = new AgentProc('s1', {
      HTTP_ADDR: '127.0.0.1:0',
      DATA_DIR: `${tmp.dir}/data`,
      PARTITION_COUNT: '8',
      TLS_CERT: `${tmp.dir}/s1.pem`,
      TLS_KEY: `${tmp.dir}/s1.key`,
      TLS_CA: ca(),
      CLUSTER_SECRET: 'the-cluster-secret-for-the-cli-test-0123456789',
      ADMIN_TOKEN: ADMIN,
      READ_TOKEN: READ,
    });
    url = `https://${await agent.ready()}`;
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    tmp.cleanup();
  });

  it('never logs the secret or the tokens', () => {
    const log = JSON.stringify(agent!.lines);
    for (const s of ['the-cluster-secret', ADMIN, READ]) expect(log).not.toContain(s);
  });

  it('reads with the read token, writes with the admin token, and says what is missing otherwise', async () => {
    const status = await cli(['status', '--json', '--addr', url, '--ca', ca(), '--token', READ]);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { nodes: { id: string }[] }).nodes.map((n) => n.id)).toEqual(['s1']);

    const anonymous = await cli(['status', '--addr', url, '--ca', ca()]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^error: not authenticated: .*pass --token or set CLUSTERKIT_TOKEN\)\n$/);

    const readOnly = await cli(['data', 'set', 'k', 'v', '--addr', url, '--ca', ca(), '--token', READ]);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/^error: not allowed: /);

    // The token and the CA from the environment, as a script would set them.
    const env = { CLUSTERKIT_ADDR: url, CLUSTERKIT_CA: ca(), CLUSTERKIT_TOKEN: ADMIN };
    expect(await cli(['data', 'set', 'k', 'v'], env)).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['data', 'get', 'k'], env)).toEqual({ code: 0, stdout: 'v\n', stderr: '' });
    expect((await cli(['locate', 'user:1', '--json'], env)).code).toBe(0);
  });

  it('refuses an unverified certificate and plain http, as "unreachable" (exit code 3)', async () => {
    const [noCa, plain] = await Promise.all([
      cli(['status', '--addr', url, '--token', READ]),
      cli(['status', '--addr', url.replace('https://', 'http://'), '--token', READ]),
    ]);
    expect(noCa.code).toBe(3);
    expect(noCa.stderr).toMatch(/^error: TLS with 127\.0\.0\.1:[0-9]+ failed: .*check --ca/);
    // The node answers plain HTTP on its TLS port with a 400 saying so: the address given was wrong (2).
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^error: [^\n]*https:\/\/[^\n]*\n$/);
  });

  it('works the same from the real binary', async () => {
    const run = await cliProcess(['status', '--addr', url, '--ca', ca()], { CLUSTERKIT_TOKEN: READ });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Cluster clusterkit-cluster/);
  });
});
