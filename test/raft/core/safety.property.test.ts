/**
 * Randomised schedules over bare cores: random ticks, delivery order, drops, duplicates, crashes, restarts,
 * proposals, snapshots and membership changes, checking Raft's safety properties after every step. (The full
 * simulation in test/sim does this at length through RaftNode; this is the fast, core-only version.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MembershipChange } from '../../../src/raft/core/types.js';
import { MessageType, type NodeId } from '../../../src/raft/types.js';
import { seededRandom } from '../../../src/util/io.js';
import { CoreNet } from './core-harness.js';

interface Outcome {
  leaders: number;
  commits: number;
}

function run(seed: number, steps: number, nodes: number, snapshots: boolean): Outcome {
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const net = new CoreNet(ids, {
    electionTicks: 6,
    heartbeatTicks: 2,
    maxEntriesPerMessage: 3,
    maxInflightMessages: 2,
    ...(snapshots ? { snapshotThreshold: 5, snapshotTrailing: 1, snapshotChunkBytes: 16 } : {}),
  });
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)]!;

  const leaderOfTerm = new Map<number, NodeId>();
  /** index -> term of every entry any node applied. */
  const appliedTerm = new Map<number, number>();
  /** index -> term of every entry any node reported committed. */
  const committed = new Map<number, number>();
  let proposals = 0;

  const check = (): void => {
    for (const n of net.nodes.values()) {
      if (!n.up) continue;
      const c = n.core;
      // Election safety: one leader per term.
      if (c.role === 'leader') {
        const prev = leaderOfTerm.get(c.term);
        if (prev !== undefined && prev !== n.id) throw new Error(`two leaders in term ${c.term}: ${prev}, ${n.id}`);
        leaderOfTerm.set(c.term, n.id);
      }
      // State machine safety: every node applies the same entry at an index.
      for (const a of n.applied) {
        if (a.snapshot) continue;
        const t = appliedTerm.get(a.index);
        if (t !== undefined && t !== a.term) throw new Error(`index ${a.index} applied with terms ${t} and ${a.term}`);
        appliedTerm.set(a.index, a.term);
      }
      // Record what this node considers committed (readable part of its log).
      for (let i = Math.max(c.log.firstIndex(), c.log.committed - 20); i <= c.log.committed; i++) {
        const t = c.log.term(i);
        if (t === undefined) continue;
        const known = committed.get(i);
        if (known !== undefined && known !== t) throw new Error(`committed index ${i} has terms ${known} and ${t}`);
        committed.set(i, t);
      }
    }
    // Leader completeness: a leader's log holds every committed entry it can still read.
    for (const l of net.leaders()) {
      for (const [i, t] of committed) {
        if (i < l.core.log.firstIndex()) continue;
        const lt = l.core.log.term(i);
        if (lt !== t) throw new Error(`leader ${l.id} (term ${l.core.term}) has ${lt} at committed ${i}@${t}`);
      }
    }
  };

  for (let step = 0; step < steps; step++) {
    const r = rnd.next();
    const up = ids.filter((id) => net.node(id).up);
    const down = ids.filter((id) => !net.node(id).up);
    if (r < 0.3) {
      net.tick(pick(up));
    } else if (r < 0.7 && net.queue.length > 0) {
      const k = Math.floor(rnd.next() * net.queue.length);
      const m = net.queue[k]!;
      const fate = rnd.next();
      if (fate < 0.85) net.queue.splice(k, 1); // delivered once (else: duplicated, stays queued)
      if (fate < 0.1) continue; // dropped
      const dst = net.nodes.get(m.to);
      if (dst?.up === true) {
        dst.core.step(m);
        net.process(m.to);
      }
    } else if (r < 0.85) {
      const target = pick(up);
      net.propose(target, `p${proposals++}`);
    } else if (r < 0.9 && down.length === 0 && up.length > 1) {
      net.crash(pick(up));
    } else if (r < 0.95 && down.length > 0) {
      net.restart(pick(down));
    } else if (r < 0.97) {
      // A read, to exercise ReadIndex bookkeeping alongside everything else.
      const target = pick(up);
      net.node(target).core.read(1_000_000 + step);
      net.process(target);
    } else {
      // Membership changes on the leader, up to three at once: changes of the voters (one at a time) mixed with
      // additions and removals of non-voters (appended even while another change is uncommitted).
      const leader = net.leaders()[0];
      if (leader !== undefined) {
        for (let k = 1 + Math.floor(rnd.next() * 3); k > 0; k--) {
          const config = leader.core.configs.latest().members;
          const id = pick(ids.filter((x) => x !== leader.id));
          const m = config.find((x) => x.id === id);
          const voters = config.filter((x) => x.voter).length;
          const change: MembershipChange =
            m === undefined
              ? { kind: 'add', id, addr: `addr-${id}`, voter: false }
              : m.voter
                ? { kind: voters > 2 ? 'demote' : 'promote', id }
                : { kind: rnd.next() < 0.5 ? 'promote' : 'remove', id };
          leader.core.changeMembership(2_000_000 + step * 4 + k, change);
        }
        net.process(leader.id);
      }
    }
    check();
  }
  return { leaders: leaderOfTerm.size, commits: committed.size };
}

describe('randomised safety', () => {
  it('keeps election safety, log agreement and state machine safety under random schedules', () => {
    let progress = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(3, 5), fc.boolean(), (seed, n, snaps) => {
        const out = run(seed, 500, n, snaps);
        progress += out.commits;
      }),
      { numRuns: 150 },
    );
    // The schedules are not degenerate: entries do get committed.
    expect(progress).toBeGreaterThan(100);
  });

  it('survives fuzzed messages without throwing', () => {
    const net = new CoreNet(['a', 'b', 'c']);
    net.campaign('a');
    const types = Object.values(MessageType).filter((v): v is number => typeof v === 'number');
    const anything = fc.oneof(
      fc.nat(),
      fc.integer({ min: -5, max: 5 }),
      fc.double(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 8 }),
      fc.array(fc.nat({ max: 10 }), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('a', 'b', 'c'),
        fc.constantFrom(...types),
        fc.dictionary(
          fc.constantFrom(
            'term',
            'prevIndex',
            'prevTerm',
            'commit',
            'round',
            'entries',
            'success',
            'matchIndex',
            'conflictTerm',
            'conflictIndex',
            'lastIndex',
            'lastTerm',
            'preVote',
            'transfer',
            'granted',
            'meta',
            'offset',
            'chunk',
            'done',
            'index',
            'received',
            'requestId',
            'commands',
            'entryTerm',
            'error',
            'leaderId',
          ),
          anything,
        ),
        (to, type, fields) => {
          const from = to === 'a' ? 'b' : 'a';
          const node = net.node(to);
          expect(() => {
            node.core.step({ term: node.core.term, ...fields, type, from, to });
            net.process(to);
          }).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
