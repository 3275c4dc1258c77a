/**
 * The contract between the HTTP layer and a ClusterKit node: `NodeApi`, which the node implements, and the plain
 * data objects (DTOs) it returns.
 *
 * Rules for implementations:
 * - Every method returns plain data: copies, or frozen objects nobody mutates later (the PartitionTable is
 *   immutable). The HTTP layer never reaches into the node's internal state, and may keep what it gets for the
 *   duration of one request.
 * - Read methods (`self`, `clusterView`, `consensus`, `leader`, `health`, `metricsText`, `customDataKeys`,
 *   `getCustomData`, `events`) are synchronous and local: they answer from this node's current view, which may be
 *   stale. `readBarrier` makes the next local read linearizable (the HTTP layer calls it for `?consistent=true`).
 * - Mutating methods propose through Raft and resolve once the command is committed and applied on this node.
 *   They reject with a ClusterKitError whose code the HTTP layer maps to a status (see errors.ts):
 *   ERR_INVALID_ARGUMENT 400, ERR_NOT_FOUND 404, ERR_CONFLICT / ERR_MEMBERSHIP 409, ERR_NOT_LEADER 307 (or 503 when
 *   the leader's HTTP address is unknown), ERR_TIMEOUT 504, ERR_UNAVAILABLE / ERR_SHUTTING_DOWN 503. A NotLeaderError
 *   should carry the leader's id; the HTTP layer finds its HTTP address through `leader()` / `clusterView()`.
 * - Mutating methods get `CallOptions`: `signal` aborts when the client goes away (an implementation may ignore it:
 *   a proposal already made may still commit), `timeoutMs` is how long the HTTP layer will wait before answering
 *   504 on its own.
 * - The HTTP layer validates request syntax and the documented limits before calling; implementations still
 *   validate semantics (the replicated state machine re-validates every command anyway).
 *
 * Times are wall-clock milliseconds since the epoch (as the replicated state records them); the HTTP layer renders
 * them as RFC 3339 strings.
 */
import type { PartitionTable } from '../partitioning/index.js';
import type { RaftStatus } from '../raft/api.js';

/** Who may call a route. Checked by the optional `authorize` hook (see HttpHandlerOptions). */
export type Access =
  /** Probes (liveness, readiness): usually left open so orchestrators need no credentials. */
  | 'public'
  /** Reads of cluster state, metrics, custom data. */
  | 'read'
  /** Changes made by operators or applications: rebalance, node removal, custom data writes, leave. */
  | 'admin'
  /** Node-to-node calls (join). */
  | 'peer';

/** This node. */
export interface SelfInfo {
  readonly id: string;
  readonly name: string;
  /** The advertised `host:port` of this node's HTTP API. */
  readonly httpAddr: string;
}

/** How a node takes part in Raft, as this node sees the current Raft configuration. */
export type NodeRaftRole = 'leader' | 'voter' | 'nonvoter' | 'none';

/** A member of the cluster. */
export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  /** Advertised `host:port` of the node's HTTP API (the Go original's `ip`). */
  readonly httpAddr: string;
  /** Advertised `host:port` of the node's Raft transport (often the same as httpAddr: one shared port). */
  readonly raftAddr: string;
  readonly zone?: string | undefined;
  readonly weight: number;
  /** Service name → address. */
  readonly services: Readonly<Record<string, string>>;
  /** `none`: a member of the cluster state that is not (or not yet) in the Raft configuration. */
  readonly raftRole: NodeRaftRole;
  /** Result of this node's health checks of that node; null when unknown (checks disabled or not run yet). */
  readonly healthy: boolean | null;
  /** When the node (last) joined; undefined if unknown. */
  readonly joinedAt?: number | undefined;
}

/** The cluster-wide settings. Before the cluster is formed, the node's own configured values. */
export interface ClusterConfigInfo {
  readonly clusterName: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly maxVoters?: number | undefined;
  readonly placement?: string | undefined;
}

/** This node's local view of the replicated cluster state (possibly stale unless after `readBarrier`). */
export interface ClusterView {
  /** The cluster's unique id; undefined before the cluster is formed (bootstrapped or joined). */
  readonly clusterId: string | undefined;
  readonly config: ClusterConfigInfo;
  /** Members, in join order. */
  readonly nodes: readonly NodeInfo[];
  /** The partition table in force (immutable); undefined before the cluster is formed. */
  readonly table: PartitionTable | undefined;
  /** Increases with every change of the replicated state (membership, table, custom data). 0 before formation. */
  readonly revision: number;
}

/** The current Raft leader, as this node knows it. */
export interface LeaderInfo {
  readonly id: string;
  /** Undefined when the leader is not (yet) in this node's member list. */
  readonly name?: string | undefined;
  /** The leader's HTTP API address (where redirects point); undefined when unknown. */
  readonly httpAddr?: string | undefined;
  /** The leader's Raft address. */
  readonly raftAddr?: string | undefined;
  readonly term: number;
  /** When this node learned of this leader; undefined when unknown. */
  readonly electedAt?: number | undefined;
}

