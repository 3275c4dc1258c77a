/**
 * Named scenarios from the literature, scripted step by step against the real RaftNode. The checkers run after
 * every event as in the random runs; each scenario also asserts the outcome the protocol promises.
 */
import { describe, expect, it } from 'vitest';
import { type AppendEntries, type Message, MessageType, type NodeId } from '../../src/raft/types.js';
import { realFactory } from './engine.js';
import { deriveParams, type SimParams } from './params.js';
import { type RunResult, runSimulation } from './run.js';
import { Scenario } from './scenario.js';

async function runAll(seeds: readonly number[], make: (seed: number) => SimParams): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const seed of seeds) results.push(await runSimulation(make(seed), { factory: realFactory }));
  const bad = results
    .filter((r) => !r.ok)
    .map((r) => `seed ${r.params.seed}: ${r.violations.map((v) => v.message).join('; ')}`);
  expect(bad).toEqual([]);
  return results;
}

function storeTerm(s: Scenario, id: NodeId, index: number): number | undefined {
  return s.cluster.host(id).views?.logStore.term(index);
}

function durableTerm(s: Scenario, id: NodeId, index: number): number | undefined {
  return s.cluster.host(id).disk.durableLog.term(index);
}

/** Drops the entries of the sender's own term from its AppendEntries (a shorter, still valid message). */
function withoutCurrentTermEntries(from: NodeId) {
  return (m: Message): Message | undefined => {
    if (m.type !== MessageType.AppendEntries || m.from !== from) return undefined;
    const cut = m.entries.findIndex((e) => e.term === m.term);
    if (cut < 0) return undefined;
    const shorter: AppendEntries = { ...m, entries: m.entries.slice(0, cut) };
    return shorter;
  };
}

/**
 * Steps (a) and (b) of Figure 8, which both tests share. (a) S1 leads and replicates X at index k to S2 only.
 * (b) S1 crashes; S5 (whichever of S3–S5 wins) is elected and writes its own entry at k, which reaches no one:
 * S2 is cut off and S5's appends are held. Returns the heal and hold handles for the steps that follow.
 */
async function figure8ab(seed: number) {
  const s = new Scenario({ seed, nodes: 5, factory: realFactory });
  const net = s.cluster.net;
  await s.boot();
  await s.lead('n1');
  const t1 = s.status('n1').term;

  // (a)
  const healA = net.partition([
    ['n1', 'n2'],
    ['n3', 'n4', 'n5'],
  ]);
  void s.workload.propose('n1', 'X');
  await s.cluster.loop.settle();
  const k = s.status('n1').lastIndex;
  await s.waitFor(
    'X to be on the disks of n1 and n2',
    () => durableTerm(s, 'n1', k) === t1 && durableTerm(s, 'n2', k) === t1,
    1000,
  );

  // (b)
  s.cluster.crash('n1');
  healA();
  const healN2 = net.isolate('n2');
  const holdB = net.addFilter((m) =>
    m.type === MessageType.AppendEntries && m.from !== 'n1' && m.from !== 'n2' && m.entries.length > 0
      ? null
      : undefined,
  );
  const s5 = await s.waitLeader(5000, ['n3', 'n4', 'n5']);
  const t2 = s.status(s5).term;
  await s.waitFor(`${s5} to write its term-${t2} entry at ${k}`, () => durableTerm(s, s5, k) === t2, 1000);
  const [a, b] = ['n3', 'n4', 'n5'].filter((id) => id !== s5) as [NodeId, NodeId];
  return { s, net, t1, k, healN2, holdB, s5, t2, a, b };
}

