/**
 * Planning a command: given the current state and a validated command, decide the outcome without changing
 * anything. A plan is either a refusal (a thrown {@link Refusal}), or a StateChange plus the events it emits. The
 * machine installs the change afterwards; nothing here mutates the state, so a refusal (or a bug throwing midway)
 * leaves the state exactly as it was.
 *
 * Membership rules:
 * - A join by an id that is present with the same incarnation and the same record is a no-op (`join: 'unchanged'`,
 *   so a retried join is harmless); with the same incarnation but other settings it is refused (use nodeUpdate);
 *   with another incarnation it is refused: a different process claims a live member's id, and only the runtime
 *   can tell whether the old one is dead (it then proposes nodeLeave first, and the join becomes a rejoin).
 * - A join by an id in the departed records is a rejoin: nodeRejoin (with the time offline and the partitions held
 *   before leaving) instead of nodeJoin, and the record is forgotten.
 * - No two members may share an address (HTTP or Raft); one node may use the same one for both.
 * - Every membership change, and any change of a node's zone or weight, recomputes placement with
 *   `computePlacement({members, previous})` in the same command, so partitions have min(RF, N) owners from the
 *   first node on and the table never names a non-member.
 *
 * Because placement runs inside apply, `computePlacement` is part of the replicated protocol: every node must run
 * the same placement code, or replicas diverge. A change to its results needs a new command format version (or a
 * new `placement` strategy name) adopted only once every node has been upgraded.
 */
import { computePlacement, type Member, type PartitionTable } from '../../partitioning/index.js';
import type {
  BootstrapCommand,
  CasCustomDataCommand,
  ClusterCommand,
  DeleteCustomDataCommand,
  NodeJoinCommand,
  NodeLeaveCommand,
  NodeUpdateCommand,
  RebalanceCommand,
  SetCustomDataCommand,
} from './commands.js';
import { ANY_REVISION } from './commands.js';
import {
  type ChangeReason,
  type ClusterEvent,
  deriveRebalanceEvents,
  partitionsOf,
  type RebalanceTrigger,
} from './events.js';
import { Refusal } from './results.js';
import type { ClusterState, StateChange, StoredEntry } from './state.js';
import {
  type ClusterConfig,
  type DepartedRecord,
  MAX_CUSTOM_DATA_BYTES,
  MAX_CUSTOM_KEYS,
  MAX_NODES,
  type NodeRecord,
  type NodeSpec,
} from './types.js';
import { freezeRecord, recordFromSpec, sameServices } from './validate.js';

export interface Plan {
  /** null: accepted, nothing to change. */
  readonly change: StateChange | null;
  readonly events: readonly ClusterEvent[];
  readonly join?: 'new' | 'rejoin' | 'unchanged';
  readonly keyRevision?: number;
  readonly existed?: boolean;
}

const NOTHING: Plan = Object.freeze({ change: null, events: Object.freeze([]) });

export function planCommand(state: ClusterState, cmd: ClusterCommand, index: number): Plan {
  switch (cmd.type) {
    case 'bootstrap':
      return planBootstrap(state, cmd, index);
    case 'nodeJoin':
      return planJoin(state, cmd, index);
    case 'nodeLeave':
      return planLeave(state, cmd, index);
    case 'nodeUpdate':
      return planUpdate(state, cmd, index);
    case 'rebalance':
      return planRebalance(state, cmd, index);
    case 'setCustomData':
      return planSet(state, cmd, index);
    case 'deleteCustomData':
      return planDelete(state, cmd, index);
    case 'casCustomData':
      return planCas(state, cmd, index);
  }
}

function requireBootstrapped(state: ClusterState): { config: ClusterConfig; table: PartitionTable } {
  const { config, table } = state;
  if (config === undefined || table === undefined) {
    throw new Refusal('ERR_UNAVAILABLE', 'the cluster is not bootstrapped yet');
  }
  return { config, table };
}

function place(
  config: ClusterConfig,
  nodes: ReadonlyMap<string, NodeRecord>,
  previous: PartitionTable | undefined,
): PartitionTable {
  const members: Member[] = [];
  for (const n of nodes.values()) {
    members.push(n.zone === undefined ? { id: n.id, weight: n.weight } : { id: n.id, zone: n.zone, weight: n.weight });
  }
  return computePlacement({
    members,
    previous,
    partitionCount: config.partitionCount,
    replicationFactor: config.replicationFactor,
    strategy: config.placement,
  });
}

/** Refuses when another member already uses one of `addrs`. */
function checkAddresses(nodes: ReadonlyMap<string, NodeRecord>, self: string, addrs: readonly string[]): void {
  for (const n of nodes.values()) {
    if (n.id === self) continue;
    for (const a of addrs) {
      if (a === n.httpAddr || a === n.raftAddr) {
        throw new Refusal('ERR_CONFLICT', `address ${a} is already used by node ${JSON.stringify(n.id)}`);
      }
    }
  }
}

