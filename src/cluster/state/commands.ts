/**
 * The commands of the replicated cluster state machine, and their wire format.
 *
 * Wire format (version 1): one UTF-8 JSON object per Raft entry, `{"v": 1, "type": "<command>", "at": <ms>, …}`,
 * custom data values in standard padded base64. Decoding is strict: an unknown version or type, an unknown field,
 * a missing or mistyped field, or a value out of range is refused. Strictness is what keeps apply deterministic
 * across versions: a node never silently ignores a field another node would act on.
 *
 * Every command carries `at`, the proposer's wall-clock time in ms since the epoch (`Date.now()`, not the monotonic
 * Clock of util/io.ts), so that apply never reads a clock. Commands that may change the partition table may also
 * carry `triggeredAt` (≤ at): when the proposer first observed what led to the command (the join request arriving,
 * the first failed health check, the admin call). It only feeds the rebalance events' timing.
 */
import { ClusterKitError, type ErrorCode, InvalidArgumentError } from '../../errors.js';
import { MAX_PARTITION_COUNT, MAX_REPLICATION_FACTOR } from '../../partitioning/index.js';
import { describe } from '../../util/assert.js';
import {
  type ClusterConfig,
  COMMAND_FORMAT_VERSION,
  LEAVE_REASONS,
  type LeaveReason,
  MAX_COMMAND_BYTES,
  MAX_CUSTOM_KEY_LENGTH,
  MAX_CUSTOM_VALUE_BYTES,
  MAX_VOTERS_LIMIT,
  type NodeSpec,
  type PlacementStrategy,
} from './types.js';
import {
  expectAddr,
  expectBase64,
  expectIncarnation,
  expectInteger,
  expectNodeSpec,
  expectObject,
  expectOneOf,
  expectOnlyKeys,
  expectServices,
  expectString,
  expectTime,
  expectWeight,
  fail,
  type Json,
  toBase64,
} from './validate.js';

interface CommandBase {
  /** The proposer's wall-clock time, ms since the epoch. */
  readonly at: number;
}

interface TriggeredCommand extends CommandBase {
  /** When the proposer first observed the cause of this command (≤ at). Default: `at`. */
  readonly triggeredAt?: number | undefined;
}

/** The settings a bootstrap fixes; `placement` defaults to 'balanced'. */

/** casCustomData's expectedRevision meaning "the key exists" (HTTP `If-Match: *`), decided when the command applies. */
export const ANY_REVISION = -1;
export interface ClusterConfigInput {
  readonly clusterName: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly maxVoters: number;
  readonly placement?: PlacementStrategy | undefined;
}

/** Creates the cluster: its configuration and first node. Refused once the cluster exists. */
export interface BootstrapCommand extends TriggeredCommand {
  readonly type: 'bootstrap';
  /** A unique id for this cluster (e.g. a random UUID), so nodes can tell two clusters of the same name apart. */
  readonly clusterId: string;
  readonly config: ClusterConfigInput;
  readonly node: NodeSpec;
}

/**
 * Admits a node: a new one, or a departed one coming back (a rejoin). The optional expectations are the joiner's own
 * settings: the join is refused (ERR_MEMBERSHIP) when one differs from the cluster's.
 */
export interface NodeJoinCommand extends TriggeredCommand {
  readonly type: 'nodeJoin';
  readonly node: NodeSpec;
  readonly clusterId?: string | undefined;
  readonly clusterName?: string | undefined;
  readonly partitionCount?: number | undefined;
  readonly replicationFactor?: number | undefined;
}

/** Removes a present node. */
export interface NodeLeaveCommand extends TriggeredCommand {
  readonly type: 'nodeLeave';
  readonly nodeId: string;
  readonly reason: LeaveReason;
  /** When set, the leave is refused (ERR_CONFLICT) unless the node still has this incarnation. */
  readonly incarnation?: string | undefined;
  /** When the node was last known alive (≤ at; default `at`). Becomes the rejoin event's `lastSeenAt`. */
  readonly lastSeenAt?: number | undefined;
}

/** Fields of a node record that an update may change; `zone: null` removes the zone. */
export interface NodeChanges {
  readonly name?: string | undefined;
  readonly httpAddr?: string | undefined;
  readonly raftAddr?: string | undefined;
  readonly zone?: string | null | undefined;
  readonly weight?: number | undefined;
  readonly services?: Readonly<Record<string, string>> | undefined;
}

