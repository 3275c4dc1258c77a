/**
 * The public surface of a Raft node: options, status and events. The implementation (`RaftNode` in node.ts)
 * wires the deterministic core to the injected storage, transport, clock, scheduler and randomness.
 */
import type { Clock, Random, Scheduler } from '../util/io.js';
import type { Configuration, LogStore, NodeId, SnapshotStore, StableStore, StateMachine, Transport } from './types.js';

export interface RaftTimings {
  /** Driver tick length. Every other timing is a whole number of ticks. Default 10 ms. */
  readonly tickMs: number;
  /** A follower with no contact from a leader for a random time in [electionMs, 2·electionMs) starts a pre-vote. Default 300 ms. */
  readonly electionMs: number;
  /** Leader heartbeat interval. Default 50 ms. Must be well under electionMs. */
  readonly heartbeatMs: number;
}

export interface RaftOptions<R = unknown> {
  readonly id: NodeId;
  /** The address peers dial to reach this node's transport (host:port). */
  readonly addr: string;
  readonly logStore: LogStore;
  readonly stableStore: StableStore;
  readonly snapshotStore: SnapshotStore;
  readonly transport: Transport;
  readonly stateMachine: StateMachine<R>;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly timings?: Partial<RaftTimings>;
  /** Pre-vote (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down. Default true. */
  readonly checkQuorum?: boolean;
  /** Take a snapshot after this many applied entries since the last one. Default 8192. */
  readonly snapshotThreshold?: number;
  /** Entries kept in the log behind a snapshot, for followers that are only a little behind. Default 1024. */
  readonly snapshotTrailing?: number;
  /** Most entries in one AppendEntries. Default 256. */
  readonly maxEntriesPerMessage?: number;
  /** Most entry bytes in one AppendEntries. Default 1 MiB. */
  readonly maxBytesPerMessage?: number;
  /** Most unacknowledged AppendEntries in flight per follower. Default 16. */
  readonly maxInflightMessages?: number;
  /**
   * Most unacknowledged entry bytes in flight per follower (bounds memory and queueing on slow links).
   * Default min(maxInflightMessages × maxBytesPerMessage, 64 MiB).
   */
  readonly maxInflightBytes?: number;
  /**
   * Backpressure: the leader refuses new proposals (retriable ERR_UNAVAILABLE) while this many entries are appended
   * but not yet committed, so a cluster that cannot keep up fails fast instead of building an unbounded backlog.
   * Default max(256, 4 × maxInflightMessages × maxEntriesPerMessage).
   */
  readonly maxUncommittedEntries?: number;
  /** Snapshot chunk size when sending to a follower. Default 512 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Default timeout for propose() and read(). Default 5000 ms. */
  readonly proposeTimeoutMs?: number;
  /**
   * Only for a brand-new node with empty storage: the initial configuration. A node started with empty storage
   * and no bootstrap configuration waits to be added to an existing cluster by its leader.
   */
  readonly bootstrap?: Configuration;
  /** Leases for reads (opt-in): serve read() without a heartbeat round while the leader lease holds. Default false. */
  readonly leaseReads?: boolean;
}

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface FollowerProgress {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly matchIndex: number;
  readonly nextIndex: number;
  /** Milliseconds since the leader last heard from this follower (clock time), or -1 if never. */
  readonly lastContactMs: number;
  readonly inflight: number;
  readonly snapshotting: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly leaderAddr: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** Term of the entry at lastIndex (of the snapshot when the log is empty past it); 0 for an empty log. */
  readonly lastTerm: number;
  readonly firstIndex: number;
  readonly snapshotIndex: number;
  readonly config: Configuration;
  /** Only on the leader: one entry per other member. */
  readonly progress: readonly FollowerProgress[];
}

export interface RaftCounters {
  readonly proposals: number;
  readonly proposalsFailed: number;
  readonly commits: number;
  readonly elections: number;
  readonly leaderChanges: number;
  readonly snapshotsTaken: number;
  readonly snapshotsSent: number;
  readonly snapshotsInstalled: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly messagesDropped: number;
}

export interface RaftEvents {
  /** The known leader changed (null while unknown). */
  leader: (leaderId: NodeId | null, term: number) => void;
  role: (role: RaftRole, term: number) => void;
  /** A configuration entry took effect (on append, as the protocol requires). */
  config: (config: Configuration) => void;
  /** The node has stopped (stop() or a fatal storage error); `error` is set for the latter. */
  stopped: (error?: Error) => void;
  /**
   * Writes to the stores started failing with a retriable error (`error`: a full disk; the node keeps retrying and
   * refuses proposals meanwhile), or succeed again (`null`).
   */
  storage: (error: Error | null) => void;
}

/** What callers can do with a running node. Implemented by RaftNode. */
export interface Raft<R = unknown> {
  start(): Promise<void>;
  /** Resolves with the state machine's result once committed and applied on this node. Works on any node. */
  propose(command: Uint8Array, options?: { timeoutMs?: number }): Promise<R>;
  /** Resolves once this node's state machine reflects every write committed before the call (ReadIndex). */
  read(options?: { timeoutMs?: number }): Promise<void>;
  addMember(id: NodeId, addr: string, options?: { voter?: boolean; timeoutMs?: number }): Promise<void>;
  /** Promotes a non-voter once it has caught up with the leader's log. */
  promote(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  demote(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  removeMember(id: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Hands leadership to `to` (or to the most up-to-date voter) once its log has caught up, refusing proposals
   * meanwhile. The hand-off is retried every election timeout, towards another voter when no target was named,
   * until `timeoutMs` (default: the propose timeout) has passed; then it rejects with ERR_TIMEOUT and this node
   * keeps leading. Rejects with NotLeaderError on a follower, and ERR_MEMBERSHIP when there is no other voter.
   */
  transferLeadership(to?: NodeId, options?: { timeoutMs?: number }): Promise<void>;
  status(): RaftStatus;
  counters(): RaftCounters;
  on<E extends keyof RaftEvents>(event: E, listener: RaftEvents[E]): () => void;
  stop(): Promise<void>;
}
