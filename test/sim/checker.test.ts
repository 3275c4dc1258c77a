/**
 * The checkers must bite: each test breaks one property on purpose (through the trivial fake engine, a broken
 * disk or a tampered state machine) and expects the matching violation. A checker that stays green here would
 * stay green on a broken engine too.
 */
import { describe, expect, it } from 'vitest';
import { Checker, type ViolationKind } from './checker.js';
import { realFactory } from './engine.js';
import { type FakeBugs, FakeRaft } from './fake-raft.js';
import { LogImage } from './log-image.js';
import { Scenario } from './scenario.js';

function fake(bugs: FakeBugs = {}) {
  return new Scenario({ seed: 5, nodes: 3, factory: (o) => new FakeRaft(o, bugs) });
}

function kinds(s: Scenario): ViolationKind[] {
  return [...new Set(s.checker.violations.map((v) => v.kind))];
}

async function proposeSome(s: Scenario, n: number, untilViolation = true): Promise<void> {
  for (let i = 0; i < n && (s.checker.ok || !untilViolation); i++) await s.propose(s.ids[i % s.ids.length] ?? 'n1');
}

describe('checkers on the fake engine', () => {
  it('stay quiet on a correct run (the baseline for the tests below)', async () => {
    const s = fake();
    await s.boot();
    await proposeSome(s, 20);
    s.cluster.crash('n3');
    await s.run(200);
    s.cluster.start('n3');
    await proposeSome(s, 10);
    await s.run(500);
    expect(s.checker.violations).toEqual([]);
    expect(s.workload.stats.acked).toBe(30);
  });

  it('catch a node that applies a different command', async () => {
    const s = fake();
    s.cluster.onStateMachine = (sm) => {
      if (sm.node === 'n2') sm.corrupt = (index, cmd) => (index === 5 ? `${cmd}-tampered` : cmd);
    };
    await s.boot();
    await proposeSome(s, 10);
    await s.run(500);
    expect(kinds(s)).toContain('state-machine');
  });

  it('catch acknowledgements sent before the entries are durable', async () => {
    const s = fake({ ackBeforeDurable: true });
    for (const h of s.cluster.hosts.values()) h.disk.timing = { minLatencyMs: 20, maxLatencyMs: 40 };
    await s.boot();
    await proposeSome(s, 3);
    expect(kinds(s)).toContain('durability');
  });

  it('catch a stale read (the fake answers read() from local state, without ReadIndex)', async () => {
    const s = fake();
    await s.boot();
    await proposeSome(s, 3);
    const heal = s.cluster.net.isolate('n3');
    for (let i = 0; i < 5; i++) await s.propose('n1');
    s.workload.read('n3');
    await s.run(10);
    heal();
    expect(kinds(s)).toEqual(['linearizability']);
  });

  it('catch two leaders in one term', async () => {
    const s = fake({ everyoneLeads: true });
    const config = s.cluster.configOf(s.ids);
    for (const id of s.ids) s.cluster.start(id, config);
    await s.run(100);
    expect(kinds(s)).toContain('election-safety');
  });

  it('catch an acknowledged write lost by a disk that lies about fsync', async () => {
    const s = fake();
    for (const h of s.cluster.hosts.values()) h.disk.lying = true;
    await s.boot();
    await proposeSome(s, 5, false);
    // The direct check: a follower acknowledged entries its disk does not hold.
    expect(kinds(s)).toEqual(['durability']);
    for (const id of s.ids) s.cluster.crash(id);
    // Their disks hold nothing, so they come back as brand-new nodes bootstrapping the same cluster.
    for (const id of s.ids) s.cluster.start(id, s.cluster.configOf(s.ids));
    await s.cluster.run(200);
    // The end-to-end check: the restarted cluster forgot everything, so new writes land on acknowledged indexes.
    await proposeSome(s, 5, false);
    expect(kinds(s)).toContain('state-machine');
  });
});

