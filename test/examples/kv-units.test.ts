/**
 * The KV examples' building blocks without processes: the versioned store (merging copies in any order converges),
 * the version clock, the server's environment parsing, and one in-process KV node checked against the routing
 * client (a smart client hashes every key to the partition the node itself computes, and revalidates its table with
 * an ETag).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../examples/kv/http.js';
import { majority } from '../../examples/kv/modes.js';
import { KvNode } from '../../examples/kv/node.js';
import { RoutingTable } from '../../examples/kv/routing.js';
import { ConfigError, configFromEnv } from '../../examples/kv/server-main.js';
import { type Entry, KvStore, newer, VersionClock, type WireEntry } from '../../examples/kv/store.js';
import { QuorumClient } from '../../examples/kv-sync/client.js';

const entryArb = fc.record({
  key: fc.constantFrom('a', 'b', 'c', 'd'),
  value: fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null }),
  version: fc.integer({ min: 1, max: 6 }),
});

function snapshot(store: KvStore, partition: number): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (const [k, value, version] of store.entries(partition)) out[k] = { value, version };
  return out;
}

describe('KvStore', () => {
  fcTest.prop([fc.array(entryArb, { maxLength: 30 })])(
    'applying the same writes in any order gives the same store (copies and replication may race)',
    (writes) => {
      const a = new KvStore();
      const b = new KvStore();
      for (const w of writes) a.apply(0, w.key, { value: w.value, version: w.version });
      for (const w of [...writes].reverse()) b.apply(0, w.key, { value: w.value, version: w.version });
      expect(snapshot(a, 0)).toEqual(snapshot(b, 0));
      // Each key ends with its highest version.
      for (const w of writes) expect(a.get(0, w.key)!.version).toBeGreaterThanOrEqual(w.version);
    },
  );

  fcTest.prop([fc.array(entryArb, { maxLength: 20 }), fc.array(entryArb, { maxLength: 20 })])(
    'merging two copies is commutative and idempotent',
    (x, y) => {
      const wire = (ws: typeof x): WireEntry[] => ws.map((w) => [w.key, w.value, w.version] as const);
      const ab = new KvStore();
      ab.merge(1, wire(x));
      ab.merge(1, wire(y));
      const ba = new KvStore();
      ba.merge(1, wire(y));
      ba.merge(1, wire(x));
      expect(snapshot(ab, 1)).toEqual(snapshot(ba, 1));
      expect(ab.merge(1, ab.entries(1))).toBe(0);
    },
  );

  it('counts live keys (deletions are tombstones) and drops whole partitions', () => {
    const s = new KvStore();
    s.apply(3, 'k1', { value: 'v', version: 1 });
    s.apply(3, 'k2', { value: 'v', version: 1 });
    s.apply(4, 'k3', { value: 'v', version: 1 });
    expect(s.apply(3, 'k2', { value: null, version: 2 })).toBe(true);
    expect(s.apply(3, 'k2', { value: 'old', version: 1 })).toBe(false);
    expect(s.liveKeys()).toBe(2);
    expect(s.partitions()).toEqual([3, 4]);
    expect(s.drop(3)).toBe(1);
    expect(s.partitions()).toEqual([4]);
    expect(newer({ value: null, version: 5 }, { value: 'x', version: 5 })).toBe(true);
  });
});

describe('VersionClock', () => {
  it('always increases, even when the wall clock steps back, and stays above versions it has seen', () => {
    let now = 1_000;
    const c = new VersionClock(() => now);
    const a = c.next();
    now = 900;
    const b = c.next();
    expect(b).toBeGreaterThan(a);
    c.observe(b + 1_000_000);
    expect(c.next()).toBeGreaterThan(b + 1_000_000);
  });

  it('majority', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe('server configuration from the environment', () => {
  it('reads every variable and rejects bad ones by name', () => {
    const c = configFromEnv({
      NODE_ID: 'n1',
      HTTP_ADDR: '127.0.0.1:7000',
      KV_ADDR: '127.0.0.1:0',
      JOIN_ADDR: '127.0.0.1:7001, 127.0.0.1:7002',
      DATA_DIR: '/tmp/x',
      PARTITION_COUNT: '32',
      REPLICATION_FACTOR: '2',
      HEALTH_INTERVAL_MS: '300',
      HEALTH_TIMEOUT_MS: '1000',
      HEALTH_FAILURE_THRESHOLD: '3',
    });
    expect(c.kvAddr).toBe('127.0.0.1:0');
    expect(c.clusterkit).toMatchObject({
      nodeId: 'n1',
      httpAddr: '127.0.0.1:7000',
      joinAddr: ['127.0.0.1:7001', '127.0.0.1:7002'],
      dataDir: '/tmp/x',
      partitionCount: 32,
      replicationFactor: 2,
      healthCheck: { interval: 300, timeout: 1000, failureThreshold: 3 },
    });
    expect(configFromEnv({ NODE_ID: 'n1', JOIN_ADDR: '' }).clusterkit.joinAddr).toBeUndefined();
    expect(() => configFromEnv({})).toThrow(ConfigError);
    expect(() => configFromEnv({ NODE_ID: 'n', PARTITION_COUNT: 'many' })).toThrow(/PARTITION_COUNT/);
    expect(() => configFromEnv({ NODE_ID: 'n', KV_ADDR: 'nowhere' })).toThrow(/KV_ADDR/);
  });
});

describe('one in-process KV node and the routing client', () => {
  let dir = '';
  let node: KvNode;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ck-kv-unit-'));
    node = new KvNode({
      mode: 'sync',
      clusterkit: { nodeId: 'solo', httpAddr: '127.0.0.1:0', dataDir: join(dir, 'solo'), partitionCount: 16 },
      kvAddr: '127.0.0.1:0',
      emit: (l) => lines.push(l),
    });
    await node.start();
  });

  afterAll(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers its KV port as the kv service and routes every key where the node does', async () => {
    expect(node.kvAddr).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const services = node.ck.getServiceNodes('kv');
    expect(services.map((s) => s.address)).toEqual([node.kvAddr]);
    const http = new HttpClient();
    try {
      const table = new RoutingTable(http, [node.ck.address]);
      await table.refresh();
      expect(table.kvAddress('solo')).toBe(node.kvAddr);
      for (let i = 0; i < 200; i++) {
        const key = `user:${i}`;
        expect(table.route(key).partition).toBe(node.ck.getPartition(key).id);
      }
      // Unchanged table: revalidated with the ETag (304), not reloaded.
      const before = table.refreshes;
      await table.refresh();
      expect(table.refreshes).toBe(before);
    } finally {
      http.close();
    }
  });

  it('stores quorum writes and answers quorum reads (one node: a quorum of one)', async () => {
    const client = await new QuorumClient([node.ck.address]).connect();
    try {
      await client.put('greeting', 'hello');
      expect(await client.get('greeting')).toBe('hello');
      expect(await client.get('absent')).toBeUndefined();
      expect(node.stats()).toMatchObject({ nodeId: 'solo', keys: 1, primaries: 16, syncing: 0 });
    } finally {
      client.close();
    }
    // The node's own partitions were created empty (no copy lines), and it printed no errors.
    expect(lines.filter((l) => l['type'] === 'moved')).toEqual([]);
    expect(lines.filter((l) => l['level'] === 'error')).toEqual([]);
  });
});