/** Changes a present node's addresses, services, name, zone or weight (the last two recompute placement). */
export interface NodeUpdateCommand extends TriggeredCommand {
  readonly type: 'nodeUpdate';
  readonly nodeId: string;
  /** When set, the update is refused (ERR_CONFLICT) unless the node still has this incarnation. */
  readonly incarnation?: string | undefined;
  readonly changes: NodeChanges;
}

/** Recomputes placement for the current members (a manual rebalance). */
export interface RebalanceCommand extends TriggeredCommand {
  readonly type: 'rebalance';
  /** Free text, shown in the rebalance events. */
  readonly reason: string;
  /** The node that asked for it, when known (the events' `triggerNodeId`). */
  readonly requestedBy?: string | undefined;
}

export interface SetCustomDataCommand extends CommandBase {
  readonly type: 'setCustomData';
  readonly key: string;
  readonly value: Uint8Array;
}

/** Deleting an absent key succeeds and changes nothing (as the Go original). */
export interface DeleteCustomDataCommand extends CommandBase {
  readonly type: 'deleteCustomData';
  readonly key: string;
}

/**
 * Compare-and-set on the key's revision: applies only when the key's current revision is `expectedRevision`
 * (0 = the key must be absent; ANY_REVISION = it must exist, whatever its revision). `value: null` deletes.
 */
export interface CasCustomDataCommand extends CommandBase {
  readonly type: 'casCustomData';
  readonly key: string;
  readonly expectedRevision: number;
  readonly value: Uint8Array | null;
}

export type ClusterCommand =
  | BootstrapCommand
  | NodeJoinCommand
  | NodeLeaveCommand
  | NodeUpdateCommand
  | RebalanceCommand
  | SetCustomDataCommand
  | DeleteCustomDataCommand
  | CasCustomDataCommand;

export type CommandType = ClusterCommand['type'];

export const COMMAND_TYPES: readonly CommandType[] = Object.freeze([
  'bootstrap',
  'nodeJoin',
  'nodeLeave',
  'nodeUpdate',
  'rebalance',
  'setCustomData',
  'deleteCustomData',
  'casCustomData',
]);

/** A command that could not be decoded: why, as an error code and message. */
export interface DecodeFailure {
  readonly ok: false;
  /** ERR_PROTOCOL for bytes that are not a version-1 command of a known type; ERR_INVALID_ARGUMENT for bad fields. */
  readonly code: ErrorCode;
  readonly message: string;
  /** The command type, when it was recognised. */
  readonly type: CommandType | null;
}

export type DecodeResult = { readonly ok: true; readonly command: ClusterCommand } | DecodeFailure;

const PLACEMENTS: readonly PlacementStrategy[] = ['balanced', 'rendezvous'];
const TRIGGERED = ['v', 'type', 'at', 'triggeredAt'];
const PLAIN = ['v', 'type', 'at'];

function expectKey(value: unknown, where: string): string {
  // Keys may hold any characters the Go original allowed except none at all; control characters are allowed too
  // (they are data), so only the length is checked.
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CUSTOM_KEY_LENGTH) {
    fail(`${where} must be a string of 1 to ${MAX_CUSTOM_KEY_LENGTH} characters, got ${describe(value)}`);
  }
  return value;
}

function triggeredAt(o: Json, at: number): { triggeredAt?: number } {
  if (o['triggeredAt'] === undefined) return {};
  const t = expectTime(o['triggeredAt'], 'triggeredAt');
  if (t > at) fail(`triggeredAt (${t}) must not be later than at (${at})`);
  return { triggeredAt: t };
}

/** Validates a cluster configuration (placement filled in). */
export function parseConfig(value: unknown, where: string): ClusterConfig {
  const c = expectObject(value, where);
  expectOnlyKeys(c, ['clusterName', 'partitionCount', 'replicationFactor', 'maxVoters', 'placement'], where);
  return Object.freeze({
    clusterName: expectString(c['clusterName'], `${where}.clusterName`),
    partitionCount: expectInteger(c['partitionCount'], `${where}.partitionCount`, 1, MAX_PARTITION_COUNT),
    replicationFactor: expectInteger(c['replicationFactor'], `${where}.replicationFactor`, 1, MAX_REPLICATION_FACTOR),
    maxVoters: expectInteger(c['maxVoters'], `${where}.maxVoters`, 1, MAX_VOTERS_LIMIT),
    placement:
      c['placement'] === undefined ? 'balanced' : expectOneOf(c['placement'], PLACEMENTS, `${where}.placement`),
  });
}

