/**
 * Snapshot format of the cluster state: one UTF-8 JSON document, versioned, custom data values in base64.
 *
 *   { "format": "clusterkit.cluster-state", "v": 1,
 *     "clusterId": string | null, "config": ClusterConfig | null,
 *     "revision", "lastIndex", "rebalances": integers,
 *     "nodes": [NodeRecord…]                      (join order),
 *     "table": PartitionTableJSON | null          (the partitioning core's JSON, Go `partition_map` compatible),
 *     "departed": [{id, node, reason, leftAt, lastSeenAt, partitionsBeforeLeave}…]   (oldest first),
 *     "customData": [{key, value, revision, updatedAt}…]                            (write order) }
 *
 * Orders are part of the state (they decide later orders), so two nodes with equal states write equal bytes.
 * Decoding validates everything a command could have produced, including the table invariants (every partition
 * has min(RF, N) distinct owners, all members), and throws ClusterKitError ERR_STORAGE_CORRUPT otherwise.
 */
import { ClusterKitError } from '../../errors.js';
import { PartitionTable, parsePartitionId } from '../../partitioning/index.js';
import { describe } from '../../util/assert.js';
import { parseConfig } from './commands.js';
import type { ClusterState, StateParts, StoredEntry } from './state.js';
import {
  type ClusterConfig,
  type DepartedRecord,
  LEAVE_REASONS,
  MAX_CUSTOM_DATA_BYTES,
  MAX_CUSTOM_KEY_LENGTH,
  MAX_CUSTOM_KEYS,
  MAX_CUSTOM_VALUE_BYTES,
  MAX_DEPARTED,
  MAX_NODES,
  type NodeRecord,
  STATE_FORMAT_VERSION,
} from './types.js';
import {
  expectArray,
  expectBase64,
  expectInteger,
  expectNodeSpec,
  expectObject,
  expectOneOf,
  expectOnlyKeys,
  expectString,
  expectTime,
  fail,
  freezeRecord,
  NODE_SPEC_FIELDS,
  toBase64,
} from './validate.js';

const FORMAT = 'clusterkit.cluster-state';
const TOP_KEYS = [
  'format',
  'v',
  'clusterId',
  'config',
  'revision',
  'lastIndex',
  'rebalances',
  'nodes',
  'table',
  'departed',
  'customData',
];

/** The decoded parts of a snapshot, ready for ClusterState.replaceAll. */
export type SnapshotParts = StateParts;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSnapshot(state: ClusterState): Uint8Array {
  const customData: { key: string; value: string; revision: number; updatedAt: number }[] = [];
  for (const [key, e] of state.customEntries()) {
    customData.push({ key, value: toBase64(e.value), revision: e.revision, updatedAt: e.updatedAt });
  }
  const doc = {
    format: FORMAT,
    v: STATE_FORMAT_VERSION,
    clusterId: state.clusterId ?? null,
    config: state.config ?? null,
    revision: state.revision,
    lastIndex: state.lastIndex,
    rebalances: state.rebalances,
    nodes: state.nodes(),
    table: state.table?.toJSON() ?? null,
    departed: state.departed(),
    customData,
  };
  return encoder.encode(JSON.stringify(doc));
}

function parseRecord(value: unknown, where: string): NodeRecord {
  const o = expectObject(value, where);
  expectOnlyKeys(o, [...NODE_SPEC_FIELDS, 'joinedAt', 'updatedAt'], where);
  const { joinedAt, updatedAt, ...rest } = o;
  // Records always carry weight and services; the spec parser accepts them as optional, so check presence here.
  if (rest['weight'] === undefined || rest['services'] === undefined) fail(`${where} lacks weight or services`);
  const spec = expectNodeSpec(rest, where);
  return freezeRecord({
    id: spec.id,
    name: spec.name,
    httpAddr: spec.httpAddr,
    raftAddr: spec.raftAddr,
    zone: spec.zone,
    weight: spec.weight!,
    services: spec.services!,
    incarnation: spec.incarnation,
    joinedAt: expectTime(joinedAt, `${where}.joinedAt`),
    updatedAt: expectTime(updatedAt, `${where}.updatedAt`),
  });
}

function parseNodes(value: unknown): Map<string, NodeRecord> {
  const list = expectArray(value, 'nodes');
  if (list.length > MAX_NODES) fail(`${list.length} nodes, more than ${MAX_NODES}`);
  const nodes = new Map<string, NodeRecord>();
  const addrs = new Map<string, string>();
  for (const [i, v] of list.entries()) {
    const n = parseRecord(v, `nodes[${i}]`);
    if (nodes.has(n.id)) fail(`node ${describe(n.id)} appears twice`);
    for (const a of new Set([n.httpAddr, n.raftAddr])) {
      const other = addrs.get(a);
      if (other !== undefined) fail(`nodes ${describe(other)} and ${describe(n.id)} share address ${a}`);
      addrs.set(a, n.id);
    }
    nodes.set(n.id, n);
  }
  return nodes;
}

function parseTable(value: unknown, config: ClusterConfig, nodes: Map<string, NodeRecord>): PartitionTable {
  const table = PartitionTable.fromJSON(value);
  if (table.partitionCount !== config.partitionCount || table.replicationFactor !== config.replicationFactor) {
    fail('the partition table does not match the configuration');
  }
  if (table.version < 1) fail('the partition table version must be at least 1');
  const owners = Math.min(config.replicationFactor, nodes.size);
  for (const p of table.partitions) {
    if (p.owners.length !== owners) fail(`${p.id} has ${p.owners.length} owners, expected ${owners}`);
    for (const o of p.owners) if (!nodes.has(o)) fail(`${p.id} is owned by ${describe(o)}, which is not a member`);
  }
  return table;
}