function checkIncarnation(node: NodeRecord, incarnation: string | undefined): void {
  if (incarnation !== undefined && incarnation !== node.incarnation) {
    throw new Refusal(
      'ERR_CONFLICT',
      `node ${JSON.stringify(node.id)} has incarnation ${JSON.stringify(node.incarnation)}, not ${JSON.stringify(incarnation)}`,
    );
  }
}

function rebalance(
  before: PartitionTable | undefined,
  after: PartitionTable,
  nodes: ReadonlyMap<string, NodeRecord>,
  cause: {
    trigger: RebalanceTrigger;
    reason: string;
    changeReason: ChangeReason;
    triggerNodeId: string | null;
    index: number;
    cmd: { at: number; triggeredAt?: number | undefined };
  },
): readonly ClusterEvent[] {
  if (after === before) return [];
  return deriveRebalanceEvents(before, after, nodes, {
    trigger: cause.trigger,
    reason: cause.reason,
    changeReason: cause.changeReason,
    triggerNodeId: cause.triggerNodeId,
    index: cause.index,
    at: cause.cmd.at,
    triggeredAt: cause.cmd.triggeredAt,
  }).events;
}

function planBootstrap(state: ClusterState, cmd: BootstrapCommand, index: number): Plan {
  if (state.bootstrapped) {
    throw new Refusal('ERR_CONFLICT', `the cluster is already bootstrapped (cluster ${state.clusterId ?? ''})`);
  }
  const config: ClusterConfig = Object.freeze({ ...cmd.config, placement: cmd.config.placement ?? 'balanced' });
  const node = recordFromSpec(cmd.node, cmd.at);
  const nodes = new Map([[node.id, node]]);
  const table = place(config, nodes, undefined);
  const events: ClusterEvent[] = [
    Object.freeze({
      type: 'nodeJoin',
      index,
      timestamp: cmd.at,
      node,
      clusterSize: 1,
      isBootstrap: true,
      joinedAt: cmd.at,
    }),
    ...rebalance(undefined, table, nodes, {
      trigger: 'node_join',
      reason: 'bootstrap',
      changeReason: 'node_join',
      triggerNodeId: node.id,
      index,
      cmd,
    }),
  ];
  return { change: { clusterId: cmd.clusterId, config, nodes, table, tableChanged: true }, events, join: 'new' };
}

function sameAsSpec(n: NodeRecord, spec: NodeSpec): boolean {
  return (
    n.name === spec.name &&
    n.httpAddr === spec.httpAddr &&
    n.raftAddr === spec.raftAddr &&
    n.zone === spec.zone &&
    n.weight === (spec.weight ?? 1) &&
    sameServices(n.services, spec.services ?? {})
  );
}

