import { describe, expect, it } from 'vitest';
import {
  ANY_REVISION,
  type ApplyResult,
  ClusterStateMachine,
  encodeCommand,
  MAX_CUSTOM_DATA_BYTES,
  MAX_CUSTOM_VALUE_BYTES,
  MAX_DEPARTED,
  refusalToError,
  toGoNodeJSON,
} from '../../../src/cluster/state/index.js';
import { ClusterKitError } from '../../../src/errors.js';
import { bytes, CONFIG, Harness, ok, refused, spec, T0 } from './helpers.js';

/** Applies `fn` and checks it was refused with `code` and left the snapshot byte-identical. */
function expectRefusedUnchanged(h: Harness, fn: () => ApplyResult, code: string): Extract<ApplyResult, { ok: false }> {
  const before = h.snapshotText();
  const revision = h.state.revision;
  const r = refused(fn());
  expect(r.code).toBe(code);
  expect(r.message.length).toBeGreaterThan(0);
  expect(h.snapshotText()).toBe(before);
  expect(h.state.revision).toBe(revision);
  return r;
}

/** Accepted without any change: same snapshot, no events. */
function expectNoOp(h: Harness, fn: () => ApplyResult): Extract<ApplyResult, { ok: true }> {
  const before = h.snapshotText();
  const r = ok(fn());
  expect(r.changed).toBe(false);
  expect(r.events).toEqual([]);
  expect(h.snapshotText()).toBe(before);
  return r;
}

function cluster(n: number, config = {}): Harness {
  const h = new Harness();
  ok(h.bootstrap(config));
  for (let i = 2; i <= n; i++) ok(h.join(i));
  return h;
}

