/**
 * ClusterKit's replicated state machine: the `StateMachine` handed to the Raft engine.
 *
 * `apply` is deterministic and total: its result and the state after it depend only on the state before, the
 * command bytes and the index (no clock, no randomness, no I/O), and it never throws. A command that does not
 * decode, is invalid, or is refused by the rules changes nothing, emits nothing, and returns `{ok: false, code,
 * message}`; the proposer gets that result from `Raft.propose` (see `refusalToError`).
 *
 * Events. Each applied command returns the events of its transition (`result.events`, commit order; see
 * events.ts), and the optional `onEvents` listener receives them too, synchronously, inside apply: the runtime
 * hands them to its HookDispatcher, which runs hooks asynchronously, so user code never runs inside apply.
 *
 * Replays. `restore` emits no events: a node installing a snapshot learns the state, not its history. The engine
 * never applies an index twice within one run, and the machine refuses (ERR_INTERNAL, no change, no events) an
 * index at or below the last one that changed the state, as a second line of defence. After a restart, however,
 * the engine restores the latest snapshot and re-applies the committed entries after it: their events are emitted
 * again, with their original `index` and `timestamp`. The runtime tells them apart by index (for example: events
 * with an index at or below the commit index the node had reached before stopping are history, not news).
 */
import type { StateMachine } from '../../raft/types.js';
import { errorFields, type Logger, silentLogger } from '../../util/logger.js';
import { type CommandType, decodeCommand } from './commands.js';
import type { ClusterEvent } from './events.js';
import type { ApplyRefused, ApplyResult } from './results.js';
import { Refusal } from './results.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { ClusterState, type ClusterStateView } from './state.js';
import { planCommand } from './transitions.js';

export interface ClusterStateMachineOptions {
  /**
   * Receives the events of every applied command that emitted any, in commit order, synchronously inside apply,
   * after the state changed. Must not throw (an exception is logged and otherwise ignored: the command stays
   * applied) and should not block: hand the events to a HookDispatcher.
   */
  readonly onEvents?: (events: readonly ClusterEvent[], index: number) => void;
  /** Where listener exceptions and internal errors are reported. Default: silent. */
  readonly logger?: Logger;
}

export class ClusterStateMachine implements StateMachine<ApplyResult> {
  readonly #state = new ClusterState();
  readonly #onEvents: ((events: readonly ClusterEvent[], index: number) => void) | undefined;
  readonly #logger: Logger;

  constructor(options: ClusterStateMachineOptions = {}) {
    this.#onEvents = options.onEvents;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The current state, read-only. The same object for the machine's lifetime (restore replaces its contents). */
  get state(): ClusterStateView {
    return this.#state;
  }

  apply(command: Uint8Array, index: number): ApplyResult {
    let type: CommandType | null = null;
    const refused = (code: ApplyRefused['code'], message: string, currentRevision?: number): ApplyRefused => {
      const r: ApplyRefused = {
        ok: false,
        type,
        index,
        code,
        message,
        retriable: code === 'ERR_UNAVAILABLE',
        ...(currentRevision === undefined ? {} : { currentRevision }),
      };
      return Object.freeze(r);
    };
    let events: readonly ClusterEvent[];
    let result: ApplyResult;
    try {
      if (!Number.isSafeInteger(index) || index < 1) return refused('ERR_INTERNAL', `invalid log index ${index}`);
      if (index <= this.#state.lastIndex) {
        return refused(
          'ERR_INTERNAL',
          `index ${index} is not after the last applied change (${this.#state.lastIndex})`,
        );
      }
      const decoded = decodeCommand(command);
      if (!decoded.ok) {
        type = decoded.type;
        return refused(decoded.code, decoded.message);
      }
      type = decoded.command.type;
      const plan = planCommand(this.#state, decoded.command, index);
      if (plan.change !== null) this.#state.install(plan.change, index);
      events = Object.freeze(plan.events);
      result = Object.freeze({
        ok: true,
        type,
        index,
        changed: plan.change !== null,
        revision: this.#state.revision,
        tableVersion: this.#state.table?.version ?? 0,
        events,
        ...(plan.join === undefined ? {} : { join: plan.join }),
        ...(plan.keyRevision === undefined ? {} : { keyRevision: plan.keyRevision }),
        ...(plan.existed === undefined ? {} : { existed: plan.existed }),
      });
    } catch (err) {
      if (err instanceof Refusal) return refused(err.code, err.message, err.currentRevision);
      // A bug (planning validated everything it relies on). Planning does not mutate, so the state is intact;
      // every node hits the same bug on the same command, so refusing keeps the replicas identical.
      this.#logger.error({ ...errorFields(err), index, type }, 'cluster state machine: unexpected error in apply');
      const detail = err instanceof Error ? err.message : String(err);
      return refused('ERR_INTERNAL', `unexpected error applying ${type ?? 'a command'}: ${detail}`);
    }
    if (events.length > 0 && this.#onEvents !== undefined) {
      try {
        this.#onEvents(events, index);
      } catch (err) {
        this.#logger.error({ ...errorFields(err), index }, 'cluster state machine: onEvents listener threw');
      }
    }
    return result;
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.#state);
  }

  /**
   * Replaces the whole state with a snapshot's. Emits no events. Throws ClusterKitError ERR_STORAGE_CORRUPT, with
   * the state unchanged, if the data is not a valid snapshot.
   */
  restore(data: Uint8Array): void {
    const parts = decodeSnapshot(data);
    this.#state.replaceAll(parts);
  }
}