function parseChanges(value: unknown): NodeChanges {
  const c = expectObject(value, 'changes');
  expectOnlyKeys(c, ['name', 'httpAddr', 'raftAddr', 'zone', 'weight', 'services'], 'changes');
  const out: { -readonly [K in keyof NodeChanges]: NodeChanges[K] } = {};
  if (c['name'] !== undefined) out.name = expectString(c['name'], 'changes.name');
  if (c['httpAddr'] !== undefined) out.httpAddr = expectAddr(c['httpAddr'], 'changes.httpAddr');
  if (c['raftAddr'] !== undefined) out.raftAddr = expectAddr(c['raftAddr'], 'changes.raftAddr');
  if (c['zone'] !== undefined) out.zone = c['zone'] === null ? null : expectString(c['zone'], 'changes.zone');
  if (c['weight'] !== undefined) out.weight = expectWeight(c['weight'], 'changes.weight');
  if (c['services'] !== undefined) out.services = expectServices(c['services'], 'changes.services');
  if (Object.keys(out).length === 0) fail('changes must change at least one field');
  return out;
}

/** Validates a wire-format object (already JSON-parsed) and returns the command. Throws ClusterKitError. */
export function parseCommand(value: unknown): ClusterCommand {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClusterKitError('ERR_PROTOCOL', `a command must be a JSON object, got ${describe(value)}`);
  }
  const o = value as Json;
  if (o['v'] !== COMMAND_FORMAT_VERSION) {
    throw new ClusterKitError('ERR_PROTOCOL', `unsupported command version ${describe(o['v'])}`);
  }
  const type = o['type'];
  if (typeof type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(type)) {
    throw new ClusterKitError('ERR_PROTOCOL', `unknown command type ${describe(type)}`);
  }
  const at = expectTime(o['at'], 'at');
  switch (type as CommandType) {
    case 'bootstrap':
      expectOnlyKeys(o, [...TRIGGERED, 'clusterId', 'config', 'node'], type);
      return {
        type: 'bootstrap',
        at,
        ...triggeredAt(o, at),
        clusterId: expectString(o['clusterId'], 'clusterId'),
        config: parseConfig(o['config'], 'config'),
        node: expectNodeSpec(o['node'], 'node'),
      };
    case 'nodeJoin': {
      expectOnlyKeys(
        o,
        [...TRIGGERED, 'node', 'clusterId', 'clusterName', 'partitionCount', 'replicationFactor'],
        type,
      );
      const cmd: { -readonly [K in keyof NodeJoinCommand]: NodeJoinCommand[K] } = {
        type: 'nodeJoin',
        at,
        ...triggeredAt(o, at),
        node: expectNodeSpec(o['node'], 'node'),
      };
      if (o['clusterId'] !== undefined) cmd.clusterId = expectString(o['clusterId'], 'clusterId');
      if (o['clusterName'] !== undefined) cmd.clusterName = expectString(o['clusterName'], 'clusterName');
      if (o['partitionCount'] !== undefined) {
        cmd.partitionCount = expectInteger(o['partitionCount'], 'partitionCount', 1, MAX_PARTITION_COUNT);
      }
      if (o['replicationFactor'] !== undefined) {
        cmd.replicationFactor = expectInteger(o['replicationFactor'], 'replicationFactor', 1, MAX_REPLICATION_FACTOR);
      }
      return cmd;
    }
    case 'nodeLeave': {
      expectOnlyKeys(o, [...TRIGGERED, 'nodeId', 'reason', 'incarnation', 'lastSeenAt'], type);
      const cmd: { -readonly [K in keyof NodeLeaveCommand]: NodeLeaveCommand[K] } = {
        type: 'nodeLeave',
        at,
        ...triggeredAt(o, at),
        nodeId: expectString(o['nodeId'], 'nodeId'),
        reason: expectOneOf(o['reason'], LEAVE_REASONS, 'reason'),
      };
      if (o['incarnation'] !== undefined) cmd.incarnation = expectIncarnation(o['incarnation'], 'incarnation');
      if (o['lastSeenAt'] !== undefined) {
        cmd.lastSeenAt = expectTime(o['lastSeenAt'], 'lastSeenAt');
        if (cmd.lastSeenAt > at) fail(`lastSeenAt (${cmd.lastSeenAt}) must not be later than at (${at})`);
      }
      return cmd;
    }
    case 'nodeUpdate': {
      expectOnlyKeys(o, [...TRIGGERED, 'nodeId', 'incarnation', 'changes'], type);
      const cmd: { -readonly [K in keyof NodeUpdateCommand]: NodeUpdateCommand[K] } = {
        type: 'nodeUpdate',
        at,
        ...triggeredAt(o, at),
        nodeId: expectString(o['nodeId'], 'nodeId'),
        changes: parseChanges(o['changes']),
      };
      if (o['incarnation'] !== undefined) cmd.incarnation = expectIncarnation(o['incarnation'], 'incarnation');
      return cmd;
    }
    case 'rebalance': {
      expectOnlyKeys(o, [...TRIGGERED, 'reason', 'requestedBy'], type);
      const cmd: { -readonly [K in keyof RebalanceCommand]: RebalanceCommand[K] } = {
        type: 'rebalance',
        at,
        ...triggeredAt(o, at),
        reason: expectString(o['reason'], 'reason'),
      };
      if (o['requestedBy'] !== undefined) cmd.requestedBy = expectString(o['requestedBy'], 'requestedBy');
      return cmd;
    }
    case 'setCustomData':
      expectOnlyKeys(o, [...PLAIN, 'key', 'value'], type);
      return {
        type: 'setCustomData',
        at,
        key: expectKey(o['key'], 'key'),
        value: expectBase64(o['value'], 'value', MAX_CUSTOM_VALUE_BYTES),
      };
    case 'deleteCustomData':
      expectOnlyKeys(o, [...PLAIN, 'key'], type);
      return { type: 'deleteCustomData', at, key: expectKey(o['key'], 'key') };
    case 'casCustomData':
      expectOnlyKeys(o, [...PLAIN, 'key', 'expectedRevision', 'value'], type);
      return {
        type: 'casCustomData',
        at,
        key: expectKey(o['key'], 'key'),
        expectedRevision: expectInteger(
          o['expectedRevision'],
          'expectedRevision',
          ANY_REVISION,
          Number.MAX_SAFE_INTEGER,
        ),
        value: o['value'] === null ? null : expectBase64(o['value'], 'value', MAX_CUSTOM_VALUE_BYTES),
      };
  }
}

