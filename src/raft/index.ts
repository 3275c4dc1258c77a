/**
 * The Raft module: a reusable consensus engine (deterministic core + driver) with pluggable storage and transport.
 */
export type {
  FollowerProgress,
  Raft,
  RaftCounters,
  RaftEvents,
  RaftOptions,
  RaftRole,
  RaftStatus,
  RaftTimings,
} from './api.js';
export { decodeConfiguration, encodeConfiguration } from './core/config.js';
export type { HistogramSnapshot } from './core/histogram.js';
export { type RaftMetrics, RaftNode } from './node.js';
export { MemoryLogStore, MemorySnapshotStore, MemoryStableStore } from './storage/memory.js';
export {
  type AppendEntries,
  type AppendEntriesResponse,
  type Configuration,
  type Entry,
  EntryType,
  type ForwardPropose,
  type ForwardProposeResponse,
  type HardState,
  type InstallSnapshot,
  type InstallSnapshotResponse,
  type LogStore,
  type Member,
  type Message,
  MessageType,
  type NodeId,
  type ReadIndexRequest,
  type ReadIndexResponse,
  type RequestVote,
  type RequestVoteResponse,
  type Snapshot,
  type SnapshotMeta,
  type SnapshotStore,
  type StableStore,
  type StateMachine,
  type TimeoutNow,
  type Transport,
} from './types.js';
