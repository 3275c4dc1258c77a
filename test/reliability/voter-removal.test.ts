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
import { type DutyHost, LeaderDuties } from '../../src/cluster/leader-duties.js';
import { DEFAULT_HEALTH_CHECK } from '../../src/cluster/options.js';
import { RaftMembership } from '../../src/cluster/raft-membership.js';
import {
  type ApplyOk,
  type ClusterCommand,
  ClusterStateMachine,
  encodeCommand,
  type NodeSpec,
  refusalToError,
} from '../../src/cluster/state/index.js';
import type { Raft, RaftStatus } from '../../src/raft/api.js';
import type { Member } from '../../src/raft/types.js';
import type { Scheduler } from '../../src/util/io.js';
import { silentLogger } from '../../src/util/logger.js';

const HEALTH = { ...DEFAULT_HEALTH_CHECK, interval: 300, timeout: 600, failureThreshold: 3 };

function spec(id: string): NodeSpec {
  return { id, name: id, httpAddr: `h:${id.slice(1)}`, raftAddr: `h:${id.slice(1)}`, incarnation: `${id}.1` };
}

/** n1 leads; Raft voters n1, n7, n9, n10; followers in `alive` answer, the others never do. */
class World {
  now = 0;
  index = 0;
  timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  readonly sm = new ClusterStateMachine();
  members: Member[] = ['n1', 'n7', 'n9', 'n10'].map((id) => ({ id, addr: `h:${id.slice(1)}`, voter: true }));
  /** Voter sets after every configuration change. */
  readonly configs: string[][] = [];
  readonly scheduler: Scheduler = {
    setTimeout: (fn, ms) => {
      const t = { at: this.now + ms, fn, cancelled: false };
      this.timers.push(t);
      return {
        cancel: () => {
          t.cancelled = true;
        },
      };
    },
  };

  constructor(readonly alive: ReadonlySet<string>) {}

  propose = (cmd: ClusterCommand): Promise<ApplyOk> => {
    const r = this.sm.apply(encodeCommand(cmd), ++this.index);
    return r.ok ? Promise.resolve(r) : Promise.reject(refusalToError(r));
  };

  status(): RaftStatus {
    return {
      id: 'n1',
      role: 'leader',
      term: 2,
      leaderId: 'n1',
      leaderAddr: 'h:1',
      commitIndex: this.index,
      appliedIndex: this.index,
      lastIndex: this.index,
      firstIndex: 1,
      snapshotIndex: 0,
      config: { members: this.members.map((m) => ({ ...m })) },
      progress: this.members
        .filter((m) => m.id !== 'n1')
        .map((m) => ({
          id: m.id,
          voter: m.voter,
          matchIndex: this.index,
          nextIndex: this.index + 1,
          lastContactMs: this.alive.has(m.id) ? 0 : -1,
          inflight: 0,
          snapshotting: false,
        })),
    };
  }

  raft(): Raft {
    const change = (fn: () => void): Promise<void> => {
      fn();
      this.configs.push(this.members.filter((m) => m.voter).map((m) => m.id));
      return Promise.resolve();
    };
    return {
      status: () => this.status(),
      addMember: (id: string, addr: string) => change(() => this.members.push({ id, addr, voter: false })),
      removeMember: (id: string) => change(() => (this.members = this.members.filter((m) => m.id !== id))),
      promote: (id: string) =>
        change(() => (this.members = this.members.map((m) => (m.id === id ? { ...m, voter: true } : m)))),
      demote: (id: string) =>
        change(() => (this.members = this.members.map((m) => (m.id === id ? { ...m, voter: false } : m)))),
    } as unknown as Raft;
  }

  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 10;
      const due = this.timers.filter((t) => !t.cancelled && t.at <= this.now);
      this.timers = this.timers.filter((t) => !due.includes(t));
      for (const t of due) t.fn();
      for (let k = 0; k < 20; k++) await Promise.resolve();
    }
  }

  duties(): LeaderDuties {
    const host: DutyHost = {
      nodeId: 'n1',
      state: this.sm.state,
      raftStatus: () => this.status(),
      propose: this.propose,
      membership: new RaftMembership(() => this.raft(), this.scheduler, silentLogger, 1000),
      pendingJoins: new Set(),
      health: HEALTH,
      maxVoters: () => 5,
      clock: { now: () => this.now },
      scheduler: this.scheduler,
      wallClock: () => 1_700_000_000_000 + this.now,
      logger: silentLogger,
      heartbeatMs: 50,
    };
    return new LeaderDuties(host);
  }
}

describe('removing raft members that are not in the cluster state', () => {
  it('never leaves a configuration whose reachable voters are a minority', async () => {
    const w = new World(new Set(['n9', 'n10']));
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
      const live = voters.filter((id) => id === 'n1' || w.alive.has(id)).length;
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