describe('checkers on the real engine with a broken environment', () => {
  it('catch a replica whose state machine applies a different command', async () => {
    const s = new Scenario({ seed: 21, nodes: 3, factory: realFactory });
    s.cluster.onStateMachine = (sm) => {
      if (sm.node === 'n3') sm.corrupt = (index, cmd) => (index === 12 ? 'forged' : cmd);
    };
    await s.boot();
    for (let i = 0; i < 20 && s.checker.ok; i++) await s.propose('n1');
    await s.run(500);
    expect(kinds(s)).toEqual(['state-machine']);
  });

  it('catch acknowledged writes lost when disks lie about fsync and the whole cluster crashes', async () => {
    const s = new Scenario({ seed: 22, nodes: 3, factory: realFactory });
    await s.boot();
    for (let i = 0; i < 5; i++) await s.propose('n1');
    expect(s.checker.violations).toEqual([]);
    for (const h of s.cluster.hosts.values()) h.disk.lying = true;
    for (let i = 0; i < 10; i++) await s.propose('n1');
    // Followers acknowledge entries their disks never stored: caught at once.
    expect(kinds(s)).toContain('durability');
    for (const id of s.ids) s.cluster.crash(id);
    for (const h of s.cluster.hosts.values()) h.disk.lying = false;
    for (const id of s.ids) s.cluster.start(id);
    await s.cluster.run(3000);
    for (let i = 0; i < 15; i++) await s.propose(s.cluster.leader()?.id ?? 'n1');
    // End to end: the restarted cluster reuses acknowledged indexes for new commands.
    expect(kinds(s)).toContain('state-machine');
  });
});

describe('checkers on synthetic observations', () => {
  function checker() {
    const logs = new Map<string, LogImage>();
    const c = new Checker({
      now: () => 0,
      durable: () => undefined,
      volatileLog: (id) => logs.get(id),
      quiet: () => true,
    });
    return { c, logs };
  }

  it('flag two logs that hold the same (index, term) over different prefixes', () => {
    const { c } = checker();
    c.onEntry('n1', 'volatile', 3, 2, 111);
    c.onEntry('n2', 'volatile', 3, 2, 111);
    expect(c.ok).toBe(true);
    c.onEntry('n3', 'durable', 3, 2, 222);
    expect(c.violations.map((v) => v.kind)).toEqual(['log-matching']);
  });

  it('flag a vote changed within a term and a term going back', () => {
    const { c } = checker();
    c.onHardState('n1', { term: 3, votedFor: 'n2' }, { term: 3, votedFor: 'n2' });
    c.onHardState('n1', { term: 3, votedFor: null }, { term: 3, votedFor: 'n3' });
    expect(c.ok).toBe(true);
    c.onHardState('n1', { term: 3, votedFor: 'n2' }, { term: 3, votedFor: 'n3' });
    c.onHardState('n1', { term: 4, votedFor: null }, { term: 2, votedFor: null });
    expect(c.violations.map((v) => v.kind)).toEqual(['vote-safety', 'vote-safety']);
  });

  it('flag a commit index going back and a command applied twice', () => {
    const { c } = checker();
    const st = (commitIndex: number, appliedIndex: number) => ({
      id: 'n1',
      role: 'follower' as const,
      term: 1,
      leaderId: null,
      leaderAddr: null,
      commitIndex,
      appliedIndex,
      lastIndex: 10,
      lastTerm: 1,
      firstIndex: 1,
      snapshotIndex: 0,
      config: { members: [] },
      progress: [],
    });
    c.observe('n1', 1, st(5, 5));
    c.observe('n1', 1, st(4, 4));
    // A restart (new incarnation) may start lower: that is not a violation.
    c.observe('n1', 2, st(0, 0));
    c.onApply('n1', 1, 'x', 0, 1);
    c.onApply('n1', 2, 'x', 1, 2);
    expect(c.violations.map((v) => v.kind)).toEqual(['commit-monotonic', 'commit-monotonic', 'exactly-once']);
  });
});
