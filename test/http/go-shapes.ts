/**
 * The Go original's JSON shapes (field → JSON type), from its types.go / sync.go as described in
 * /work/shared/reference/seed-behavior.md §4 and §11. Our responses must contain every one of these fields with
 * that type (additive fields are allowed).
 */
import { expect } from 'vitest';

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array';

export const GO = {
  node: { id: 'string', ip: 'string', port: 'number', name: 'string', status: 'string' },
  partition: { id: 'string', primary_node: 'string', replica_nodes: 'array' },
  cluster: { id: 'string', name: 'string', nodes: 'array', partition_map: 'object', config: 'object' },
  config: { cluster_name: 'string', partition_count: 'number', replication_factor: 'number' },
  hashConfig: { algorithm: 'string', encoding: 'string', modulo: 'number', format: 'string' },
  partitions: { partitions: 'array', count: 'number' },
  partitionStats: { total_partitions: 'number', partitions_per_node: 'object', replicas_per_node: 'object' },
  nodesPage: {
    nodes: 'array',
    total: 'number',
    offset: 'number',
    limit: 'number',
    has_more: 'boolean',
    next_offset: 'number',
  },
  leader: { leader_id: 'string', leader_name: 'string', leader_ip: 'string', term: 'number', elected_at: 'string' },
  consensusStats: {
    state: 'string',
    term: 'number',
    last_log_index: 'number',
    last_log_term: 'number',
    commit_index: 'number',
    applied_index: 'number',
    num_peers: 'number',
    leader: 'string',
  },
  result: { success: 'boolean', message: 'string' },
  ready: { ready: 'boolean', nodes: 'number', partitions: 'number', valid_partitions: 'number' },
  metrics: {
    node_count: 'number',
    partition_count: 'number',
    request_count: 'number',
    error_count: 'number',
    last_sync: 'string',
    is_leader: 'boolean',
    raft_state: 'string',
    uptime_seconds: 'number',
  },
  healthStatus: {
    healthy: 'boolean',
    node_id: 'string',
    node_name: 'string',
    is_leader: 'boolean',
    node_count: 'number',
    partition_count: 'number',
    raft_state: 'string',
    last_sync: 'string',
    uptime: 'string',
  },
  joinRedirect: { leader_id: 'string', leader_ip: 'string', message: 'string' },
} satisfies Record<string, Record<string, JsonType>>;

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** Asserts `value` has every field of `shape` with its JSON type. */
export function expectGoShape(value: unknown, shape: Record<string, JsonType>, where = 'value'): void {
  expect(typeOf(value), where).toBe('object');
  const obj = value as Record<string, unknown>;
  for (const [key, type] of Object.entries(shape)) {
    expect(typeOf(obj[key]), `${where}.${key}`).toBe(type);
  }
}
