/**
 * Raft with real processes: three node processes (bench/raft/node-process.ts) with file stores (real fdatasync)
 * and the TCP transport on ephemeral 127.0.0.1 ports. One scenario, in phases, because booting processes is the
 * expensive part: election, writes on the leader and on a follower (forwarded), convergence of the three state
 * machines, SIGKILL of the leader and a new election with writes continuing, restart of the killed node on its
 * old data directory and its catch-up (through InstallSnapshot, since the test makes the leader compact its log
 * past the dead node), then a clean stop and a restart of the whole cluster from disk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killLeaderAndMeasure, ProcessCluster } from '../../../bench/raft/cluster.js';
import type { NodeStatusReport } from '../../../bench/raft/protocol.js';

/** Every live node holds `keys` (committed writes are never lost) and all nodes agree on the state. */
async function expectAllHold(cluster: ProcessCluster, keys: readonly string[]): Promise<void> {
  for (const p of cluster.alive()) {
    const values = await p.get(keys);
    const missing = keys.filter((_, k) => values[k] === null);
    expect(missing, `keys missing on ${p.id}`).toEqual([]);
  }
}

function expectSameState(statuses: readonly NodeStatusReport[], count: number, nodes: number): void {
  expect(statuses).toHaveLength(nodes);
  for (const s of statuses) {
    expect(s.state.count, `applied commands on ${s.id}`).toBe(count);
    expect(s.state.digest, `history digest on ${s.id}`).toBe(statuses[0]!.state.digest);
  }
}

describe('a 3-node Raft cluster of real processes', () => {
  let cluster: ProcessCluster | null = null;

  afterEach(async () => {
    // Kills whatever still runs (also after a failed assertion) and removes the data directories.
    await cluster?.destroy();
    cluster = null;
  });

  it('replicates, survives kill -9 of the leader, and a restarted node catches up', async () => {
    cluster = await ProcessCluster.start({
      nodes: 3,
      clusterName: 'proc-test',
      snapshotThreshold: 40,
      snapshotTrailing: 8,
      // Longer than the engine's defaults: a CI machine running other tests can stall a process for a few hundred
      // ms, and a leader change in the middle of a phase would fail its writes for reasons this test is not about.
      timings: { electionMs: 1000, heartbeatMs: 100 },
    });
    const c = cluster;

    // Election.
    const first = await c.waitForLeader(15_000);
    const leader = c.node(first.id);
    const follower = c.node(c.ids.find((id) => id !== first.id)!);

    // Writes on the leader, then on a follower (forwarded to the leader).
    const onLeader = await leader.workload({ writers: 4, ops: 120, keyPrefix: 'lead', returnKeys: 120 });
    expect(onLeader.errors).toEqual({});
    expect(onLeader.ok).toBe(120);
    const onFollower = await follower.workload({ writers: 4, ops: 60, keyPrefix: 'fwd', returnKeys: 60 });
    expect(onFollower.errors).toEqual({});
    expect(onFollower.ok).toBe(60);
    expectSameState(await c.waitForConvergence(), 180, 3);
    const written = [...onLeader.keys, ...onFollower.keys];
    expect(new Set(written).size).toBe(180);
    await expectAllHold(c, written);

    // kill -9 the leader: the survivors elect a new one and writes continue.
    const failover = await killLeaderAndMeasure(c, 15_000);
    expect(failover.victim).toBe(first.id);
    expect(failover.newLeader).not.toBe(first.id);
    expect(failover.term).toBeGreaterThan(first.term);
    expect((await c.node(first.id).exited).signal).toBe('SIGKILL');
    const after = await c
      .node(failover.newLeader)
      .workload({ writers: 4, ops: 120, keyPrefix: 'after', returnKeys: 120, timeoutMs: 5000 });
    expect(after.errors).toEqual({});
    expect(after.ok).toBe(120);
    expectSameState(await c.waitForConvergence(), 300, 2);

    // Restart the killed node on its data directory: it rejoins as a follower and catches up. The leader has
    // compacted its log far past what the dead node holds, so this goes through InstallSnapshot.
    const restarted = await c.restart(first.id);
    expect(restarted.fresh).toBe(false);
    const caughtUp = await c.waitForConvergence(15_000);
    expectSameState(caughtUp, 300, 3);
    const mine = caughtUp.find((s) => s.id === first.id)!;
    expect(mine.role).toBe('follower');
    expect(mine.counters.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    await c.waitUntil(
      () => restarted.lastLeader?.leaderId === failover.newLeader,
      5000,
      'the restarted node to know the leader',
    );
    await expectAllHold(c, [...written, ...after.keys]);

    // Clean stop of every node (exit code 0, checked by stopAll), then the whole cluster restarts from disk.
    await c.stopAll();
    await Promise.all(c.ids.map((id) => c.restart(id)));
    const again = await c.waitForLeader(15_000);
    expect(again.term).toBeGreaterThan(failover.term);
    const more = await c.node(again.id).workload({ writers: 2, ops: 20, keyPrefix: 'again', returnKeys: 20 });
    expect(more.ok).toBe(20);
    expectSameState(await c.waitForConvergence(), 320, 3);
    await expectAllHold(c, [...written, ...after.keys, ...more.keys]);
    await c.stopAll();
  }, 60_000);
});
