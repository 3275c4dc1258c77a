/**
 * What `apply` returns: the outcome of one committed command, for the proposer (through `Raft.propose`) and for
 * the runtime (which dispatches the events to hooks).
 */
import { ClusterKitError, type ErrorCode } from '../../errors.js';
import type { CommandType } from './commands.js';
import type { ClusterEvent } from './events.js';

/** The command was applied (possibly changing nothing). */
export interface ApplyOk {
  readonly ok: true;
  readonly type: CommandType;
  readonly index: number;
  /**
   * False when the command was accepted but had nothing to do: a join repeating a present node's exact record,
   * deleting an absent key, a rebalance that moves nothing, an update to the same values. Such a command leaves
   * the state (and its snapshot) untouched and emits no events.
   */
  readonly changed: boolean;
  /** The state revision after the command. */
  readonly revision: number;
  /** The partition table version after the command. */
  readonly tableVersion: number;
  /** The events of this transition, in order (see events.ts). Empty when nothing changed. */
  readonly events: readonly ClusterEvent[];
  /** bootstrap / nodeJoin: a brand-new member, a departed node's return, or a repeat of a present member's join. */
  readonly join?: 'new' | 'rejoin' | 'unchanged';
  /** Custom data commands: the key's revision after the command (0 when the key is absent after it). */
  readonly keyRevision?: number;
  /** Custom data commands: whether the key existed before the command. */
  readonly existed?: boolean;
}

/** The command was refused: the state is exactly as before and no event was emitted. */
export interface ApplyRefused {
  readonly ok: false;
  /** The command type, when the command could be decoded that far. */
  readonly type: CommandType | null;
  readonly index: number;
  /**
   * ERR_PROTOCOL: undecodable bytes, unknown version or type. ERR_INVALID_ARGUMENT: a field is missing or invalid,
   * or a custom data limit would be exceeded. ERR_UNAVAILABLE: the cluster is not bootstrapped yet. ERR_CONFLICT:
   * bootstrap of a bootstrapped cluster, an id claimed by another incarnation, an address in use by another node,
   * an incarnation mismatch, a failed compare-and-set. ERR_MEMBERSHIP: a joiner's settings differ from the
   * cluster's, or the cluster is full. ERR_NOT_FOUND: no such node. ERR_INTERNAL: a bug (an index applied twice,
   * an unexpected exception); the state is unchanged.
   */
  readonly code: ErrorCode;
  readonly message: string;
  readonly retriable: boolean;
  /** casCustomData: the key's actual revision (0 when absent). */
  readonly currentRevision?: number;
}

export type ApplyResult = ApplyOk | ApplyRefused;

/** The error a refused command means, for the API call that proposed it. */
export function refusalToError(result: ApplyRefused): ClusterKitError {
  return new ClusterKitError(result.code, result.message, { retriable: result.retriable });
}

/** A refusal raised while planning a command; becomes an ApplyRefused. */
export class Refusal extends ClusterKitError {
  readonly currentRevision: number | undefined;

  constructor(code: ErrorCode, message: string, currentRevision?: number) {
    super(code, message, { retriable: code === 'ERR_UNAVAILABLE' });
    this.name = 'Refusal';
    this.currentRevision = currentRevision;
  }
}
