/**
 * Properties of the state machine over random command sequences: determinism, snapshot equivalence, table
 * invariants, and the consistency of the derived events with the tables they describe.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type ApplyResult,
  type ClusterCommand,
  type ClusterEvent,
  ClusterStateMachine,
  type ClusterStateView,
  encodeCommand,
  MAX_DEPARTED,
} from '../../../src/cluster/state/index.js';
import type { PartitionTable } from '../../../src/partitioning/index.js';
import { bytes, spec, T0 } from './helpers.js';

type Op =
  | { op: 'join'; k: number; fresh: boolean; zone: number; weight: number }
  | { op: 'leave'; pick: number; reason: number; stale: boolean }
  | { op: 'update'; pick: number; field: number }
  | { op: 'rebalance' }
  | { op: 'set'; key: number; size: number }
  | { op: 'delete'; key: number }
  | { op: 'cas'; key: number; offset: number; del: boolean }
  | { op: 'garbage'; data: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('join' as const),
      k: fc.integer({ min: 0, max: 5 }),
      // Mostly a new process (a new incarnation); sometimes a retry of the same process's join.
      fresh: fc.integer({ min: 0, max: 3 }).map((x) => x > 0),
      zone: fc.integer({ min: 0, max: 3 }),
      weight: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('leave' as const),
      // An index into the members, modulo their count + 1: mostly valid leaves, sometimes an unknown node.
      pick: fc.integer({ min: 0, max: 9 }),
      reason: fc.integer({ min: 0, max: 2 }),
      stale: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      pick: fc.integer({ min: 0, max: 9 }),
      field: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'rebalance' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key: fc.integer({ min: 0, max: 3 }),
      size: fc.integer({ min: 0, max: 40 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('cas' as const),
      key: fc.integer({ min: 0, max: 3 }),
      offset: fc.integer({ min: -1, max: 1 }),
      del: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('garbage' as const), data: fc.uint8Array({ maxLength: 16 }) }),
  },
);

const scenarioArb = fc.record({
  partitionCount: fc.integer({ min: 1, max: 24 }),
  replicationFactor: fc.integer({ min: 1, max: 4 }),
  placement: fc.constantFrom('balanced' as const, 'rendezvous' as const),
  ops: fc.array(fc.tuple(opArb, fc.integer({ min: -2000, max: 5000 })), { minLength: 1, maxLength: 40 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

const REASONS = ['graceful_shutdown', 'health_check_failure', 'removed_by_admin'] as const;
const ZONES = [undefined, 'z1', 'z2', 'z3'];

/**
 * Turns a scenario into command bytes. Ops are resolved against a reference machine (so most commands make sense:
 * the right incarnation, the current key revision), but nothing is filtered: refusals are part of the sequence.
 */
function commandsOf(s: Scenario): Uint8Array[] {
  const ref = new ClusterStateMachine();
  let at = T0;
  let incarnations = 0;
  const out: Uint8Array[] = [];
  const push = (b: Uint8Array): void => {
    out.push(b);
    ref.apply(b, out.length);
  };
  push(
    encodeCommand({
      type: 'bootstrap',
      at,
      clusterId: 'c',
      config: {
        clusterName: 'p',
        partitionCount: s.partitionCount,
        replicationFactor: s.replicationFactor,
        maxVoters: 3,
        placement: s.placement,
      },
      node: spec('n0', { httpAddr: 'h0:1', raftAddr: 'h0:2' }),
    }),
  );
  for (const [op, dt] of s.ops) {
    // Proposer clocks are not monotonic across leaders: `at` may go back a little.
    at = Math.max(0, at + dt);
    const id = (k: number): string => `n${k}`;
    let cmd: ClusterCommand | undefined;
    switch (op.op) {
      case 'join': {
        const present = ref.state.node(id(op.k));
        incarnations += 1;
        // A retry repeats the member's record exactly (an idempotent join); anything else is a new process.
        const node =
          present !== undefined && !op.fresh
            ? {
                id: present.id,
                name: present.name,
                httpAddr: present.httpAddr,
                raftAddr: present.raftAddr,
                zone: present.zone,
                weight: present.weight,
                services: present.services,
                incarnation: present.incarnation,
              }
            : spec(id(op.k), {
                httpAddr: `h${op.k}:1`,
                raftAddr: `h${op.k}:2`,
                incarnation: `i${incarnations}`,
                zone: ZONES[op.zone],
                weight: op.weight,
              });
        cmd = { type: 'nodeJoin', at, triggeredAt: Math.max(0, at - 100), node };
        break;
      }
      case 'leave': {
        const members = ref.state.nodes();
        const n = members[op.pick % (members.length + 1)];
        cmd = {
          type: 'nodeLeave',
          at,
          nodeId: n?.id ?? 'unknown',
          reason: REASONS[op.reason]!,
          lastSeenAt: Math.max(0, at - 3000),
          ...(op.stale ? { incarnation: 'stale' } : n === undefined ? {} : { incarnation: n.incarnation }),
        };
        break;
      }
      case 'update': {
        const members = ref.state.nodes();
        const n = members[op.pick % (members.length + 1)];
        const k = n === undefined ? 99 : Number(n.id.slice(1));
        const changes = [
          { weight: 1 + ((at / 1000) % 3) },
          { zone: k % 2 === 0 ? null : 'z9' },
          { httpAddr: `h${k}b:1` },
          { services: { kv: `:${9000 + k}` } },
        ][op.field]!;
        cmd = { type: 'nodeUpdate', at, nodeId: n?.id ?? 'unknown', changes };
        break;
      }
      case 'rebalance':
        cmd = { type: 'rebalance', at, reason: 'manual' };
        break;
      case 'set':
        cmd = { type: 'setCustomData', at, key: `k${op.key}`, value: new Uint8Array(op.size).fill(op.key) };
        break;
      case 'delete':
        cmd = { type: 'deleteCustomData', at, key: `k${op.key}` };
        break;
      case 'cas': {
        const rev = ref.state.customDataRevision(`k${op.key}`);
        cmd = {
          type: 'casCustomData',
          at,
          key: `k${op.key}`,
          expectedRevision: Math.max(0, rev + op.offset),
          value: op.del ? null : bytes(`v${at}`),
        };
        break;
      }
      case 'garbage':
        push(op.data);
        continue;
    }
    push(encodeCommand(cmd));
  }
  return out;
}

