/**
 * The JSON shapes of the Go original (field names, time and duration formats), built from the NodeApi DTOs, plus
 * our additive fields. Go clients decode into structs or maps and ignore fields they do not know, so additive
 * fields are safe; renamed or retyped fields are not, and there are none.
 */
import type { PartitionAssignment } from '../partitioning/index.js';
import type { RaftRole } from '../raft/api.js';
import type { LeaderInfo, NodeInfo } from './api.js';

/** Go's zero time.Time in JSON: what the original sent for times it never set. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 (what Go's time.Time marshals to), or the Go zero time when unknown. */
export function goTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return GO_ZERO_TIME;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? GO_ZERO_TIME : d.toISOString();
}

/** A duration in Go's `time.Duration.String()` form, to millisecond precision: "0s", "250ms", "1m2.5s", "1h0m0s". */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  const whole = Math.floor(millis / 1000);
  const frac = millis % 1000;
  const seconds = frac === 0 ? `${whole}` : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** HashiCorp Raft's state names, as the Go original reported them (`raft_state`, `state`). */
export function goRaftState(role: RaftRole | null): 'Leader' | 'Follower' | 'Candidate' | 'Shutdown' {
  switch (role) {
    case 'leader':
      return 'Leader';
    case 'follower':
      return 'Follower';
    case 'candidate':
    case 'pre-candidate':
      return 'Candidate';
    case null:
      return 'Shutdown';
  }
}

/** The port of a `host:port` address (0 when there is none, as the Go original always sent). */
function portOf(addr: string): number {
  const colon = addr.lastIndexOf(':');
  const port = Number(addr.slice(colon + 1));
  return colon >= 0 && Number.isInteger(port) ? port : 0;
}

/**
 * A member in the Go `Node` shape (`id, ip, port, name, status, services?`) plus ours. `ip` carries the advertised
 * `host:port` of the HTTP API, which is what Go clients dial (`http://<ip>/...`); `port` is its port.
 */
export function nodeJson(node: NodeInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: node.id,
    ip: node.httpAddr,
    port: portOf(node.httpAddr),
    name: node.name,
    status: 'active',
  };
  // Go's `services,omitempty`.
  if (Object.keys(node.services).length > 0) out['services'] = { ...node.services };
  out['http_addr'] = node.httpAddr;
  out['raft_addr'] = node.raftAddr;
  if (node.zone !== undefined) out['zone'] = node.zone;
  out['weight'] = node.weight;
  out['raft_role'] = node.raftRole;
  out['healthy'] = node.healthy;
  if (node.joinedAt !== undefined) out['joined_at'] = goTime(node.joinedAt);
  return out;
}

/** A partition in the Go `Partition` shape (`id, primary_node, replica_nodes`) plus its epoch and index. */
export function partitionJson(p: PartitionAssignment): Record<string, unknown> {
  return {
    id: p.id,
    primary_node: p.primary ?? '',
    replica_nodes: [...p.replicas],
    epoch: p.epoch,
    index: p.index,
  };
}

/** The Go `LeaderInfo` shape (`leader_id, leader_name, leader_ip, term, elected_at`) plus the Raft address. */
export function leaderJson(leader: LeaderInfo): Record<string, unknown> {
  return {
    leader_id: leader.id,
    leader_name: leader.name ?? '',
    leader_ip: leader.httpAddr ?? '',
    term: leader.term,
    elected_at: goTime(leader.electedAt),
    leader_addr: leader.httpAddr ?? null,
    raft_addr: leader.raftAddr ?? null,
  };
}
