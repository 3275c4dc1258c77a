/**
 * The JSON the CLI reads from a node's HTTP API (src/http/handlers), checked field by field into typed objects. An
 * answer that does not have the expected shape (another program on that port, an incompatible version) becomes
 * one clear error instead of `undefined` printed in a table.
 */

import { RequestError } from './client.js';
import { ExitCode } from './command.js';

export interface WireNode {
  readonly id: string;
  readonly name: string;
  readonly httpAddr: string;
  readonly zone: string | undefined;
  readonly weight: number;
  readonly services: Readonly<Record<string, string>>;
  /** leader | voter | nonvoter | none (not in the Raft configuration). */
  readonly raftRole: string;
  /** null: health checks disabled or not run yet. */
  readonly healthy: boolean | null;
}

export interface WirePartition {
  readonly id: string;
  readonly index: number;
  /** '' when the partition has no owner. */
  readonly primary: string;
  readonly replicas: readonly string[];
  readonly epoch: number;
}

export interface WireCluster {
  readonly id: string;
  readonly name: string;
  readonly formed: boolean;
  readonly nodes: readonly WireNode[];
  /** By index. */
  readonly partitions: readonly WirePartition[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly placement: string | undefined;
  readonly revision: number;
  readonly tableVersion: number;
  readonly term: number;
  readonly leader: { readonly id: string; readonly addr: string } | null;
  readonly hash: { readonly algorithm: string; readonly encoding: string; readonly modulo: number };
}

export interface WireHealth {
  /** The node's own view of the cluster: healthy | degraded | critical (or starting | stopping). */
  readonly status: string;
  readonly nodeId: string;
  readonly reasons: readonly string[];
}

type Obj = Record<string, unknown>;

function bad(what: string): never {
  throw new RequestError('ERR_PROTOCOL', `unexpected answer from the node: ${what}`, { exitCode: ExitCode.Failure });
}

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${where} is not an object`);
  return v as Obj;
}

function str(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string') bad(`${where}.${k} is not a string`);
  return v;
}

function num(o: Obj, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${where}.${k} is not a number`);
  return v;
}