function planJoin(state: ClusterState, cmd: NodeJoinCommand, index: number): Plan {
  const { config, table } = requireBootstrapped(state);
  const mismatch = (what: string, theirs: unknown, ours: unknown): never => {
    throw new Refusal(
      'ERR_MEMBERSHIP',
      `the joining node has ${what} ${JSON.stringify(theirs)}, the cluster has ${JSON.stringify(ours)}`,
    );
  };
  if (cmd.clusterId !== undefined && cmd.clusterId !== state.clusterId) {
    mismatch('cluster id', cmd.clusterId, state.clusterId);
  }
  if (cmd.clusterName !== undefined && cmd.clusterName !== config.clusterName) {
    mismatch('cluster name', cmd.clusterName, config.clusterName);
  }
  if (cmd.partitionCount !== undefined && cmd.partitionCount !== config.partitionCount) {
    mismatch('partition count', cmd.partitionCount, config.partitionCount);
  }
  if (cmd.replicationFactor !== undefined && cmd.replicationFactor !== config.replicationFactor) {
    mismatch('replication factor', cmd.replicationFactor, config.replicationFactor);
  }
  const spec = cmd.node;
  const current = state.nodeMap();
  const present = current.get(spec.id);
  if (present !== undefined) {
    if (present.incarnation !== spec.incarnation) {
      throw new Refusal(
        'ERR_CONFLICT',
        `node ${JSON.stringify(spec.id)} is a member with another incarnation (${JSON.stringify(present.incarnation)}); ` +
          'it must be removed before this one can join',
      );
    }
    if (!sameAsSpec(present, spec)) {
      throw new Refusal(
        'ERR_CONFLICT',
        `node ${JSON.stringify(spec.id)} is a member with other settings; change them with nodeUpdate`,
      );
    }
    return { ...NOTHING, join: 'unchanged' };
  }
  checkAddresses(current, spec.id, [spec.httpAddr, spec.raftAddr]);
  if (current.size >= MAX_NODES) throw new Refusal('ERR_MEMBERSHIP', `the cluster is full (${MAX_NODES} nodes)`);
  const departed = state.departedNode(spec.id);
  const node = recordFromSpec(spec, cmd.at);
  const nodes = new Map(current);
  nodes.set(node.id, node);
  const next = place(config, nodes, table);
  const first: ClusterEvent =
    departed === undefined
      ? Object.freeze({
          type: 'nodeJoin',
          index,
          timestamp: cmd.at,
          node,
          clusterSize: nodes.size,
          isBootstrap: false,
          joinedAt: cmd.at,
        })
      : Object.freeze({
          type: 'nodeRejoin',
          index,
          timestamp: cmd.at,
          node,
          offlineDuration: Math.max(0, cmd.at - departed.lastSeenAt),
          lastSeenAt: departed.lastSeenAt,
          leftAt: departed.leftAt,
          leaveReason: departed.reason,
          partitionsBeforeLeave: departed.partitionsBeforeLeave,
          clusterSize: nodes.size,
          joinedAt: cmd.at,
        });
  const rejoin = departed !== undefined;
  const events = [
    first,
    ...rebalance(table, next, nodes, {
      trigger: rejoin ? 'node_rejoin' : 'node_join',
      reason: rejoin ? 'node_rejoin' : 'node_join',
      changeReason: rejoin ? 'node_rejoin' : 'node_join',
      triggerNodeId: node.id,
      index,
      cmd,
    }),
  ];
  const change: StateChange = {
    nodes,
    table: next,
    tableChanged: next !== table,
    ...(rejoin ? { removeDeparted: node.id } : {}),
  };
  return { change, events, join: rejoin ? 'rejoin' : 'new' };
}

function planLeave(state: ClusterState, cmd: NodeLeaveCommand, index: number): Plan {
  const { config, table } = requireBootstrapped(state);
  const current = state.nodeMap();
  const node = current.get(cmd.nodeId);
  if (node === undefined) {
    const gone = state.departedNode(cmd.nodeId) !== undefined ? ' (it already left)' : '';
    throw new Refusal('ERR_NOT_FOUND', `node ${JSON.stringify(cmd.nodeId)} is not a member${gone}`);
  }
  checkIncarnation(node, cmd.incarnation);
  const held = partitionsOf(table, node.id);
  const lastSeenAt = Math.min(cmd.lastSeenAt ?? cmd.at, cmd.at);
  const record: DepartedRecord = Object.freeze({
    id: node.id,
    node,
    reason: cmd.reason,
    leftAt: cmd.at,
    lastSeenAt,
    partitionsBeforeLeave: held.all,
  });
  const nodes = new Map(current);
  nodes.delete(node.id);
  const next = place(config, nodes, table);
  const events: ClusterEvent[] = [
    Object.freeze({
      type: 'nodeLeave',
      index,
      timestamp: cmd.at,
      node,
      reason: cmd.reason,
      partitionsOwned: held.owned,
      partitionsReplica: held.replica,
      leftAt: cmd.at,
      lastSeenAt,
      clusterSize: nodes.size,
    }),
    ...rebalance(table, next, nodes, {
      trigger: 'node_leave',
      reason: cmd.reason,
      changeReason: 'node_leave',
      triggerNodeId: node.id,
      index,
      cmd,
    }),
  ];
  return { change: { nodes, table: next, tableChanged: next !== table, addDeparted: record }, events };
}

