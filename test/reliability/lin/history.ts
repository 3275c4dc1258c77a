/**
 * What a linearizability check reads: a history of operations on a map of registers (ClusterKit's custom data),
 * each with the client that issued it, when it was invoked and when it returned (monotonic ms, one timeline for
 * every client), and what it returned. `HistoryRecorder` is what clients use to write one.
 *
 * The four operations mirror the custom data API (src/cluster/clusterkit.ts, src/http/handlers/custom-data.ts):
 * get, set, delete, and compare-and-set on the key's revision (expectedRevision 0: the key must be absent; a null
 * value deletes). Revisions are optional everywhere: a workload that does not track them is still checked on values.
 *
 * Results, and what the checker assumes about each:
 * - `ok`         it took effect exactly once, between its invocation and its return, with these outputs;
 * - `not-found`  a get that found no value;
 * - `conflict`   a compare-and-set that was refused because the revision differed (it changed nothing);
 * - `failed`     it certainly had no effect (refused before it was proposed: bad input, a 4xx); ignored;
 * - `unknown`    it may or may not have taken effect, at any time after its invocation (a timeout, a lost
 *                connection, the node going down). When in doubt, record `unknown`: it is always sound.
 */
import { InvalidArgumentError } from '../../../src/errors.js';
import { type Clock, systemClock } from '../../../src/util/io.js';

export type KvInput =
  | { readonly f: 'get' }
  | { readonly f: 'set'; readonly value: string }
  | { readonly f: 'delete' }
  /** Writes `value` (or deletes, with null) only if the key's revision is `expectedRevision` (0: absent). */
  | { readonly f: 'cas'; readonly expectedRevision: number; readonly value: string | null };

export type KvResult =
  /**
   * get: `value` (and its `revision`, when known). set / cas: the new `revision` when known (0 after a cas that
   * deleted). set / delete: `existed`, when known (HTTP PUT says `created`, which is `!existed`).
   */
  | { readonly status: 'ok'; readonly value?: string; readonly revision?: number; readonly existed?: boolean }
  | { readonly status: 'not-found' }
  | { readonly status: 'conflict'; readonly currentRevision?: number }
  | { readonly status: 'failed'; readonly error?: string }
  | { readonly status: 'unknown'; readonly error?: string };

export interface Op {
  /** Unique within a history; the recorder numbers calls in invocation order. */
  readonly id: number;
  readonly client: string;
  readonly key: string;
  readonly input: KvInput;
  /** Invocation time, monotonic ms. */
  readonly start: number;
  /** Return time, monotonic ms; undefined when the call never returned (treated as `unknown`). */
  readonly end: number | undefined;
  readonly result: KvResult;
}

/** Throws InvalidArgumentError on an op the checker cannot interpret (a bug in the workload, not in the system). */
export function validateOp(op: Op): void {
  const where = `op #${op.id} (${op.client}, key ${JSON.stringify(op.key)})`;
  if (!Number.isFinite(op.start)) throw new InvalidArgumentError(`${where}: start must be a finite number`);
  if (op.end !== undefined && !(op.end >= op.start)) {
    throw new InvalidArgumentError(`${where}: end ${op.end} is before start ${op.start}`);
  }
  const r = op.result;
  if (op.end === undefined && r.status !== 'unknown') {
    throw new InvalidArgumentError(`${where}: an op that never returned must have the result unknown`);
  }
  switch (op.input.f) {
    case 'get':
      if (r.status === 'ok' && r.value === undefined) throw new InvalidArgumentError(`${where}: a get ok needs value`);
      if (r.status === 'conflict') throw new InvalidArgumentError(`${where}: a get cannot conflict`);
      break;
    case 'cas':
      if (!Number.isSafeInteger(op.input.expectedRevision) || op.input.expectedRevision < 0) {
        throw new InvalidArgumentError(`${where}: expectedRevision must be a non-negative integer`);
      }
      if (r.status === 'not-found') throw new InvalidArgumentError(`${where}: a cas answers conflict, not not-found`);
      break;
    default:
      if (r.status === 'not-found' || r.status === 'conflict') {
        throw new InvalidArgumentError(`${where}: a ${op.input.f} cannot answer ${r.status}`);
      }
  }
}

/** A call in flight: complete it exactly once with what it returned. */
export interface PendingCall {
  readonly id: number;
  complete(result: KvResult): void;
}

export interface HistoryRecorderOptions {
  /**
   * Time source, monotonic ms. Every client of one history must share a timeline: in one process the default
   * (performance.now) does; across processes use `performance.timeOrigin + performance.now()` in each.
   */
  readonly clock?: Clock;
}

interface Slot {
  readonly op: Omit<Op, 'end' | 'result'>;
  end: number | undefined;
  result: KvResult;
}

/**
 * Records calls as clients make them. Either `invoke()` before the call and `complete()` after it, or wrap the call
 * in `record()`. Calls still in flight when `history()` is read appear as never returned (unknown).
 */
export class HistoryRecorder {
  readonly #clock: Clock;
  readonly #slots: Slot[] = [];

  constructor(options: HistoryRecorderOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  invoke(client: string, key: string, input: KvInput): PendingCall {
    const id = this.#slots.length;
    const slot: Slot = {
      op: { id, client, key, input, start: this.#clock.now() },
      end: undefined,
      result: { status: 'unknown', error: 'never returned' },
    };
    this.#slots.push(slot);
    let done = false;
    return {
      id,
      complete: (result) => {
        if (done) throw new InvalidArgumentError(`call #${id} was completed twice`);
        done = true;
        slot.end = this.#clock.now();
        slot.result = result;
      },
    };
  }

  /**
   * Runs `call` as one operation: its value or error is turned into a result by `classify`; a `classify` that
   * throws, or none given for an error, records `unknown` (sound whatever happened). Rethrows the call's error.
   */
  async record<T>(
    client: string,
    key: string,
    input: KvInput,
    call: () => Promise<T>,
    classify: (outcome: { readonly value: T } | { readonly error: unknown }) => KvResult,
  ): Promise<T> {
    const pending = this.invoke(client, key, input);
    let value: T;
    try {
      value = await call();
    } catch (error) {
      pending.complete(safeClassify(() => classify({ error }), error));
      throw error;
    }
    pending.complete(safeClassify(() => classify({ value }), undefined));
    return value;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** A snapshot of every call so far, in invocation order. */
  history(): Op[] {
    return this.#slots.map((s) => ({ ...s.op, end: s.end, result: s.result }));
  }
}

function safeClassify(fn: () => KvResult, error: unknown): KvResult {
  try {
    return fn();
  } catch (err) {
    return { status: 'unknown', error: `could not classify (${String(err)}); original: ${String(error)}` };
  }
}

/**
 * A conservative reading of an error from the ClusterKit API: ERR_INVALID_ARGUMENT certainly changed nothing
 * (`failed`), ERR_CONFLICT on a compare-and-set is a refusal (`conflict`); anything else (timeouts, a lost leader,
 * a node going down) may or may not have taken effect (`unknown`).
 */
export function resultFromError(input: KvInput, error: unknown): KvResult {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_INVALID_ARGUMENT') return { status: 'failed', error: message };
  if (code === 'ERR_CONFLICT' && input.f === 'cas') return { status: 'conflict' };
  return { status: 'unknown', error: message };
}
