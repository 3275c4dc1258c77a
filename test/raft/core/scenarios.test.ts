import { afterEach, describe, expect, it } from 'vitest';
import { ClusterKitError, NotLeaderError, ShuttingDownError } from '../../../src/errors.js';
import { cmd, TestCluster, type TestNode } from './harness.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

async function threeNodes(options = {}): Promise<{ c: TestCluster; leader: TestNode; followers: TestNode[] }> {
  cluster = await TestCluster.start(['a', 'b', 'c'], options);
  const c = cluster;
  const leader = await c.waitForLeader();
  const followers = c.running().filter((n) => n.id !== leader.id);
  return { c, leader, followers };
}

/** Collects a promise's outcome without awaiting it (virtual time must keep running). */
function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const out: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => {
      out.done = true;
      out.value = v;
    },
    (e: unknown) => {
      out.done = true;
      out.error = e;
    },
  );
  return out;
}

describe('elections', () => {
  it('pre-vote keeps a partitioned node from raising its term and disrupting the leader when it returns', async () => {
    const { c, leader, followers } = await threeNodes();
    const lonely = followers[0]!;
    const term = leader.raft.status().term;
    c.net.cut(lonely.id, [leader.id, followers[1]!.id]);
    await c.time.run(5000); // > 10 election timeouts
    expect(lonely.raft.status().term).toBe(term);
    expect(lonely.raft.counters().elections).toBe(0);
    c.net.heal();
    await c.time.run(2000);
    expect(leader.raft.status().role).toBe('leader');
    expect(leader.raft.status().term).toBe(term);
    expect(lonely.raft.status().leaderId).toBe(leader.id);
  });

  it('without pre-vote the same partition does raise the term (the test above would catch a regression)', async () => {
    const { c, leader, followers } = await threeNodes({ preVote: false });
    const lonely = followers[0]!;
    const term = leader.raft.status().term;
    c.net.cut(lonely.id, [leader.id, followers[1]!.id]);
    await c.time.run(5000);
    expect(lonely.raft.status().term).toBeGreaterThan(term);
  });

  it('check-quorum: a leader cut off from the majority steps down, and the majority elects a new one', async () => {
    const { c, leader, followers } = await threeNodes();
    c.net.cut(
      leader.id,
      followers.map((f) => f.id),
    );
    const stale = track(leader.raft.propose(cmd('lost', 'x'), { timeoutMs: 400 }));
    // Steps down within two election timeouts (the check runs every election timeout).
    await c.time.waitFor(() => leader.raft.status().role !== 'leader', 700, 'the old leader to step down');
    const next = await c.waitForLeader(
      3000,
      followers.map((f) => f.id),
    );
    expect(next.id).not.toBe(leader.id);
    await c.time.waitFor(() => stale.done, 1000);
    expect(stale.error).toBeInstanceOf(ClusterKitError);
  });

  it('emits leader and role events', async () => {
    cluster = new TestCluster();
    const c = cluster;
    const n = c.create('a', { bootstrap: { members: [{ id: 'a', addr: TestCluster.addrOf('a'), voter: true }] } });
    const seen: string[] = [];
    n.raft.on('role', (role, term) => seen.push(`role:${role}@${term}`));
    const off = n.raft.on('leader', (id, term) => seen.push(`leader:${id ?? '-'}@${term}`));
    await n.raft.start();
    await c.waitForLeader();
    off();
    // The only voter needs nobody's vote: no pre-vote round, no election timeout to wait out.
    expect(seen).toEqual(['role:candidate@2', 'role:leader@2', 'leader:a@2']);
  });

  it('a single voter leads as soon as its vote is durable, without waiting out an election timeout', async () => {
    cluster = new TestCluster();
    const c = cluster;
    const n = c.create('a', { bootstrap: { members: [{ id: 'a', addr: TestCluster.addrOf('a'), voter: true }] } });
    await n.raft.start();
    const started = c.time.now();
    await c.waitForLeader();
    // The election timeout is 300 ms (randomised in [300, 600)); the memory stores complete at once.
    expect(c.time.now() - started).toBeLessThan(10);
    // A restarted single voter does the same.
    c.crash('a');
    const again = await c.restart('a');
    const restarted = c.time.now();
    await c.waitForLeader();
    expect(c.time.now() - restarted).toBeLessThan(10);
    expect(again.raft.status().term).toBe(3);
  });

  it('with lease reads a restarted single voter still waits an election timeout (an old lease may count on it)', async () => {
    cluster = new TestCluster({ leaseReads: true, checkQuorum: true });
    const c = cluster;
    const n = c.create('a', { bootstrap: { members: [{ id: 'a', addr: TestCluster.addrOf('a'), voter: true }] } });
    await n.raft.start();
    const started = c.time.now();
    await c.waitForLeader();
    expect(c.time.now() - started).toBeGreaterThanOrEqual(300);
  });
});

