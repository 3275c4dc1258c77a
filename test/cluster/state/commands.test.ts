import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type ClusterCommand,
  decodeCommand,
  encodeCommand,
  MAX_COMMAND_BYTES,
} from '../../../src/cluster/state/index.js';
import { ClusterKitError } from '../../../src/errors.js';
import { bytes, CONFIG, spec, T0 } from './helpers.js';

const node = spec(1, { zone: 'a', weight: 2, services: { kv: ':9080', admin: 'h:1' } });

const valid: ClusterCommand[] = [
  {
    type: 'bootstrap',
    at: T0,
    triggeredAt: T0 - 5,
    clusterId: 'c',
    config: { ...CONFIG, placement: 'balanced' },
    node,
  },
  { type: 'nodeJoin', at: T0, node, clusterId: 'c', clusterName: 'n', partitionCount: 16, replicationFactor: 3 },
  { type: 'nodeLeave', at: T0, nodeId: 'node-1', reason: 'removed_by_admin', incarnation: 'i', lastSeenAt: T0 - 1 },
  { type: 'nodeUpdate', at: T0, nodeId: 'node-1', changes: { zone: null, weight: 0.5, services: {} } },
  { type: 'rebalance', at: T0, reason: 'why not', requestedBy: 'node-1' },
  { type: 'setCustomData', at: T0, key: '__proto__', value: bytes('x') },
  { type: 'deleteCustomData', at: 0, key: 'k' },
  { type: 'casCustomData', at: T0, key: 'k', expectedRevision: 0, value: null },
  { type: 'casCustomData', at: T0, key: 'k', expectedRevision: 7, value: new Uint8Array([0, 255]) },
];

function decodeOk(b: Uint8Array): ClusterCommand {
  const d = decodeCommand(b);
  if (!d.ok) throw new Error(`${d.code}: ${d.message}`);
  return d.command;
}

function wire(obj: object): Uint8Array {
  return bytes(JSON.stringify(obj));
}

function decodeFails(obj: unknown, code = 'ERR_INVALID_ARGUMENT'): string {
  const d = decodeCommand(typeof obj === 'string' ? bytes(obj) : wire(obj as object));
  expect(d.ok).toBe(false);
  if (d.ok) return '';
  expect(d.code).toBe(code);
  return d.message;
}

