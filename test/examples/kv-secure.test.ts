/**
 * The KV examples on a secure cluster, with real node processes: the kv-server-side scenario with `--secure` (a
 * cluster secret, TLS on ClusterKit's port and on the KV port with per-node certificates of a CA made for the run,
 * admin and read tokens) at a small size, every step asserted as without security. Then, on the live cluster:
 * ClusterKit's port refuses plain http and unauthenticated calls (401, 403 with only a read token, nothing
 * changes); the KV port speaks only TLS, with the node's own certificate, and its node-to-node endpoints need the
 * admin token or a certificate; the self-routing clients (kv-sync, kv-async) read `GET /cluster` over https with
 * the read token, and are refused without it.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { KvCluster, KvProcess } from '../../examples/kv/cluster-runner.js';
import { HttpClient } from '../../examples/kv/http.js';
import { RoutingTable } from '../../examples/kv/routing.js';
import { createClient as createAsyncClient } from '../../examples/kv-async/client.js';
import { createClient } from '../../examples/kv-server-side/client.js';
import { partitionIdForKey } from '../../src/index.js';
import { CI_OPTIONS, runCi } from './kv-scenario-helpers.js';

/** A plain-http request to `addr`: its status, or the error when the server just closes the connection. */
function plainHttp(addr: string, path: string): Promise<{ status: number; body: string } | { error: string }> {
  const colon = addr.lastIndexOf(':');
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)), path, method: 'GET', timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** The subject CN of the certificate `addr` serves (verified against `ca`). */
function servedCertCn(addr: string, ca: Buffer): Promise<string> {
  const colon = addr.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)), ca }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

async function checkSecurity(cluster: KvCluster): Promise<void> {
  const creds = cluster.credentials!;
  expect(creds).toBeDefined();
  const [a, b] = cluster.alive() as [KvProcess, KvProcess];
  const anonymous = new HttpClient({ timeoutMs: 5000, security: creds.client('none') });
  const reader = new HttpClient({ timeoutMs: 5000, security: creds.client('read') });
  const admin = new HttpClient({ timeoutMs: 5000, security: creds.client('admin') });
  try {
    // ClusterKit's port: TLS only. Plain http is told to use https, and nothing else is answered.
    const plain = await plainHttp(a.httpAddr, '/cluster');
    expect(plain).toMatchObject({ status: 400, body: expect.stringMatching(/TLS only/) });

    // Over https with the CA: reads need the read token, admin calls the admin token; refusals change nothing.
    const before = await reader.request(a.httpAddr, 'GET', '/cluster');
    expect(before.status).toBe(200);
    const version = (before.body as { cluster: { table_version: number } }).cluster.table_version;
    expect((await anonymous.request(a.httpAddr, 'GET', '/cluster')).status).toBe(401);
    const unauth = await anonymous.request(a.httpAddr, 'POST', '/rebalance', {});
    expect(unauth.status).toBe(401);
    expect(unauth.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await reader.request(a.httpAddr, 'POST', '/rebalance', {})).status).toBe(403);
    expect((await anonymous.request(a.httpAddr, 'DELETE', `/nodes/${b.id}`)).status).toBe(401);
    expect((await reader.request(a.httpAddr, 'DELETE', `/nodes/${b.id}`)).status).toBe(403);
    const wrongToken = new HttpClient({ security: { ...creds.client('none'), token: 'x'.repeat(48) } });
    expect((await wrongToken.request(a.httpAddr, 'PUT', '/custom-data/k', { value: 'v' })).status).toBe(401);
    wrongToken.close();
    const after = await reader.request(a.httpAddr, 'GET', '/cluster');
    const body = after.body as { cluster: { table_version: number; nodes: { id: string }[] } };
    expect(body.cluster.table_version).toBe(version);
    expect(body.cluster.nodes.map((n) => n.id)).toContain(b.id);
    // The secret is nowhere in what a reader sees.
    expect(JSON.stringify(after.body)).not.toContain(creds.clusterSecret);
    // Liveness stays public (an orchestrator probes it with the CA alone).
    expect((await anonymous.request(a.httpAddr, 'GET', '/health')).status).toBe(200);

    // Both ports serve the node's own certificate (CN = node id), verified against the cluster CA.
    const ca = creds.client('none').tls!.ca!;
    expect(await servedCertCn(a.httpAddr, ca)).toBe(a.id);
    expect(await servedCertCn(a.kvAddr, ca)).toBe(a.id);

    // The KV port: TLS only as well (a plaintext request gets no HTTP answer at all).
    expect(await plainHttp(a.kvAddr, '/kv-stats')).toHaveProperty('error');
    // Its data API is the application's and open over https; its node-to-node endpoints are not.
    expect((await anonymous.request(a.kvAddr, 'GET', '/kv-stats')).status).toBe(200);
    expect((await anonymous.request(a.kvAddr, 'GET', `/kv/${encodeURIComponent('user:1')}`)).status).toBe(200);
    const denied = await anonymous.request(a.kvAddr, 'GET', '/internal/partition/0');
    expect(denied.status).toBe(401);
    expect(
      (await anonymous.request(a.kvAddr, 'POST', '/internal/apply', { entries: [] }, { timeoutMs: 5000 })).status,
    ).toBe(401);
    expect((await reader.request(a.kvAddr, 'GET', '/internal/ready/0')).status).toBe(401);
    expect((await admin.request(a.kvAddr, 'GET', '/internal/ready/0')).status).toBe(200);

    // kv-sync's and kv-async's routing: GET /cluster over https with the read token; refused without it.
    const table = new RoutingTable(reader, [a.httpAddr]);
    await table.refresh();
    const route = table.route('user:1');
    expect(route.partition).toBe(partitionIdForKey('user:1', 64));
    expect(table.kvAddress(route.primary)).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(new RoutingTable(anonymous, [a.httpAddr]).refresh()).rejects.toThrow(/HTTP 401/);
    const seeds = { httpAddrs: () => [a.httpAddr], kvAddrs: () => [a.kvAddr] };
    const asyncClient = await createAsyncClient(seeds, creds.client('read'));
    try {
      expect(await asyncClient.get('user:1')).toMatch(/^value of user:1 /);
    } finally {
      asyncClient.close();
    }
  } finally {
    anonymous.close();
    reader.close();
    admin.close();
  }
}

describe('KV examples on a secure cluster', () => {
  it('runs the kv-server-side scenario with --secure; ports refuse plain http and missing tokens', async () => {
    const result = await runCi(
      { name: 'kv-server-side', entry: 'examples/kv-server-side/server.ts', createClient },
      // 4 nodes (RF 3: killing one must move data), 150 keys: small, but every step of the scenario runs.
      { ...CI_OPTIONS, nodes: 4, keys: 150, tolerance: 0.5, secure: true },
      checkSecurity,
    );
    for (const p of result.processes) {
      expect(p.nonJson).toEqual([]);
      expect(p.linesOf('ready')[0]).toMatchObject({ tls: true });
      expect(p.linesOf('fatal')).toEqual([]);
    }
    expect(result.processes.filter((p) => p.id === result.victim)).toHaveLength(2);
    expect(result.processes.find((p) => p.id === result.leaver)?.exit?.code).toBe(0);
  }, 180_000);
});
