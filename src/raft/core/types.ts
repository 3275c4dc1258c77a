/**
 * Types shared by the modules of the deterministic Raft core: its configuration (in ticks, already validated),
 * the requests it accepts and the `Ready` batch of effects it hands to its driver.
 */
import type { ClusterKitError } from '../../errors.js';
import type { Random } from '../../util/io.js';
import type { RaftRole } from '../api.js';
import type { Configuration, Entry, HardState, Message, NodeId, Snapshot } from '../types.js';

export interface CoreConfig {
  readonly id: NodeId;
  readonly addr: string;
  /** Minimum election timeout; the randomised one is in [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseReads: boolean;
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflightMessages: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedEntries: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotThreshold: number;
  readonly snapshotTrailing: number;
  /** A non-voter may be promoted once its matchIndex is within this many entries of the leader's last index. */
  readonly promoteLag: number;
  readonly random: Random;
}

/** Read-only access to what is already on disk. Reads are synchronous by contract. */
export interface LogReader {
  firstIndex(): number;
  lastIndex(): number;
  term(index: number): number | undefined;
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
}

export interface CoreStorage {
  readonly log: LogReader;
  /** The newest complete snapshot on disk (the leader streams it to followers that are too far behind). */
  latestSnapshot(): Snapshot | null;
}

/** What the core starts from, read from storage by the driver. */
export interface CoreInitialState {
  readonly hardState: HardState;
  /** Meta of the snapshot the state machine was restored from, if any. */
  readonly snapshot: { readonly index: number; readonly term: number; readonly config: Configuration } | null;
}

export type MembershipChange =
  | { readonly kind: 'add'; readonly id: NodeId; readonly addr: string; readonly voter: boolean }
  | { readonly kind: 'promote'; readonly id: NodeId }
  | { readonly kind: 'demote'; readonly id: NodeId }
  | { readonly kind: 'remove'; readonly id: NodeId };

/**
 * The outcome of a request given to the core. `appended`: the command or configuration entry is in the log at
 * (index, term); the driver waits until this node applies that index and checks the term. `read`: the read may
 * be served once this node has applied `index`. `done`: finished (a no-op membership change, a transfer).
 */
export type CoreResult =
  | { readonly reqId: number; readonly kind: 'appended'; readonly index: number; readonly term: number }
  | { readonly reqId: number; readonly kind: 'read'; readonly index: number }
  | { readonly reqId: number; readonly kind: 'done' }
  | { readonly reqId: number; readonly kind: 'error'; readonly error: ClusterKitError };

export type CoreEvent =
  | { readonly type: 'leader'; readonly leaderId: NodeId | null; readonly term: number }
  | { readonly type: 'role'; readonly role: RaftRole; readonly term: number }
  | { readonly type: 'config'; readonly config: Configuration };

export interface OutgoingMessage {
  /** undefined when no address is known for `msg.to`: the driver drops it and counts it. */
  readonly addr: string | undefined;
  readonly msg: Message;
}

export type LogWrite =
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'compact'; readonly index: number; readonly term: number };

export interface SnapshotRequest {
  readonly index: number;
  readonly term: number;
  readonly config: Configuration;
}

/**
 * Effects for the driver, to be carried out in this order: send `messages` (all are already safe to send);
 * start `saveHardState`, `logWrite` and `saveSnapshot` (the core never asks for a second write to a store
 * before it was told the first one completed); restore the state machine from `restoreSnapshot`; apply
 * `apply` (in order; the core counts them as applied); if `takeSnapshot` is set, serialise the state machine
 * (which is now exactly at that index) and hand it back with `snapshotCreated`; settle `results`; emit `events`.
 */
export interface Ready {
  readonly messages: OutgoingMessage[];
  readonly saveHardState: HardState | null;
  readonly logWrite: LogWrite | null;
  readonly saveSnapshot: Snapshot | null;
  readonly restoreSnapshot: Snapshot | null;
  readonly apply: Entry[];
  readonly takeSnapshot: SnapshotRequest | null;
  readonly results: CoreResult[];
  readonly events: CoreEvent[];
}

export function isReadyEmpty(rd: Ready): boolean {
  return (
    rd.messages.length === 0 &&
    rd.saveHardState === null &&
    rd.logWrite === null &&
    rd.saveSnapshot === null &&
    rd.restoreSnapshot === null &&
    rd.apply.length === 0 &&
    rd.takeSnapshot === null &&
    rd.results.length === 0 &&
    rd.events.length === 0
  );
}

export interface CoreCounters {
  elections: number;
  leaderChanges: number;
  commits: number;
  snapshotsTaken: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  messagesDropped: number;
}
