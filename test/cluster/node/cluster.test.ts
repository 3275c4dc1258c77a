/**
 * Small clusters in one process (real ports, real disks): joining through any address, idempotent joins, refused
 * take-overs and mismatched settings, graceful leave, voter promotion when a voter goes, service discovery,
 * custom data from any node with linearizable reads, and an operator's removal of a live node.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterKit, NodeLeaveEvent } from '../../../src/cluster/index.js';
import { rejection, TestNodes, until } from './helpers.js';

let t: TestNodes;

beforeEach(() => {
  t = new TestNodes();
});

afterEach(async () => {
  await t.destroy();
});

const ids = (ck: ClusterKit): string[] => ck.getCluster().nodes.map((n) => n.id);
const voters = (ck: ClusterKit): string[] =>
  (ck.httpApi.consensus()?.config.members ?? []).filter((m) => m.voter).map((m) => m.id);
const decode = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

describe('a small in-process cluster', () => {
  it('joins through any node (a follower redirects to the leader) and past dead seeds; joins are idempotent', async () => {
    const [a, b] = await t.cluster(2);
    // node-3 knows only a dead address and the follower.
    const follower = a!.getMetrics().isLeader ? b! : a!;
    const c = await t.start('node-3', { joinAddr: ['127.0.0.1:9', follower.address] });
    for (const n of [a!, b!, c]) await until(() => ids(n).length === 3, 5000, 'three members everywhere');
    expect(new Set([a!, b!, c].map((n) => n.getCluster().tableVersion)).size).toBe(1);
    // Partitions have min(RF, N) = 3 owners now.
    expect(c.listPartitions().every((p) => p.replicaNodes.length === 2)).toBe(true);

    // The same join again (same node, same incarnation) changes nothing.
    const me = c.getCluster().nodes.find((n) => n.id === 'node-3')!;
    const revision = c.getCluster().revision;
    const res = await fetch(`http://${follower.address}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node: { id: 'node-3', http_addr: me.httpAddr, incarnation: me.incarnation, weight: 1 } }),
      redirect: 'follow',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, data: { join: 'unchanged', node_count: 3 } });
    expect(c.getCluster().revision).toBe(revision);
  });

  it('a joiner that catches up from a snapshot reports nothing older than its own admission', async () => {
    // The leader snapshots after every command and keeps no log behind it: the joiner gets InstallSnapshot. Its
    // Raft membership is proposed together with its admission, so the snapshot it gets carries either its
    // admission (then it reports from the next command on) or the state just before it (then the admission
    // arrives as a command, and its events are the first it reports). Either way nothing older is reported.
    const raft = { electionMs: 300, heartbeatMs: 50, snapshotThreshold: 1, snapshotTrailing: 0 };
    const a = await t.start('node-1', { raft });
    for (let i = 0; i < 5; i++) await a.setCustomData(`before-${i}`, 'v');
    const b = t.create('node-2', { raft, joinAddr: a.address });
    const seen: string[] = [];
    for (const name of ['nodeJoin', 'customDataChange', 'partitionChange'] as const) {
      b.on(name, (e) => {
        seen.push(name === 'customDataChange' ? `${name}:${(e as { key: string }).key}` : name);
      });
    }
    await b.start();
    expect(b.httpApi.consensus()!.snapshotIndex).toBeGreaterThan(0);
    expect(ids(b)).toEqual(['node-1', 'node-2']);
    expect(decode(b.getCustomData('before-4'))).toBe('v');
    await a.setCustomData('after', 'x');
    await until(() => seen.includes('customDataChange:after'), 5000, 'the new write on the joiner');
    await b.hooksIdle();
    const own = seen.indexOf('nodeJoin') === 0 ? seen.slice(0, -1) : [];
    expect(own.every((e, i) => (i === 0 ? e === 'nodeJoin' : e === 'partitionChange'))).toBe(true);
    expect(seen.slice(own.length)).toEqual(['customDataChange:after']);
  });

  it('refuses a second process claiming a live node id, and a joiner with other settings', async () => {
    const [a] = await t.cluster(2);
    const impostor = t.create('node-2', { joinAddr: a!.address, dataDir: `${t.dir}/impostor` });
    const err = await rejection(impostor.start());
    expect(err.code).toBe('ERR_CONFLICT');
    expect(err.message).toMatch(/belongs to a live member/);

    const other = t.create('node-3', { joinAddr: a!.address, replicationFactor: 2 });
    const mismatch = await rejection(other.start());
    expect(mismatch.code).toBe('ERR_MEMBERSHIP');
    expect(mismatch.message).toMatch(/replication factor 2, the cluster has 3/);
    expect(ids(a!)).toEqual(['node-1', 'node-2']);
  });

  it('leaves gracefully: partitions handed over in one commit, leave reason graceful_shutdown, out of Raft', async () => {
    const nodes = await t.cluster(3);
    const [a, b, c] = nodes as [ClusterKit, ClusterKit, ClusterKit];
    const leaves: NodeLeaveEvent[] = [];
    for (const n of [a, b]) {
      n.onNodeLeave((e) => {
        leaves.push(e);
      });
    }
    const held = c.getPartitionsForNode('node-3');
    await c.leave();
    await until(() => leaves.length === 2, 5000, 'both survivors to see the leave');
    for (const e of leaves) {
      expect(e.node.id).toBe('node-3');
      expect(e.reason).toBe('graceful_shutdown');
      expect(e.partitionsOwned).toEqual(held.primary.map((p) => p.id));
      expect(e.partitionsReplica).toEqual(held.replica.map((p) => p.id));
    }
    for (const n of [a, b]) {
      expect(ids(n)).toEqual(['node-1', 'node-2']);
      expect(n.listPartitions().every((p) => p.replicaNodes.length === 1 && p.primaryNode !== 'node-3')).toBe(true);
    }
    await until(
      () => !(a.httpApi.consensus()?.config.members ?? []).some((m) => m.id === 'node-3'),
      5000,
      'raft removal',
    );
  });

  it('a leader that leaves hands leadership over first', async () => {
    const nodes = await t.cluster(3);
    const leader = nodes.find((n) => n.getMetrics().isLeader)!;
    const others = nodes.filter((n) => n !== leader);
    const reasons: string[] = [];
    others[0]!.onNodeLeave((e) => {
      reasons.push(`${e.node.id}:${e.reason}`);
    });
    await leader.leave();
    await until(() => reasons.length === 1, 5000, 'the leave event');
    expect(reasons).toEqual([`${leader.getMyNodeId()}:graceful_shutdown`]);
    await until(() => others.some((n) => n.getMetrics().isLeader), 5000, 'a new leader');
    for (const n of others) expect(ids(n)).not.toContain(leader.getMyNodeId());
    await others[0]!.setCustomData('after', 'ok');
    expect(decode(await others[1]!.getCustomDataLinearizable('after'))).toBe('ok');
  });

  it('keeps maxVoters voters: a removed voter is replaced by a healthy non-voter', async () => {
    const nodes = await t.cluster(4, { maxVoters: 3 });
    const leader = nodes.find((n) => n.getMetrics().isLeader)!;
    await until(() => voters(leader).length === 3, 5000, 'three voters');
    const nonVoter = ids(leader).find((id) => !voters(leader).includes(id))!;
    const victim = voters(leader).find((id) => id !== leader.getMyNodeId())!;
    await leader.removeNode(victim);
    await until(() => voters(leader).length === 3 && voters(leader).includes(nonVoter), 5000, 'a promotion');
    expect(voters(leader)).not.toContain(victim);
    expect(ids(leader)).not.toContain(victim);
  });

  it('shares custom data and services: written on any node, read on all, linearizable reads see the last write', async () => {
    const nodes = await t.cluster(3, { services: { kv: ':9080' } });
    for (const [i, n] of nodes.entries()) await n.setCustomData('owner', `written by ${i}`);
    for (const n of nodes) expect(decode(await n.getCustomDataLinearizable('owner'))).toBe('written by 2');
    const services = nodes[0]!.getServiceNodes('kv');
    expect(services.map((s) => s.node.id).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const s of services) expect(s.address).toBe(`127.0.0.1:9080`);
    expect(nodes[0]!.getServiceNodes('nope')).toEqual([]);
  });

  it('service discovery skips a provider the leader finds unhealthy, and lists it again once it is back', async () => {
    // Unhealthy after 1 s of silence (long enough that a loaded machine's stalls do not mark a live node), removed
    // only after 30 s: the stopped node stays a member throughout.
    const healthCheck = { interval: 1000, timeout: 1000, failureThreshold: 30 };
    const options = (i: number) => ({ healthCheck, services: { kv: `:908${i}` } });
    const first = await t.start('node-1', options(1));
    for (const i of [2, 3]) await t.start(`node-${i}`, { ...options(i), joinAddr: first.address });
    const leader = t.nodes.find((n) => n.getMetrics().isLeader)!;
    const victim = t.nodes.find((n) => n !== leader)!;
    const other = t.nodes.find((n) => n !== leader && n !== victim)!;
    const victimId = victim.getMyNodeId();
    const port = (id: string): string => id.slice('node-'.length);
    const listing = (ck: ClusterKit): string[] =>
      ck
        .getServiceNodes('kv')
        .map((s) => `${s.node.id}@${s.address}`)
        .sort();
    const everyone = ['node-1', 'node-2', 'node-3'].map((id) => `${id}@127.0.0.1:908${port(id)}`);
    const healthyOnes = everyone.filter((e) => !e.startsWith(`${victimId}@`));
    for (const n of [leader, other]) await until(() => ids(n).length === 3, 5000, 'three members');
    expect(listing(leader)).toEqual(everyone);

    await victim.stop(); // no leave: it stays a member, silent
    for (const n of [leader, other]) {
      await until(
        () => listing(n).join() === healthyOnes.join(),
        5000,
        `${victimId} to drop out of discovery on ${n.getMyNodeId()}`,
      );
    }
    expect(leader.healthCheck().unhealthyNodeIds).toEqual([victimId]);
    expect(ids(leader)).toContain(victimId);
    expect(other.getServiceNodes('kv').map((s) => s.node.id)).not.toContain(victimId);

    // Restarted from its data directory (a new port): it rejoins, is heard from, and is listed again.
    const back = await t.start(victimId, { ...options(Number(port(victimId))), joinAddr: leader.address });
    for (const n of [leader, other, back]) {
      await until(() => listing(n).join() === everyone.join(), 10_000, `${victimId} back in discovery`);
    }
    expect(leader.healthCheck().unhealthyNodeIds).toEqual([]);
  });

  it('a manual rebalance of a placed table changes nothing and fires no rebalance events', async () => {
    // Placement runs inside every command that changes its inputs (members, weights, zones), and computePlacement
    // returns the previous table itself when its inputs are unchanged: no reachable state makes a manual
    // rebalance move anything. Weights, zones and a removal give the table some history first.
    const first = await t.start('node-1', { weight: 1 });
    const specs = [
      ['node-2', { weight: 2, zone: 'a' }],
      ['node-3', { weight: 1, zone: 'b' }],
      ['node-4', { weight: 3 }],
    ] as const;
    for (const [id, o] of specs) await t.start(id, { ...o, joinAddr: first.address });
    const leader = t.nodes.find((n) => n.getMetrics().isLeader)!;
    const victim = t.nodes.find((n) => n !== leader && n.getMyNodeId() !== 'node-1')!;
    await leader.removeNode(victim.getMyNodeId());
    const nodes = t.nodes.filter((n) => n !== victim);
    const version = leader.getCluster().tableVersion;
    for (const n of nodes) {
      await until(() => n.getCluster().tableVersion === version && ids(n).length === 3, 5000, 'the same table');
      await n.hooksIdle();
    }
    const seen: string[] = [];
    for (const n of nodes) {
      for (const name of ['rebalanceStart', 'rebalanceComplete', 'partitionChange', 'partitionDrop'] as const) {
        n.on(name, () => {
          seen.push(`${n.getMyNodeId()}:${name}`);
        });
      }
    }
    const partitions = nodes.map((n) => n.listPartitions());
    const rebalances = nodes.map((n) => n.getMetrics().rebalances);
    const follower = nodes.find((n) => n !== leader)!;
    expect(await leader.rebalancePartitions()).toEqual({ changed: false, tableVersion: version });
    expect(await follower.rebalancePartitions('added capacity')).toEqual({ changed: false, tableVersion: version });
    // A later write, applied everywhere after both rebalances: everything they could have emitted is out by then.
    await leader.setCustomData('after-rebalance', 'x');
    for (const [i, n] of nodes.entries()) {
      await until(() => n.getCustomData('after-rebalance') !== undefined, 5000, 'the write after the rebalances');
      await n.hooksIdle();
      expect(n.getCluster().tableVersion).toBe(version);
      expect(n.listPartitions()).toBe(partitions[i]); // the same table object: nothing was recomputed into it
      expect(n.getMetrics().rebalances).toBe(rebalances[i]);
    }
    expect(seen).toEqual([]);
    // The hooks above do see a table that changes: the leader's own rebalance events on a removal.
    await leader.removeNode(follower.getMyNodeId());
    await until(() => seen.includes(`${leader.getMyNodeId()}:rebalanceComplete`), 5000, 'the removal rebalance');
    expect(leader.getMetrics().rebalances).toBeGreaterThan(rebalances[nodes.indexOf(leader)]!);
  });

  it('takes admin requests over HTTP on any node: rebalance, node removal', async () => {
    const nodes = await t.cluster(3);
    const [a, b] = nodes as [ClusterKit, ClusterKit];
    const reasons: string[] = [];
    a.onNodeLeave((e) => {
      reasons.push(`${e.node.id}:${e.reason}`);
    });
    const follower = nodes.find((n) => !n.getMetrics().isLeader)!;
    const rebalance = await fetch(`http://${follower.address}/rebalance`, { method: 'POST' });
    expect(rebalance.status).toBe(200);
    expect(await rebalance.json()).toMatchObject({ success: true, data: { changed: false } });
    const del = await fetch(`http://${b.address}/nodes/node-3`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ success: true, data: { node_id: 'node-3', node_count: 2 } });
    await until(() => reasons.length === 1, 5000, 'the leave event');
    expect(reasons).toEqual(['node-3:removed_by_admin']);
    const missing = await fetch(`http://${b.address}/nodes/node-9`, { method: 'DELETE' });
    expect(missing.status).toBe(404);
  });

  it('a live node removed by an operator stays out (not ready) instead of rejoining', async () => {
    const nodes = await t.cluster(3);
    const [a, , c] = nodes as [ClusterKit, ClusterKit, ClusterKit];
    const removed = await a.removeNode('node-3');
    expect(removed.nodeCount).toBe(2);
    await until(() => !c.healthCheck().ready, 5000, 'node-3 to see its removal');
    // Well past the membership watch's period: still out.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(ids(a)).toEqual(['node-1', 'node-2']);
    expect((await rejection(a.removeNode('node-3'))).code).toBe('ERR_NOT_FOUND');
  });
});