function parseDeparted(value: unknown, config: ClusterConfig, nodes: Map<string, NodeRecord>): DepartedRecord[] {
  const list = expectArray(value, 'departed');
  if (list.length > MAX_DEPARTED) fail(`${list.length} departed records, more than ${MAX_DEPARTED}`);
  const seen = new Set<string>();
  return list.map((v, i) => {
    const where = `departed[${i}]`;
    const o = expectObject(v, where);
    expectOnlyKeys(o, ['id', 'node', 'reason', 'leftAt', 'lastSeenAt', 'partitionsBeforeLeave'], where);
    const id = expectString(o['id'], `${where}.id`);
    const node = parseRecord(o['node'], `${where}.node`);
    if (node.id !== id) fail(`${where}.node is another node`);
    if (seen.has(id) || nodes.has(id)) fail(`${where}: node ${describe(id)} is listed twice or is a member`);
    seen.add(id);
    const leftAt = expectTime(o['leftAt'], `${where}.leftAt`);
    const lastSeenAt = expectTime(o['lastSeenAt'], `${where}.lastSeenAt`);
    if (lastSeenAt > leftAt) fail(`${where}.lastSeenAt is after leftAt`);
    let previous = -1;
    const parts = expectArray(o['partitionsBeforeLeave'], `${where}.partitionsBeforeLeave`).map((p) => {
      const index = typeof p === 'string' ? parsePartitionId(p, config.partitionCount) : undefined;
      if (index === undefined || index <= previous) fail(`${where}.partitionsBeforeLeave has a bad entry`);
      previous = index;
      return p as string;
    });
    return Object.freeze({
      id,
      node,
      reason: expectOneOf(o['reason'], LEAVE_REASONS, `${where}.reason`),
      leftAt,
      lastSeenAt,
      partitionsBeforeLeave: Object.freeze(parts),
    });
  });
}

function parseCustom(value: unknown, revision: number): Map<string, StoredEntry> {
  const list = expectArray(value, 'customData');
  if (list.length > MAX_CUSTOM_KEYS) fail(`${list.length} custom data keys, more than ${MAX_CUSTOM_KEYS}`);
  const custom = new Map<string, StoredEntry>();
  let total = 0;
  for (const [i, v] of list.entries()) {
    const where = `customData[${i}]`;
    const o = expectObject(v, where);
    expectOnlyKeys(o, ['key', 'value', 'revision', 'updatedAt'], where);
    const key = o['key'];
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_CUSTOM_KEY_LENGTH) fail(`${where}.key`);
    if (custom.has(key)) fail(`custom data key ${describe(key)} appears twice`);
    const bytes = expectBase64(o['value'], `${where}.value`, MAX_CUSTOM_VALUE_BYTES);
    const size = Buffer.byteLength(key, 'utf8') + bytes.length;
    total += size;
    custom.set(
      key,
      Object.freeze({
        value: bytes,
        revision: expectInteger(o['revision'], `${where}.revision`, 1, revision),
        updatedAt: expectTime(o['updatedAt'], `${where}.updatedAt`),
        size,
      }),
    );
  }
  if (total > MAX_CUSTOM_DATA_BYTES) fail(`custom data holds ${total} bytes, more than ${MAX_CUSTOM_DATA_BYTES}`);
  return custom;
}

function parseDocument(doc: unknown): SnapshotParts {
  const o = expectObject(doc, 'snapshot');
  if (o['format'] !== FORMAT) fail(`not a cluster state snapshot (format ${describe(o['format'])})`);
  if (o['v'] !== STATE_FORMAT_VERSION) fail(`unsupported snapshot version ${describe(o['v'])}`);
  expectOnlyKeys(o, TOP_KEYS, 'snapshot');
  const revision = expectTime(o['revision'], 'revision');
  const lastIndex = expectTime(o['lastIndex'], 'lastIndex');
  const rebalances = expectTime(o['rebalances'], 'rebalances');
  if (o['config'] === null) {
    // Nothing can change before bootstrap, so an unbootstrapped state is the empty one.
    if (o['clusterId'] !== null || o['table'] !== null || revision !== 0 || lastIndex !== 0 || rebalances !== 0) {
      fail('an unbootstrapped state must be empty');
    }
    const empty = [o['nodes'], o['departed'], o['customData']];
    if (!empty.every((v) => Array.isArray(v) && v.length === 0)) fail('an unbootstrapped state must be empty');
    return {
      clusterId: undefined,
      config: undefined,
      table: undefined,
      nodes: new Map(),
      departed: [],
      custom: new Map(),
      revision: 0,
      lastIndex: 0,
      rebalances: 0,
    };
  }
  const config = parseConfig(o['config'], 'config');
  const clusterId = expectString(o['clusterId'], 'clusterId');
  if (revision < 1 || lastIndex < 1 || rebalances < 1) fail('a bootstrapped state has counters of at least 1');
  const nodes = parseNodes(o['nodes']);
  const table = parseTable(o['table'], config, nodes);
  return {
    clusterId,
    config,
    table,
    nodes,
    departed: parseDeparted(o['departed'], config, nodes),
    custom: parseCustom(o['customData'], revision),
    revision,
    lastIndex,
    rebalances,
  };
}

/** Decodes and validates a snapshot. Throws ClusterKitError ERR_STORAGE_CORRUPT on anything invalid. */
export function decodeSnapshot(data: Uint8Array): SnapshotParts {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(data)) as unknown;
  } catch (err) {
    throw new ClusterKitError('ERR_STORAGE_CORRUPT', 'cluster state snapshot is not UTF-8 JSON', { cause: err });
  }
  try {
    return parseDocument(doc);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ClusterKitError('ERR_STORAGE_CORRUPT', `invalid cluster state snapshot: ${detail}`, { cause: err });
  }
}
