/**
 * The leader's duties on virtual time: a fake clock and scheduler, a fake Raft (configuration and follower
 * contact under the test's control) and the real cluster state machine. No sockets, no disks, no sleeps.
 */
import { describe, expect, it } from 'vitest';
import { decodeHealthRecord, HEALTH_KEY } from '../../../src/cluster/health.js';
import { HEALTH, LeaderWorld } from './leader-world.js';

class World extends LeaderWorld {
  /** Bootstraps n1 and adds n2..nN to the state (and, when `inRaft`, to Raft as voters). */
  async cluster(n: number, inRaft = true): Promise<void> {
    const spec = (i: number) => ({
      id: `n${i}`,
      name: `n${i}`,
      httpAddr: `h:${i}`,
      raftAddr: `h:${i}`,
      incarnation: 'x.1',
    });
    await this.propose({
      type: 'bootstrap',
      at: 1,
      clusterId: 'c',
      config: { clusterName: 'c', partitionCount: 16, replicationFactor: 3, maxVoters: 5 },
      node: spec(1),
    });
    for (let i = 2; i <= n; i++) {
      await this.propose({ type: 'nodeJoin', at: 1 + i, node: spec(i) });
      if (inRaft) this.members.push({ id: `n${i}`, addr: `h:${i}`, voter: true });
    }
  }
}

/** Keeps `alive` answering every 50 ms for `ms`. */
async function heartbeats(w: World, alive: readonly string[], ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    w.answering(alive);
    await w.advance(50);
  }
}

const ids = (w: World): string[] => w.sm.state.nodes().map((n) => n.id);

/** Advances 1 ms at a time, `alive` answering every ms, until `id` is no longer a member; returns when. */
async function removalTime(w: World, alive: readonly string[], id: string, limitMs: number): Promise<number> {
  const end = w.now + limitMs;
  while (w.now < end) {
    w.answering(alive);
    await w.advance(1, 1);
    if (!ids(w).includes(id)) return w.now;
  }
  throw new Error(`${id} still a member after ${limitMs} ms`);
}

/** The engine's tick for a 50 ms heartbeat: the slack added to interval × threshold (see liveness.ts). */
const TICK_MS = 25;

