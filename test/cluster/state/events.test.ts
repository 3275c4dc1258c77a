/**
 * Exact events of join / leave / rejoin sequences. The rendezvous placement is used where exact owners matter:
 * it is the Go original's assignment, fixed by the seed's test vectors (partition-0 ranks node-3, node-2, node-1;
 * partition-1 ranks node-1, node-2, node-3), so the expectations below do not depend on the balanced strategy's
 * tuning.
 */
import { describe, expect, it } from 'vitest';
import { HookDispatcher } from '../../../src/cluster/hooks.js';
import {
  type ClusterEvent,
  type ClusterEventMap,
  ClusterStateMachine,
  type NodeRecord,
} from '../../../src/cluster/state/index.js';
import { Harness, ok, spec, T0 } from './helpers.js';

function rec(n: number, joinedAt: number, incarnation = 'inc-1'): NodeRecord {
  return {
    id: `node-${n}`,
    name: `Server-node-${n}`,
    httpAddr: `10.0.0.${n}:8080`,
    raftAddr: `10.0.0.${n}:9090`,
    weight: 1,
    services: {},
    incarnation,
    joinedAt,
    updatedAt: joinedAt,
  };
}

function types(events: readonly ClusterEvent[]): string[] {
  return events.map((e) => e.type);
}

