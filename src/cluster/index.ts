/** The ClusterKit node: the class applications use, its options, data types and events. */
export { ClusterKit } from './clusterkit.js';
export type { PartitionChangeEvent } from './events.js';
export type { ClusterHealthEvent, ClusterHealthStatus } from './health.js';
export type { Hook, HookStats } from './hooks.js';
export {
  type ClusterKitOptions,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_MAX_VOTERS,
  type HealthCheckOptions,
  type RaftTuning,
  type ResolvedHealthCheck,
} from './options.js';
export type {
  ChangeReason,
  CustomDataChangeEvent,
  LeaveReason,
  NodeJoinEvent,
  NodeLeaveEvent,
  NodeRejoinEvent,
  NodeUpdateEvent,
  PartitionDropEvent,
  PartitionPromoteEvent,
  RebalanceCompleteEvent,
  RebalanceStartEvent,
  RebalanceTrigger,
} from './state/index.js';
export type {
  ClusterConfigSummary,
  ClusterInfo,
  ClusterKitEventName,
  ClusterKitEvents,
  HealthStatus,
  Metrics,
  Node,
  Partition,
  RebalanceCompleteHook,
  ServiceNode,
} from './types.js';