describe('bootstrap', () => {
  it('creates the config, the first node and a full table', () => {
    const h = new Harness();
    expect(h.state.bootstrapped).toBe(false);
    expect(h.state.table).toBeUndefined();
    const r = ok(h.bootstrap());
    expect(r).toMatchObject({ type: 'bootstrap', index: 1, changed: true, revision: 1, tableVersion: 1, join: 'new' });
    expect(h.state.bootstrapped).toBe(true);
    expect(h.state.clusterId).toBe('cid-1');
    expect(h.state.config).toEqual({ ...CONFIG, placement: 'balanced' });
    expect(Object.isFrozen(h.state.config)).toBe(true);
    expect(h.state.nodes().map((n) => n.id)).toEqual(['node-1']);
    const table = h.state.table!;
    expect(table.partitionCount).toBe(16);
    expect(table.partitions.every((p) => p.primary === 'node-1' && p.replicas.length === 0)).toBe(true);
    expect(h.state.counters).toEqual({ revision: 1, lastIndex: 1, rebalances: 1, tableVersion: 1 });
  });

  it('honours the rendezvous placement (the Go assignment)', () => {
    const h = cluster(3, { placement: 'rendezvous' });
    // seed-behavior §6.2 vectors: partition-0 → node-3 [node-2, node-1]; partition-1 → node-1 [node-2, node-3].
    expect(h.state.table!.partition(0).owners).toEqual(['node-3', 'node-2', 'node-1']);
    expect(h.state.table!.partition(1).owners).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('is refused once bootstrapped', () => {
    const h = cluster(1);
    expectRefusedUnchanged(h, () => h.bootstrap(), 'ERR_CONFLICT');
  });

  it('refuses every other command before bootstrap, retriably', () => {
    const h = new Harness();
    const cmds = [
      () => h.join(2),
      () => h.run({ type: 'nodeLeave', nodeId: 'node-1', reason: 'graceful_shutdown' }),
      () => h.run({ type: 'nodeUpdate', nodeId: 'node-1', changes: { name: 'x' } }),
      () => h.run({ type: 'rebalance', reason: 'manual' }),
      () => h.run({ type: 'setCustomData', key: 'k', value: bytes('v') }),
      () => h.run({ type: 'deleteCustomData', key: 'k' }),
      () => h.run({ type: 'casCustomData', key: 'k', expectedRevision: 0, value: bytes('v') }),
    ];
    for (const c of cmds) expect(expectRefusedUnchanged(h, c, 'ERR_UNAVAILABLE').retriable).toBe(true);
  });
});

describe('nodeJoin', () => {
  it('admits a new node and recomputes placement with min(RF, N) owners', () => {
    const h = cluster(1);
    const r = ok(h.join(2, { zone: 'z2', weight: 2, services: { kv: ':9080', api: 'h:1' } }));
    expect(r).toMatchObject({ join: 'new', changed: true, revision: 2, tableVersion: 2 });
    const n2 = h.state.node('node-2')!;
    expect(n2).toEqual({
      id: 'node-2',
      name: 'Server-node-2',
      httpAddr: '10.0.0.2:8080',
      raftAddr: '10.0.0.2:9090',
      zone: 'z2',
      weight: 2,
      services: { api: 'h:1', kv: ':9080' },
      incarnation: 'inc-1',
      joinedAt: T0 + 2000,
      updatedAt: T0 + 2000,
    });
    expect(Object.keys(n2.services)).toEqual(['api', 'kv']);
    expect(h.state.table!.partitions.every((p) => p.owners.length === 2)).toBe(true);
    ok(h.join(3));
    ok(h.join(4));
    expect(h.state.table!.partitions.every((p) => p.owners.length === 3)).toBe(true);
  });

  it('is idempotent for the same incarnation and settings', () => {
    const h = cluster(2);
    const r = expectNoOp(h, () => h.join(2));
    expect(r.join).toBe('unchanged');
  });

  it('refuses another incarnation of a present id', () => {
    const h = cluster(2);
    expectRefusedUnchanged(h, () => h.join(2, { incarnation: 'inc-2' }), 'ERR_CONFLICT');
  });

  it('refuses the same incarnation with other settings (that is nodeUpdate)', () => {
    const h = cluster(2);
    expectRefusedUnchanged(h, () => h.join(2, { httpAddr: '10.0.0.2:8081' }), 'ERR_CONFLICT');
    expectRefusedUnchanged(h, () => h.join(2, { services: { kv: ':1' } }), 'ERR_CONFLICT');
  });

  it('refuses an address another member uses (HTTP or Raft, either way round)', () => {
    const h = cluster(2);
    expectRefusedUnchanged(h, () => h.join(3, { httpAddr: '10.0.0.2:8080' }), 'ERR_CONFLICT');
    expectRefusedUnchanged(h, () => h.join(3, { raftAddr: '10.0.0.2:8080' }), 'ERR_CONFLICT');
    expectRefusedUnchanged(h, () => h.join(3, { httpAddr: '10.0.0.1:9090' }), 'ERR_CONFLICT');
    // One node may use one address for both (a shared port).
    ok(h.join(3, { httpAddr: '10.0.0.3:7000', raftAddr: '10.0.0.3:7000' }));
  });

  it('refuses a joiner whose settings differ from the cluster', () => {
    const h = cluster(1);
    const node = spec(2);
    for (const extra of [
      { partitionCount: 64 },
      { replicationFactor: 2 },
      { clusterName: 'other' },
      { clusterId: 'cid-2' },
    ]) {
      expectRefusedUnchanged(h, () => h.run({ type: 'nodeJoin', node, ...extra }), 'ERR_MEMBERSHIP');
    }
    ok(h.run({ type: 'nodeJoin', node, partitionCount: 16, replicationFactor: 3, clusterName: 'test-cluster' }));
  });
});

describe('nodeLeave', () => {
  it('removes the node, records it as departed and re-places its partitions', () => {
    const h = cluster(4);
    const held = h.state.table!.partitionsOfNode('node-2');
    const heldIds = [...held.primaries, ...held.replicas].sort((a, b) => a - b).map((i) => `partition-${i}`);
    const r = ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'health_check_failure', lastSeenAt: T0 + 1500 }));
    expect(r.changed).toBe(true);
    expect(h.state.hasNode('node-2')).toBe(false);
    expect(h.state.table!.nodes).not.toContain('node-2');
    expect(h.state.table!.partitions.every((p) => p.owners.length === 3)).toBe(true);
    expect(h.state.departedNode('node-2')).toMatchObject({
      id: 'node-2',
      reason: 'health_check_failure',
      leftAt: T0 + 5000,
      lastSeenAt: T0 + 1500,
      partitionsBeforeLeave: heldIds,
    });
    expect(h.state.departed().map((d) => d.id)).toEqual(['node-2']);
  });

  it('defaults lastSeenAt to the leave time', () => {
    const h = cluster(2);
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'graceful_shutdown' }));
    const d = h.state.departedNode('node-2')!;
    expect(d.lastSeenAt).toBe(d.leftAt);
  });

  it('refuses an unknown or already departed node', () => {
    const h = cluster(2);
    expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeLeave', nodeId: 'nope', reason: 'removed_by_admin' }),
      'ERR_NOT_FOUND',
    );
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'removed_by_admin' }));
    const r = expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'removed_by_admin' }),
      'ERR_NOT_FOUND',
    );
    expect(r.message).toContain('already left');
  });

  it('refuses when the node has another incarnation than the one the proposer judged', () => {
    const h = cluster(2);
    expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'health_check_failure', incarnation: 'old' }),
      'ERR_CONFLICT',
    );
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-2', reason: 'health_check_failure', incarnation: 'inc-1' }));
  });

  it('lets the last node leave (partitions without owners) and a later join take everything', () => {
    const h = cluster(1);
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-1', reason: 'removed_by_admin' }));
    expect(h.state.nodeCount).toBe(0);
    expect(h.state.table!.partitions.every((p) => p.primary === undefined)).toBe(true);
    const r = ok(h.join(1, { incarnation: 'inc-2' }));
    expect(r.join).toBe('rejoin');
    expect(h.state.table!.partitions.every((p) => p.primary === 'node-1')).toBe(true);
  });

  it('keeps only the newest departed records', () => {
    const h = cluster(1);
    for (let i = 0; i < MAX_DEPARTED + 5; i++) {
      ok(h.join(`n${i}`, { httpAddr: `h${i}:1`, raftAddr: `h${i}:2` }));
      ok(h.run({ type: 'nodeLeave', nodeId: `n${i}`, reason: 'graceful_shutdown' }));
    }
    const departed = h.state.departed();
    expect(departed).toHaveLength(MAX_DEPARTED);
    expect(departed[0]!.id).toBe('n5');
    expect(h.state.departedNode('n4')).toBeUndefined();
    expect(h.state.departedNode('n5')).toBeDefined();
    // A forgotten node comes back as a brand-new one.
    expect(ok(h.join('n0', { httpAddr: 'h0:1', raftAddr: 'h0:2' })).join).toBe('new');
    expect(ok(h.join('n6', { httpAddr: 'h6:1', raftAddr: 'h6:2' })).join).toBe('rejoin');
  });
});

