import { describe, expect, it } from 'vitest';
import { ClusterStateMachine, encodeCommand } from '../../../src/cluster/state/index.js';
import { ClusterKitError } from '../../../src/errors.js';
import { bytes, Harness, ok, spec } from './helpers.js';

function populated(): Harness {
  const h = new Harness();
  ok(h.bootstrap({ partitionCount: 8, replicationFactor: 2 }));
  ok(h.join(2, { zone: 'b', services: { kv: ':9080' } }));
  ok(h.join(3, { weight: 2 }));
  ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'health_check_failure', lastSeenAt: h.now }));
  ok(h.run({ type: 'setCustomData', key: 'cfg', value: new Uint8Array([0, 1, 2, 255]) }));
  ok(h.run({ type: 'setCustomData', key: 'empty', value: new Uint8Array() }));
  ok(h.run({ type: 'setCustomData', key: 'cfg', value: bytes('rewritten') }));
  return h;
}

function restored(data: Uint8Array): ClusterStateMachine {
  const m = new ClusterStateMachine();
  m.restore(data);
  return m;
}

/** The snapshot document, typed loosely enough to corrupt it. */
interface Doc {
  format?: unknown;
  v?: unknown;
  extra?: unknown;
  revision: number;
  clusterId: string | null;
  config?: { partitionCount: number } | null;
  nodes: { httpAddr: string; raftAddr: string; services?: unknown }[];
  table: {
    partition_count: number;
    partitions: Record<string, { primary_node: string; replica_nodes: string[] }>;
  } | null;
  departed: {
    id: string;
    node: { id: string };
    reason: string;
    leftAt: number;
    lastSeenAt: number;
    partitionsBeforeLeave: string[];
  }[];
  customData: { key: string; value: string; revision: number }[];
}

function mutate(data: Uint8Array, fn: (doc: Doc) => void): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(data)) as Doc;
  fn(doc);
  return bytes(JSON.stringify(doc));
}

describe('snapshot / restore', () => {
  it('restores an equal state, byte for byte, including orders', () => {
    const h = populated();
    const data = h.machine.snapshot();
    const m = restored(data);
    expect(m.snapshot()).toEqual(data);
    expect(m.state.nodes()).toEqual(h.state.nodes());
    expect(m.state.departed()).toEqual(h.state.departed());
    expect(m.state.customDataKeys()).toEqual(['cfg', 'empty']);
    expect(new TextDecoder().decode(m.state.getCustomData('cfg')!.value)).toBe('rewritten');
    expect(m.state.counters).toEqual(h.state.counters);
    expect(m.state.customDataBytes).toBe(h.state.customDataBytes);
    expect(m.state.table!.sameAssignment(h.state.table!)).toBe(true);
    expect(m.state.table!.version).toBe(h.state.table!.version);
    expect(m.state.config).toEqual(h.state.config);
    expect(m.state.clusterId).toBe('cid-1');
  });

  it('restore emits no events and the restored node continues like the original', () => {
    const h = populated();
    const seen: unknown[] = [];
    const m = new ClusterStateMachine({ onEvents: (e) => seen.push(...e) });
    m.restore(h.machine.snapshot());
    expect(seen).toEqual([]);
    const join = encodeCommand({ type: 'nodeJoin', at: h.now + 1, node: spec(2, { incarnation: 'inc-2' }) });
    const a = h.machine.apply(join, h.index + 1);
    const b = m.apply(join, h.index + 1);
    expect(b).toEqual(a);
    expect(ok(b).join).toBe('rejoin');
    expect(seen).toEqual(ok(a).events);
    expect(m.snapshot()).toEqual(h.machine.snapshot());
  });

  it('refuses to re-apply an index the snapshot covers', () => {
    const h = populated();
    const m = restored(h.machine.snapshot());
    const r = m.apply(encodeCommand({ type: 'deleteCustomData', at: 1, key: 'cfg' }), h.index);
    expect(r).toMatchObject({ ok: false, code: 'ERR_INTERNAL' });
    expect(m.state.getCustomData('cfg')).toBeDefined();
  });

  it('round-trips the unbootstrapped state', () => {
    const data = new ClusterStateMachine().snapshot();
    const m = restored(data);
    expect(m.state.bootstrapped).toBe(false);
    expect(m.snapshot()).toEqual(data);
  });

  it('replaces a populated state entirely', () => {
    const m = restored(populated().machine.snapshot());
    m.restore(new ClusterStateMachine().snapshot());
    expect(m.state.bootstrapped).toBe(false);
    expect(m.state.nodes()).toEqual([]);
    expect(m.state.departed()).toEqual([]);
    expect(m.state.customDataKeys()).toEqual([]);
    expect(m.state.customDataBytes).toBe(0);
  });

  const corruptions: [string, (d: Doc) => void][] = [
    ['wrong format', (d) => (d.format = 'other')],
    ['wrong version', (d) => (d.v = 2)],
    ['unknown field', (d) => (d.extra = 1)],
    ['negative revision', (d) => (d.revision = -1)],
    ['missing config', (d) => delete d.config],
    ['bad config', (d) => (d.config!.partitionCount = 0)],
    ['duplicate node', (d) => d.nodes.push(d.nodes[0]!)],
    ['shared address', (d) => (d.nodes[1]!.raftAddr = d.nodes[0]!.httpAddr)],
    ['node without services', (d) => delete d.nodes[0]!.services],
    ['bad node address', (d) => (d.nodes[0]!.httpAddr = ':8080')],
    ['table count mismatch', (d) => (d.table!.partition_count = 4)],
    ['table owned by a non-member', (d) => (d.table!.partitions['partition-0']!.primary_node = 'ghost')],
    ['under-replicated partition', (d) => (d.table!.partitions['partition-0']!.replica_nodes = [])],
    ['table missing', (d) => (d.table = null)],
    ['departed node still a member', (d) => (d.departed[0]!.id = d.departed[0]!.node.id = 'node-1')],
    ['departed seen after leaving', (d) => (d.departed[0]!.lastSeenAt = d.departed[0]!.leftAt + 1)],
    ['departed bad partition', (d) => (d.departed[0]!.partitionsBeforeLeave = ['partition-99'])],
    ['departed bad reason', (d) => (d.departed[0]!.reason = 'bored')],
    ['custom bad base64', (d) => (d.customData[0]!.value = '***')],
    ['custom duplicate key', (d) => d.customData.push(d.customData[0]!)],
    ['custom revision from the future', (d) => (d.customData[0]!.revision = d.revision + 1)],
    ['custom empty key', (d) => (d.customData[0]!.key = '')],
    ['unbootstrapped with nodes', (d) => ((d.config = null), (d.clusterId = null), (d.table = null))],
  ];

  for (const [name, fn] of corruptions) {
    it(`refuses a snapshot with ${name} (ERR_STORAGE_CORRUPT, state unchanged)`, () => {
      const h = populated();
      const target = populated();
      ok(target.join(9));
      const before = target.machine.snapshot();
      const bad = mutate(h.machine.snapshot(), fn);
      let error: unknown;
      try {
        target.machine.restore(bad);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ClusterKitError);
      expect((error as ClusterKitError).code).toBe('ERR_STORAGE_CORRUPT');
      expect(target.machine.snapshot()).toEqual(before);
    });
  }

  it('refuses bytes that are not UTF-8 JSON', () => {
    const m = new ClusterStateMachine();
    for (const data of [new Uint8Array([0xff]), bytes('{'), bytes('')]) {
      expect(() => m.restore(data)).toThrow(expect.objectContaining({ code: 'ERR_STORAGE_CORRUPT' }));
    }
  });
});
