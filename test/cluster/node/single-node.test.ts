/**
 * One ClusterKit node, in process, on a real port and data directory: bootstrap, the seven core methods, custom
 * data, hooks (including hooks that call back into the node), the HTTP API on the shared port, restart without
 * replaying old events, and the data directory lock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionChangeEvent } from '../../../src/cluster/index.js';
import { ClusterKitError, InvalidArgumentError } from '../../../src/errors.js';
import { rejection, TestNodes, until } from './helpers.js';

let t: TestNodes;

beforeEach(() => {
  t = new TestNodes();
});

afterEach(async () => {
  await t.destroy();
});

const decode = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

describe('a single ClusterKit node', () => {
  it('bootstraps by itself and answers the seven core methods', async () => {
    const ck = t.create('node-1');
    expect(() => ck.getPartition('user:123')).toThrow(/no partitions available/);
    const joins: unknown[] = [];
    ck.onNodeJoin((e) => {
      joins.push(e);
    });
    const copies: PartitionChangeEvent[] = [];
    ck.onPartitionChange((e) => {
      copies.push(e);
    });
    const completes: number[] = [];
    ck.onRebalanceComplete((e, duration) => {
      expect(duration).toBe(e.duration);
      completes.push(e.partitionsMoved);
    });
    await ck.start();
    expect(ck.address).toMatch(/^127\.0\.0\.1:\d+$/);

    // The Go original's vector: md5("user:123") → 2430271536 → partition 48 of 64.
    const p = ck.getPartition('user:123');
    expect(p).toMatchObject({ id: 'partition-48', index: 48, primaryNode: 'node-1', replicaNodes: [] });
    expect(p.epoch).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(p)).toBe(true);
    expect(ck.isPrimary(p)).toBe(true);
    expect(ck.isReplica(p)).toBe(false);
    expect(ck.getMyNodeId()).toBe('node-1');
    expect(ck.getPrimary(p)?.httpAddr).toBe(ck.address);
    expect(ck.getReplicas(p)).toEqual([]);
    expect(ck.getNodes(p).map((n) => n.id)).toEqual(['node-1']);
    expect(() => ck.getPartition(42 as unknown as string)).toThrow(InvalidArgumentError);

    const cluster = ck.getCluster();
    expect(cluster.nodes.map((n) => n.id)).toEqual(['node-1']);
    expect(Object.keys(cluster.partitionMap.partitions)).toHaveLength(64);
    expect(cluster.config).toMatchObject({ partitionCount: 64, replicationFactor: 3, maxVoters: 5 });
    expect(cluster.leaderId).toBe('node-1');
    expect(Object.isFrozen(cluster) && Object.isFrozen(cluster.nodes) && Object.isFrozen(cluster.nodes[0])).toBe(true);
    expect(() => {
      (cluster.nodes as unknown as unknown[]).push('x');
    }).toThrow(TypeError);

    await ck.hooksIdle();
    expect(joins).toHaveLength(1);
    expect(joins[0]).toMatchObject({ node: { id: 'node-1' }, isBootstrap: true, clusterSize: 1 });
    expect(copies).toHaveLength(64);
    expect(copies.every((c) => c.copyToNode.id === 'node-1' && c.needsCopy && c.copyFromNodes.length === 0)).toBe(true);
    expect(completes).toEqual([64]);

    const health = ck.healthCheck();
    expect(health).toMatchObject({ healthy: true, status: 'healthy', live: true, ready: true, isLeader: true });
    const m = ck.getMetrics();
    expect(m).toMatchObject({ nodeCount: 1, partitionCount: 64, isLeader: true, raftState: 'Leader' });
    expect(m.term).toBeGreaterThan(0);
    expect(m.eventsEmitted).toBeGreaterThan(64);
  });

  it('stores custom data with the Go limits, returns copies, and hides its own keys', async () => {
    const ck = await t.start('node-1');
    const r1 = await ck.setCustomData('feature_flags', '{"dark_mode":true}');
    expect(decode(ck.getCustomData('feature_flags'))).toBe('{"dark_mode":true}');
    const copy = ck.getCustomData('feature_flags')!;
    copy[0] = 0;
    expect(decode(ck.getCustomData('feature_flags'))).toBe('{"dark_mode":true}');
    const r2 = await ck.setCustomData('feature_flags', new Uint8Array([1, 2, 3]));
    expect(r2).toBeGreaterThan(r1);
    expect(ck.getCustomDataEntry('feature_flags')).toMatchObject({ revision: r2 });
    expect(ck.listCustomDataKeys()).toEqual(['feature_flags']);
    expect(await ck.deleteCustomData('feature_flags')).toBe(true);
    expect(await ck.deleteCustomData('feature_flags')).toBe(false);
    expect(ck.getCustomData('feature_flags')).toBeUndefined();

    // Compare-and-set.
    const created = await ck.compareAndSetCustomData('counter', 0, '1');
    const conflict = await rejection(ck.compareAndSetCustomData('counter', 0, '2'));
    expect(conflict.code).toBe('ERR_CONFLICT');
    expect(await ck.compareAndSetCustomData('counter', created, '2')).toBeGreaterThan(created);
    expect(await ck.getCustomDataLinearizable('counter')).toEqual(new TextEncoder().encode('2'));

    // Refused before anything is proposed.
    expect((await rejection(ck.setCustomData('', 'x'))).message).toMatch(/key cannot be empty/);
    expect((await rejection(ck.setCustomData('big', new Uint8Array((1 << 20) + 1)))).message).toMatch(
      /value too large \(max 1MB, got 1048577 bytes\)/,
    );
    expect((await rejection(ck.setCustomData('__clusterkit/health', 'x'))).message).toMatch(/reserved/);
    expect(() => ck.getCustomData('')).toThrow(InvalidArgumentError);
    expect(ck.getMetrics().errorCount).toBe(1); // the CAS conflict; the others never reached Raft
  });

  it('runs hooks that call back into the node, isolates failing hooks, and never blocks apply', async () => {
    const ck = t.create('node-1', { partitionCount: 512 });
    let calls = 0;
    let failures = 0;
    ck.onPartitionChange(async (e) => {
      // Reads and even a write from inside a hook: the Go original deadlocked on the reads alone.
      const c = ck.getCluster();
      const p = ck.getPartition(`key-${e.partitionId}`);
      if (c.nodes.length !== 1 || ck.getNodes(p).length !== 1) throw new Error('inconsistent view');
      ck.healthCheck();
      ck.getMetrics();
      if (e.partitionIndex === 7) await ck.setCustomData('written-from-a-hook', e.partitionId);
      calls++;
    });
    ck.onPartitionChange(() => {
      failures++;
      throw new Error('a broken hook');
    });
    await ck.start();
    await ck.hooksIdle();
    expect(calls).toBe(512);
    expect(failures).toBe(512);
    expect(decode(ck.getCustomData('written-from-a-hook'))).toBe('partition-7');
    expect(ck.getMetrics()).toMatchObject({ hookErrors: 512 });
    expect(ck.getMetrics().hookRuns).toBeGreaterThanOrEqual(1024);
  });

  it('runs at most 50 hooks at once by default; the others wait their turn', async () => {
    // The bootstrap emits 64 partitionChange events in one apply; every hook blocks until the gate opens.
    const ck = t.create('node-1');
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let started = 0;
    let running = 0;
    let mostAtOnce = 0;
    ck.onPartitionChange(async () => {
      started++;
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await gate;
      running--;
    });
    try {
      await ck.start();
      // All 64 events were queued by the apply that start() waited for; without a limit all would run now.
      expect(ck.getMetrics().eventsEmitted).toBeGreaterThanOrEqual(64);
      await until(() => started >= 50, 5000, 'the first 50 hooks to start');
      expect(started).toBe(50);
      expect(running).toBe(50);
      expect(ck.getMetrics().hookRuns).toBe(0);
    } finally {
      open();
    }
    await ck.hooksIdle();
    expect(started).toBe(64);
    expect(running).toBe(0);
    expect(mostAtOnce).toBe(50);
    expect(ck.getMetrics().hookRuns).toBe(64);
  });

  it('serves the HTTP API on its one port (liveness, readiness, cluster, metrics, join refusals)', async () => {
    const ck = await t.start('node-1');
    const base = `http://${ck.address}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, nodes: 1, partitions: 64 });
    const cluster = (await (await fetch(`${base}/cluster`)).json()) as { cluster: { nodes: { id: string }[] } };
    expect(cluster.cluster.nodes.map((n) => n.id)).toEqual(['node-1']);
    const metrics = await (await fetch(`${base}/metrics?format=prometheus`)).text();
    expect(metrics).toMatch(/^clusterkit_raft_is_leader 1$/m);
    expect(metrics).toMatch(/^clusterkit_partitions_per_node\{node="node-1",role="primary"\} 64$/m);
    expect(metrics).toMatch(/^clusterkit_events_total\{type="partitionChange"\} 64$/m);
    // A joiner with another partition count is refused with a clear error, and nothing changes.
    const res = await fetch(`${base}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        node: { id: 'node-9', http_addr: '127.0.0.1:1', incarnation: 'x.1' },
        partition_count: 16,
      }),
    });
    expect(res.status).toBe(409);
    expect(JSON.stringify(await res.json())).toMatch(/partition count 16, the cluster has 64/);
    expect(ck.getCluster().nodes).toHaveLength(1);
    // Custom data written over HTTP is what the API reads.
    const put = await fetch(`${base}/custom-data/app_config`, { method: 'PUT', body: 'v2' });
    expect(put.status).toBeLessThan(300);
    expect(decode(ck.getCustomData('app_config'))).toBe('v2');
  });

  it('restarts on its data directory with its state, and without replaying old events', async () => {
    const first = await t.start('node-1');
    await first.setCustomData('k', 'v');
    const tableBefore = first.getCluster().tableVersion;
    await first.stop();

    const again = t.create('node-1', { dataDir: `${t.dir}/node-1` });
    const seen: string[] = [];
    for (const name of ['nodeJoin', 'nodeRejoin', 'nodeLeave', 'customDataChange'] as const) {
      again.on(name, () => {
        seen.push(name);
      });
    }
    let rejoin: { offlineDuration: number; partitionsBeforeLeave: readonly string[]; node: { id: string } } | undefined;
    again.onNodeRejoin((e) => {
      rejoin = e;
    });
    await again.start();
    await again.hooksIdle();
    expect(decode(again.getCustomData('k'))).toBe('v');
    expect(again.getCluster().tableVersion).toBeGreaterThan(tableBefore);
    // The bootstrap join and the custom data write of the first life are not reported again; the restart is.
    expect(seen).toEqual(['nodeRejoin']);
    expect(rejoin?.node.id).toBe('node-1');
    expect(rejoin?.partitionsBeforeLeave).toHaveLength(64);
    expect(rejoin?.offlineDuration).toBeGreaterThanOrEqual(0);
  });

  it('refuses a second node on the same data directory, and cleans up after a failed start', async () => {
    const ck = await t.start('node-1');
    const twin = t.create('node-1', { dataDir: `${t.dir}/node-1` });
    const err = await rejection(twin.start());
    expect(err).toBeInstanceOf(ClusterKitError);
    expect(err.code).toBe('ERR_CONFLICT');
    expect(err.message).toMatch(/data directory/);
    expect(twin.address).toBe('');
    expect(ck.healthCheck().live).toBe(true);
  });

  it('keeps trying to join an unreachable cluster until stopped, then releases everything', async () => {
    const lonely = t.create('node-2', { joinAddr: '127.0.0.1:9' });
    const starting = lonely.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lonely.healthCheck()).toMatchObject({ ready: false, live: true });
    await lonely.stop();
    const err = await rejection(starting);
    expect(err.code).toBe('ERR_SHUTTING_DOWN');
    // The data directory is free again.
    const again = t.create('node-2', { dataDir: `${t.dir}/node-2` });
    await again.start();
    expect(again.getCluster().nodes.map((n) => n.id)).toEqual(['node-2']);
  });

  it('fails to start on a port in use, with the error, and frees its data directory', async () => {
    const first = await t.start('node-1');
    const port = Number(first.address.split(':')[1]);
    const clash = t.create('node-2', { httpAddr: `127.0.0.1:${port}` });
    const err = await rejection(clash.start());
    expect(err.code).toBe('ERR_TRANSPORT');
    expect(err.message).toMatch(new RegExp(`cannot listen on port ${port}`));
    const again = t.create('node-2', { dataDir: `${t.dir}/node-2` });
    await again.start();
  });

  it('starts once, stops idempotently, and leaves alone by just stopping', async () => {
    const ck = t.create('node-1');
    await ck.stop(); // before start: nothing to do
    const other = t.create('node-2');
    await other.start();
    await expect(other.start()).rejects.toThrow(/only be called once/);
    await other.leave();
    expect(other.healthCheck().live).toBe(false);
    await other.stop();
  });
});
