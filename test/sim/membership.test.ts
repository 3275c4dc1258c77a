/**
 * Membership safety. The classic two-change split, staged on the real engine: two voter changes that, were both in
 * force at once, would give {n1,n2} (a majority of the old voters {n1,n2,n3}) and {n3,n4,n5} (a majority of the
 * new voters {n1..n5}) — two disjoint majorities. The engine must refuse the second change until the first commits.
 *
 * Then the same script against the real engine patched here, in the test, to break the rule (and, separately, to
 * answer a membership call before its configuration commits): the split happens, and the membership checkers
 * flag it first. Last, the checkers on synthetic observations (what they flag and what they must not).
 */
import { describe, expect, it } from 'vitest';
import type { RaftStatus } from '../../src/raft/api.js';
import { applyChange, encodeConfiguration, voterIds } from '../../src/raft/core/config.js';
import type { RaftCore } from '../../src/raft/core/raft.js';
import type { CoreResult } from '../../src/raft/core/types.js';
import { RaftNode } from '../../src/raft/node.js';
import { type Configuration, type Entry, EntryType, type NodeId } from '../../src/raft/types.js';
import type { ViolationKind } from './checker.js';
import { errorCode, type RaftFactory } from './cluster.js';
import { realFactory } from './engine.js';
import { LogImage } from './log-image.js';
import { MembershipChecker } from './membership-checker.js';
import { Scenario } from './scenario.js';
import type { SimResult } from './state-machine.js';

const OLD = ['n1', 'n2', 'n3'];
const LEFT = ['n1', 'n2'];
const RIGHT = ['n3', 'n4', 'n5'];
const ALL = ['n1', 'n2', 'n3', 'n4', 'n5'];

/**
 * The real engine with one bug put in on purpose (for these tests only): `rule` appends every membership change
 * at once, ignoring the one-voter-change-at-a-time rule; `early-ack` does the same and also answers the call as
 * soon as the entry is appended, before it commits. Only the core's membership entry point is replaced.
 */
function mutant(bug: 'rule' | 'early-ack'): RaftFactory {
  return (options) => {
    const node = new RaftNode<SimResult>(options);
    const start = node.start.bind(node);
    node.start = async () => {
      await start();
      const core = (node as unknown as { core: RaftCore | null }).core;
      if (core === null) return;
      const original = core.changeMembership.bind(core);
      core.changeMembership = (reqId, change) => {
        let next: Configuration | null;
        try {
          next = core.role === 'leader' ? applyChange(core.configs.latest(), change) : null;
        } catch {
          next = null;
        }
        if (next === null) return original(reqId, change);
        const index = core.appendEntries([{ type: EntryType.Config, data: encodeConfiguration(next) }]);
        const result: CoreResult =
          bug === 'rule' ? { reqId, kind: 'appended', index, term: core.term } : { reqId, kind: 'done' };
        core.result(result);
      };
    };
    return node;
  };
}

function kinds(s: Scenario): ViolationKind[] {
  return [...new Set(s.checker.violations.map((v) => v.kind))];
}

/** Every (term, leader) pair seen after any event: an explicit record of who led when. */
function watchLeaders(s: Scenario): Map<number, Set<NodeId>> {
  const leaders = new Map<number, Set<NodeId>>();
  s.cluster.loop.afterEach(() => {
    for (const id of s.cluster.runningIds()) {
      const st = s.cluster.statusOf(id);
      if (st?.role !== 'leader') continue;
      const set = leaders.get(st.term) ?? new Set();
      set.add(id);
      leaders.set(st.term, set);
    }
  });
  return leaders;
}

/** {n1,n2,n3} with n3 leading, and n4, n5 started empty: machines waiting to be added. */
async function bootSplit(factory: RaftFactory, seed: number): Promise<Scenario> {
  const s = new Scenario({ seed, nodes: 5, factory });
  const boot = s.cluster.configOf(OLD);
  for (const id of OLD) s.cluster.start(id, boot);
  for (const id of ['n4', 'n5']) s.cluster.start(id);
  await s.lead('n3', OLD);
  return s;
}

