/**
 * Events derived from committed state transitions: what the hooks of the Go original promised (NodeJoin,
 * NodeRejoin, NodeLeave, PartitionChange, RebalanceStart, RebalanceComplete), with its field names in camelCase,
 * plus what it lacked (partition epochs, promotions, drops, node updates, custom data changes).
 *
 * Every node derives the same events, in the same order, from the same committed commands: the events are a pure
 * function of (state, command, index). Times are the proposer's wall-clock ms (`at` of the command), never the
 * applying node's clock. Within one command the order is always:
 *
 *   membership event (nodeJoin | nodeRejoin | nodeLeave | nodeUpdate)
 *   rebalanceStart                                   (only when the partition table changed)
 *   per partition, by index: partitionPromote, partitionChange (one per node gaining a copy), partitionDrop
 *   rebalanceComplete
 *
 * so a rejoin is always announced before the partition changes it causes (the README's promise, kept).
 *
 * Rebalance timing. The whole rebalance (new table computed and installed) happens inside the apply of one
 * committed command, so `rebalanceStart` and `rebalanceComplete` come from the same command. `startedAt` is the
 * command's `triggeredAt` (when the proposer first observed the cause: the join request, the first failed health
 * check, the admin call), or `at` when absent; `completedAt` is `at` (when the proposer decided the new table);
 * `duration` = completedAt − startedAt. It therefore measures the coordination delay from cause to decision; it
 * does not include the commit latency (milliseconds), and cannot include the application's data copying, which
 * ClusterKit does not see (applications that move data report that themselves).
 */
import { diffTables, type PartitionTable, type TableDiff } from '../../partitioning/index.js';
import type { LeaveReason, NodeRecord } from './types.js';

/** Why partitions changed (the Go original's values, plus node_rejoin). */
export type ChangeReason = 'node_join' | 'node_leave' | 'node_rejoin' | 'rebalance';

/** What caused a rebalance (the Go original's values, plus node_rejoin and node_update). */
export type RebalanceTrigger = 'node_join' | 'node_rejoin' | 'node_leave' | 'node_update' | 'manual';

interface EventBase {
  /** Raft index of the command that caused the event: events of one index are one atomic transition. */
  readonly index: number;
  /** The command's `at`: proposer wall-clock ms. */
  readonly timestamp: number;
}

/** A brand-new node joined (or the cluster was bootstrapped with its first node). */
export interface NodeJoinEvent extends EventBase {
  readonly type: 'nodeJoin';
  readonly node: NodeRecord;
  /** Nodes after the join. */
  readonly clusterSize: number;
  /** True for the bootstrap command's first node. */
  readonly isBootstrap: boolean;
  readonly joinedAt: number;
}

/**
 * A departed node came back. Emitted BEFORE the partition changes of the same join: a rejoining node should drop
 * its stale data here, then copy what `partitionChange` assigns it (it may not get its old partitions back).
 */
export interface NodeRejoinEvent extends EventBase {
  readonly type: 'nodeRejoin';
  /** The node's new record. */
  readonly node: NodeRecord;
  /** rejoin time − lastSeenAt, in ms (never negative). */
  readonly offlineDuration: number;
  readonly lastSeenAt: number;
  readonly leftAt: number;
  readonly leaveReason: LeaveReason;
  /** Partition ids it held (primary or replica) when it left, by index. */
  readonly partitionsBeforeLeave: readonly string[];
  readonly clusterSize: number;
  readonly joinedAt: number;
}

export interface NodeLeaveEvent extends EventBase {
  readonly type: 'nodeLeave';
  /** The node's record as it was when it left. */
  readonly node: NodeRecord;
  readonly reason: LeaveReason;
  /** Partition ids it was primary of, by index. */
  readonly partitionsOwned: readonly string[];
  /** Partition ids it held a replica of, by index. */
  readonly partitionsReplica: readonly string[];
  readonly leftAt: number;
  readonly lastSeenAt: number;
  /** Nodes after the leave. */
  readonly clusterSize: number;
}

/** A node's record changed (addresses, services, name, zone, weight). */
export interface NodeUpdateEvent extends EventBase {
  readonly type: 'nodeUpdate';
  readonly node: NodeRecord;
  readonly previous: NodeRecord;
  /** Names of the fields that changed, e.g. ['httpAddr', 'services']. */
  readonly changedFields: readonly string[];
}