describe('Raft paper, Figure 8', () => {
  /**
   * (a) S1 leads and replicates X at index k to S2 only. (b) S1 crashes; S5 (whichever of S3–S5 wins) is
   * elected and appends its own entry at k, which reaches no one. (c) S5 crashes; S1 restarts, is elected and
   * replicates X to a majority, but not yet an entry of its own term: X must not be committed. (d) S1 crashes;
   * S5 restarts, is elected and overwrites X everywhere. Had S1 committed X in (c), the checkers would see a
   * committed entry replaced.
   */
  it('never commits an entry of an earlier term by counting replicas, so a later leader may overwrite it', async () => {
    const { s, net, t1, k, healN2, holdB, s5, t2, a, b } = await figure8ab(8);
    expect(storeTerm(s, a, k)).toBeUndefined();

    // (c)
    s.cluster.crash(s5);
    holdB();
    healN2();
    const cutN2 = net.partition([['n2'], [a, b]]);
    const holdC = net.addFilter(withoutCurrentTermEntries('n1'));
    s.cluster.start('n1');
    await s.waitLeader(10_000, ['n1']);
    const t3 = s.status('n1').term;
    expect(t3).toBeGreaterThan(t2);
    await s.waitFor('X to reach a majority', () => storeTerm(s, a, k) === t1 && storeTerm(s, b, k) === t1, 2000);
    await s.run(1000);
    expect(s.status('n1').commitIndex).toBeLessThan(k);

    // (d)
    s.cluster.crash('n1');
    holdC();
    cutN2();
    // Only S5 can gather a majority: the other three cannot reach one another.
    const cutD = net.partition([['n2'], [a], [b]]);
    s.cluster.start(s5);
    await s.waitLeader(10_000, [s5]);
    cutD();
    await s.waitFor(`${s5}'s entry to replace X`, () => [s5, 'n2', a, b].every((id) => storeTerm(s, id, k) === t2));
    s.cluster.start('n1');
    const out = await s.propose(s5);
    expect(out.ok).toBe(true);
    await s.caughtUp();
    expect(s.checker.indexOf('X')).toBeUndefined();
    s.assertSafe();
  });

  it('commits the earlier entry once an entry of the current term is on a majority, and then it survives', async () => {
    const { s, net, t1, k, healN2, holdB, s5, a, b } = await figure8ab(9);
    s.cluster.crash(s5);
    holdB();
    healN2();
    const cutN2 = net.partition([['n2'], [a, b]]);
    // (e) This time S1's own entries flow: its no-op reaches the majority and commits X with it.
    s.cluster.start('n1');
    await s.waitLeader(10_000, ['n1']);
    await s.waitFor('X to commit', () => s.status('n1').commitIndex > k, 2000);
    await s.waitFor('X to be applied', () => s.checker.indexOf('X') === k, 2000);
    s.cluster.crash('n1');
    cutN2();
    const cutD = net.partition([['n2'], [a], [b]]);
    s.cluster.start(s5);
    // S5's log now ends in an older term than the majority's: it can never win.
    await s.run(3000);
    expect(s.cluster.leader()).toBeUndefined();
    cutD();
    const winner = await s.waitLeader(10_000);
    expect(winner).not.toBe(s5);
    s.cluster.start('n1');
    await s.caughtUp();
    expect(s.checker.indexOf('X')).toBe(k);
    for (const id of s.ids) expect(storeTerm(s, id, k) ?? t1).toBe(t1);
    s.assertSafe();
  });
});

describe('a partitioned old leader', () => {
  it('keeps taking proposals it can never commit; after the heal they fail and its entries are overwritten', async () => {
    const s = new Scenario({ seed: 11, nodes: 5, factory: realFactory });
    const old = await s.boot();
    await s.caughtUp();
    const heal = s.cluster.net.isolate(old);
    const stale = Array.from({ length: 8 }, (_, i) => s.workload.propose(old, `stale-${i}`, 0, 3000));
    const others = s.ids.filter((id) => id !== old);
    const fresh = await s.waitLeader(5000, others);
    await s.waitFor('the majority to know the new leader', () => others.every((id) => s.status(id).leaderId === fresh));
    for (let i = 0; i < 5; i++) expect((await s.propose(others[i % others.length] ?? fresh)).ok).toBe(true);
    // CheckQuorum: the old leader notices it lost its majority and steps down.
    await s.waitFor(`${old} to step down`, () => s.status(old).role !== 'leader', 2000);
    heal();
    const outcomes = await Promise.all(stale.map((p) => s.call(p)));
    await s.caughtUp();
    for (const [i, o] of outcomes.entries()) {
      expect(o.ok && o.value.ok).toBe(false);
      expect(s.checker.indexOf(`stale-${i}`)).toBeUndefined();
    }
    s.assertSafe();
  });
});

