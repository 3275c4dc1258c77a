/**
 * The contracts of the Raft engine: log entries, the wire messages, and the storage and transport interfaces
 * the engine is given. Nothing here knows about ClusterKit's cluster logic; the engine is a reusable module.
 *
 * Indexes and terms are plain numbers (safe integers up to 2^53, which no log reaches). Node ids are strings.
 */

export type NodeId = string;

/** What a log entry carries. Numeric values are part of the on-disk and wire formats: never renumber. */
export enum EntryType {
  /** An application command, handed to the state machine. */
  Command = 1,
  /** Appended by every new leader so it can commit entries of earlier terms (Raft §5.4.2). */
  Noop = 2,
  /** A membership configuration (data = encoded Configuration); takes effect as soon as it is appended. */
  Config = 3,
}

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface Member {
  readonly id: NodeId;
  /** host:port peers dial to reach this member's Raft transport. */
  readonly addr: string;
  /** Voters count for elections and commit; non-voters only receive the log. */
  readonly voter: boolean;
}

export interface Configuration {
  readonly members: readonly Member[];
}

/** Durable per-node state; must be on disk before the node answers a vote or acknowledges entries. */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
}

export interface SnapshotMeta {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly config: Configuration;
  /** Size in bytes of the snapshot data. */
  readonly size: number;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Wire messages. Raft is written in message-passing style (as etcd raft): a response is just another message.
// The numeric type tags are part of the wire format: never renumber.
// ---------------------------------------------------------------------------------------------------------------

export enum MessageType {
  AppendEntries = 1,
  AppendEntriesResponse = 2,
  RequestVote = 3,
  RequestVoteResponse = 4,
  InstallSnapshot = 5,
  InstallSnapshotResponse = 6,
  TimeoutNow = 7,
  /** A follower forwards proposals to the leader; the leader answers with where they landed in the log. */
  ForwardPropose = 8,
  ForwardProposeResponse = 9,
  /** A follower asks the leader for a read index (ReadIndex, Raft thesis §6.4). */
  ReadIndexRequest = 10,
  ReadIndexResponse = 11,
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's current term. */
  readonly term: number;
  /**
   * The sender's transport address (host:port). The engine always sets it: a receiver that does not have the
   * sender in its configuration yet (a node waiting to be added, a member whose log lags behind the entry that
   * added a new leader) needs it to answer. Optional only for backwards compatibility; codecs should carry it.
   */
  readonly fromAddr?: string;
}

export interface AppendEntries extends MessageBase {
  readonly type: MessageType.AppendEntries;
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /**
   * Heartbeat round number, echoed in the response. The leader uses it to confirm leadership for ReadIndex and
   * check-quorum without waiting on disk: 0 when the message is not part of a round.
   */
  readonly round: number;
}

export interface AppendEntriesResponse extends MessageBase {
  readonly type: MessageType.AppendEntriesResponse;
  readonly success: boolean;
  /** On success: the highest index known to match the leader's log. */
  readonly matchIndex: number;
  /**
   * On rejection, a hint for fast back-off: the follower's conflicting term at prevIndex (0 if its log is shorter)
   * and the first index it holds of that term (or its last index + 1 when shorter).
   */
  readonly conflictTerm: number;
  readonly conflictIndex: number;
  /** Echo of AppendEntries.round. */
  readonly round: number;
}

export interface RequestVote extends MessageBase {
  readonly type: MessageType.RequestVote;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** A pre-vote asks "would you vote for me at `term`?" without anyone changing term (thesis §9.6). */
  readonly preVote: boolean;
  /** Set when the election comes from a leadership transfer; overrides leader stickiness. */
  readonly transfer: boolean;
}

export interface RequestVoteResponse extends MessageBase {
  readonly type: MessageType.RequestVoteResponse;
  readonly granted: boolean;
  readonly preVote: boolean;
}

export interface InstallSnapshot extends MessageBase {
  readonly type: MessageType.InstallSnapshot;
  readonly meta: SnapshotMeta;
  /** Byte offset of `chunk` in the snapshot data. */
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

export interface InstallSnapshotResponse extends MessageBase {
  readonly type: MessageType.InstallSnapshotResponse;
  /** The snapshot index this answers for. */
  readonly index: number;
  /** Bytes received so far (the next offset wanted), or -1 when the receiver rejects the transfer. */
  readonly received: number;
  readonly done: boolean;
}

export interface TimeoutNow extends MessageBase {
  readonly type: MessageType.TimeoutNow;
}

export interface ForwardPropose extends MessageBase {
  readonly type: MessageType.ForwardPropose;
  readonly requestId: number;
  readonly commands: readonly Uint8Array[];
}

export interface ForwardProposeResponse extends MessageBase {
  readonly type: MessageType.ForwardProposeResponse;
  readonly requestId: number;
  /** Index of the first appended command (the rest follow consecutively), all in `entryTerm`; 0 on error. */
  readonly index: number;
  readonly entryTerm: number;
  /** Empty on success; otherwise an ErrorCode such as ERR_NOT_LEADER. */
  readonly error: string;
  /** The leader as known by the responder, when the error is ERR_NOT_LEADER. */
  readonly leaderId: string;
}

export interface ReadIndexRequest extends MessageBase {
  readonly type: MessageType.ReadIndexRequest;
  readonly requestId: number;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: MessageType.ReadIndexResponse;
  readonly requestId: number;
  /** The commit index confirmed by a quorum; 0 on error. */
  readonly index: number;
  readonly error: string;
  readonly leaderId: string;
}

export type Message =
  | AppendEntries
  | AppendEntriesResponse
  | RequestVote
  | RequestVoteResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow
  | ForwardPropose
  | ForwardProposeResponse
  | ReadIndexRequest
  | ReadIndexResponse;

// ---------------------------------------------------------------------------------------------------------------
// Storage. Reads are synchronous (the store keeps an index in memory); writes are asynchronous and durable when
// their promise resolves. The engine never has two writes to the same store in flight at once, so a store need
// not order concurrent writes itself.
// ---------------------------------------------------------------------------------------------------------------

export interface LogStore {
  /** Index of the first entry held, or snapshotIndex + 1 when empty. */
  firstIndex(): number;
  /** Index of the last entry held, or the index the log was compacted to when empty (0 for a new log). */
  lastIndex(): number;
  /** Term of the entry at `index`, or undefined when not held. */
  term(index: number): number | undefined;
  /**
   * Entries [lo, hi) in order. Stops early, after at least one entry, once `maxBytes` of entry data is reached.
   * Throws if lo < firstIndex() or hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /**
   * Appends entries with consecutive indexes. If the first index is <= lastIndex(), every entry from that index
   * on is first removed (a conflicting suffix). Resolves once everything is durable (one fsync per call: the
   * engine batches, so this is group commit).
   */
  append(entries: readonly Entry[]): Promise<void>;
  /**
   * Drops every entry with index <= `index` (compaction after a snapshot at `index` whose term is `term`). If
   * the log does not contain `index` at `term`, the whole log is dropped and the next append starts at index + 1.
   */
  compact(index: number, term: number): Promise<void>;
  close(): Promise<void>;
}

export interface StableStore {
  /** The last saved hard state; { term: 0, votedFor: null } for a new node. */
  load(): HardState;
  /** Durable when the promise resolves. */
  save(state: HardState): Promise<void>;
  close(): Promise<void>;
}

export interface SnapshotStore {
  /** The newest complete snapshot, or null. Never returns a partially written one. */
  latest(): Snapshot | null;
  /** Writes crash-safely (temp file, fsync, rename, fsync of the directory); keeps a few older ones. */
  save(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

/** The application's replicated state machine. */
export interface StateMachine<R = unknown> {
  /** Applies one committed command. Must be deterministic: every node applies the same commands in order. */
  apply(command: Uint8Array, index: number): R;
  /** Serialises the whole state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Transport: unreliable, unordered-across-reconnects delivery of messages between nodes. Raft tolerates loss,
// duplication and reordering; the transport only promises that a delivered message is intact.
// ---------------------------------------------------------------------------------------------------------------

export interface Transport {
  /**
   * Queues a message for `msg.to` at `addr`. Never throws for network reasons (the message is dropped instead,
   * and a metric counts it). Returns false when the link to that peer is congested, so the engine can stop
   * pipelining to it until `onDrain` fires.
   */
  send(addr: string, msg: Message): boolean;
  /** Registers the single receiver of incoming messages. */
  onMessage(handler: (msg: Message) => void): void;
  /** Called when a congested link to `peerId` can take messages again. */
  onDrain(handler: (peerId: NodeId) => void): void;
  /**
   * Optional: hands everything queued by `send` to the network now instead of at the end of the current tick. The
   * engine calls it before it starts a (possibly synchronous) disk write, so the leader's AppendEntries travel
   * while its own fsync runs instead of after it.
   */
  flush?(): void;
  close(): Promise<void>;
}