/** The wire object of a command (values as base64), before validation. */
function toWire(command: ClusterCommand): Json {
  if (typeof command !== 'object' || command === null) fail(`command must be an object, got ${describe(command)}`);
  const wire: Json = { v: COMMAND_FORMAT_VERSION, ...command };
  if (command.type === 'setCustomData' || command.type === 'casCustomData') {
    const v: unknown = command.value;
    if (v !== null) {
      if (!(v instanceof Uint8Array)) fail(`value must be a Uint8Array, got ${describe(v)}`);
      wire['value'] = toBase64(v);
    }
  }
  return wire;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates a command and encodes it for `Raft.propose`. Throws InvalidArgumentError (or ClusterKitError
 * ERR_PROTOCOL for an unknown type) before anything is proposed, so callers learn about bad input at once.
 * Encoding then decoding gives back an equal command.
 */
export function encodeCommand(command: ClusterCommand): Uint8Array {
  const wire = toWire(command);
  // JSON first, so fields that JSON drops (undefined) are validated as the receivers will see them.
  const json = JSON.stringify(wire);
  parseCommand(JSON.parse(json));
  const bytes = encoder.encode(json);
  if (bytes.length > MAX_COMMAND_BYTES) {
    throw new InvalidArgumentError(`command is ${bytes.length} bytes, more than ${MAX_COMMAND_BYTES}`);
  }
  return bytes;
}

/** Decodes and validates a command. Never throws. */
export function decodeCommand(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) {
    return { ok: false, code: 'ERR_PROTOCOL', message: 'a command must be a Uint8Array', type: null };
  }
  if (bytes.length > MAX_COMMAND_BYTES) {
    return {
      ok: false,
      code: 'ERR_PROTOCOL',
      message: `command is ${bytes.length} bytes, more than ${MAX_COMMAND_BYTES}`,
      type: null,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return { ok: false, code: 'ERR_PROTOCOL', message: 'command is not UTF-8 JSON', type: null };
  }
  try {
    return { ok: true, command: parseCommand(value) };
  } catch (err) {
    const type = (value as { type?: unknown } | null)?.type;
    const known = typeof type === 'string' && (COMMAND_TYPES as readonly string[]).includes(type);
    return {
      ok: false,
      code: err instanceof ClusterKitError ? err.code : 'ERR_INTERNAL',
      message: err instanceof Error ? err.message : String(err),
      type: known ? (type as CommandType) : null,
    };
  }
}
