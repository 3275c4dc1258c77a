/**
 * ClusterKit's replicated cluster state: membership, partition table, configuration, departed nodes and custom
 * data, as a deterministic Raft state machine, with the events derived from its committed transitions.
 *
 * Typical use by the runtime:
 *
 *   const machine = new ClusterStateMachine({ onEvents: (events) => events.forEach((e) => hooks.emit(e.type, e)) });
 *   const raft = new RaftNode({ ..., stateMachine: machine });
 *   const result = await raft.propose(encodeCommand({ type: 'nodeJoin', at: Date.now(), node }));
 *   if (!result.ok) throw refusalToError(result);
 *   machine.state.table?.primaryOf('user:1');
 */
export {
  ANY_REVISION,
  type BootstrapCommand,
  type CasCustomDataCommand,
  type ClusterCommand,
  type ClusterConfigInput,
  COMMAND_TYPES,
  type CommandType,
  type DecodeFailure,
  type DecodeResult,
  type DeleteCustomDataCommand,
  decodeCommand,
  encodeCommand,
  type NodeChanges,
  type NodeJoinCommand,
  type NodeLeaveCommand,
  type NodeUpdateCommand,
  type RebalanceCommand,
  type SetCustomDataCommand,
} from './commands.js';
export {
  type ChangeReason,
  type ClusterEvent,
  type ClusterEventMap,
  type ClusterEventType,
  type CustomDataChangeEvent,
  type NodeJoinEvent,
  type NodeLeaveEvent,
  type NodeRejoinEvent,
  type NodeUpdateEvent,
  type PartitionChangeEvent,
  type PartitionDropEvent,
  type PartitionEvent,
  type PartitionPromoteEvent,
  type RebalanceCompleteEvent,
  type RebalanceStartEvent,
  type RebalanceTrigger,
} from './events.js';
export { ClusterStateMachine, type ClusterStateMachineOptions } from './machine.js';
export { type ApplyOk, type ApplyRefused, type ApplyResult, refusalToError } from './results.js';
export type { ClusterStateView } from './state.js';
export {
  type ClusterConfig,
  COMMAND_FORMAT_VERSION,
  type CustomDataEntry,
  type DepartedRecord,
  type GoNodeJSON,
  LEAVE_REASONS,
  type LeaveReason,
  MAX_COMMAND_BYTES,
  MAX_CUSTOM_DATA_BYTES,
  MAX_CUSTOM_KEY_LENGTH,
  MAX_CUSTOM_KEYS,
  MAX_CUSTOM_VALUE_BYTES,
  MAX_DEPARTED,
  MAX_NODES,
  MAX_SERVICES,
  type NodeRecord,
  type NodeSpec,
  type PlacementStrategy,
  STATE_FORMAT_VERSION,
  type StateCounters,
  toGoNodeJSON,
} from './types.js';