describe('events of a join / leave / rejoin sequence (P=2, RF=2, rendezvous)', () => {
  const h = new Harness();
  const at = (i: number): number => T0 + i * 1000;
  const n1 = rec(1, at(1));
  const n2 = rec(2, at(2));
  const n3 = rec(3, at(3));

  it('bootstrap: nodeJoin(isBootstrap), then every partition assigned with nothing to copy from', () => {
    const r = ok(
      h.run({
        type: 'bootstrap',
        clusterId: 'c',
        config: { clusterName: 'x', partitionCount: 2, replicationFactor: 2, maxVoters: 3, placement: 'rendezvous' },
        node: spec(1),
        triggeredAt: at(1) - 250,
      }),
    );
    const ev = { index: 1, timestamp: at(1) };
    const part = { ...ev, changeReason: 'node_join', epoch: 1, tableVersion: 1 };
    expect(r.events).toEqual([
      { type: 'nodeJoin', ...ev, node: n1, clusterSize: 1, isBootstrap: true, joinedAt: at(1) },
      {
        type: 'rebalanceStart',
        ...ev,
        trigger: 'node_join',
        reason: 'bootstrap',
        triggerNodeId: 'node-1',
        partitionsToMove: 2,
        copies: 2,
        primaryChanges: 2,
        nodesAffected: ['node-1'],
        startedAt: at(1) - 250,
        fromVersion: 0,
        toVersion: 1,
      },
      {
        type: 'partitionChange',
        ...part,
        partitionId: 'partition-0',
        partitionIndex: 0,
        copyFromNodes: [],
        copyToNode: n1,
        isPrimary: true,
        oldPrimary: null,
        newPrimary: 'node-1',
      },
      {
        type: 'partitionChange',
        ...part,
        partitionId: 'partition-1',
        partitionIndex: 1,
        copyFromNodes: [],
        copyToNode: n1,
        isPrimary: true,
        oldPrimary: null,
        newPrimary: 'node-1',
      },
      {
        type: 'rebalanceComplete',
        ...ev,
        trigger: 'node_join',
        reason: 'bootstrap',
        // What rebalanceStart said, again: the Go original passed one RebalanceEvent to both hooks.
        triggerNodeId: 'node-1',
        partitionsToMove: 2,
        primaryChanges: 2,
        nodesAffected: ['node-1'],
        duration: 250,
        partitionsMoved: 2,
        copies: 2,
        startedAt: at(1) - 250,
        completedAt: at(1),
        tableVersion: 1,
      },
    ]);
  });

  it('join node-2: it becomes primary of partition-0 and replica of partition-1, copying from node-1', () => {
    const r = ok(h.join(2));
    const ev = { index: 2, timestamp: at(2) };
    expect(types(r.events)).toEqual([
      'nodeJoin',
      'rebalanceStart',
      'partitionChange',
      'partitionChange',
      'rebalanceComplete',
    ]);
    expect(r.events[0]).toEqual({
      type: 'nodeJoin',
      ...ev,
      node: n2,
      clusterSize: 2,
      isBootstrap: false,
      joinedAt: at(2),
    });
    expect(r.events[1]).toMatchObject({
      trigger: 'node_join',
      reason: 'node_join',
      triggerNodeId: 'node-2',
      partitionsToMove: 2,
      copies: 2,
      primaryChanges: 1,
      nodesAffected: ['node-1', 'node-2'],
      startedAt: at(2),
      fromVersion: 1,
      toVersion: 2,
    });
    expect(r.events[2]).toEqual({
      type: 'partitionChange',
      ...ev,
      partitionId: 'partition-0',
      partitionIndex: 0,
      changeReason: 'node_join',
      epoch: 2,
      tableVersion: 2,
      copyFromNodes: [n1],
      copyToNode: n2,
      isPrimary: true,
      oldPrimary: 'node-1',
      newPrimary: 'node-2',
    });
    expect(r.events[3]).toEqual({
      type: 'partitionChange',
      ...ev,
      partitionId: 'partition-1',
      partitionIndex: 1,
      changeReason: 'node_join',
      epoch: 1,
      tableVersion: 2,
      copyFromNodes: [n1],
      copyToNode: n2,
      isPrimary: false,
      oldPrimary: 'node-1',
      newPrimary: 'node-1',
    });
    expect(r.events[4]).toMatchObject({ duration: 0, partitionsMoved: 2, completedAt: at(2), startedAt: at(2) });
  });

  it('join node-3: it takes partition-0 as primary (sources: old primary first), node-1 drops its copy', () => {
    const r = ok(h.join(3));
    const ev = { index: 3, timestamp: at(3) };
    const part = { ...ev, partitionId: 'partition-0', partitionIndex: 0, changeReason: 'node_join', epoch: 3 };
    expect(types(r.events)).toEqual([
      'nodeJoin',
      'rebalanceStart',
      'partitionChange',
      'partitionDrop',
      'rebalanceComplete',
    ]);
    expect(r.events[1]).toMatchObject({ partitionsToMove: 1, copies: 1, primaryChanges: 1 });
    expect(r.events[1]).toMatchObject({ nodesAffected: ['node-1', 'node-2', 'node-3'] });
    expect(r.events[2]).toEqual({
      type: 'partitionChange',
      ...part,
      tableVersion: 3,
      copyFromNodes: [n2, n1],
      copyToNode: n3,
      isPrimary: true,
      oldPrimary: 'node-2',
      newPrimary: 'node-3',
    });
    expect(r.events[3]).toEqual({
      type: 'partitionDrop',
      ...part,
      tableVersion: 3,
      node: n1,
      wasPrimary: false,
      newPrimary: 'node-3',
      newOwners: ['node-3', 'node-2'],
    });
  });

  it('leave node-3: node-2 is promoted and is the copy source of node-1 (the Go original gave none)', () => {
    const r = ok(
      h.run({ type: 'nodeLeave', nodeId: 'node-3', reason: 'health_check_failure', lastSeenAt: at(4) - 15_000 }),
    );
    const ev = { index: 4, timestamp: at(4) };
    const part = { ...ev, partitionId: 'partition-0', partitionIndex: 0, changeReason: 'node_leave', epoch: 4 };
    expect(types(r.events)).toEqual([
      'nodeLeave',
      'rebalanceStart',
      'partitionPromote',
      'partitionChange',
      'rebalanceComplete',
    ]);
    expect(r.events[0]).toEqual({
      type: 'nodeLeave',
      ...ev,
      node: n3,
      reason: 'health_check_failure',
      partitionsOwned: ['partition-0'],
      partitionsReplica: [],
      leftAt: at(4),
      lastSeenAt: at(4) - 15_000,
      clusterSize: 2,
    });
    expect(r.events[1]).toMatchObject({
      trigger: 'node_leave',
      reason: 'health_check_failure',
      triggerNodeId: 'node-3',
      nodesAffected: ['node-1', 'node-2', 'node-3'],
    });
    expect(r.events[2]).toEqual({
      type: 'partitionPromote',
      ...part,
      tableVersion: 4,
      node: n2,
      oldPrimary: 'node-3',
      newPrimary: 'node-2',
      oldPrimaryDemoted: false,
    });
    expect(r.events[3]).toEqual({
      type: 'partitionChange',
      ...part,
      tableVersion: 4,
      copyFromNodes: [n2],
      copyToNode: n1,
      isPrimary: false,
      oldPrimary: 'node-3',
      newPrimary: 'node-2',
    });
  });

  it('rejoin node-3: nodeRejoin with the offline time comes first, then its partition changes', () => {
    const r = ok(h.join(3, { incarnation: 'inc-2' }));
    expect(r.join).toBe('rejoin');
    const ev = { index: 5, timestamp: at(5) };
    expect(types(r.events)).toEqual([
      'nodeRejoin',
      'rebalanceStart',
      'partitionChange',
      'partitionDrop',
      'rebalanceComplete',
    ]);
    const n3b = rec(3, at(5), 'inc-2');
    expect(r.events[0]).toEqual({
      type: 'nodeRejoin',
      ...ev,
      node: n3b,
      offlineDuration: at(5) - (at(4) - 15_000),
      lastSeenAt: at(4) - 15_000,
      leftAt: at(4),
      leaveReason: 'health_check_failure',
      partitionsBeforeLeave: ['partition-0'],
      clusterSize: 3,
      joinedAt: at(5),
    });
    expect(r.events[1]).toMatchObject({ trigger: 'node_rejoin', reason: 'node_rejoin', triggerNodeId: 'node-3' });
    expect(r.events[2]).toMatchObject({
      type: 'partitionChange',
      changeReason: 'node_rejoin',
      copyFromNodes: [n2, n1],
      copyToNode: n3b,
      epoch: 5,
    });
    expect(r.events[3]).toMatchObject({ type: 'partitionDrop', node: n1, changeReason: 'node_rejoin' });
    expect(h.state.departedNode('node-3')).toBeUndefined();
    expect(h.state.nodes().map((n) => n.id)).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('a graceful leave of a replica-only node: replicas re-placed, nobody promoted', () => {
    const r = ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'graceful_shutdown' }));
    expect(r.events[0]).toMatchObject({
      type: 'nodeLeave',
      reason: 'graceful_shutdown',
      partitionsOwned: [],
      partitionsReplica: ['partition-0', 'partition-1'],
      clusterSize: 2,
    });
    // partition-0: [node-3, node-2] → [node-3, node-1]; partition-1: [node-1, node-2] → [node-1, node-3].
    const changes = r.events.filter((e) => e.type === 'partitionChange');
    expect(changes.map((e) => [e.partitionId, e.copyToNode.id, e.copyFromNodes.map((n) => n.id)])).toEqual([
      ['partition-0', 'node-1', ['node-3']],
      ['partition-1', 'node-3', ['node-1']],
    ]);
    expect(r.events.some((e) => e.type === 'partitionPromote' || e.type === 'partitionDrop')).toBe(false);
  });
});

