import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotLeaderError } from '../../../src/errors.js';
import { cmd, TestCluster } from './harness.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('single node', () => {
  it('bootstraps, elects itself and applies proposals with their results', async () => {
    cluster = await TestCluster.start(['a']);
    const c = cluster;
    const leader = await c.waitForLeader();
    expect(leader.id).toBe('a');
    expect(await c.settle(leader.raft.propose(cmd('x', '1')))).toBeNull();
    expect(await c.settle(leader.raft.propose(cmd('x', '2')))).toBe('1');
    await c.settle(leader.raft.read());
    const s = leader.raft.status();
    expect(s.role).toBe('leader');
    expect(s.term).toBeGreaterThanOrEqual(2);
    // entry 1 = bootstrap config, then the leader's no-op, then two commands
    expect(s.commitIndex).toBe(4);
    expect(s.appliedIndex).toBe(4);
    expect(s.config.members.map((m) => m.id)).toEqual(['a']);
    expect(leader.sm.data.get('x')).toBe('2');
    const counters = leader.raft.counters();
    expect(counters.proposals).toBe(2);
    expect(counters.proposalsFailed).toBe(0);
    expect(counters.elections).toBe(1);
    expect(leader.raft.metrics().proposeLatency.count).toBe(2);
  });

  it('batches proposals made in the same tick into one log append (group commit)', async () => {
    cluster = await TestCluster.start(['a']);
    const c = cluster;
    const leader = await c.waitForLeader();
    const appends: number[] = [];
    const log = leader.log;
    const original = log.append.bind(log);
    log.append = (entries) => {
      appends.push(entries.length);
      return original(entries);
    };
    const ps = Array.from({ length: 50 }, (_, i) => leader.raft.propose(cmd(`k${i}`, 'v')));
    const results = await c.settle(Promise.all(ps));
    expect(results).toHaveLength(50);
    expect(appends).toEqual([50]);
  });

  it('survives a restart from its stores and continues from the log', async () => {
    cluster = await TestCluster.start(['a']);
    const c = cluster;
    let leader = await c.waitForLeader();
    await c.settle(leader.raft.propose(cmd('x', '1')));
    const termBefore = leader.raft.status().term;
    c.crash('a'); // no stop(): a crash, so the stores are not closed
    leader = await c.restart('a');
    await c.waitForLeader();
    expect(leader.raft.status().term).toBeGreaterThan(termBefore);
    await c.settle(leader.raft.propose(cmd('y', '2')));
    expect(leader.sm.data.get('x')).toBe('1');
    expect(leader.sm.data.get('y')).toBe('2');
  });
});

describe('options', () => {
  it('rejects nonsense timings and settings', () => {
    const c = new TestCluster();
    expect(() => c.create('a', { timings: { tickMs: 10, heartbeatMs: 300, electionMs: 300 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => c.create('b', { timings: { tickMs: 0 } })).toThrow(InvalidArgumentError);
    expect(() => c.create('c', { maxInflightMessages: 0 })).toThrow(InvalidArgumentError);
    expect(() => c.create('d', { leaseReads: true, checkQuorum: false })).toThrow(InvalidArgumentError);
    expect(() => c.create('e', { bootstrap: { members: [{ id: 'other', addr: 'x:1', voter: true }] } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('refuses requests before start and after stop', async () => {
    const c = new TestCluster();
    const n = c.create('a');
    await expect(n.raft.propose(cmd('x', '1'))).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' });
    await n.raft.start();
    await n.raft.stop();
    await expect(n.raft.propose(cmd('x', '1'))).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
  });

  it('a node with empty storage and no bootstrap waits, and tells callers there is no leader', async () => {
    cluster = new TestCluster();
    const n = cluster.create('a');
    await n.raft.start();
    await cluster.time.run(2000);
    expect(n.raft.status().role).toBe('follower');
    expect(n.raft.status().term).toBe(0);
    await expect(n.raft.propose(cmd('x', '1'))).rejects.toBeInstanceOf(NotLeaderError);
  });
});

describe('three nodes', () => {
  it('elects one leader and replicates to every state machine', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c']);
    const c = cluster;
    const leader = await c.waitForLeader();
    for (let i = 0; i < 20; i++) await c.settle(leader.raft.propose(cmd(`k${i}`, `v${i}`)));
    const last = leader.raft.status().lastIndex;
    await c.waitForApplied(last);
    for (const n of c.running()) {
      expect(n.sm.data.size).toBe(20);
      expect(n.sm.data.get('k19')).toBe('v19');
      expect(n.log.lastIndex()).toBe(last);
    }
    const progress = leader.raft.status().progress;
    expect(progress.map((p) => p.id).sort()).toEqual(leader.id === 'a' ? ['b', 'c'] : expect.any(Array));
    for (const p of progress) {
      expect(p.matchIndex).toBe(last);
      expect(p.lastContactMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('a follower forwards proposals and resolves with its own state machine result', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c']);
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.running().find((n) => n.id !== leader.id)!;
    expect(await c.settle(follower.raft.propose(cmd('x', '1')))).toBeNull();
    expect(await c.settle(follower.raft.propose(cmd('x', '2')))).toBe('1');
    expect(follower.sm.data.get('x')).toBe('2');
    // A follower read waits until this follower applied everything committed before it.
    await c.settle(leader.raft.propose(cmd('y', '3')));
    await c.settle(follower.raft.read());
    expect(follower.sm.data.get('y')).toBe('3');
  });

  it('elects a new leader after the leader fails, and keeps every committed write', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c']);
    const c = cluster;
    const first = await c.waitForLeader();
    for (let i = 0; i < 5; i++) await c.settle(first.raft.propose(cmd(`k${i}`, 'v')));
    c.crash(first.id);
    const second = await c.waitForLeader(5000);
    expect(second.id).not.toBe(first.id);
    expect(second.raft.status().term).toBeGreaterThan(first.raft.status().term);
    await c.settle(second.raft.propose(cmd('after', 'failover')));
    for (const n of c.running()) {
      await c.waitForApplied(second.raft.status().commitIndex, 2000, [n.id]);
      expect(n.sm.data.get('k4')).toBe('v');
      expect(n.sm.data.get('after')).toBe('failover');
    }
    // The old leader comes back as a follower and catches up.
    await c.restart(first.id);
    await c.waitForApplied(second.raft.status().commitIndex, 5000);
    expect(c.node(first.id).sm.data.get('after')).toBe('failover');
  });
});
