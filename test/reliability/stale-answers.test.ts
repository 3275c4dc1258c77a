/**
 * Regression tests for bugs the fault harness found: answers a node computed from its own copy of the state,
 * which lags the leader while the node is cut off, instead of from the committed command.
 *
 * Three in-process nodes, each behind a harness proxy (its advertised address), so the messages to one of them can
 * be dropped while it still reaches the others. That node then serves a write while stale; once the cut heals, the
 * write commits and its answer must describe what the committed state held, not the node's stale guess.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterKit } from '../../src/cluster/index.js';
import { freePort } from './harness/cluster.js';
import { request } from './harness/http.js';
import { LinkRules, NodeProxy } from './harness/proxy.js';

interface Member {
  readonly id: string;
  readonly ck: ClusterKit;
  readonly port: number;
  readonly proxy: NodeProxy;
}

let cleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function threeNodes(): Promise<{ rules: LinkRules; nodes: Member[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ck-stale-'));
  const rules = new LinkRules();
  const nodes: Member[] = [];
  cleanup = async () => {
    await Promise.allSettled(nodes.map((n) => n.ck.stop()));
    await Promise.allSettled(nodes.map((n) => n.proxy.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  for (const id of ['n1', 'n2', 'n3']) {
    const port = await freePort();
    const proxy = new NodeProxy(id, rules, () => port);
    await proxy.listen();
    const ck = new ClusterKit({
      nodeId: id,
      httpAddr: `127.0.0.1:${port}`,
      advertiseAddr: proxy.address,
      dataDir: join(dir, id),
      ...(nodes.length === 0 ? {} : { joinAddr: nodes[0]!.proxy.address }),
      healthCheck: { enabled: false },
      raft: { electionMs: 1000, heartbeatMs: 50 },
      joinBackoffMs: { min: 20, max: 200 },
    });
    nodes.push({ id, ck, port, proxy });
    await ck.start();
  }
  await until(
    () => nodes.every((n) => n.ck.getCluster().nodes.length === 3 && n.ck.getCluster().leaderId === 'n1'),
    20_000,
    'three members led by n1',
  );
  return { rules, nodes };
}

/** Drops every message to `id` (it still reaches the others: its forwarded writes arrive). */
function isolateInbound(rules: LinkRules, nodes: readonly Member[], id: string): void {
  for (const n of nodes) if (n.id !== id) rules.cutOneWay(n.id, id);
}

describe('answers of a stale node', () => {
  it('PUT on a lagging node says "updated", not "created", for a key that existed when the write committed', async () => {
    const { rules, nodes } = await threeNodes();
    const [n1, , n3] = nodes as [Member, Member, Member];
    isolateInbound(rules, nodes, 'n3');
    const first = await request(n1.port, '/custom-data/k', { method: 'PUT', body: 'v1', timeoutMs: 10_000 });
    expect(first.status).toBe(201);
    expect(n3.ck.getCustomData('k'), 'n3 must not have seen the first write yet').toBeUndefined();
    // Served by the stale node: its write is forwarded to the leader and commits after v1.
    const second = request(n3.port, '/custom-data/k', { method: 'PUT', body: 'v2', timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    rules.heal();
    const r = await second;
    expect(r.status, r.body.toString()).toBe(200);
    const body = JSON.parse(r.body.toString()) as { message: string; data: { created: boolean; revision: number } };
    expect(body.data.created).toBe(false);
    expect(body.message).toBe('updated');
    await until(() => n1.ck.getCustomDataEntry('k')?.revision === body.data.revision, 10_000, 'v2 on n1');
  });

  it('DELETE with If-None-Match: * on a lagging node is decided by the committed state (412 when the key exists)', async () => {
    const { rules, nodes } = await threeNodes();
    const [n1, , n3] = nodes as [Member, Member, Member];
    isolateInbound(rules, nodes, 'n3');
    expect((await request(n1.port, '/custom-data/k2', { method: 'PUT', body: 'x', timeoutMs: 10_000 })).status).toBe(
      201,
    );
    expect(n3.ck.getCustomData('k2')).toBeUndefined();
    const del = request(n3.port, '/custom-data/k2', {
      method: 'DELETE',
      headers: { 'if-none-match': '*' },
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    rules.heal();
    const r = await del;
    // "Delete only if absent" on a key that exists: refused, and the key is still there.
    expect(r.status, r.body.toString()).toBe(412);
    await until(() => n3.ck.getCustomData('k2') !== undefined, 10_000, 'k2 on n3');
    expect(Buffer.from(n1.ck.getCustomData('k2')!).toString()).toBe('x');
  });
});