describe('nodeUpdate', () => {
  it('changes addresses and services without touching placement', () => {
    const h = cluster(3);
    const table = h.state.table;
    const r = ok(
      h.run({
        type: 'nodeUpdate',
        nodeId: 'node-2',
        changes: { httpAddr: 'new-host:8080', services: { kv: 'new-host:9080' } },
      }),
    );
    expect(r.changed).toBe(true);
    expect(h.state.table).toBe(table);
    expect(h.state.node('node-2')).toMatchObject({
      httpAddr: 'new-host:8080',
      raftAddr: '10.0.0.2:9090',
      services: { kv: 'new-host:9080' },
      updatedAt: h.now,
      joinedAt: T0 + 2000,
    });
    expect(h.state.nodes().map((n) => n.id)).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('re-places partitions when zone or weight change', () => {
    const h = cluster(4);
    const before = h.state.table!;
    ok(h.run({ type: 'nodeUpdate', nodeId: 'node-4', changes: { weight: 5 } }));
    expect(h.state.table!.version).toBe(before.version + 1);
    ok(h.run({ type: 'nodeUpdate', nodeId: 'node-4', changes: { zone: 'z' } }));
    expect(h.state.node('node-4')!.zone).toBe('z');
    ok(h.run({ type: 'nodeUpdate', nodeId: 'node-4', changes: { zone: null } }));
    expect('zone' in h.state.node('node-4')!).toBe(false);
  });

  it('is a no-op when nothing differs', () => {
    const h = cluster(2);
    expectNoOp(h, () => h.run({ type: 'nodeUpdate', nodeId: 'node-2', changes: { name: 'Server-node-2' } }));
  });

  it('refuses an unknown node, a wrong incarnation and an address in use', () => {
    const h = cluster(2);
    expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeUpdate', nodeId: 'x', changes: { name: 'n' } }),
      'ERR_NOT_FOUND',
    );
    expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeUpdate', nodeId: 'node-2', incarnation: 'inc-9', changes: { name: 'n' } }),
      'ERR_CONFLICT',
    );
    expectRefusedUnchanged(
      h,
      () => h.run({ type: 'nodeUpdate', nodeId: 'node-2', changes: { raftAddr: '10.0.0.1:8080' } }),
      'ERR_CONFLICT',
    );
  });
});