function planUpdate(state: ClusterState, cmd: NodeUpdateCommand, index: number): Plan {
  const { config, table } = requireBootstrapped(state);
  const current = state.nodeMap();
  const node = current.get(cmd.nodeId);
  if (node === undefined) throw new Refusal('ERR_NOT_FOUND', `node ${JSON.stringify(cmd.nodeId)} is not a member`);
  checkIncarnation(node, cmd.incarnation);
  const c = cmd.changes;
  const name = c.name ?? node.name;
  const httpAddr = c.httpAddr ?? node.httpAddr;
  const raftAddr = c.raftAddr ?? node.raftAddr;
  const zone = c.zone === undefined ? node.zone : (c.zone ?? undefined);
  const weight = c.weight ?? node.weight;
  const services = c.services ?? node.services;
  const changedFields: string[] = [];
  if (name !== node.name) changedFields.push('name');
  if (httpAddr !== node.httpAddr) changedFields.push('httpAddr');
  if (raftAddr !== node.raftAddr) changedFields.push('raftAddr');
  if (zone !== node.zone) changedFields.push('zone');
  if (weight !== node.weight) changedFields.push('weight');
  if (!sameServices(services, node.services)) changedFields.push('services');
  if (changedFields.length === 0) return NOTHING;
  checkAddresses(current, node.id, [httpAddr, raftAddr]);
  const updated = freezeRecord({ ...node, name, httpAddr, raftAddr, zone, weight, services, updatedAt: cmd.at });
  const nodes = new Map(current);
  nodes.set(node.id, updated); // an existing key keeps its position: join order is preserved
  const placementInputs = changedFields.includes('zone') || changedFields.includes('weight');
  const next = placementInputs ? place(config, nodes, table) : table;
  const events: ClusterEvent[] = [
    Object.freeze({
      type: 'nodeUpdate',
      index,
      timestamp: cmd.at,
      node: updated,
      previous: node,
      changedFields: Object.freeze(changedFields),
    }),
    ...rebalance(table, next, nodes, {
      trigger: 'node_update',
      reason: 'node_update',
      changeReason: 'rebalance',
      triggerNodeId: node.id,
      index,
      cmd,
    }),
  ];
  return { change: { nodes, table: next, tableChanged: next !== table }, events };
}

function planRebalance(state: ClusterState, cmd: RebalanceCommand, index: number): Plan {
  const { config, table } = requireBootstrapped(state);
  const nodes = state.nodeMap();
  const next = place(config, nodes, table);
  if (next === table) return NOTHING;
  const events = rebalance(table, next, nodes, {
    trigger: 'manual',
    reason: cmd.reason,
    changeReason: 'rebalance',
    triggerNodeId: cmd.requestedBy ?? null,
    index,
    cmd,
  });
  return { change: { table: next, tableChanged: true }, events };
}

function writeEntry(state: ClusterState, key: string, value: Uint8Array, at: number, index: number): Plan {
  const old = state.storedEntry(key);
  const size = Buffer.byteLength(key, 'utf8') + value.length;
  if (old === undefined && state.customDataCount >= MAX_CUSTOM_KEYS) {
    throw new Refusal('ERR_INVALID_ARGUMENT', `custom data already holds the maximum of ${MAX_CUSTOM_KEYS} keys`);
  }
  const total = state.customDataBytes - (old?.size ?? 0) + size;
  if (total > MAX_CUSTOM_DATA_BYTES) {
    throw new Refusal(
      'ERR_INVALID_ARGUMENT',
      `custom data would hold ${total} bytes, more than the limit of ${MAX_CUSTOM_DATA_BYTES}`,
    );
  }
  const revision = state.revision + 1;
  const entry: StoredEntry = Object.freeze({ value, revision, updatedAt: at, size });
  return {
    change: { customData: { key, entry } },
    events: [
      Object.freeze({
        type: 'customDataChange',
        index,
        timestamp: at,
        key,
        revision,
        deleted: false,
        size: value.length,
      }),
    ],
    keyRevision: revision,
    existed: old !== undefined,
  };
}

function deleteEntry(state: ClusterState, key: string, at: number, index: number): Plan {
  if (state.storedEntry(key) === undefined) return { ...NOTHING, keyRevision: 0, existed: false };
  const revision = state.revision + 1;
  return {
    change: { customData: { key, entry: null } },
    events: [Object.freeze({ type: 'customDataChange', index, timestamp: at, key, revision, deleted: true, size: 0 })],
    keyRevision: 0,
    existed: true,
  };
}

function planSet(state: ClusterState, cmd: SetCustomDataCommand, index: number): Plan {
  requireBootstrapped(state);
  return writeEntry(state, cmd.key, cmd.value, cmd.at, index);
}

function planDelete(state: ClusterState, cmd: DeleteCustomDataCommand, index: number): Plan {
  requireBootstrapped(state);
  return deleteEntry(state, cmd.key, cmd.at, index);
}

function planCas(state: ClusterState, cmd: CasCustomDataCommand, index: number): Plan {
  requireBootstrapped(state);
  const current = state.customDataRevision(cmd.key);
  const holds = cmd.expectedRevision === ANY_REVISION ? current > 0 : current === cmd.expectedRevision;
  if (!holds) {
    throw new Refusal(
      'ERR_CONFLICT',
      cmd.expectedRevision === ANY_REVISION
        ? `key ${JSON.stringify(cmd.key)} does not exist`
        : `key ${JSON.stringify(cmd.key)} is at revision ${current}, not ${cmd.expectedRevision}`,
      current,
    );
  }
  return cmd.value === null
    ? deleteEntry(state, cmd.key, cmd.at, index)
    : writeEntry(state, cmd.key, cmd.value, cmd.at, index);
}
