/**
 * The public API of ClusterKit, exported by name. Anything not listed here is internal and may change.
 */

// Hooks and observability building blocks.
export { type Hook, HookDispatcher, type HookDispatcherOptions, type HookStats } from './cluster/hooks.js';
// The ClusterKit node: the class applications use, its options, data types, hooks and events.
export {
  type ChangeReason,
  type ClusterConfigSummary,
  type ClusterHealthEvent,
  type ClusterHealthStatus,
  type ClusterInfo,
  ClusterKit,
  type ClusterKitEventName,
  type ClusterKitEvents,
  type ClusterKitOptions,
  type CustomDataChangeEvent,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_MAX_VOTERS,
  type HealthCheckOptions,
  type HealthStatus,
  type LeaveReason,
  type Metrics,
  type Node,
  type NodeJoinEvent,
  type NodeLeaveEvent,
  type NodeRejoinEvent,
  type NodeUpdateEvent,
  type Partition,
  type PartitionChangeEvent,
  type PartitionDropEvent,
  type PartitionPromoteEvent,
  type RaftTuning,
  type RebalanceCompleteEvent,
  type RebalanceCompleteHook,
  type RebalanceStartEvent,
  type RebalanceTrigger,
  type ServiceNode,
} from './cluster/index.js';
export {
  type ClusterConfig,
  type DepartedRecord,
  LEAVE_REASONS,
  MAX_CUSTOM_DATA_BYTES,
  MAX_CUSTOM_KEY_LENGTH,
  MAX_CUSTOM_KEYS,
  MAX_CUSTOM_VALUE_BYTES,
  type NodeRecord,
} from './cluster/state/index.js';
// Errors: one base class, stable codes, a retriable flag.
export {
  ClusterKitError,
  type ClusterKitErrorOptions,
  type ErrorCode,
  InvalidArgumentError,
  NotLeaderError,
  ShuttingDownError,
  StorageCorruptError,
  TimeoutError,
} from './errors.js';
// The HTTP API, for embedding a node's API in another server or serving a custom NodeApi.
export {
  type Access,
  type AuthDecision,
  type Authorize,
  type ClusterKitHttpServer,
  createHttpHandler,
  createHttpServer,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpServerOptions,
  type NodeApi,
} from './http/index.js';
export { Counter, Gauge, Histogram, type Labels, MetricsRegistry } from './metrics/registry.js';
// Partitioning: key → partition → primary + replicas.
export {
  computePlacement,
  DEFAULT_PARTITION_COUNT,
  DEFAULT_REPLICATION_FACTOR,
  diffTables,
  hashKey,
  MAX_PARTITION_COUNT,
  MAX_REPLICATION_FACTOR,
  type Member,
  type NodeChange,
  type NodePartitions,
  type PartitionAssignment,
  type PartitionChange,
  type PartitionJSON,
  PartitionTable,
  type PartitionTableInit,
  type PartitionTableJSON,
  type PlacementOptions,
  type PlacementStrategy,
  parsePartitionId,
  partitionForKey,
  partitionId,
  partitionIdForKey,
  type TableDiff,
} from './partitioning/index.js';
// Raft: a reusable consensus engine with pluggable storage and transport.
export {
  type Configuration,
  decodeConfiguration,
  type Entry,
  EntryType,
  encodeConfiguration,
  type FollowerProgress,
  type HardState,
  type HistogramSnapshot,
  type LogStore,
  type Member as RaftMember,
  MemoryLogStore,
  MemorySnapshotStore,
  MemoryStableStore,
  type Message,
  MessageType,
  type NodeId,
  type Raft,
  type RaftCounters,
  type RaftEvents,
  type RaftMetrics,
  RaftNode,
  type RaftOptions,
  type RaftRole,
  type RaftStatus,
  type RaftTimings,
  type Snapshot,
  type SnapshotMeta,
  type SnapshotStore,
  type StableStore,
  type StateMachine,
  type Transport,
} from './raft/index.js';
export { type FileStores, type FileStoresOptions, openFileStores } from './raft/storage/file-stores.js';
export {
  createNodeFileSystem,
  type FileSystem,
  type NodeFileSystemOptions,
  nodeFileSystem,
  type OpenMode,
} from './raft/storage/fs.js';
export { FileSnapshotStore, type FileSnapshotStoreOptions } from './raft/storage/snapshot-file.js';
export { FileStableStore, type FileStableStoreOptions } from './raft/storage/stable-file.js';
export { DEFAULT_SEGMENT_BYTES, WalLogStore, type WalOptions } from './raft/storage/wal/wal.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  listenShared,
  type PeerStats,
  PROTOCOL_VERSION,
  RAFT_PREAMBLE,
  type RaftConnectionHandler,
  SharedListener,
  type SharedListenerOptions,
  type SharedListenerStats,
  TcpTransport,
  type TcpTransportOptions,
  type TcpTransportStats,
} from './raft/transport/index.js';
export type { Clock, Random, Scheduler, TimerHandle } from './util/io.js';
export { type Logger, silentLogger } from './util/logger.js';
