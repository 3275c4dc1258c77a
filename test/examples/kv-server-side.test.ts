/**
 * The kv-server-side example end to end, with real node processes: its scenario at CI size (5 nodes, 300 keys:
 * formation, writes and reads through any node, key distribution, SIGKILL of a node, its restart and rejoin, a
 * graceful leave), then the contract the live demo (`npm start`) relies on: the stdout JSON lines and the KV HTTP
 * API's answers to good and bad requests.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KvCluster, NodeLine } from '../../examples/kv/cluster-runner.js';
import { runScenario } from '../../examples/kv/scenario.js';
import { PRINTED_EVENTS } from '../../examples/kv/server-main.js';
import { createClient } from '../../examples/kv-server-side/client.js';
import { CI_OPTIONS, runCi } from './kv-scenario-helpers.js';

const LINE_TYPES = new Set(['ready', 'event', 'moved', 'dropped', 'cleared', 'log', 'stopped']);

async function checkHttpContract(cluster: KvCluster): Promise<void> {
  const [a, b] = cluster.alive();
  const http = cluster.http;
  const url = (key: string): string => `/kv/${encodeURIComponent(key)}`;

  // A write through one node, read through another, deleted through the first.
  const put = await http.request(a!.kvAddr, 'PUT', url('contract:key'), { value: 'v1' });
  expect(put.status).toBe(200);
  const body = put.body as { key: string; partition: string; primary: string; replicas: string[] };
  expect(body.key).toBe('contract:key');
  expect(body.partition).toMatch(/^partition-\d+$/);
  expect(typeof body.primary).toBe('string');
  // Synchronous replication to a majority: with RF 3, at least one replica acknowledged.
  expect(body.replicas.length).toBeGreaterThanOrEqual(1);
  expect(body.replicas).not.toContain(body.primary);
  const got = await http.request(b!.kvAddr, 'GET', url('contract:key'));
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ key: 'contract:key', value: 'v1', partition: body.partition });
  expect(typeof (got.body as { node: unknown }).node).toBe('string');
  expect((await http.request(a!.kvAddr, 'DELETE', url('contract:key'))).status).toBe(200);
  const gone = await http.request(b!.kvAddr, 'GET', url('contract:key'));
  expect(gone.status).toBe(404);
  expect((gone.body as { error: { code: string } }).error.code).toBe('ERR_NOT_FOUND');

  // Keys with any characters, once percent-encoded.
  const odd = 'a key/with?odd&chars é';
  expect((await http.request(a!.kvAddr, 'PUT', url(odd), { value: 'x' })).status).toBe(200);
  expect((await http.request(b!.kvAddr, 'GET', url(odd))).body).toMatchObject({ key: odd, value: 'x' });

  // Bad input: 4xx with a JSON error, never a crash.
  const bad = async (method: string, path: string, payload?: unknown): Promise<number> => {
    const r = await http.request(a!.kvAddr, method, path, payload);
    expect(r.body, `${method} ${path}`).toMatchObject({
      error: { code: expect.any(String), message: expect.any(String) },
    });
    return r.status;
  };
  expect(await bad('PUT', url('k'), { value: 5 })).toBe(400);
  expect(await bad('PUT', url('k'), ['not', 'an', 'object'])).toBe(400);
  expect(await bad('PUT', url('k'), { nothing: true })).toBe(400);
  expect(await bad('PUT', '/kv/%E0%A4%A', { value: 'x' })).toBe(400);
  expect(await bad('PUT', url('k'.repeat(2000)), { value: 'x' })).toBe(400);
  expect(await bad('PATCH', url('k'), { value: 'x' })).toBe(405);
  expect(await bad('GET', '/nowhere')).toBe(404);
  expect(await bad('GET', '/kv/')).toBe(400);

  // Stats.
  const stats = await http.request(a!.kvAddr, 'GET', '/kv-stats');
  expect(stats.status).toBe(200);
  expect(stats.body).toMatchObject({
    nodeId: a!.id,
    keys: expect.any(Number),
    primaries: expect.any(Number),
    replicas: expect.any(Number),
  });
}

function checkLines(lines: readonly NodeLine[], nodeId: string): void {
  for (const l of lines) {
    expect(LINE_TYPES.has(l.type), `line type ${l.type} from ${nodeId}`).toBe(true);
    if (l.type === 'event') {
      expect(PRINTED_EVENTS).toContain(l['event']);
      expect(l['nodeId']).toBe(nodeId);
      expect(typeof l['data']).toBe('object');
    }
    if (l.type === 'moved') {
      expect(l).toMatchObject({
        nodeId,
        partitionId: expect.stringMatching(/^partition-\d+$/),
        keys: expect.any(Number),
      });
      expect(typeof l['from']).toBe('string');
      expect(l['from']).not.toBe(nodeId);
    }
    if (l.type === 'dropped') {
      expect(l).toMatchObject({
        nodeId,
        partitionId: expect.stringMatching(/^partition-\d+$/),
        keys: expect.any(Number),
      });
    }
    if (l.type === 'ready') {
      expect(l['httpAddr']).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      expect(l['kvAddr']).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    }
  }
}

describe('kv-server-side example', () => {
  it('runs its scenario: form, write, kill, restart, leave; every key verified; the demo contract holds', async () => {
    const result = await runCi(
      { name: 'kv-server-side', entry: 'examples/kv-server-side/server.ts', createClient },
      CI_OPTIONS,
      checkHttpContract,
    );
    for (const p of result.processes) {
      expect(p.nonJson).toEqual([]);
      checkLines(p.lines, p.id);
    }
    const victimLives = result.processes.filter((p) => p.id === result.victim);
    expect(victimLives).toHaveLength(2);
    // The killed life was killed; the leaver exited 0 after a graceful leave and said so.
    expect(victimLives[0]!.exit?.signal).toBe('SIGKILL');
    const leaver = result.processes.find((p) => p.id === result.leaver)!;
    expect(leaver.exit?.code).toBe(0);
    expect(leaver.linesOf('stopped')).toHaveLength(1);
    // Every kind of event the demo shows was printed by some node.
    const seen = new Set(result.processes.flatMap((p) => p.linesOf('event').map((l) => l['event'])));
    for (const e of PRINTED_EVENTS) expect(seen, `event ${e}`).toContain(e);
  }, 180_000);

  it('a failing scenario says why and still stops every process and removes its directory', async () => {
    let cluster: KvCluster | undefined;
    const run = runScenario(
      { name: 'kv-server-side', entry: 'examples/kv-server-side/server.ts', createClient },
      // A tolerance no distribution can meet: the scenario fails at its first count check.
      { ...CI_OPTIONS, nodes: 2, keys: 20, tolerance: -1 },
      {
        onCluster: (c) => {
          cluster = c;
        },
      },
    );
    await expect(run).rejects.toThrow(/after the writes: node-\d holds \d+ keys, outside/);
    expect(cluster).toBeDefined();
    expect(cluster!.history.length).toBe(2);
    for (const p of cluster!.history) expect(p.alive).toBe(false);
    expect(existsSync(cluster!.dir)).toBe(false);
  }, 120_000);
});