export interface RebalanceStartEvent extends EventBase {
  readonly type: 'rebalanceStart';
  readonly trigger: RebalanceTrigger;
  /** The leave reason, 'node_join', 'node_rejoin', 'node_update', 'bootstrap', or the manual rebalance's reason. */
  readonly reason: string;
  /** The node that joined, left or changed, or the requester of a manual rebalance; null when unknown. */
  readonly triggerNodeId: string | null;
  /** Partitions whose owners or primary change. */
  readonly partitionsToMove: number;
  /** Copies to make (one `partitionChange` event each). */
  readonly copies: number;
  readonly primaryChanges: number;
  /** Nodes gaining, losing or changing role on some partition (departed ones included), sorted. */
  readonly nodesAffected: readonly string[];
  readonly startedAt: number;
  /** Table versions before and after (fromVersion 0: no table before). */
  readonly fromVersion: number;
  readonly toVersion: number;
}

/** Go's PartitionChangeEvent: `copyToNode` gains a copy of the partition and must fetch its data. */
export interface PartitionChangeEvent extends EventBase {
  readonly type: 'partitionChange';
  /** `partition-N`. */
  readonly partitionId: string;
  readonly partitionIndex: number;
  /**
   * Present nodes holding the data before this change: the old primary first, then the old replicas in order
   * (owners being dropped included: they keep their copy until the application deletes it). Never contains
   * `copyToNode`. Empty only when no previous holder is still a member (first assignment, or every holder left):
   * the receiver then starts the partition empty.
   */
  readonly copyFromNodes: readonly NodeRecord[];
  readonly copyToNode: NodeRecord;
  /** True when copyToNode becomes the partition's primary. */
  readonly isPrimary: boolean;
  readonly oldPrimary: string | null;
  readonly newPrimary: string | null;
  readonly changeReason: ChangeReason;
  /** The partition's epoch in the new table (it increases when the primary changes; for fencing). */
  readonly epoch: number;
  readonly tableVersion: number;
}

/** A replica became the primary: it already has the data, no copy needed. */
export interface PartitionPromoteEvent extends EventBase {
  readonly type: 'partitionPromote';
  readonly partitionId: string;
  readonly partitionIndex: number;
  /** The promoted node (the new primary). */
  readonly node: NodeRecord;
  readonly oldPrimary: string | null;
  readonly newPrimary: string;
  /** True when the old primary stays on as a replica. */
  readonly oldPrimaryDemoted: boolean;
  readonly changeReason: ChangeReason;
  readonly epoch: number;
  readonly tableVersion: number;
}

/**
 * A present node no longer owns a partition. It may delete its copy, best once the new owners have theirs (it is
 * listed in their `copyFromNodes`). Departed nodes get no drop events: `nodeLeave` covers them.
 */
export interface PartitionDropEvent extends EventBase {
  readonly type: 'partitionDrop';
  readonly partitionId: string;
  readonly partitionIndex: number;
  readonly node: NodeRecord;
  /** True when it was the primary. */
  readonly wasPrimary: boolean;
  readonly newPrimary: string | null;
  /** The partition's owners after the change, primary first. */
  readonly newOwners: readonly string[];
  readonly changeReason: ChangeReason;
  readonly epoch: number;
  readonly tableVersion: number;
}

export interface RebalanceCompleteEvent extends EventBase {
  readonly type: 'rebalanceComplete';
  readonly trigger: RebalanceTrigger;
  readonly reason: string;
  /** As in rebalanceStart (the Go original passed the same event to both hooks). */
  readonly triggerNodeId: string | null;
  /** Partitions whose owners or primary changed (as in rebalanceStart; `partitionsMoved` is the same number). */
  readonly partitionsToMove: number;
  readonly primaryChanges: number;
  /** Nodes that gained, lost or changed role on some partition, sorted. */
  readonly nodesAffected: readonly string[];
  /** completedAt − startedAt, ms (see the module comment for what this measures). */
  readonly duration: number;
  readonly partitionsMoved: number;
  readonly copies: number;
  readonly startedAt: number;
  readonly completedAt: number;
  readonly tableVersion: number;
}

/** A custom data key was written or deleted. The value is not included (up to 1 MiB): read it from the state. */
export interface CustomDataChangeEvent extends EventBase {
  readonly type: 'customDataChange';
  readonly key: string;
  /** The key's new revision; for a delete, the revision of the deletion. */
  readonly revision: number;
  readonly deleted: boolean;
  /** Value size in bytes (0 for a delete). */
  readonly size: number;
}

export type PartitionEvent = PartitionChangeEvent | PartitionPromoteEvent | PartitionDropEvent;

export type ClusterEvent =
  | NodeJoinEvent
  | NodeRejoinEvent
  | NodeLeaveEvent
  | NodeUpdateEvent
  | RebalanceStartEvent
  | PartitionEvent
  | RebalanceCompleteEvent
  | CustomDataChangeEvent;

export type ClusterEventType = ClusterEvent['type'];

