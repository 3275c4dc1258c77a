import { describe, expect, it } from 'vitest';
import { type PartitionChangeEvent, toPublicEvents } from '../../../src/cluster/events.js';
import {
  type ApplyResult,
  type ClusterEvent,
  ClusterStateMachine,
  encodeCommand,
  type NodeSpec,
} from '../../../src/cluster/state/index.js';

function spec(n: number): NodeSpec {
  return {
    id: `node-${n}`,
    name: `node-${n}`,
    httpAddr: `10.0.0.${n}:80`,
    raftAddr: `10.0.0.${n}:80`,
    incarnation: 'i.1',
  };
}

/** A state machine fed the commands of a small cluster's life. */
function machine(rf: number, nodes: number): { sm: ClusterStateMachine; apply: (c: object) => ApplyResult } {
  const sm = new ClusterStateMachine();
  let index = 0;
  let at = 1_000_000;
  const apply = (c: object): ApplyResult => sm.apply(encodeCommand({ at: (at += 1000), ...c } as never), ++index);
  apply({
    type: 'bootstrap',
    clusterId: 'c',
    config: { clusterName: 'x', partitionCount: 32, replicationFactor: rf, maxVoters: 5 },
    node: spec(1),
  });
  for (let n = 2; n <= nodes; n++) apply({ type: 'nodeJoin', node: spec(n) });
  return { sm, apply };
}

function publicOf(sm: ClusterStateMachine, r: ApplyResult) {
  if (!r.ok) throw new Error(r.message);
  const table = sm.state.table!;
  return toPublicEvents(
    r.events,
    (id) => sm.state.node(id),
    (i) => table.partitions[i]!.owners,
  );
}

describe('events delivered to hooks', () => {
  it('turns every promotion into a partitionChange with needsCopy: false and real sources', () => {
    // RF 3 on 3 nodes, one leaves: the survivors already hold everything, so no copies, only promotions.
    const { sm, apply } = machine(3, 3);
    const owned = sm.state.table!.partitionsOfNode('node-3').primaries.length;
    expect(owned).toBeGreaterThan(0);
    const r = apply({ type: 'nodeLeave', nodeId: 'node-3', reason: 'health_check_failure' });
    const out = publicOf(sm, r);
    const changes = out.filter((e): e is PartitionChangeEvent => e.type === 'partitionChange');
    expect(changes).toHaveLength(owned);
    expect(out.filter((e) => e.type === 'partitionPromote')).toHaveLength(owned);
    for (const c of changes) {
      expect(c.needsCopy).toBe(false);
      expect(c.isPrimary).toBe(true);
      expect(c.oldPrimary).toBe('node-3');
      expect(c.newPrimary).toBe(c.copyToNode.id);
      expect(c.changeReason).toBe('node_leave');
      // The other survivor held the data; the departed node is never a source.
      expect(c.copyFromNodes.map((n) => n.id)).toEqual([c.copyToNode.id === 'node-1' ? 'node-2' : 'node-1']);
      expect(Object.isFrozen(c)).toBe(true);
    }
    // Order: membership, rebalanceStart, per partition, rebalanceComplete.
    expect(out[0]!.type).toBe('nodeLeave');
    expect(out[1]!.type).toBe('rebalanceStart');
    expect(out[out.length - 1]!.type).toBe('rebalanceComplete');
  });

  it('marks real copies needsCopy: true and keeps the state events otherwise unchanged', () => {
    const { sm, apply } = machine(2, 2);
    const r = apply({ type: 'nodeJoin', node: spec(3) });
    const out = publicOf(sm, r);
    const copies = out.filter((e): e is PartitionChangeEvent => e.type === 'partitionChange' && e.needsCopy);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      expect(c.copyToNode.id).toBe('node-3');
      expect(c.copyFromNodes.length).toBeGreaterThan(0);
      expect(c.copyFromNodes.some((n) => n.id === 'node-3')).toBe(false);
    }
    const stateEvents = (r as { events: readonly ClusterEvent[] }).events;
    const passthrough = out.filter((e) => e.type !== 'partitionChange');
    expect(passthrough).toEqual(stateEvents.filter((e) => e.type !== 'partitionChange'));
  });

  it('with RF 2, a promoted replica lists no departed source and the new replica copies from it', () => {
    const { sm, apply } = machine(2, 3);
    const r = apply({ type: 'nodeLeave', nodeId: 'node-1', reason: 'graceful_shutdown' });
    const out = publicOf(sm, r);
    const changes = out.filter((e): e is PartitionChangeEvent => e.type === 'partitionChange');
    expect(changes.some((c) => !c.needsCopy)).toBe(true);
    for (const c of changes) {
      expect(c.copyFromNodes.some((n) => n.id === 'node-1')).toBe(false);
      // The Go original gave the new replica an empty source list here (the promoted holder was excluded).
      if (c.needsCopy) expect(c.copyFromNodes.length).toBeGreaterThan(0);
    }
  });
});