describe('reads', () => {
  it('read() on the leader and on followers sees every write committed before it', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('k', '1')));
    await c.settle(leader.raft.read());
    expect(leader.sm.data.get('k')).toBe('1');
    for (const f of followers) {
      await c.settle(f.raft.read());
      expect(f.sm.data.get('k')).toBe('1');
    }
    expect(leader.raft.metrics().readLatency.count).toBe(1);
  });

  it('a leader cut off from the majority never serves a read', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('k', '1')));
    c.net.cut(
      leader.id,
      followers.map((f) => f.id),
    );
    const r = track(leader.raft.read({ timeoutMs: 2000 }));
    const newLeader = await c.waitForLeader(
      3000,
      followers.map((f) => f.id),
    );
    await c.settle(newLeader.raft.propose(cmd('k', '2')));
    await c.time.waitFor(() => r.done, 3000, 'the read to fail');
    expect(r.error).toBeInstanceOf(ClusterKitError);
    expect(leader.sm.data.get('k')).toBe('1');
  });

  it('lease reads are served without a heartbeat round while the lease holds', async () => {
    const { c, leader } = await threeNodes({ leaseReads: true });
    await c.settle(leader.raft.propose(cmd('k', '1')));
    await c.time.run(100);
    const sent = c.net.delivered;
    await c.settle(leader.raft.read());
    expect(c.net.delivered).toBe(sent); // no messages were needed
  });
});

describe('log conflicts', () => {
  it('an isolated leader’s uncommitted suffix is replaced by the new leader’s log', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('base', '0')));
    c.net.cut(
      leader.id,
      followers.map((f) => f.id),
    );
    const lost = [1, 2, 3].map((i) => track(leader.raft.propose(cmd(`lost${i}`, 'x'), { timeoutMs: 5000 })));
    await c.time.run(20);
    expect(leader.raft.status().lastIndex).toBeGreaterThan(leader.raft.status().commitIndex);
    const next = await c.waitForLeader(
      3000,
      followers.map((f) => f.id),
    );
    for (let i = 0; i < 5; i++) await c.settle(next.raft.propose(cmd(`won${i}`, 'y')));
    c.net.heal();
    await c.waitForLeader(3000);
    await c.waitForApplied(next.raft.status().commitIndex, 3000);
    const reference = next.log.entries(1, next.log.lastIndex() + 1);
    for (const n of c.running()) {
      expect(n.log.entries(1, n.log.lastIndex() + 1)).toEqual(reference);
      expect(n.sm.data.has('lost1')).toBe(false);
      expect(n.sm.data.get('won4')).toBe('y');
    }
    await c.time.waitFor(() => lost.every((l) => l.done), 6000);
    for (const l of lost) expect(l.error).toBeInstanceOf(ClusterKitError);
  });
});