/** Raft status of this node. */
export type ConsensusStatus = RaftStatus;

/** One named self-check of the node. */
export interface HealthCheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message?: string | undefined;
}

export type NodeHealthStatus = 'starting' | 'healthy' | 'degraded' | 'critical' | 'stopping';

/** The node's own health. */
export interface HealthInfo {
  /** False once the node is stopping or has failed fatally: `/health` then answers 503. */
  readonly live: boolean;
  readonly status: NodeHealthStatus;
  /** Since the node was created. */
  readonly uptimeMs: number;
  /** When the replicated state last changed on this node; null when never. */
  readonly lastSyncAt: number | null;
  readonly checks?: readonly HealthCheckResult[] | undefined;
}

/** Passed to every asynchronous NodeApi method. */
export interface CallOptions {
  /** Aborted when the HTTP client goes away. */
  readonly signal: AbortSignal;
  /** The HTTP layer answers 504 after this long even if the call has not settled. */
  readonly timeoutMs: number;
}

/** A node asking to join, as the HTTP layer parsed and checked it. */
export interface JoinRequest {
  readonly node: {
    readonly id: string;
    /** Defaults to the id when the request had none. */
    readonly name: string;
    /** Always `host:port`: a Go-style `:port` got the request's source address as host. */
    readonly httpAddr: string;
    /** Always `host:port`; defaults to httpAddr (one shared port) when the request had none. */
    readonly raftAddr: string;
    readonly zone?: string | undefined;
    readonly weight?: number | undefined;
    readonly services?: Readonly<Record<string, string>> | undefined;
    /** Absent from Go original joiners: the implementation picks a default. */
    readonly incarnation?: string | undefined;
  };
  /** The joiner's expectations of the cluster; a mismatch should be refused with ERR_MEMBERSHIP (409). */
  readonly clusterId?: string | undefined;
  readonly clusterName?: string | undefined;
  readonly partitionCount?: number | undefined;
  readonly replicationFactor?: number | undefined;
  /**
   * TCP source address of the request, for logs (and the host of a Go-style `:port`). For a join another node
   * forwarded, the joiner's own address as that node reported it.
   */
  readonly remoteAddress: string | undefined;
  /**
   * Set when the join came over HTTP and may be forwarded to the leader as it was received: a node that is not the
   * leader may then send it on itself (one hop) instead of redirecting the joiner. Undefined for joins that cannot
   * be relayed (the node's own join, a request another node already forwarded).
   */
  readonly relay?: JoinRelay | undefined;
}

/**
 * Marks a join one node forwarded to another (its value: the forwarding node's id). A node never forwards a join
 * carrying it again: during a leader change two followers could otherwise bounce it between them.
 */
export const JOIN_FORWARDED_BY_HEADER = 'x-clusterkit-forwarded-by';
/** The joiner's TCP source address, sent along with a forwarded join (the leader resolves a Go-style `:port` with it). */
export const JOIN_FORWARDED_FOR_HEADER = 'x-clusterkit-forwarded-for';

/** A join exactly as the joiner sent it, so that a node can forward it with the joiner's credentials intact. */
export interface JoinRelay {
  /** The request target as received (a node signature binds it). */
  readonly target: string;
  /** The body bytes as received (a node signature binds their digest). */
  readonly body: Uint8Array;
  /** The joiner's credentials (signature headers, Authorization), forwarded verbatim. */
  readonly credentials: Readonly<Record<string, string>>;
}

export type JoinOutcome =
  | {
      readonly kind: 'joined';
      readonly nodeId: string;
      readonly clusterId: string;
      /** Members after the join. */
      readonly nodeCount: number;
      /** `unchanged`: the node was already a member with this exact record. */
      readonly join: 'new' | 'rejoin' | 'unchanged';
      readonly tableVersion: number;
    }
  /** This node is not the leader: the joiner should retry at the leader (null when no leader is known). */
  | { readonly kind: 'redirect'; readonly leader: LeaderInfo | null }
  /** This node forwarded the join to the leader (`via`, its HTTP address): the leader's answer, to pass on as is. */
  | {
      readonly kind: 'relayed';
      readonly via: string;
      readonly status: number;
      /** The leader's JSON body. */
      readonly body: unknown;
      /** The leader's headers the joiner may need (Location, Retry-After, WWW-Authenticate). */
      readonly headers: Readonly<Record<string, string>>;
    };

export interface RebalanceRequest {
  /** Free text recorded in the rebalance events. */
  readonly reason: string;
}

export interface RebalanceOutcome {
  /** False when placement already matched the members (nothing moved). */
  readonly changed: boolean;
  readonly tableVersion: number;
}

export interface RemoveNodeRequest {
  readonly nodeId: string;
}

export interface RemoveNodeOutcome {
  /** Members after the removal. */
  readonly nodeCount: number;
  readonly tableVersion: number;
}