function applyAll(m: ClusterStateMachine, cmds: readonly Uint8Array[], from = 0): ApplyResult[] {
  return cmds.slice(from).map((c, i) => m.apply(c, from + i + 1));
}

/** A plain assertion: these checks run millions of times, and `expect` is comparatively slow. */
function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkTable(state: ClusterStateView): void {
  const table = state.table!;
  const config = state.config!;
  check(table.partitionCount === config.partitionCount, 'partition count differs from the config');
  check(table.replicationFactor === config.replicationFactor, 'RF differs from the config');
  const want = Math.min(config.replicationFactor, state.nodeCount);
  for (const p of table.partitions) {
    check(p.owners.length === want, `${p.id} has ${p.owners.length} owners, want ${want}`);
    check(new Set(p.owners).size === want, `${p.id} lists an owner twice`);
    for (const o of p.owners) check(state.hasNode(o), `${p.id} is owned by non-member ${o}`);
    check(p.primary === p.owners[0], `${p.id} primary is not the first owner`);
  }
  check(state.departed().length <= MAX_DEPARTED, 'too many departed records');
  for (const d of state.departed()) check(!state.hasNode(d.id), `${d.id} is both departed and a member`);
}

const MEMBERSHIP = new Set(['nodeJoin', 'nodeRejoin', 'nodeLeave', 'nodeUpdate']);
const PARTITION = new Set(['partitionChange', 'partitionPromote', 'partitionDrop']);