describe('snapshots', () => {
  it('compacts after the threshold and brings a lagging follower up with InstallSnapshot', async () => {
    const { c, leader, followers } = await threeNodes({
      snapshotThreshold: 10,
      snapshotTrailing: 2,
      snapshotChunkBytes: 64,
    });
    const lagging = followers[0]!;
    c.net.cut(lagging.id, [leader.id, followers[1]!.id]);
    for (let i = 0; i < 40; i++) await c.settle(leader.raft.propose(cmd(`k${i}`, `v${i}`)));
    await c.time.run(100);
    expect(leader.raft.counters().snapshotsTaken).toBeGreaterThanOrEqual(3);
    expect(leader.log.firstIndex()).toBeGreaterThan(lagging.raft.status().lastIndex + 1);
    c.net.heal();
    await c.waitForApplied(leader.raft.status().commitIndex, 3000, [lagging.id]);
    expect(lagging.raft.counters().snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(lagging.sm.restores).toBeGreaterThanOrEqual(1);
    expect(leader.raft.counters().snapshotsSent).toBeGreaterThanOrEqual(1);
    expect([...lagging.sm.data]).toEqual([...leader.sm.data]);
    // It keeps replicating normally afterwards.
    await c.settle(leader.raft.propose(cmd('after', 'snap')));
    await c.waitForApplied(leader.raft.status().commitIndex, 2000, [lagging.id]);
    expect(lagging.sm.data.get('after')).toBe('snap');
  });

  it('a restarted node loads its latest snapshot into the state machine', async () => {
    const { c, leader, followers } = await threeNodes({ snapshotThreshold: 10, snapshotTrailing: 2 });
    for (let i = 0; i < 25; i++) await c.settle(leader.raft.propose(cmd(`k${i}`, `v${i}`)));
    const f = followers[0]!;
    await c.waitForApplied(leader.raft.status().commitIndex, 2000, [f.id]);
    expect(f.snapshots.latest()).not.toBeNull();
    c.crash(f.id);
    const back = await c.restart(f.id);
    expect(back.sm.restores).toBe(1);
    expect(back.raft.status().snapshotIndex).toBe(f.snapshots.latest()!.meta.index);
    await c.waitForApplied(leader.raft.status().commitIndex, 3000, [f.id]);
    expect(back.sm.data.get('k24')).toBe('v24');
  });
});

describe('membership', () => {
  it('adds a non-voter that catches up, promotes it, then removes a follower', async () => {
    const { c, leader, followers } = await threeNodes();
    for (let i = 0; i < 10; i++) await c.settle(leader.raft.propose(cmd(`k${i}`, 'v')));
    const d = c.create('d'); // empty storage, no bootstrap: waits to be added
    const configs: string[] = [];
    followers[1]!.raft.on('config', (cfg) =>
      configs.push(cfg.members.map((m) => `${m.id}${m.voter ? '' : '(nv)'}`).join(',')),
    );
    await d.raft.start();
    await c.settle(leader.raft.addMember('d', d.addr));
    expect(leader.raft.status().config.members.find((m) => m.id === 'd')?.voter).toBe(false);
    await c.settle(leader.raft.promote('d'));
    await c.waitForApplied(leader.raft.status().commitIndex, 3000);
    for (const n of c.running()) {
      expect(n.raft.status().config.members.find((m) => m.id === 'd')?.voter).toBe(true);
    }
    expect(d.sm.data.get('k9')).toBe('v');
    // Every change took effect on the follower as it was appended, in order.
    expect(configs).toEqual(['a,b,c,d(nv)', 'a,b,c,d']);
    await c.settle(leader.raft.removeMember(followers[0]!.id));
    expect(
      leader.raft
        .status()
        .config.members.map((m) => m.id)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd'].filter((id) => id !== followers[0]!.id));
    await c.settle(leader.raft.demote('d'));
    expect(leader.raft.status().config.members.find((m) => m.id === 'd')?.voter).toBe(false);
  });

  it('rejects a second change of the voters while one is uncommitted, with a retriable error', async () => {
    const { c, leader } = await threeNodes();
    const d = c.create('d');
    await d.raft.start();
    const first = leader.raft.addMember('d', d.addr, { voter: true });
    const second = leader.raft.addMember('e', TestCluster.addrOf('e'), { voter: true });
    await expect(c.settle(second)).rejects.toMatchObject({ code: 'ERR_MEMBERSHIP', retriable: true });
    await c.settle(first);
  });

  it('adds many non-voters at once in one append, even while a change of the voters commits', async () => {
    const { c, leader, followers } = await threeNodes();
    const ids = ['d', 'e', 'f', 'g'];
    for (const id of ids) await c.create(id).raft.start();
    const lastBefore = leader.raft.status().lastIndex;
    const demote = leader.raft.demote(followers[0]!.id);
    const adds = ids.map((id) => leader.raft.addMember(id, TestCluster.addrOf(id)));
    await c.settle(Promise.all([demote, ...adds]));
    // One configuration entry per change, all appended in the same tick: five entries, no waiting in between.
    expect(leader.raft.status().lastIndex).toBe(lastBefore + 5);
    const config = leader.raft.status().config.members;
    expect(
      config
        .filter((m) => !m.voter)
        .map((m) => m.id)
        .sort(),
    ).toEqual([followers[0]!.id, ...ids].sort());
    await c.waitForApplied(leader.raft.status().commitIndex, 3000);
    for (const id of ids) {
      expect(
        c
          .node(id)
          .raft.status()
          .config.members.map((m) => m.id)
          .sort(),
      ).toEqual(config.map((m) => m.id).sort());
    }
    // A change of the voters made while non-voter additions are uncommitted waits for them, then goes through.
    const more = leader.raft.addMember('h', TestCluster.addrOf('h'));
    const promote = leader.raft.promote('d');
    await c.settle(Promise.all([more, promote]));
    expect(leader.raft.status().config.members.find((m) => m.id === 'd')?.voter).toBe(true);
  });

  it('a removed leader steps down once its removal commits, and the rest elect a leader', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.removeMember(leader.id));
    await c.time.waitFor(() => leader.raft.status().role === 'follower', 1000, 'the removed leader to step down');
    const next = await c.waitForLeader(
      3000,
      followers.map((f) => f.id),
    );
    expect(next.raft.status().config.members.map((m) => m.id)).not.toContain(leader.id);
    await c.settle(next.raft.propose(cmd('x', '1')));
    // The removed node never campaigns again.
    const elections = leader.raft.counters().elections;
    await c.time.run(3000);
    expect(leader.raft.counters().elections).toBe(elections);
    expect(next.raft.status().role).toBe('leader');
  });

  it('a removed follower is told that its removal committed, then the leader stops talking to it', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('x', '1')));
    const gone = followers[0]!;
    let toGone = 0;
    c.net.filter = (m) => {
      if (m.to === gone.id) toGone++;
      return true;
    };
    await c.settle(leader.raft.removeMember(gone.id));
    const removalIndex = leader.raft.status().lastIndex;
    // The removed node holds the configuration without itself, and knows it committed.
    await c.time.waitFor(() => gone.raft.status().commitIndex >= removalIndex, 1000, 'the removal commits on it');
    expect(gone.raft.status().config.members.map((m) => m.id)).not.toContain(gone.id);
    expect(leader.raft.status().progress.map((p) => p.id)).toEqual([followers[1]!.id]);
    // Then the leader forgets it: no more messages (after the last round in flight).
    await c.time.run(500);
    const after = toGone;
    await c.time.run(2000);
    expect(toGone).toBe(after);
    // It never campaigns (it is not a voter of its own latest configuration) and the leader is undisturbed.
    expect(gone.raft.counters().elections).toBe(0);
    expect(leader.raft.status().role).toBe('leader');
  });

  it('the leader stops replicating to a removed follower that cannot be reached, after two election timeouts', async () => {
    const { c, leader, followers } = await threeNodes();
    const gone = followers[0]!;
    let toGone = 0;
    // Cut off (it is up, but nothing it sends or is sent arrives); the leader still sends, and is counted.
    c.net.filter = (m) => {
      if (m.to === gone.id) toGone++;
      return m.to !== gone.id && m.from !== gone.id;
    };
    await c.settle(leader.raft.removeMember(gone.id));
    await c.time.run(100); // a heartbeat interval: the removed follower is still sent to
    expect(toGone).toBeGreaterThan(0);
    await c.time.run(600); // two election timeouts of 300 ms after the removal, and a heartbeat
    const after = toGone;
    await c.time.run(2000);
    expect(toGone).toBe(after);
  });

  it('a member added back while still being told of its removal starts afresh (it may be a new machine)', async () => {
    const { c, leader, followers } = await threeNodes();
    for (let i = 0; i < 5; i++) await c.settle(leader.raft.propose(cmd(`k${i}`, 'v')));
    const gone = followers[0]!;
    await c.waitForApplied(leader.raft.status().commitIndex, 2000, [gone.id]);
    // Removed, then at once replaced by a new machine with the same id and an empty log.
    await c.settle(leader.raft.removeMember(gone.id));
    c.crash(gone.id);
    const fresh = c.create(gone.id);
    c.net.heal(); // the crash cut the old machine's links; the new one has the same id
    await fresh.raft.start();
    await c.settle(leader.raft.addMember(gone.id, fresh.addr));
    // What the old machine acknowledged does not count for the new one.
    expect(leader.raft.status().progress.find((p) => p.id === gone.id)?.matchIndex).toBe(0);
    await c.waitForApplied(leader.raft.status().commitIndex, 3000, [gone.id]);
    expect(fresh.sm.data.get('k4')).toBe('v');
  });

  it('a change asked again while it is still uncommitted succeeds only once it commits, and fails with it', async () => {
    // Found by the simulation (seed 2001291): the second of two identical removals resolved at once, because the
    // uncommitted configuration already had it; the caller took the node for removed, but the entry was lost.
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('x', '1')));
    const [b, d] = followers as [TestNode, TestNode];
    c.net.cut(leader.id, [b.id, d.id]);
    const first = track(leader.raft.removeMember(d.id));
    await c.time.run(20);
    const second = track(leader.raft.removeMember(d.id));
    const third = track(leader.raft.addMember('e', TestCluster.addrOf('e')));
    const fourth = track(leader.raft.addMember('e', TestCluster.addrOf('e')));
    await c.time.run(200);
    expect([first.done, second.done, third.done, fourth.done]).toEqual([false, false, false, false]);
    // The cut-off leader loses its leadership; its uncommitted entries are overwritten: every call fails.
    await c.time.run(2000);
    expect(leader.raft.status().role).not.toBe('leader');
    c.net.heal();
    await c.time.waitFor(() => first.done && second.done && third.done && fourth.done, 5000);
    for (const t of [first, second, third, fourth]) expect(t.error).toBeInstanceOf(ClusterKitError);
    const next = await c.waitForLeader(3000);
    expect(next.raft.status().config.members.map((m) => m.id)).toContain(d.id);
    expect(next.raft.status().config.members.map((m) => m.id)).not.toContain('e');
  });

  it('membership calls on a follower reject with NotLeaderError naming the leader', async () => {
    const { c, leader, followers } = await threeNodes();
    const err = await c.settle(followers[0]!.raft.addMember('z', 'z:1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(leader.id);
    expect((err as NotLeaderError).leaderAddr).toBe(leader.addr);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to the chosen voter and refuses proposals meanwhile', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('x', '1')));
    const target = followers[1]!;
    const transfer = leader.raft.transferLeadership(target.id);
    const during = track(leader.raft.propose(cmd('x', '2')));
    await c.settle(transfer);
    const next = await c.waitForLeader(2000);
    expect(next.id).toBe(target.id);
    await c.time.waitFor(() => during.done, 100);
    expect(during.error).toMatchObject({ code: 'ERR_UNAVAILABLE', retriable: true });
    await c.settle(next.raft.propose(cmd('x', '3')));
  });

  it('honours timeoutMs: retries past one election timeout and succeeds once the target is reachable', async () => {
    const { c, leader, followers } = await threeNodes();
    const target = followers[0]!;
    // The target hears nothing from the leader (so no TimeoutNow) for three election timeouts.
    c.net.cut(target.id, [leader.id]);
    const transfer = track(leader.raft.transferLeadership(target.id, { timeoutMs: 5000 }));
    await c.time.run(900);
    expect(transfer.done).toBe(false);
    expect(leader.raft.status().role).toBe('leader');
    c.net.heal();
    await c.time.waitFor(() => transfer.done, 3000);
    expect(transfer.error).toBeUndefined();
    const next = await c.waitForLeader(2000);
    expect(next.id).toBe(target.id);
  });

  it('an untargeted transfer moves on to another voter when the first choice does not answer', async () => {
    const { c, leader, followers } = await threeNodes();
    await c.settle(leader.raft.propose(cmd('x', '1')));
    const [first, second] = followers as [TestNode, TestNode];
    // The most up-to-date voter dies just before the transfer: its progress still looks best for a moment.
    c.crash(first.id);
    const started = c.time.now();
    await c.settle(leader.raft.transferLeadership(undefined, { timeoutMs: 5000 }));
    const next = await c.waitForLeader(2000, [leader.id, second.id]);
    expect(next.id).toBe(second.id);
    expect(c.time.now() - started).toBeLessThan(2000);
  });

  it('times out when the target cannot take over', async () => {
    const { c, leader, followers } = await threeNodes();
    const target = followers[0]!;
    c.net.cut(target.id, [leader.id]);
    await expect(c.settle(leader.raft.transferLeadership(target.id))).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(leader.raft.status().role).toBe('leader');
    c.net.heal();
    await c.settle(leader.raft.propose(cmd('x', '1')));
  });
});