/** One custom data entry; `value` is a copy the HTTP layer may keep. */
export interface CustomDataItem {
  readonly key: string;
  readonly value: Uint8Array;
  /** Unique and increasing across the cluster's writes; never 0. */
  readonly revision: number;
  readonly updatedAt: number;
}

export interface SetCustomDataRequest {
  readonly key: string;
  readonly value: Uint8Array;
  /**
   * Compare-and-set: apply only if the key's current revision is this (0 = the key must be absent, -1 = it must
   * exist). Reject with ERR_CONFLICT otherwise (the HTTP layer answers 412).
   */
  readonly expectedRevision?: number | undefined;
}

export interface SetCustomDataOutcome {
  readonly revision: number;
  /** True when the key did not exist before. */
  readonly created: boolean;
}

export interface DeleteCustomDataRequest {
  readonly key: string;
  /** As for set; deleting an absent key with expectedRevision 0 succeeds. */
  readonly expectedRevision?: number | undefined;
}

export interface DeleteCustomDataOutcome {
  /** False when the key was absent (deleting it still succeeds, as in the Go original). */
  readonly existed: boolean;
}

/**
 * One entry of a node's recent-events log: an event of the node's committed-state event flow (the events its hooks
 * receive), as plain JSON-ready data. Node records are reduced to their ids.
 */
export interface ClusterEventEntry {
  /** Position in this node's log: 1 for the first event this process recorded, then +1 per event. */
  readonly seq: number;
  /** The hook event name: `nodeJoin`, `nodeLeave`, `rebalanceComplete`, `clusterHealthChange`, ... */
  readonly type: string;
  /** Wall-clock ms: the command's time for committed events, this node's clock for health changes. */
  readonly at: number;
  /** Raft index of the command behind the event; undefined for health changes (judged locally). */
  readonly index?: number | undefined;
  /** The event's other fields, by their hook names (camelCase). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** A slice of the recent-events log, oldest first. */
export interface EventPage {
  /** Identifies this log (one per process): cursors from another log mean nothing here. */
  readonly logId: string;
  readonly events: readonly ClusterEventEntry[];
  /** The newest seq recorded (0 when none): the cursor to resume from when `events` is empty. */
  readonly lastSeq: number;
  /** True when events after the requested cursor were evicted from the bounded log before being read. */
  readonly truncated: boolean;
}

/** Receives new entries of the log as they are recorded, until it closes (the node stops). */
export interface EventSubscriber {
  event(entry: ClusterEventEntry): void;
  /** The log closed; no more events will come. */
  close(): void;
}

/** A node's bounded log of recent cluster events. */
export interface EventFeed {
  /**
   * With `after`, the events after that seq (at most `limit`); without, the newest `limit` events. With `types`,
   * only events of those types.
   */
  read(after: number | undefined, limit: number, types?: ReadonlySet<string>): EventPage;
  /** Delivers each new entry synchronously as it is recorded; returns the unsubscribe function. */
  subscribe(subscriber: EventSubscriber): () => void;
  readonly closed: boolean;
}

/** What the HTTP layer needs from a node. Implemented by the ClusterKit node class (and by test fakes). */
export interface NodeApi {
  self(): SelfInfo;
  clusterView(): ClusterView;
  /** Null when Raft is not running (not started yet, or stopped). */
  consensus(): ConsensusStatus | null;
  /** Null when no leader is known. */
  leader(): LeaderInfo | null;
  health(): HealthInfo;
  /** The node's metrics in the Prometheus text format (version 0.0.4), e.g. `MetricsRegistry.render()`. */
  metricsText(): string;

  /** Resolves once local reads reflect every write committed before the call (Raft ReadIndex). */
  readBarrier(options: CallOptions): Promise<void>;

  /** Admits a node, or says where the leader is. Refusals reject (ERR_CONFLICT, ERR_MEMBERSHIP, ...). */
  join(request: JoinRequest, options: CallOptions): Promise<JoinOutcome>;
  /** Recomputes placement for the current members. */
  rebalance(request: RebalanceRequest, options: CallOptions): Promise<RebalanceOutcome>;
  /** Removes a member (an operator's decision: reason `removed_by_admin`). ERR_NOT_FOUND when not a member. */
  removeNode(request: RemoveNodeRequest, options: CallOptions): Promise<RemoveNodeOutcome>;
  /** Makes this node leave the cluster gracefully. Optional: `POST /leave` exists only when implemented. */
  leave?(options: CallOptions): Promise<void>;
  /** The node's recent cluster events. Optional: `/events` and `/events/stream` exist only when implemented. */
  events?(): EventFeed;

  /** All keys, sorted. */
  customDataKeys(): readonly string[];
  getCustomData(key: string): CustomDataItem | undefined;
  setCustomData(request: SetCustomDataRequest, options: CallOptions): Promise<SetCustomDataOutcome>;
  deleteCustomData(request: DeleteCustomDataRequest, options: CallOptions): Promise<DeleteCustomDataOutcome>;
}