describe('rebalance', () => {
  it('moves nothing when placement is already what it would compute', () => {
    const h = cluster(5);
    const r = expectNoOp(h, () => h.run({ type: 'rebalance', reason: 'admin asked', requestedBy: 'node-1' }));
    expect(r.tableVersion).toBe(h.state.table!.version);
  });
});

describe('custom data', () => {
  it('sets, reads (as copies), lists and deletes', () => {
    const h = cluster(1);
    const r = ok(h.run({ type: 'setCustomData', key: 'feature_flags', value: bytes('{"a":1}') }));
    expect(r).toMatchObject({ changed: true, keyRevision: 2, existed: false, revision: 2 });
    expect(r.events).toEqual([
      {
        type: 'customDataChange',
        index: 2,
        timestamp: h.now,
        key: 'feature_flags',
        revision: 2,
        deleted: false,
        size: 7,
      },
    ]);
    const e = h.state.getCustomData('feature_flags')!;
    expect(new TextDecoder().decode(e.value)).toBe('{"a":1}');
    expect(e).toMatchObject({ key: 'feature_flags', revision: 2, updatedAt: h.now });
    e.value[0] = 0;
    expect(h.state.getCustomData('feature_flags')!.value[0]).toBe('{'.charCodeAt(0));
    ok(h.run({ type: 'setCustomData', key: 'a', value: new Uint8Array() }));
    expect(h.state.customDataKeys()).toEqual(['a', 'feature_flags']);
    expect(h.state.customDataCount).toBe(2);
    expect(h.state.customDataBytes).toBe('feature_flags'.length + 7 + 1);
    const d = ok(h.run({ type: 'deleteCustomData', key: 'feature_flags' }));
    expect(d).toMatchObject({ changed: true, existed: true, keyRevision: 0 });
    expect(d.events[0]).toMatchObject({ type: 'customDataChange', deleted: true, size: 0, revision: 4 });
    expect(h.state.getCustomData('feature_flags')).toBeUndefined();
    expect(h.state.customDataRevision('feature_flags')).toBe(0);
  });

  it('deleting an absent key succeeds and changes nothing', () => {
    const h = cluster(1);
    const r = expectNoOp(h, () => h.run({ type: 'deleteCustomData', key: 'none' }));
    expect(r.existed).toBe(false);
  });

  it('accepts a 1 MiB value and refuses larger ones before proposing', () => {
    const h = cluster(1);
    ok(h.run({ type: 'setCustomData', key: 'big', value: new Uint8Array(MAX_CUSTOM_VALUE_BYTES) }));
    expect(h.state.getCustomData('big')!.value.length).toBe(MAX_CUSTOM_VALUE_BYTES);
    expect(() =>
      encodeCommand({ type: 'setCustomData', at: 1, key: 'big', value: new Uint8Array(MAX_CUSTOM_VALUE_BYTES + 1) }),
    ).toThrow(ClusterKitError);
  });

  it('compare-and-set on the key revision', () => {
    const h = cluster(1);
    const create = ok(h.run({ type: 'casCustomData', key: 'k', expectedRevision: 0, value: bytes('1') }));
    expect(create).toMatchObject({ keyRevision: 2, existed: false });
    const again = expectRefusedUnchanged(
      h,
      () => h.run({ type: 'casCustomData', key: 'k', expectedRevision: 0, value: bytes('x') }),
      'ERR_CONFLICT',
    );
    expect(again.currentRevision).toBe(2);
    const stale = expectRefusedUnchanged(
      h,
      () => h.run({ type: 'casCustomData', key: 'k', expectedRevision: 1, value: bytes('x') }),
      'ERR_CONFLICT',
    );
    expect(stale.currentRevision).toBe(2);
    const next = ok(h.run({ type: 'casCustomData', key: 'k', expectedRevision: 2, value: bytes('2') }));
    expect(next).toMatchObject({ keyRevision: 3, existed: true });
    const del = ok(h.run({ type: 'casCustomData', key: 'k', expectedRevision: 3, value: null }));
    expect(del).toMatchObject({ keyRevision: 0, existed: true, changed: true });
    expectNoOp(h, () => h.run({ type: 'casCustomData', key: 'k', expectedRevision: 0, value: null }));
    expect(refusalToError(again)).toMatchObject({ code: 'ERR_CONFLICT', retriable: false });
  });

  it('compare-and-set with ANY_REVISION (If-Match: *) needs the key to exist, whatever its revision', () => {
    const h = cluster(1);
    const absent = expectRefusedUnchanged(
      h,
      () => h.run({ type: 'casCustomData', key: 'k', expectedRevision: ANY_REVISION, value: bytes('x') }),
      'ERR_CONFLICT',
    );
    expect(absent.currentRevision).toBe(0);
    ok(h.run({ type: 'setCustomData', key: 'k', value: bytes('1') }));
    ok(h.run({ type: 'setCustomData', key: 'k', value: bytes('2') })); // any revision will do, not only the first
    const write = ok(h.run({ type: 'casCustomData', key: 'k', expectedRevision: ANY_REVISION, value: bytes('3') }));
    expect(write).toMatchObject({ existed: true });
    const del = ok(h.run({ type: 'casCustomData', key: 'k', expectedRevision: ANY_REVISION, value: null }));
    expect(del).toMatchObject({ keyRevision: 0, existed: true, changed: true });
  });

  it('refuses writes beyond the total size limit', () => {
    const h = cluster(1);
    const mib = new Uint8Array(MAX_CUSTOM_VALUE_BYTES - 7); // 7-character keys: exactly the 64 MiB total
    for (let i = 0; i < 64; i++)
      ok(h.run({ type: 'setCustomData', key: `k${String(i).padStart(6, '0')}`, value: mib }));
    expect(h.state.customDataBytes).toBe(MAX_CUSTOM_DATA_BYTES);
    // (Snapshots of 64 MiB are slow to compare: check the parts a write would change instead.)
    const revision = h.state.revision;
    const r = refused(h.run({ type: 'setCustomData', key: 'one-more', value: new Uint8Array(1024) }));
    expect(r.code).toBe('ERR_INVALID_ARGUMENT');
    expect(r.message).toContain('limit');
    expect(h.state.revision).toBe(revision);
    expect(h.state.customDataCount).toBe(64);
    expect(h.state.customDataBytes).toBe(MAX_CUSTOM_DATA_BYTES);
    // Replacing a value by a smaller one still fits.
    ok(h.run({ type: 'setCustomData', key: 'k000000', value: new Uint8Array(10) }));
    expect(h.state.customDataBytes).toBe(MAX_CUSTOM_DATA_BYTES - (MAX_CUSTOM_VALUE_BYTES - 7) + 10);
  });
});