describe('command codec', () => {
  it('round-trips every command type', () => {
    for (const cmd of valid) {
      const decoded = decodeOk(encodeCommand(cmd));
      expect(decoded).toEqual(
        cmd.type === 'bootstrap' || cmd.type === 'nodeJoin'
          ? { ...cmd, node: { ...cmd.node, services: { admin: 'h:1', kv: ':9080' } } }
          : cmd,
      );
    }
  });

  it('writes the documented wire format', () => {
    const text = new TextDecoder().decode(
      encodeCommand({ type: 'setCustomData', at: 5, key: 'k', value: bytes('hi') }),
    );
    expect(JSON.parse(text)).toEqual({ v: 1, type: 'setCustomData', at: 5, key: 'k', value: 'aGk=' });
  });

  it('keeps a __proto__ service name as data', () => {
    const cmd = decodeOk(
      wire({ v: 1, type: 'nodeJoin', at: 1, node: { ...spec(1), services: JSON.parse('{"__proto__":"h:1"}') } }),
    );
    expect(cmd.type === 'nodeJoin' && Object.keys(cmd.node.services!)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(cmd.type === 'nodeJoin' ? cmd.node.services : null)).toBe(Object.prototype);
  });

  it('refuses unknown versions and types as protocol errors', () => {
    decodeFails({ v: 2, type: 'rebalance', at: 1, reason: 'r' }, 'ERR_PROTOCOL');
    decodeFails({ type: 'rebalance', at: 1, reason: 'r' }, 'ERR_PROTOCOL');
    decodeFails({ v: 1, type: 'dropTable', at: 1 }, 'ERR_PROTOCOL');
    decodeFails({ v: 1, type: 'toString', at: 1 }, 'ERR_PROTOCOL');
    decodeFails('[1]', 'ERR_PROTOCOL');
    decodeFails('{', 'ERR_PROTOCOL');
    expect(decodeCommand(new Uint8Array(MAX_COMMAND_BYTES + 1))).toMatchObject({ ok: false, code: 'ERR_PROTOCOL' });
  });

  it('refuses unknown, missing and mistyped fields', () => {
    const base = { v: 1, type: 'nodeLeave', at: 1, nodeId: 'n', reason: 'graceful_shutdown' };
    expect(decodeOk(wire(base)).type).toBe('nodeLeave');
    expect(decodeFails({ ...base, surprise: 1 })).toContain('surprise');
    decodeFails({ ...base, reason: 'bored' });
    decodeFails({ ...base, nodeId: '' });
    decodeFails({ ...base, nodeId: 'a\nb' });
    decodeFails({ ...base, nodeId: 'x'.repeat(257) });
    decodeFails({ ...base, at: -1 });
    decodeFails({ ...base, at: 1.5 });
    decodeFails({ ...base, at: '1' });
    decodeFails({ ...base, lastSeenAt: 2 });
    decodeFails({ ...base, triggeredAt: 2 });
    const { nodeId: _, ...noId } = base;
    decodeFails(noId);
    expect(decodeFails({ ...base, type: 'nodeLeave', nodeId: 5 })).toContain('nodeId');
  });

  it('validates node specs strictly', () => {
    const join = (n: object) => ({ v: 1, type: 'nodeJoin', at: 1, node: n });
    expect(decodeOk(wire(join(spec(1)))).type).toBe('nodeJoin');
    for (const bad of [
      { httpAddr: ':8080' }, // the Go original's host-less address is not routable
      { httpAddr: 'host' },
      { httpAddr: 'host:0' },
      { httpAddr: 'host:65536' },
      { httpAddr: 'host:080' },
      { raftAddr: 'a b:1' },
      { weight: 0 },
      { weight: Number.MAX_VALUE },
      { zone: '' },
      { incarnation: '' },
      { incarnation: 'x'.repeat(65) },
      { services: { kv: '9080' } },
      { services: { '': ':1' } },
      { services: [] },
      { name: undefined },
      { extra: true },
    ]) {
      decodeFails(join({ ...spec(1), ...bad }));
    }
    for (const good of [{ httpAddr: '[::1]:8080' }, { httpAddr: 'my-host.example.com:65535' }, { weight: 1e6 }]) {
      expect(decodeOk(wire(join({ ...spec(1), ...good }))).type).toBe('nodeJoin');
    }
  });

  it('validates the bootstrap configuration', () => {
    const boot = (config: object) => ({ v: 1, type: 'bootstrap', at: 1, clusterId: 'c', config, node: spec(1) });
    const d = decodeOk(wire(boot(CONFIG)));
    expect(d.type === 'bootstrap' && d.config.placement).toBe('balanced');
    for (const bad of [
      { partitionCount: 0 },
      { partitionCount: 65_537 },
      { replicationFactor: 0 },
      { replicationFactor: 33 },
      { maxVoters: 0 },
      { clusterName: '' },
      { placement: 'random' },
      { other: 1 },
    ]) {
      decodeFails(boot({ ...CONFIG, ...bad }));
    }
  });

  it('accepts only canonical standard base64 values', () => {
    const set = (value: unknown) => ({ v: 1, type: 'setCustomData', at: 1, key: 'k', value });
    expect(decodeOk(wire(set('aGk=')))).toMatchObject({ value: bytes('hi') });
    expect(decodeOk(wire(set('')))).toMatchObject({ value: new Uint8Array() });
    for (const bad of ['aGk', 'aGl=', 'a-_=', 'aG k=', 'aGk==', 5, null]) decodeFails(set(bad));
    decodeFails({ v: 1, type: 'setCustomData', at: 1, key: '', value: '' });
    decodeFails({ v: 1, type: 'setCustomData', at: 1, key: 'k'.repeat(257), value: '' });
    decodeFails({ v: 1, type: 'casCustomData', at: 1, key: 'k', expectedRevision: -2, value: null });
    expect(
      decodeOk(wire({ v: 1, type: 'casCustomData', at: 1, key: 'k', expectedRevision: -1, value: null })),
    ).toMatchObject({
      expectedRevision: -1, // "the key exists" (If-Match: *)
    });
    decodeFails({ v: 1, type: 'nodeUpdate', at: 1, nodeId: 'n', changes: {} });
  });

  it('encodeCommand throws before anything is proposed', () => {
    const bad = { type: 'nodeLeave', at: 1, nodeId: 'n', reason: 'bored' } as unknown as ClusterCommand;
    expect(() => encodeCommand(bad)).toThrow(ClusterKitError);
    const notBytes = { type: 'setCustomData', at: 1, key: 'k', value: 'str' } as unknown as ClusterCommand;
    expect(() => encodeCommand(notBytes)).toThrow(/Uint8Array/);
    expect(() => encodeCommand({ type: 'nope', at: 1 } as unknown as ClusterCommand)).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL' }),
    );
  });

  test.prop([fc.uint8Array({ maxLength: 200 })])('decodeCommand never throws on arbitrary bytes', (b) => {
    const d = decodeCommand(b);
    expect(typeof d.ok).toBe('boolean');
  });

  test.prop([fc.jsonValue()])('decodeCommand never throws on arbitrary JSON', (v) => {
    const d = decodeCommand(bytes(JSON.stringify(v) ?? 'null'));
    expect(typeof d.ok).toBe('boolean');
  });

  test.prop([fc.string({ minLength: 1, maxLength: 256 }), fc.uint8Array({ maxLength: 300 }), fc.nat()])(
    'custom data commands round-trip any key and value',
    (key, value, at) => {
      expect(decodeOk(encodeCommand({ type: 'setCustomData', at, key, value }))).toEqual({
        type: 'setCustomData',
        at,
        key,
        value,
      });
    },
  );
});
