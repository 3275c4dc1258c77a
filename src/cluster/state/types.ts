/**
 * The data model of ClusterKit's replicated cluster state: configuration, node records, departed-node records,
 * custom data entries, and the limits every node enforces identically (they are part of the replicated protocol:
 * changing one changes which commands are accepted, so it needs a command-format version bump).
 */
import { MAX_MEMBERS, type PlacementStrategy } from '../../partitioning/index.js';

export type { PlacementStrategy };

/** Version of the command wire format (`v` in every command). */
export const COMMAND_FORMAT_VERSION = 1;
/** Version of the snapshot format (`v` in the snapshot document). */
export const STATE_FORMAT_VERSION = 1;

/** Most nodes a cluster may have: the partitioning core's member limit. */
export const MAX_NODES = MAX_MEMBERS;
/** Departed-node records kept; the oldest (in commit order) are forgotten first. */
export const MAX_DEPARTED = 1000;
/** Longest custom-data key, in UTF-16 code units. */
export const MAX_CUSTOM_KEY_LENGTH = 256;
/** Largest custom-data value: 1 MiB, as the Go original. */
export const MAX_CUSTOM_VALUE_BYTES = 1 << 20;
/** Most custom-data keys. */
export const MAX_CUSTOM_KEYS = 65_536;
/** Largest total of custom data (UTF-8 key bytes + value bytes): the whole state lives in memory and in snapshots. */
export const MAX_CUSTOM_DATA_BYTES = 64 << 20;
/** Most services a node may advertise. */
export const MAX_SERVICES = 64;
/** Largest encoded command accepted by the decoder (a 1 MiB value is ~1.4 MB of base64). */
export const MAX_COMMAND_BYTES = 2 << 20;
/** Longest string field (ids, names, addresses, zones, reasons). */
export const MAX_STRING_LENGTH = 256;
/** Longest incarnation token. */
export const MAX_INCARNATION_LENGTH = 64;
/** Largest node weight (the partitioning core's limit). */
export const MAX_WEIGHT = 1e6;
/** Most Raft voters a cluster may be configured for. */
export const MAX_VOTERS_LIMIT = 99;

/** Why a node left. The Go original's three reasons. */
export type LeaveReason = 'graceful_shutdown' | 'health_check_failure' | 'removed_by_admin';
export const LEAVE_REASONS: readonly LeaveReason[] = Object.freeze([
  'graceful_shutdown',
  'health_check_failure',
  'removed_by_admin',
]);

/** Cluster-wide settings, fixed by the bootstrap command and replicated (the Go original did not replicate them). */
export interface ClusterConfig {
  /** Human-readable cluster name (the Go original's `cluster_name`, also its cluster `id`). */
  readonly clusterName: string;
  /** Number of partitions; never changes (a key's partition is `hashKey(key) % partitionCount`). */
  readonly partitionCount: number;
  /** Copies of each partition, primary included; a partition has min(RF, nodes) owners. */
  readonly replicationFactor: number;
  /** Most Raft voters the runtime should keep; other nodes are non-voters. Carried here, enforced by the runtime. */
  readonly maxVoters: number;
  /** Placement strategy handed to `computePlacement` (`rendezvous` = the Go original's assignment). */
  readonly placement: PlacementStrategy;
}

/** What a node says about itself when it joins (or bootstraps) the cluster. */
export interface NodeSpec {
  /** Unique, stable node id: 1..256 characters, no control characters. */
  readonly id: string;
  /** Display name (the Go original's `name`): 1..256 characters. */
  readonly name: string;
  /** Advertised `host:port` of the node's ClusterKit HTTP API (routable from the other nodes). */
  readonly httpAddr: string;
  /** Advertised `host:port` of the node's Raft transport. */
  readonly raftAddr: string;
  /** Failure domain for placement (rack, availability zone). */
  readonly zone?: string | undefined;
  /** Relative capacity for placement, in (0, 1e6]; default 1. */
  readonly weight?: number | undefined;
  /** Application services the node exposes, name → address (the Go rule: the address contains a colon). */
  readonly services?: Readonly<Record<string, string>> | undefined;
  /**
   * Identifies one life of the node (for example a token generated at process start, or a restart counter). A join
   * by a present id with a different incarnation is a different process claiming the id, and is refused.
   */
  readonly incarnation: string;
}

/** A member of the cluster, as replicated. Always frozen (services included). */
export interface NodeRecord {
  readonly id: string;
  readonly name: string;
  readonly httpAddr: string;
  readonly raftAddr: string;
  /** Absent when the node has no zone. */
  readonly zone?: string;
  readonly weight: number;
  /** Service name → address; keys in sorted order. */
  readonly services: Readonly<Record<string, string>>;
  readonly incarnation: string;
  /** Proposer wall-clock time (ms since the epoch) of the join that admitted this node (the latest rejoin). */
  readonly joinedAt: number;
  /** Proposer wall-clock time of the latest join or update of this record. */
  readonly updatedAt: number;
}

/** A node that left, kept so that its return is recognised as a rejoin. Always frozen. */
export interface DepartedRecord {
  readonly id: string;
  /** The node's record at the time it left. */
  readonly node: NodeRecord;
  readonly reason: LeaveReason;
  /** When the removal was committed (the proposer's `at`). */
  readonly leftAt: number;
  /** When the node was last known alive (supplied by the proposer, e.g. the last good health check); ≤ leftAt. */
  readonly lastSeenAt: number;
  /** Partition ids (`partition-N`) it held a copy of when it left (primary or replica), by index. */
  readonly partitionsBeforeLeave: readonly string[];
}

/** One custom data entry. `value` is a copy: changing it changes nothing in the state. */
export interface CustomDataEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The state revision of the entry's last write: unique and increasing, never 0 (0 means "absent" in CAS). */
  readonly revision: number;
  /** Proposer wall-clock time of the last write. */
  readonly updatedAt: number;
}

/** Counters kept in the replicated state. */
export interface StateCounters {
  /** Increases by one with every command that changes the state. 0 before bootstrap. */
  readonly revision: number;
  /** Raft index of the last command that changed the state (0 if none). */
  readonly lastIndex: number;
  /** Number of committed partition-table changes (bootstrap included). */
  readonly rebalances: number;
  /** Version of the partition table in force (0 before bootstrap). */
  readonly tableVersion: number;
}

/** The Go original's `Node` JSON, as served by `GET /cluster` and `/nodes`. */
export interface GoNodeJSON {
  id: string;
  name: string;
  /** The Go original put its HTTPAddr here verbatim; we put the advertised `host:port`. */
  ip: string;
  /** Always 0 in the Go original; here the HTTP port, which Go clients ignore. */
  port: number;
  /** Always "active": present nodes are members; departed nodes are not listed. */
  status: 'active';
  services?: Record<string, string>;
}

/** A node record in the Go original's JSON shape (`services` omitted when empty, as Go's omitempty). */
export function toGoNodeJSON(node: NodeRecord): GoNodeJSON {
  const colon = node.httpAddr.lastIndexOf(':');
  const out: GoNodeJSON = {
    id: node.id,
    name: node.name,
    ip: node.httpAddr,
    port: Number(node.httpAddr.slice(colon + 1)),
    status: 'active',
  };
  if (Object.keys(node.services).length > 0) out.services = { ...node.services };
  return out;
}