function addVoter(s: Scenario, on: NodeId, id: NodeId, timeoutMs = 3000): Promise<void> {
  return s.cluster.raft(on).addMember(id, s.cluster.host(id).addr, { voter: true, timeoutMs });
}

function leaderAmong(s: Scenario, ids: readonly NodeId[]): NodeId | undefined {
  return ids.find((id) => s.cluster.statusOf(id)?.role === 'leader');
}

describe('the two-change split', () => {
  it('refuses a second voter change while the first is uncommitted, so the two halves never both commit', {
    timeout: 60_000,
  }, async () => {
    const s = await bootSplit(realFactory, 31);
    const leaders = watchLeaders(s);
    const heal = s.cluster.net.partition([LEFT, RIGHT]);
    // The operator adds n4 and n5 as voters at the same instant, on the leader, which is on the right side.
    const first = addVoter(s, 'n3', 'n4');
    const second = await s.call(addVoter(s, 'n3', 'n5'));
    expect(second.ok).toBe(false);
    if (!second.ok) expect(errorCode(second.error)).toBe('ERR_MEMBERSHIP');
    // The first change is in effect on n3 (a configuration takes effect when appended) but cannot commit: only n3
    // and n4 of {n1,n2,n3,n4} can hear it.
    expect(voterIds(s.status('n3').config)).toEqual(['n1', 'n2', 'n3', 'n4']);
    const right = s.workload.propose('n3', 'right', 0, 2000);
    const left = await s.waitLeader(5000, LEFT);
    for (let i = 0; i < 5; i++) {
      expect((await s.propose(left, `left-${i}`)).ok).toBe(true);
      // The operator retries on n3: refused while it leads (the first change is still uncommitted), then n3 is
      // no longer the leader (it lost its quorum).
      const retry = await s.call(addVoter(s, 'n3', 'n5', 500));
      expect(retry.ok).toBe(false);
    }
    // n3 hears from n4 only, not a majority of {n1,n2,n3,n4}: it steps down (check-quorum).
    await s.waitFor('n3 to step down', () => s.status('n3').role !== 'leader', 3000);
    expect((await s.call(addVoter(s, 'n3', 'n5', 500))).ok).toBe(false);
    expect(voterIds(s.status('n3').config)).not.toContain('n5');
    heal();
    // The first call never resolves successfully: its entry is overwritten. Neither does the write on the right.
    expect((await s.call(first)).ok).toBe(false);
    const rightOut = await s.call(right);
    expect(rightOut.ok && rightOut.value.ok).toBe(false);
    // One change at a time, each once the previous one committed, on whoever leads now.
    const leader = await s.waitLeader(5000, LEFT);
    for (const id of ['n4', 'n5']) expect((await s.call(addVoter(s, leader, id))).ok).toBe(true);
    expect((await s.propose(leader, 'after')).ok).toBe(true);
    await s.caughtUp(ALL);
    for (const id of ALL) expect(voterIds(s.status(id).config)).toEqual(ALL);
    expect(s.checker.indexOf('right')).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(s.checker.indexOf(`left-${i}`)).toBeDefined();
    expect([...leaders].filter(([, who]) => who.size > 1)).toEqual([]);
    // The checkers saw the changes: n3's uncommitted one, and the two that followed.
    expect(s.checker.membership.stats.voterChanges).toBeGreaterThanOrEqual(3);
    expect(s.checker.membership.stats.resolvedCalls).toBeGreaterThanOrEqual(2);
    expect(s.checker.violations).toEqual([]);
  });

  it('without the rule (the engine patched in this test), both halves commit, and membership-rule flags it first', {
    timeout: 60_000,
  }, async () => {
    const s = await bootSplit(mutant('rule'), 31);
    s.cluster.net.partition([LEFT, RIGHT]);
    const calls = [addVoter(s, 'n3', 'n4'), addVoter(s, 'n3', 'n5')];
    // Do not stop at the first violation: let the split play out.
    await s.cluster.run(5000, () => leaderAmong(s, LEFT) !== undefined);
    const left = leaderAmong(s, LEFT);
    expect(left).toBeDefined();
    const right = s.workload.propose('n3', 'right', 0, 2000);
    const leftWrite = s.workload.propose(left ?? 'n1', 'left', 0, 2000);
    // Both changes committed with {n3,n4,n5}, and each side committed a write of its own: two majorities.
    for (const p of calls) expect((await s.call(p)).ok).toBe(true);
    for (const p of [right, leftWrite]) {
      const out = await s.call(p);
      expect(out.ok && out.value.ok).toBe(true);
    }
    expect(s.status('n3').role).toBe('leader');
    expect(s.checker.violations[0]?.kind).toBe('membership-rule');
    expect(s.checker.violations[0]?.message).toMatch(/previous configuration entry was not committed/);
    expect(kinds(s).some((k) => ['committed-stable', 'state-machine', 'leader-completeness'].includes(k))).toBe(true);
  });

  it('catches a membership call answered before its configuration commits (membership-commit)', async () => {
    for (const [factory, answered] of [
      [realFactory, false],
      [mutant('early-ack'), true],
    ] as const) {
      const s = new Scenario({ seed: 32, nodes: 4, factory });
      const boot = s.cluster.configOf(OLD);
      for (const id of OLD) s.cluster.start(id, boot);
      s.cluster.start('n4');
      const leader = await s.waitLeader();
      await s.caughtUp(OLD);
      s.cluster.net.isolate(leader);
      // A non-voter: the change is exempt from the one-at-a-time rule, so only the early answer is wrong.
      const r = await s.call(
        s.cluster.raft(leader).addMember('n4', s.cluster.host('n4').addr, { voter: false, timeoutMs: 1000 }),
      );
      expect(r.ok).toBe(answered);
      // The check waits until the node's store has caught up with its engine (its disk is idle).
      await s.cluster.run(200);
      expect(kinds(s)).toEqual(answered ? ['membership-commit'] : []);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

function cfg(voters: readonly NodeId[], nonVoters: readonly NodeId[] = []): Configuration {
  return {
    members: [
      ...voters.map((id) => ({ id, addr: `${id}:7000`, voter: true })),
      ...nonVoters.map((id) => ({ id, addr: `${id}:7000`, voter: false })),
    ],
  };
}

function configEntry(index: number, term: number, config: Configuration): Entry {
  return { index, term, type: EntryType.Config, data: encodeConfiguration(config) };
}

function noop(index: number, term: number): Entry {
  return { index, term, type: EntryType.Noop, data: new Uint8Array(0) };
}

function status(role: RaftStatus['role'], term: number, commitIndex: number, lastIndex: number): RaftStatus {
  return {
    id: 'n1',
    role,
    term,
    leaderId: null,
    leaderAddr: null,
    commitIndex,
    appliedIndex: commitIndex,
    lastIndex,
    lastTerm: term,
    firstIndex: 1,
    snapshotIndex: 0,
    config: cfg([]),
    progress: [],
  };
}

/** A checker over synthetic logs; `append` puts entries in a node's log the way SimLogStore does. */
function synthetic() {
  const logs = new Map<NodeId, LogImage>();
  const found: string[] = [];
  const m = new MembershipChecker({ volatileLog: (id) => logs.get(id), quiet: () => true }, (kind, message) =>
    found.push(`${kind}: ${message}`),
  );
  const append = (node: NodeId, entries: Entry[]): void => {
    const log = logs.get(node) ?? new LogImage();
    logs.set(node, log);
    log.append(entries, (e) => m.onEntry(node, 1, e));
  };
  return { m, logs, found, append };
}

describe('membership checkers on synthetic observations', () => {
  it('flag a voter change appended while the previous configuration entry is uncommitted', () => {
    const { m, found, append } = synthetic();
    append('n1', [configEntry(1, 1, cfg(OLD))]);
    m.observe('n1', 1, status('leader', 2, 1, 2));
    append('n1', [noop(2, 2)]);
    m.observe('n1', 1, status('leader', 2, 2, 3));
    append('n1', [configEntry(3, 2, cfg([...OLD, 'n4']))]);
    expect(found).toEqual([]);
    // Appended while entry 3 is uncommitted; it lands in the store before the status after its event is seen.
    append('n1', [configEntry(4, 2, cfg(ALL))]);
    m.observe('n1', 1, status('leader', 2, 2, 4));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^membership-rule: n1 \(leader of t2\) appended a configuration at 4 .* not committed/);
  });

  it('flag two voters changed by one entry', () => {
    const { m, found, append } = synthetic();
    append('n1', [configEntry(1, 1, cfg(OLD))]);
    m.observe('n1', 1, status('leader', 2, 1, 2));
    append('n1', [noop(2, 2)]);
    m.observe('n1', 1, status('leader', 2, 2, 3));
    append('n1', [configEntry(3, 2, cfg(['n1', 'n2', 'n4']))]);
    expect(found).toEqual([expect.stringMatching(/2 voters changed at once \(-n3, \+n4\)/)]);
  });

  it('exempt changes that keep the voters, and entries a leader inherited from an earlier term', () => {
    const { m, found, append } = synthetic();
    append('n1', [configEntry(1, 1, cfg(OLD))]);
    m.observe('n1', 1, status('leader', 2, 1, 2));
    append('n1', [noop(2, 2)]);
    // Two non-voters added while nothing is committed yet: exempt.
    m.observe('n1', 1, status('leader', 2, 1, 4));
    append('n1', [configEntry(3, 2, cfg(OLD, ['n4'])), configEntry(4, 2, cfg(OLD, ['n4', 'n5']))]);
    // n1 promotes n4 once entry 4 committed: a voter change, allowed.
    m.observe('n1', 1, status('leader', 2, 4, 5));
    append('n1', [configEntry(5, 2, cfg([...OLD, 'n4'], ['n5']))]);
    // n2 received all of it as a follower and leads term 3 with n1's uncommitted entry 5 in its log: that entry is
    // not n2's own, and it is the last configuration before n2's own change.
    append('n2', [configEntry(1, 1, cfg(OLD)), noop(2, 2), configEntry(3, 2, cfg(OLD, ['n4']))]);
    append('n2', [configEntry(4, 2, cfg(OLD, ['n4', 'n5'])), configEntry(5, 2, cfg([...OLD, 'n4'], ['n5']))]);
    m.observe('n2', 1, status('follower', 2, 4, 5));
    m.observe('n2', 1, status('leader', 3, 4, 6));
    append('n2', [noop(6, 3)]);
    // Its own change waits for the inherited entry to commit (with its no-op): allowed.
    m.observe('n2', 1, status('leader', 3, 6, 7));
    append('n2', [configEntry(7, 3, cfg(ALL))]);
    expect(found).toEqual([]);
    expect(m.stats).toMatchObject({ voterChanges: 2, exemptChanges: 2 });
  });

  it('flag a resolved call whose configuration was not committed, and accept one committed with others', () => {
    const { m, found, append } = synthetic();
    append('n1', [configEntry(1, 1, cfg(OLD)), noop(2, 2)]);
    // A call answered while its entry (3) is beyond the commit index (2).
    append('n1', [configEntry(3, 2, cfg(OLD, ['n4']))]);
    m.onResolved('n1', 1, { kind: 'add', id: 'n4', addr: 'n4:7000', voter: false }, 2, 2);
    expect(found).toEqual([expect.stringMatching(/^membership-commit: n1 resolved add n4 \(non-voter\)/)]);
    // A removal and a re-addition of the same non-voter committed together: the removal was in force at 4.
    append('n1', [configEntry(4, 2, cfg(OLD)), configEntry(5, 2, cfg(OLD, ['n4']))]);
    m.onResolved('n1', 1, { kind: 'remove', id: 'n4' }, 3, 5);
    // Already in force when asked (answered at once).
    m.onResolved('n1', 1, { kind: 'promote', id: 'n1' }, 5, 5);
    expect(found).toHaveLength(1);
    expect(m.stats.resolvedCalls).toBe(3);
  });

  it('skip, without flagging, a call whose window was compacted away', () => {
    const { m, found, logs, append } = synthetic();
    append('n1', [configEntry(1, 1, cfg(OLD)), noop(2, 2), configEntry(3, 2, cfg(OLD, ['n4'])), noop(4, 2)]);
    logs.get('n1')?.compact(4, 2, () => undefined);
    m.onResolved('n1', 1, { kind: 'remove', id: 'n4' }, 2, 4);
    expect(found).toEqual([]);
    expect(m.stats.uncheckedCalls).toBe(1);
  });
});