describe('LeaderDuties', () => {
  it('removes a silent member after interval × threshold, not before, and drops it from Raft', async () => {
    const w = new World();
    await w.cluster(3);
    const d = w.duties();
    d.start();
    await heartbeats(w, ['n2', 'n3'], 500);
    const lastAnswer = w.lastAnswer.get('n3')!;
    await heartbeats(w, ['n2'], 800);
    expect(ids(w)).toEqual(['n1', 'n2', 'n3']);
    // Unhealthy (silent > timeout): published in the replicated health record.
    expect(decodeHealthRecord(w.sm.state.getCustomData(HEALTH_KEY)?.value)?.unhealthy).toEqual(['n3']);
    await heartbeats(w, ['n2'], 400);
    expect(ids(w)).toEqual(['n1', 'n2']);
    const departed = w.sm.state.departedNode('n3')!;
    expect(departed.reason).toBe('health_check_failure');
    expect(departed.lastSeenAt).toBe(1_700_000_000_000 + lastAnswer);
    expect(w.members.map((m) => m.id)).toEqual(['n1', 'n2']);
    expect(d.removals).toBe(1);
    // Once it is gone, the record is healthy again.
    await heartbeats(w, ['n2'], 300);
    expect(decodeHealthRecord(w.sm.state.getCustomData(HEALTH_KEY)?.value)?.unhealthy).toEqual([]);
    d.stop();
  });

  it('removes a dead member as its silence reaches the threshold, not at the next regular evaluation', async () => {
    const w = new World();
    await w.cluster(3);
    const d = w.duties();
    d.start();
    // The regular evaluation runs every 100 ms (interval / 3); n3's last answer, at 450, makes it dead at 1375.
    await heartbeats(w, ['n2', 'n3'], 500);
    const last = w.lastAnswer.get('n3')!;
    const removedAt = await removalTime(w, ['n2'], 'n3', 1500);
    const deadAfter = HEALTH.interval * HEALTH.failureThreshold + TICK_MS;
    // Never before the threshold; a few ms after it at most (it used to wait for the next regular evaluation).
    expect(removedAt - last).toBeGreaterThanOrEqual(deadAfter);
    expect(removedAt - last).toBeLessThanOrEqual(deadAfter + 7);
    expect(w.sm.state.departedNode('n3')?.lastSeenAt).toBe(1_700_000_000_000 + last);
    d.stop();
  });

  it('removes a member that died while another duty was committing as soon as that commit is done', async () => {
    const w = new World();
    await w.cluster(3);
    // The health record that says n3 is unhealthy takes 400 ms to commit: still in flight when n3 turns dead.
    w.commitMs.set('setCustomData', 400);
    const d = w.duties();
    d.start();
    await heartbeats(w, ['n2', 'n3'], 500);
    const last = w.lastAnswer.get('n3')!;
    const removedAt = await removalTime(w, ['n2'], 'n3', 2000);
    const recordAt = w.applied.find(([type]) => type === 'setCustomData')![1];
    expect(recordAt - last).toBeGreaterThan(HEALTH.interval * HEALTH.failureThreshold + TICK_MS);
    expect(removedAt - recordAt).toBeLessThanOrEqual(2);
    d.stop();
  });

  it('never removes a member it has not had the chance to hear from, and holds after its own stall', async () => {
    const w = new World();
    await w.cluster(3);
    const d = w.duties();
    d.start();
    // Nobody has answered yet (a new leader): the grace period runs from when tracking started.
    await w.advance(850);
    expect(ids(w)).toHaveLength(3);
    await heartbeats(w, ['n2', 'n3'], 300);
    // The leader's own loop stalls 5 s: everyone looks silent, which says nothing about them.
    w.now += 5000;
    await w.advance(60);
    expect(d.tracker.holding).toBe(true);
    expect(ids(w)).toHaveLength(3);
    await heartbeats(w, ['n2', 'n3'], 600);
    expect(ids(w)).toHaveLength(3);
    expect(w.changes).toEqual([]);
    d.stop();
  });

  it('does not remove anyone when most of the cluster looks dead at once', async () => {
    const w = new World();
    await w.cluster(5);
    const d = w.duties();
    d.start();
    await heartbeats(w, ['n2', 'n3', 'n4', 'n5'], 300);
    await heartbeats(w, ['n2'], 2000);
    expect(ids(w)).toHaveLength(5);
    d.stop();
  });

  it('adds state members missing from Raft as non-voters, promotes up to maxVoters, removes departed members', async () => {
    const w = new World();
    await w.cluster(4, false);
    const d = w.duties(3);
    d.start();
    await heartbeats(w, ['n2', 'n3', 'n4'], 1000);
    expect(w.changes.slice(0, 3)).toEqual(['add n2', 'add n3', 'add n4']);
    expect(w.members.filter((m) => m.voter).map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    // A voter leaves (graceful, still reachable): it is dropped from Raft at once, with no grace period (the engine
    // keeps telling a removed member until it learns that its removal committed), and n4 is promoted.
    await w.propose({ type: 'nodeLeave', at: 10, nodeId: 'n2', reason: 'graceful_shutdown' });
    await heartbeats(w, ['n2', 'n3', 'n4'], 250);
    expect(w.members.map((m) => m.id)).not.toContain('n2');
    await heartbeats(w, ['n3', 'n4'], 1250);
    expect(w.members.map((m) => m.id)).toEqual(['n1', 'n3', 'n4']);
    expect(w.members.every((m) => m.voter)).toBe(true);
    expect(w.changes).toEqual(['add n2', 'add n3', 'add n4', 'promote n2', 'promote n3', 'remove n2', 'promote n4']);
    d.stop();
  });

  it('proposes a rebalance once per leadership (a no-op when placement already matches)', async () => {
    const w = new World();
    await w.cluster(2);
    const before = w.index;
    const d = w.duties();
    d.start();
    await heartbeats(w, ['n2'], 300);
    expect(w.index).toBe(before + 1);
    expect(w.sm.state.counters.rebalances).toBe(2); // bootstrap + join: the leader_change rebalance moved nothing
    d.stop();
  });

  it('proposes no rebalance when it bootstrapped the cluster itself during this leadership', async () => {
    const w = new World();
    const d = w.duties();
    d.start();
    await w.advance(200); // leading an empty state (a node bootstrapping a new cluster)
    await w.cluster(1);
    const after = w.index;
    await w.advance(500);
    expect(w.index).toBe(after);
    d.stop();
  });
});