describe('a removed server', () => {
  it('keeps calling elections but cannot disrupt the cluster (pre-vote and leader stickiness)', async () => {
    const s = new Scenario({ seed: 12, nodes: 5, factory: realFactory });
    const leader = await s.boot();
    await s.caughtUp();
    const victim = s.ids.find((id) => id !== leader) as NodeId;
    const heal = s.cluster.net.isolate(victim);
    const removed = await s.call(s.cluster.raft(leader).removeMember(victim));
    expect(removed.ok).toBe(true);
    const members = s.ids.filter((id) => id !== victim);
    let campaigns = 0;
    s.cluster.net.addFilter((m) => {
      if (m.type === MessageType.RequestVote && m.from === victim) campaigns++;
      return undefined;
    });
    // The leader keeps telling a removed server about its removal for two election timeouts; this one stays cut
    // off for longer, so it never learns: it still believes it is a voter of a five-node cluster.
    await s.run(1000);
    expect(s.status(victim).config.members.some((m) => m.id === victim && m.voter)).toBe(true);
    heal();
    const term = s.status(leader).term;
    for (let i = 0; i < 20; i++) {
      await s.run(250);
      expect((await s.propose(members[i % members.length] ?? leader)).ok).toBe(true);
    }
    expect(campaigns).toBeGreaterThan(3);
    expect(s.cluster.leader()?.id).toBe(leader);
    for (const id of members) expect(s.status(id).term).toBe(term);
    await s.cluster.settle(s.cluster.stop(victim));
    s.assertSafe();
  });
});

describe('an asymmetric partition (the Cloudflare 2020 pattern)', () => {
  it('keeps the leader stable when one follower loses only its link to the leader', async () => {
    const s = new Scenario({ seed: 13, nodes: 3, factory: realFactory });
    await s.boot();
    await s.lead('n1');
    const term = s.status('n1').term;
    const heal = s.cluster.net.partition([['n1'], ['n3']]);
    for (let i = 0; i < 12; i++) {
      await s.run(250);
      expect((await s.propose(i % 2 === 0 ? 'n1' : 'n2')).ok).toBe(true);
    }
    expect(s.cluster.leader()?.id).toBe('n1');
    expect(s.status('n1').term).toBe(term);
    expect(s.status('n2').term).toBe(term);
    heal();
    await s.caughtUp();
    s.assertSafe();
  });
});

describe('lease reads and a paused leader', () => {
  /**
   * n1 leads with lease reads on. n5 (a non-voter, so it never campaigns and keeps believing in n1) can reach only
   * n1. n1 stalls (a GC pause); n2–n4 elect a new leader and commit W. Then a read on n5 — begun after W committed —
   * is forwarded to n1, and n1 resumes. A resumed Node process handles the I/O that arrived during the stall before
   * its overdue timers, so the ReadIndexRequest reaches the core before any tick tells it how much time passed.
   * The read must not be served from n1's lease: it must fail, or see W.
   */
  it('does not answer a forwarded read from a lease that lapsed while it was stalled', async () => {
    const s = new Scenario({
      seed: 17,
      nodes: 5,
      factory: realFactory,
      engine: { leaseReads: true, checkQuorum: true },
    });
    await s.boot(['n5']);
    await s.lead('n1');
    s.workload.read('n1');
    await s.run(50);
    const cut = s.cluster.net.partition([
      ['n1', 'n5'],
      ['n2', 'n3', 'n4'],
    ]);
    s.cluster.pause('n1');
    const fresh = await s.waitLeader(5000, ['n2', 'n3', 'n4']);
    expect((await s.propose(fresh, 'W')).ok).toBe(true);
    const w = s.checker.indexOf('W') ?? 0;
    expect(s.status('n5').leaderId).toBe('n1');
    s.workload.read('n5');
    await s.run(20);
    s.cluster.resume('n1', true);
    await s.run(1000);
    cut();
    expect(s.checker.maxCommitted).toBeGreaterThanOrEqual(w);
    s.assertSafe();
  });
});