describe('apply robustness', () => {
  it('refuses garbage, unknown versions and types without throwing', () => {
    const h = cluster(1);
    for (const text of [
      '',
      'not json',
      '[]',
      'null',
      '{"v":2,"type":"rebalance","at":1,"reason":"x"}',
      '{"v":1,"type":"explode","at":1}',
    ]) {
      expectRefusedUnchanged(h, () => h.applyBytes(bytes(text)), 'ERR_PROTOCOL');
    }
    expectRefusedUnchanged(h, () => h.applyBytes(new Uint8Array([0xff, 0xfe])), 'ERR_PROTOCOL');
    const r = expectRefusedUnchanged(
      h,
      () => h.applyBytes(bytes('{"v":1,"type":"rebalance","at":1,"reason":"x","extra":true}')),
      'ERR_INVALID_ARGUMENT',
    );
    expect(r.type).toBe('rebalance');
  });

  it('refuses an index at or below the last applied change', () => {
    const m = new ClusterStateMachine();
    const cmd = encodeCommand({ type: 'bootstrap', at: T0, clusterId: 'c', config: CONFIG, node: spec(1) });
    ok(m.apply(cmd, 5));
    const join = encodeCommand({ type: 'nodeJoin', at: T0, node: spec(2) });
    expect(refused(m.apply(join, 5)).code).toBe('ERR_INTERNAL');
    expect(refused(m.apply(join, 3)).code).toBe('ERR_INTERNAL');
    expect(refused(m.apply(join, 0)).code).toBe('ERR_INTERNAL');
    expect(m.state.nodeCount).toBe(1);
    ok(m.apply(join, 6));
  });

  it('calls onEvents in commit order and survives a throwing listener', () => {
    const seen: [string, number][] = [];
    const errors: object[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error(o: object) {
        errors.push(o);
      },
      child: () => logger,
    };
    let fail = false;
    const m = new ClusterStateMachine({
      onEvents: (events, index) => {
        for (const e of events) seen.push([e.type, index]);
        if (fail) throw new Error('listener bug');
      },
      logger,
    });
    const h = new Harness(m);
    ok(h.bootstrap());
    fail = true;
    const r = ok(h.join(2));
    expect(r.changed).toBe(true);
    expect(h.state.nodeCount).toBe(2);
    expect(errors).toHaveLength(1);
    expect(seen[0]).toEqual(['nodeJoin', 1]);
    expect(seen.filter(([, i]) => i === 2)[0]).toEqual(['nodeJoin', 2]);
    expect(seen.map(([, i]) => i)).toEqual([...seen.map(([, i]) => i)].sort((a, b) => a - b));
  });
});

