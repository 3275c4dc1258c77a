/**
 * The public data types of the ClusterKit class: what its methods return and what its hooks receive. Everything
 * returned is a frozen object or a copy: callers can keep it, and cannot change the node's state through it.
 */
import type { PartitionChangeEvent } from './events.js';
import type { ClusterHealthEvent, ClusterHealthStatus } from './health.js';
import type {
  CustomDataChangeEvent,
  NodeJoinEvent,
  NodeLeaveEvent,
  NodeRecord,
  NodeRejoinEvent,
  NodeUpdateEvent,
  PartitionDropEvent,
  PartitionPromoteEvent,
  PlacementStrategy,
  RebalanceCompleteEvent,
  RebalanceStartEvent,
} from './state/index.js';

/** A member of the cluster (frozen). `httpAddr` is the Go original's `ip`: the address to reach its API. */
export type Node = NodeRecord;

/** A partition and its owners, as of one partition table (frozen). */
export interface Partition {
  /** `partition-N`. */
  readonly id: string;
  readonly index: number;
  /** The primary's node id ('' when the partition has no owner, as the Go original encoded it). */
  readonly primaryNode: string;
  readonly replicaNodes: readonly string[];
  /** Increases each time the primary changes: a primary can fence writes stamped with an older epoch. */
  readonly epoch: number;
  /** The version of the partition table this comes from. */
  readonly tableVersion: number;
}

export interface ClusterConfigSummary {
  readonly clusterName: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly maxVoters: number;
  readonly placement: PlacementStrategy;
}

/** The Go original's `Cluster`, in camelCase, as this node sees it (frozen). */
export interface ClusterInfo {
  /** The cluster's unique id ('' before the node has joined). */
  readonly id: string;
  readonly name: string;
  /** Members in join order. */
  readonly nodes: readonly Node[];
  readonly partitionMap: { readonly partitions: Readonly<Record<string, Partition>> };
  readonly config: ClusterConfigSummary | undefined;
  readonly tableVersion: number;
  /** Increases with every change of the replicated state. */
  readonly revision: number;
  /** The Raft leader's node id, when known. */
  readonly leaderId: string | null;
}

/** The Go original's `Metrics`, in camelCase, with real values and more of them. */
export interface Metrics {
  readonly nodeCount: number;
  readonly partitionCount: number;
  /** Changes proposed through this node (custom data, rebalances, removals, leave). */
  readonly requestCount: number;
  /** Of those, the ones that failed. */
  readonly errorCount: number;
  /** Wall-clock ms when the replicated state last changed on this node (null: never). */
  readonly lastSync: number | null;
  readonly isLeader: boolean;
  /** 'Leader' | 'Follower' | 'Candidate' | 'Shutdown' (the Go original's strings). */
  readonly raftState: string;
  readonly uptimeSeconds: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly tableVersion: number;
  readonly rebalances: number;
  readonly hookRuns: number;
  readonly hookErrors: number;
  readonly eventsEmitted: number;
}

/** The Go original's `HealthStatus`, with a real verdict. */
export interface HealthStatus {
  /** True when the cluster status is healthy. */
  readonly healthy: boolean;
  readonly status: ClusterHealthStatus;
  /** The process runs (liveness). */
  readonly live: boolean;
  /** A member with a known partition table (readiness). */
  readonly ready: boolean;
  readonly nodeId: string;
  readonly nodeName: string;
  readonly isLeader: boolean;
  readonly nodeCount: number;
  readonly partitionCount: number;
  readonly raftState: string;
  readonly lastSync: number | null;
  readonly uptimeMs: number;
  readonly healthyNodes: number;
  readonly unhealthyNodes: number;
  readonly unhealthyNodeIds: readonly string[];
  readonly reasons: readonly string[];
}

/** A healthy node offering a service, and the address to dial for it. */
export interface ServiceNode {
  readonly node: Node;
  /** The service address; a Go-style `:port` gets the node's advertised host. */
  readonly address: string;
}

/** Every event the hooks can receive, by name. */
export interface ClusterKitEvents {
  readonly nodeJoin: NodeJoinEvent;
  readonly nodeRejoin: NodeRejoinEvent;
  readonly nodeLeave: NodeLeaveEvent;
  readonly nodeUpdate: NodeUpdateEvent;
  readonly rebalanceStart: RebalanceStartEvent;
  /** A node gains a copy (`needsCopy`), or a replica becomes primary (`needsCopy: false`). */
  readonly partitionChange: PartitionChangeEvent;
  readonly partitionPromote: PartitionPromoteEvent;
  readonly partitionDrop: PartitionDropEvent;
  readonly rebalanceComplete: RebalanceCompleteEvent;
  readonly customDataChange: CustomDataChangeEvent;
  readonly clusterHealthChange: ClusterHealthEvent;
}

export type ClusterKitEventName = keyof ClusterKitEvents;

/** The Go original's OnRebalanceComplete signature: the event and its duration (ms). */
export type RebalanceCompleteHook = (event: RebalanceCompleteEvent, durationMs: number) => void | Promise<void>;