/** The events of a table change, by name: the shape a HookDispatcher's `Events` map takes. */
export type ClusterEventMap = { [E in ClusterEvent as E['type']]: E };

/** What caused a table change, for {@link deriveRebalanceEvents}. */
export interface RebalanceCause {
  readonly trigger: RebalanceTrigger;
  readonly reason: string;
  readonly changeReason: ChangeReason;
  readonly triggerNodeId: string | null;
  readonly index: number;
  /** The command's `at`. */
  readonly at: number;
  /** The command's `triggeredAt` (≤ at), when given. */
  readonly triggeredAt: number | undefined;
}

const NONE: readonly NodeRecord[] = Object.freeze([]);

/**
 * The events of a partition-table change: rebalanceStart, the per-partition events, rebalanceComplete. Empty when
 * the tables assign the same owners and primaries. `nodes` are the members after the change (for node records and
 * to leave departed nodes out of copy sources and drop events).
 */
export function deriveRebalanceEvents(
  before: PartitionTable | undefined,
  after: PartitionTable,
  nodes: ReadonlyMap<string, NodeRecord>,
  cause: RebalanceCause,
): { readonly events: ClusterEvent[]; readonly diff: TableDiff } {
  const diff = diffTables(before, after);
  const events: ClusterEvent[] = [];
  if (diff.isEmpty) return { events, diff };
  const { index, at: timestamp, changeReason } = cause;
  const startedAt = Math.min(cause.triggeredAt ?? timestamp, timestamp);
  const tableVersion = after.version;
  // The Go original handed both hooks the same RebalanceEvent: the complete event repeats what the start said.
  const what = {
    trigger: cause.trigger,
    reason: cause.reason,
    triggerNodeId: cause.triggerNodeId,
    partitionsToMove: diff.partitions.length,
    copies: diff.copies,
    primaryChanges: diff.primaryChanges,
    nodesAffected: Object.freeze([...diff.nodes.keys()]),
  };
  events.push(
    Object.freeze({
      type: 'rebalanceStart',
      index,
      timestamp,
      ...what,
      startedAt,
      fromVersion: before?.version ?? 0,
      toVersion: tableVersion,
    }),
  );
  for (const c of diff.partitions) {
    const partitionId = c.id;
    const partitionIndex = c.partition;
    const oldPrimary = c.oldPrimary ?? null;
    const newPrimary = c.newPrimary ?? null;
    const epoch = c.newEpoch;
    const common = { index, timestamp, partitionId, partitionIndex, changeReason, epoch, tableVersion };
    if (c.promoted !== undefined) {
      events.push(
        Object.freeze({
          type: 'partitionPromote',
          ...common,
          node: nodes.get(c.promoted)!,
          oldPrimary,
          newPrimary: c.promoted,
          oldPrimaryDemoted: c.demoted !== undefined,
        }),
      );
    }
    if (c.copyTo.length > 0) {
      const sources: NodeRecord[] = [];
      for (const id of c.copyFrom) {
        const n = nodes.get(id);
        if (n !== undefined) sources.push(n);
      }
      const copyFromNodes = sources.length === 0 ? NONE : Object.freeze(sources);
      for (const id of c.copyTo) {
        events.push(
          Object.freeze({
            type: 'partitionChange',
            ...common,
            copyFromNodes,
            copyToNode: nodes.get(id)!,
            isPrimary: id === newPrimary,
            oldPrimary,
            newPrimary,
          }),
        );
      }
    }
    for (const id of c.dropped) {
      const node = nodes.get(id);
      if (node === undefined) continue;
      events.push(
        Object.freeze({
          type: 'partitionDrop',
          ...common,
          node,
          wasPrimary: id === oldPrimary,
          newPrimary,
          newOwners: c.newOwners,
        }),
      );
    }
  }
  events.push(
    Object.freeze({
      type: 'rebalanceComplete',
      index,
      timestamp,
      ...what,
      duration: timestamp - startedAt,
      partitionsMoved: diff.partitions.length,
      startedAt,
      completedAt: timestamp,
      tableVersion,
    }),
  );
  return { events, diff };
}

/** Partition ids a node holds in `table`: [primary of, replica of, both merged by index]. */
export function partitionsOf(
  table: PartitionTable | undefined,
  nodeId: string,
): { owned: readonly string[]; replica: readonly string[]; all: readonly string[] } {
  if (table === undefined) return { owned: [], replica: [], all: [] };
  const { primaries, replicas } = table.partitionsOfNode(nodeId);
  const ids = (list: readonly number[]): readonly string[] => Object.freeze(list.map((i) => table.partitions[i]!.id));
  const all = [...primaries, ...replicas].sort((a, b) => a - b);
  return { owned: ids(primaries), replica: ids(replicas), all: ids(all) };
}