describe('events of node updates', () => {
  it('an address change emits nodeUpdate only; later copy sources carry the new address', () => {
    const h = new Harness();
    ok(h.bootstrap({ partitionCount: 2, replicationFactor: 2, placement: 'rendezvous' }));
    const r = ok(h.run({ type: 'nodeUpdate', nodeId: 'node-1', changes: { httpAddr: 'moved:8080' } }));
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      type: 'nodeUpdate',
      index: 2,
      changedFields: ['httpAddr'],
      previous: { httpAddr: '10.0.0.1:8080' },
      node: { httpAddr: 'moved:8080', updatedAt: h.now, joinedAt: T0 + 1000 },
    });
    const j = ok(h.join(2));
    const change = j.events.find((e) => e.type === 'partitionChange');
    expect(change?.type === 'partitionChange' && change.copyFromNodes[0]!.httpAddr).toBe('moved:8080');
  });

  it('a weight change re-places partitions with trigger node_update and reason rebalance', () => {
    const h = new Harness();
    ok(h.bootstrap({ partitionCount: 32, replicationFactor: 1 }));
    ok(h.join(2));
    const r = ok(h.run({ type: 'nodeUpdate', nodeId: 'node-2', changes: { weight: 3 }, triggeredAt: h.now + 500 }));
    expect(types(r.events).slice(0, 2)).toEqual(['nodeUpdate', 'rebalanceStart']);
    expect(r.events[1]).toMatchObject({ trigger: 'node_update', reason: 'node_update', triggerNodeId: 'node-2' });
    const moved = r.events.filter((e) => e.type === 'partitionChange');
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((e) => e.changeReason === 'rebalance' && e.copyToNode.id === 'node-2')).toBe(true);
    const done = r.events.at(-1)!;
    expect(done).toMatchObject({ type: 'rebalanceComplete', duration: 500 });
    expect(h.state.table!.partitionsOfNode('node-2').primaries.length).toBe(24);
  });
});

describe('wiring to the hook dispatcher', () => {
  it('delivers events to hooks in commit order, rejoin before its partition changes', async () => {
    const hooks = new HookDispatcher<ClusterEventMap>({ concurrency: 1 });
    const seen: string[] = [];
    for (const type of ['nodeJoin', 'nodeRejoin', 'nodeLeave', 'partitionChange', 'rebalanceStart'] as const) {
      hooks.on(type, (e) => {
        seen.push(`${e.type}@${e.index}`);
      });
    }
    const machine = new ClusterStateMachine({
      onEvents: (events) => {
        for (const e of events) hooks.emit(e.type, e);
      },
    });
    const h = new Harness(machine);
    ok(h.bootstrap({ partitionCount: 1, replicationFactor: 2 }));
    ok(h.join(2));
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'graceful_shutdown' }));
    ok(h.join(2, { incarnation: 'inc-2' }));
    await hooks.idle();
    expect(seen).toEqual([
      'nodeJoin@1',
      'rebalanceStart@1',
      'partitionChange@1',
      'nodeJoin@2',
      'rebalanceStart@2',
      'partitionChange@2',
      'nodeLeave@3',
      'rebalanceStart@3',
      'nodeRejoin@4',
      'rebalanceStart@4',
      'partitionChange@4',
    ]);
  });
});