describe('failures', () => {
  it('a storage error stops the node, emits stopped and rejects pending requests', async () => {
    const { c, leader } = await threeNodes();
    const stopped: (Error | undefined)[] = [];
    leader.raft.on('stopped', (e) => stopped.push(e));
    leader.log.append = () => Promise.reject(new Error('disk on fire'));
    const p = track(leader.raft.propose(cmd('x', '1')));
    await c.time.run(50);
    expect(p.error).toBeInstanceOf(ShuttingDownError);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]?.message).toBe('disk on fire');
    await expect(leader.raft.propose(cmd('y', '1'))).rejects.toBeInstanceOf(ShuttingDownError);
  });

  it('ignores garbage, misaddressed and absurd messages', async () => {
    const { c, leader, followers } = await threeNodes();
    const f = followers[0]!;
    const deliver = (m: unknown): void => {
      // Reach the node's transport handler directly, as a corrupt peer would.
      (c.net as unknown as { handlers: Map<string, { handler: (m: unknown) => void }> }).handlers
        .get(f.addr)!
        .handler(m);
    };
    deliver(null);
    deliver({ type: 1, from: 'x', to: 'someone-else', term: 1 });
    deliver({ type: 99, from: 'x', to: f.id, term: 1 });
    deliver({ type: 1, from: leader.id, to: f.id, term: Number.NaN, prevIndex: 0, prevTerm: 0, entries: [] });
    deliver({
      type: 1,
      from: leader.id,
      to: f.id,
      term: leader.raft.status().term,
      prevIndex: 1e12,
      prevTerm: 1,
      entries: [],
      commit: 1e12,
      round: 0,
    });
    await c.time.run(500);
    expect(f.raft.status().role).toBe('follower');
    expect(f.raft.counters().messagesDropped).toBeGreaterThanOrEqual(4);
    expect(f.raft.status().commitIndex).toBe(leader.raft.status().commitIndex);
    await c.settle(leader.raft.propose(cmd('still', 'fine')));
  });
});
