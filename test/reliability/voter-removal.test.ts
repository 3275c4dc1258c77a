/**
 * Regression test for a bug the fault harness found (scenario `mixed`): the leader dropped from Raft, one after the
 * other, two live voters that were out of the cluster state only for a moment (restarting: their old life's
 * departure recorded, their rejoin not yet), while a third voter was dead (stopped without leaving). The voters
 * left were {leader, dead node}: no leader could ever commit again, and the cluster was lost for good.
 *
 * Now an orphan voter is only removed while the voters the leader hears from stay a majority of what remains.
 * Leader duties on virtual time against the real state machine and a fake Raft configuration.
 */
import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/cluster/state/index.js';
import { LeaderWorld } from '../cluster/node/leader-world.js';

function spec(id: string): NodeSpec {
  return { id, name: id, httpAddr: `h:${id.slice(1)}`, raftAddr: `h:${id.slice(1)}`, incarnation: `${id}.1` };
}

/** n1 leads; Raft voters n1, n7, n9, n10; followers in `alive` answer, the others never do. */
function world(alive: ReadonlySet<string>): LeaderWorld {
  const w = new LeaderWorld(['n1', 'n7', 'n9', 'n10'].map((id) => ({ id, addr: `h:${id.slice(1)}`, voter: true })));
  w.contactMs = (id) => (alive.has(id) ? 0 : -1);
  return w;
}

describe('removing raft members that are not in the cluster state', () => {
  it('never leaves a configuration whose reachable voters are a minority', async () => {
    const alive = new Set(['n9', 'n10']);
    const w = world(alive);
    await w.propose({
      type: 'bootstrap',
      at: 1,
      clusterId: 'c',
      config: { clusterName: 'c', partitionCount: 8, replicationFactor: 3, maxVoters: 5 },
      node: spec('n1'),
    });
    for (const id of ['n7', 'n9', 'n10']) await w.propose({ type: 'nodeJoin', at: 2, node: spec(id) });
    // n9 and n10 restart: the departure of their old lives is recorded, their rejoins have not come yet. n7 has
    // stopped without leaving: a member, and a voter, that never answers.
    for (const id of ['n9', 'n10']) {
      await w.propose({ type: 'nodeLeave', at: 3, nodeId: id, reason: 'health_check_failure', incarnation: `${id}.1` });
    }
    const d = w.duties();
    d.start();
    await w.advance(3000);
    // n9 and n10 rejoin (their new lives); then the dead n7 is removed, and never before a live voter was kept.
    for (const id of ['n9', 'n10']) {
      await w.propose({ type: 'nodeJoin', at: 4, node: { ...spec(id), incarnation: `${id}.2` } });
    }
    await w.advance(15_000);
    d.stop();
    expect(w.configs.length).toBeGreaterThan(0);
    for (const voters of w.configs) {
      const live = voters.filter((id) => id === 'n1' || alive.has(id)).length;
      expect(live * 2, `voters ${voters.join(',')}`).toBeGreaterThan(voters.length);
    }
    expect(w.sm.state.hasNode('n7')).toBe(false);
    expect(w.members.some((m) => m.id === 'n7')).toBe(false);
    expect(
      w.members
        .filter((m) => m.voter)
        .map((m) => m.id)
        .sort(),
    ).toEqual(['n1', 'n10', 'n9']);
  });
});