/** The events of one command are ordered as documented, and describe exactly the table change. */
function checkEvents(r: ApplyResult, before: PartitionTable | undefined, after: ClusterStateView): void {
  if (!r.ok) return;
  const events = r.events;
  for (const e of events) check(e.index === r.index, 'an event carries another index');
  const kinds = events.map((e) => e.type);
  const start = kinds.indexOf('rebalanceStart');
  if (start === -1) {
    check(!kinds.some((k) => PARTITION.has(k) || k === 'rebalanceComplete'), 'partition events without a start');
    // No rebalance events: the table did not change at all.
    if (before !== undefined) check(after.table === before, 'the table changed without rebalance events');
    return;
  }
  // Membership event (if any) first, so a rejoin precedes its partition changes; then start, partition events
  // by partition (promote, copies, drops), complete last.
  check(start <= 1 && kinds.slice(0, start).every((k) => MEMBERSHIP.has(k)), `bad event order ${kinds.join(',')}`);
  check(kinds.at(-1) === 'rebalanceComplete', 'rebalanceComplete is not last');
  const parts = events.slice(start + 1, -1) as Extract<ClusterEvent, { partitionIndex: number }>[];
  const rank = { partitionPromote: 0, partitionChange: 1, partitionDrop: 2 } as Record<string, number>;
  for (let i = 0; i < parts.length; i++) {
    const e = parts[i]!;
    check(PARTITION.has(e.type), `unexpected ${e.type} among partition events`);
    const prev = parts[i - 1];
    if (prev !== undefined) {
      const ordered =
        prev.partitionIndex < e.partitionIndex ||
        (prev.partitionIndex === e.partitionIndex && rank[prev.type]! <= rank[e.type]!);
      check(ordered, `partition events out of order at ${i}`);
    }
  }
  const table = after.table!;
  expect(events[start]).toMatchObject({ toVersion: table.version, fromVersion: before?.version ?? 0 });
  // Replaying the events on the old owner sets gives the new ones.
  for (const p of table.partitions) {
    const old = before?.partitions[p.index]?.owners ?? [];
    const holders = new Set(old.filter((o) => after.hasNode(o)));
    const survivors = [...holders];
    for (const e of parts) {
      if (e.partitionIndex !== p.index) continue;
      if (e.type === 'partitionChange') {
        const sources = e.copyFromNodes.map((n) => n.id);
        check(!holders.has(e.copyToNode.id), `${p.id}: copy to ${e.copyToNode.id}, which holds it`);
        // Sources: the surviving previous holders, old primary first; so never the receiver, never empty if any.
        check(sameList(sources, survivors), `${p.id}: sources ${sources.join(',')} instead of ${survivors.join(',')}`);
        check(!sources.includes(e.copyToNode.id), `${p.id}: the receiver is a source`);
        check(e.isPrimary === (e.copyToNode.id === p.primary), `${p.id}: isPrimary is wrong`);
        check(e.epoch === p.epoch && e.newPrimary === (p.primary ?? null), `${p.id}: epoch or primary is wrong`);
        holders.add(e.copyToNode.id);
      } else if (e.type === 'partitionDrop') {
        check(holders.delete(e.node.id), `${p.id}: drop by ${e.node.id}, which does not hold it`);
        check(sameList(e.newOwners, p.owners), `${p.id}: newOwners is wrong`);
      } else {
        check(e.node.id === p.primary && old.includes(e.node.id), `${p.id}: bad promotion of ${e.node.id}`);
      }
    }
    const got = [...holders].sort();
    const want = [...p.owners].sort();
    check(sameList(got, want), `${p.id}: events lead to ${got.join(',')}, the table has ${want.join(',')}`);
  }
}

describe('state machine properties', () => {
  test.prop([scenarioArb], { numRuns: 150 })('is deterministic: same commands, same results and snapshots', (s) => {
    const cmds = commandsOf(s);
    const a = new ClusterStateMachine();
    const b = new ClusterStateMachine();
    const ra = applyAll(a, cmds);
    const rb = applyAll(b, cmds);
    expect(rb).toEqual(ra);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  test.prop([scenarioArb, fc.nat()], { numRuns: 150 })(
    'snapshot → restore → continue equals continuing without the snapshot',
    (s, cutSeed) => {
      const cmds = commandsOf(s);
      const cut = cutSeed % (cmds.length + 1);
      const whole = new ClusterStateMachine();
      const wholeResults = applyAll(whole, cmds);
      const first = new ClusterStateMachine();
      applyAll(first, cmds.slice(0, cut));
      const seen: ClusterEvent[] = [];
      const second = new ClusterStateMachine({ onEvents: (e) => seen.push(...e) });
      second.restore(first.snapshot());
      expect(seen).toEqual([]);
      const rest = applyAll(second, cmds, cut);
      expect(rest).toEqual(wholeResults.slice(cut));
      expect(second.snapshot()).toEqual(whole.snapshot());
      expect(seen).toEqual(rest.flatMap((r) => (r.ok ? r.events : [])));
    },
  );

  test.prop([scenarioArb], { numRuns: 200 })(
    'keeps the table invariants, leaves refused commands without effect, and emits consistent events',
    (s) => {
      const cmds = commandsOf(s);
      const m = new ClusterStateMachine();
      let lastIndex = 0;
      for (const [i, c] of cmds.entries()) {
        const before = m.state.table;
        const snap = Buffer.from(m.snapshot());
        const r = m.apply(c, i + 1);
        if (!r.ok || !r.changed) {
          check(Buffer.from(m.snapshot()).equals(snap), `command ${i + 1} changed nothing but the snapshot differs`);
          if (r.ok) check(r.events.length === 0, `command ${i + 1} changed nothing but emitted events`);
        } else {
          check(m.state.lastIndex === i + 1 && i + 1 > lastIndex, 'lastIndex did not advance to the index');
          lastIndex = m.state.lastIndex;
        }
        checkTable(m.state);
        checkEvents(r, before, m.state);
      }
    },
  );
});
