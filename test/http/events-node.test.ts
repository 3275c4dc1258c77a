/**
 * The event log of a real ClusterKit node (in-process, real HTTP): `/events` holds exactly the events its hooks
 * received, in the same order; `/events/stream` delivers new ones as they commit, on every node; `/locate`
 * answers what `getPartition` answers; and an open stream does not hold up `stop()`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterKit, ClusterKitEventName } from '../../src/cluster/index.js';
import { TestNodes, until } from '../cluster/node/helpers.js';
import { openSse } from './event-fixtures.js';
import { expectGoShape, GO } from './go-shapes.js';
import { get } from './helpers.js';

const NAMES: readonly ClusterKitEventName[] = [
  'nodeJoin',
  'nodeRejoin',
  'nodeLeave',
  'nodeUpdate',
  'partitionChange',
  'partitionPromote',
  'partitionDrop',
  'rebalanceStart',
  'rebalanceComplete',
  'clusterHealthChange',
  'customDataChange',
];

let nodes: TestNodes | undefined;
afterEach(async () => {
  await nodes?.destroy();
  nodes = undefined;
});

const portOf = (ck: ClusterKit): number => Number(ck.address.slice(ck.address.lastIndexOf(':') + 1));

describe('events of a real node', () => {
  it('/events lists what the hooks received, in order; streams follow commits; locate matches getPartition', async () => {
    nodes = new TestNodes();
    const first = nodes.create('node-1', { partitionCount: 16, replicationFactor: 2 });
    const heard: string[] = [];
    for (const name of NAMES) first.on(name, () => void heard.push(name));
    await first.start();
    const second = await nodes.start('node-2', { joinAddr: first.address, partitionCount: 16, replicationFactor: 2 });
    await until(() => first.getCluster().nodes.length === 2 && second.getCluster().tableVersion > 0, 10_000, 'join');
    await first.hooksIdle();

    const page = await get(portOf(first), '/events?after=0&limit=1000');
    expect(page.status).toBe(200);
    const types = page.json.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(heard);
    expect(types).toContain('nodeJoin');
    const joins = page.json.events.filter((e: { type: string }) => e.type === 'nodeJoin');
    expect(joins.map((e: { data: { node: string } }) => e.data.node)).toEqual(['node-1', 'node-2']);
    expect(joins[0].data.is_bootstrap).toBe(true);
    expect(joins.every((e: { index: number }) => e.index > 0)).toBe(true);

    // Every node streams the same committed events.
    const a = await openSse(portOf(first), '/events/stream?types=customDataChange');
    const b = await openSse(portOf(second), '/events/stream?types=customDataChange');
    await Promise.all([a.waitForMessages(1), b.waitForMessages(1)]);
    const revision = await second.setCustomData('color', 'blue');
    const [ma, mb] = await Promise.all([a.waitForMessages(2, 10_000), b.waitForMessages(2, 10_000)]);
    for (const m of [ma[1]!, mb[1]!]) {
      expect(m.data).toMatchObject({ type: 'customDataChange', data: { key: 'color', revision, size: 4 } });
    }
    expect(ma[1]!.data.index).toBe(mb[1]!.data.index);

    for (const key of ['user:1', 'order:77', 'é']) {
      const r = await get(portOf(second), `/locate?key=${encodeURIComponent(key)}`);
      const p = first.getPartition(key);
      expect(r.json).toMatchObject({
        partition: p.id,
        primary: p.primaryNode,
        replicas: p.replicaNodes,
        epoch: p.epoch,
      });
    }

    // The Go endpoints answer a real node in the Go shapes (not only the fake of endpoints.test.ts).
    const stats = await get(portOf(second), '/consensus/stats');
    expectGoShape(stats.json, GO.consensusStats);
    expect(stats.json.last_log_index).toBeGreaterThan(0);
    expect(stats.json.last_log_term).toBe(stats.json.term); // the last entry, the custom data write, is of this term
    const metrics = await get(portOf(second), '/metrics');
    expectGoShape(metrics.json, GO.metrics);
    expect(metrics.json.node_count).toBe(2);

    // stop() ends the streams rather than waiting for the clients.
    const t0 = performance.now();
    await first.stop();
    await a.ended;
    expect(performance.now() - t0).toBeLessThan(5000);
    b.close();
  });
});