describe('leadership transfer', () => {
  it('hands leadership to each voter in turn while clients keep writing, losing nothing', async () => {
    const s = new Scenario({ seed: 14, nodes: 5, factory: realFactory });
    await s.boot();
    s.workload.start();
    for (const target of ['n2', 'n3', 'n4', 'n5', 'n1']) {
      const from = await s.waitLeader();
      if (from === target) continue;
      const r = await s.call(s.cluster.raft(from).transferLeadership(target));
      expect(r.ok).toBe(true);
      expect(await s.waitLeader(5000)).toBe(target);
      await s.run(300);
    }
    s.workload.stop();
    await s.run(3000);
    await s.caughtUp();
    expect(s.workload.stats.acked).toBeGreaterThan(50);
    expect(s.workload.pending.size).toBe(0);
    s.assertSafe();
  });
});

describe('a whole-cluster crash', () => {
  it('loses or tears only unacknowledged writes: every acknowledged proposal survives the restart', async () => {
    const s = new Scenario({
      seed: 15,
      nodes: 3,
      factory: realFactory,
      disk: { minLatencyMs: 1, maxLatencyMs: 10 },
      crash: { completeRate: 0, tearRate: 1 },
      engine: { snapshotThreshold: 32, snapshotTrailing: 4 },
    });
    await s.boot();
    s.workload.start();
    let torn = 0;
    for (let round = 0; round < 5; round++) {
      await s.run(700);
      for (const id of s.ids) torn += s.cluster.crash(id).torn;
      for (const id of s.ids) s.cluster.start(id);
      await s.waitLeader();
    }
    s.workload.stop();
    await s.run(3000);
    await s.caughtUp();
    expect(s.workload.stats.acked).toBeGreaterThan(20);
    expect(torn).toBeGreaterThan(0);
    // Every node has applied (or restored a snapshot covering) every acknowledged index; the checkers saw each
    // re-application agree with the first one.
    for (const id of s.ids) expect(s.status(id).appliedIndex).toBeGreaterThanOrEqual(s.checker.maxAckedIndex);
    s.assertSafe();
  });
});

describe('an unreliable network with membership churn', () => {
  it('adds, promotes, demotes and removes members (the leader too) over a lossy, duplicating, reordering network', {
    timeout: 120_000,
  }, async () => {
    const results = await runAll([1, 2, 3, 4, 5, 6], (seed) => {
      const p = deriveParams(seed, { nodes: 5, durationMs: 10_000, faults: ['membership', 'net-chaos', 'transfer'] });
      p.spares = 2;
      p.network = { ...p.network, lossRate: 0.1, dupRate: 0.05, reorderRate: 0.1, reorderDelayMs: 300, fifo: false };
      p.nemesis.weights = { membership: 6, 'net-chaos': 1, transfer: 1 };
      return p;
    });
    const ok = (kind: string): number => results.reduce((n, r) => n + (r.operatorCalls[`${kind} ok`] ?? 0), 0);
    expect(ok('add')).toBeGreaterThan(3);
    expect(ok('remove')).toBeGreaterThan(2);
    expect(ok('remove-leader')).toBeGreaterThan(0);
    expect(ok('promote') + ok('demote')).toBeGreaterThan(2);
    expect(results.reduce((n, r) => n + r.proposals.acked, 0)).toBeGreaterThan(1000);
  });
});

describe('Figure 8, unreliable (the 6.824 stress version)', () => {
  it('survives leaders crashing right after partial replication, over a lossy network, with snapshots', {
    timeout: 120_000,
  }, async () => {
    await runAll([1, 2, 3, 4, 5, 6, 7, 8], (seed) => {
      const p = deriveParams(seed, {
        nodes: 5,
        durationMs: 10_000,
        faults: ['crash-leader', 'crash', 'crash-all', 'net-chaos', 'minority'],
      });
      p.nemesis.weights = { 'crash-leader': 4, crash: 2, 'crash-all': 1, 'net-chaos': 1, minority: 1 };
      p.nemesis.intervalMaxMs = 600;
      p.network = { ...p.network, lossRate: 0.05, reorderRate: 0.1, reorderDelayMs: 1000, fifo: false };
      p.crash = { completeRate: 0.3, tearRate: 0.7 };
      p.engine = { ...p.engine, snapshotThreshold: 16, snapshotTrailing: 4 };
      return p;
    });
  });
});