function optStr(o: Obj, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

function strings(o: Obj, k: string, where: string): string[] {
  const v = o[k];
  if (!Array.isArray(v)) bad(`${where}.${k} is not a list`);
  const out: string[] = [];
  for (const x of v) {
    if (typeof x !== 'string') bad(`${where}.${k} is not a list of strings`);
    out.push(x);
  }
  return out;
}

export function parseNode(v: unknown, where = 'node'): WireNode {
  const o = obj(v, where);
  const services: Record<string, string> = {};
  if (o['services'] !== undefined) {
    for (const [name, addr] of Object.entries(obj(o['services'], `${where}.services`))) {
      if (typeof addr === 'string') {
        Object.defineProperty(services, name, { value: addr, enumerable: true, writable: true, configurable: true });
      }
    }
  }
  const healthy = o['healthy'];
  return {
    id: str(o, 'id', where),
    name: optStr(o, 'name') ?? str(o, 'id', where),
    // http_addr is ours; `ip` is the Go original's name for the same thing.
    httpAddr: optStr(o, 'http_addr') ?? str(o, 'ip', where),
    zone: optStr(o, 'zone'),
    weight: typeof o['weight'] === 'number' ? o['weight'] : 1,
    services,
    raftRole: optStr(o, 'raft_role') ?? 'unknown',
    healthy: typeof healthy === 'boolean' ? healthy : null,
  };
}

export function parsePartition(v: unknown, where = 'partition'): WirePartition {
  const o = obj(v, where);
  const id = str(o, 'id', where);
  const index =
    typeof o['index'] === 'number' ? o['index'] : Number(/^partition-([0-9]+)$/.exec(id)?.[1] ?? Number.NaN);
  if (!Number.isInteger(index)) bad(`${where}.index is missing`);
  return {
    id,
    index,
    primary: str(o, 'primary_node', where),
    replicas: strings(o, 'replica_nodes', where),
    epoch: typeof o['epoch'] === 'number' ? o['epoch'] : 0,
  };
}

/** `GET /cluster`. */
export function parseCluster(body: unknown): WireCluster {
  const root = obj(body, 'the answer');
  const c = obj(root['cluster'], 'cluster');
  const nodesRaw = c['nodes'];
  if (!Array.isArray(nodesRaw)) bad('cluster.nodes is not a list');
  const map = obj(obj(c['partition_map'], 'cluster.partition_map')['partitions'], 'cluster.partition_map.partitions');
  const partitions = Object.entries(map)
    .map(([id, p]) => parsePartition(p, `partition ${id}`))
    .sort((a, b) => a.index - b.index);
  const config = obj(c['config'], 'cluster.config');
  const hash = obj(root['hash_config'], 'hash_config');
  const leaderRaw = c['leader'];
  let leader: WireCluster['leader'] = null;
  if (leaderRaw !== null && leaderRaw !== undefined) {
    const l = obj(leaderRaw, 'cluster.leader');
    leader = { id: str(l, 'leader_id', 'cluster.leader'), addr: optStr(l, 'leader_ip') ?? '' };
  }
  return {
    id: str(c, 'id', 'cluster'),
    name: str(c, 'name', 'cluster'),
    formed: c['formed'] !== false,
    nodes: nodesRaw.map((n, i) => parseNode(n, `cluster.nodes[${i}]`)),
    partitions,
    partitionCount: num(config, 'partition_count', 'cluster.config'),
    replicationFactor: num(config, 'replication_factor', 'cluster.config'),
    placement: optStr(config, 'placement'),
    revision: typeof c['revision'] === 'number' ? c['revision'] : 0,
    tableVersion: typeof c['table_version'] === 'number' ? c['table_version'] : 0,
    term: typeof c['term'] === 'number' ? c['term'] : 0,
    leader,
    hash: {
      algorithm: str(hash, 'algorithm', 'hash_config'),
      encoding: str(hash, 'encoding', 'hash_config'),
      modulo: num(hash, 'modulo', 'hash_config'),
    },
  };
}

/** `GET /health/detailed`. */
export function parseHealth(body: unknown): WireHealth {
  const o = obj(body, 'the answer');
  const checks = Array.isArray(o['checks']) ? o['checks'] : [];
  const reasons: string[] = [];
  for (const c of checks) {
    if (typeof c !== 'object' || c === null) continue;
    const { ok, name, message } = c as { ok?: unknown; name?: unknown; message?: unknown };
    if (ok === false && typeof message === 'string' && message !== '') {
      reasons.push(typeof name === 'string' ? `${name}: ${message}` : message);
    }
  }
  return { status: str(o, 'status', 'health'), nodeId: str(o, 'node_id', 'health'), reasons };
}

export interface WirePartitionList {
  readonly partitions: readonly WirePartition[];
  readonly version: number;
  readonly partitionCount: number;
  readonly replicationFactor: number;
}

/** `GET /partitions`. */
export function parsePartitions(body: unknown): WirePartitionList {
  const o = obj(body, 'the answer');
  const list = o['partitions'];
  if (!Array.isArray(list)) bad('partitions is not a list');
  return {
    partitions: list.map((p, i) => parsePartition(p, `partitions[${i}]`)).sort((a, b) => a.index - b.index),
    version: typeof o['version'] === 'number' ? o['version'] : 0,
    partitionCount: typeof o['partition_count'] === 'number' ? o['partition_count'] : list.length,
    replicationFactor: typeof o['replication_factor'] === 'number' ? o['replication_factor'] : 0,
  };
}

export interface WireDataItem {
  readonly key: string;
  readonly value: Buffer;
  readonly revision: number;
  readonly updatedAt: string;
}

/** `GET /custom-data/:key`. */
export function parseDataItem(body: unknown): WireDataItem {
  const o = obj(body, 'the answer');
  const encoding = optStr(o, 'encoding') ?? 'base64';
  const raw = str(o, 'value', 'entry');
  return {
    key: str(o, 'key', 'entry'),
    value: Buffer.from(raw, encoding === 'base64' ? 'base64' : 'utf8'),
    revision: num(o, 'revision', 'entry'),
    updatedAt: optStr(o, 'updated_at') ?? '',
  };
}

/** `GET /custom-data`: one page. */
export function parseKeyPage(body: unknown): { keys: string[]; hasMore: boolean; nextOffset: number } {
  const o = obj(body, 'the answer');
  return {
    keys: strings(o, 'keys', 'page'),
    hasMore: o['has_more'] === true,
    nextOffset: typeof o['next_offset'] === 'number' ? o['next_offset'] : 0,
  };
}

/** `{success, message, data: {...}}`: the `data` object of a write's answer. */
export function parseData(body: unknown): Obj {
  const o = obj(body, 'the answer');
  return o['data'] === undefined ? {} : obj(o['data'], 'data');
}