describe('read API', () => {
  it('hands out frozen, cached views that cannot change the state', () => {
    const h = cluster(3);
    const nodes = h.state.nodes();
    expect(Object.isFrozen(nodes)).toBe(true);
    expect(Object.isFrozen(nodes[0])).toBe(true);
    expect(Object.isFrozen(nodes[0]!.services)).toBe(true);
    expect(h.state.nodes()).toBe(nodes); // cached until the next change
    expect(() => (nodes as unknown as unknown[]).push(1)).toThrow(TypeError);
    ok(h.join(4));
    expect(h.state.nodes()).not.toBe(nodes);
    expect(nodes).toHaveLength(3); // an old view stays as it was
    ok(h.run({ type: 'nodeLeave', nodeId: 'node-4', reason: 'graceful_shutdown' }));
    expect(Object.isFrozen(h.state.departed())).toBe(true);
    expect(Object.isFrozen(h.state.departed()[0])).toBe(true);
    expect(Object.isFrozen(h.state.customDataKeys())).toBe(true);
  });

  it('derives the Go /cluster node shape', () => {
    const h = cluster(1);
    ok(h.join(2, { services: { kv: ':9080' } }));
    expect(toGoNodeJSON(h.state.node('node-2')!)).toEqual({
      id: 'node-2',
      name: 'Server-node-2',
      ip: '10.0.0.2:8080',
      port: 8080,
      status: 'active',
      services: { kv: ':9080' },
    });
    expect('services' in toGoNodeJSON(h.state.node('node-1')!)).toBe(false);
  });
});
