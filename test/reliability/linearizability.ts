/**
 * A linearizability checker for histories of ClusterKit's custom data (in the style of Porcupine and Knossos).
 *
 *   const rec = new HistoryRecorder();
 *   const call = rec.invoke('client-1', 'k', { f: 'set', value: 'v1' });
 *   ... call.complete({ status: 'ok', revision: 12 });
 *   const r = checkLinearizable(rec.history());
 *   if (!r.ok) console.log(r.explanation);
 *
 * Operations on different keys never constrain each other (a map of registers is linearizable when each register
 * is: P-compositionality), so the history is split by key and each key is searched on its own (lin/search.ts).
 * A violation is shrunk to a small window of operations that is non-linearizable by itself (lin/window.ts) and
 * printed with times. The search is bounded: past `maxSteps` the answer is 'inconclusive', never a guess.
 *
 * Histories, results and what they mean: lin/history.ts. The register's specification: lin/model.ts.
 */
import { InvalidArgumentError } from '../../src/errors.js';
import { type Clock, systemClock } from '../../src/util/io.js';
import { explainWindow, formatOp } from './lin/format.js';
import { type Op, validateOp } from './lin/history.js';
import { ABSENT, INITIAL_STATE, type PreparedOp, prepare, ValueTable } from './lin/model.js';
import { type Budget, type SearchOutcome, type StuckAt, searchLinearization } from './lin/search.js';
import { findLocalWindow, shrinkWindow, type Window } from './lin/window.js';

interface KeyHistory {
  readonly key: string;
  readonly ops: PreparedOp[];
  readonly values: ValueTable;
  /** Ops of the key in the history, including those the search leaves out. */
  readonly total: number;
  /** Where the search of the whole key got stuck (a hint for shrinking). */
  readonly stuck: PreparedOp | undefined;
  /** A failing window found on the way, if any. */
  readonly window: Window | undefined;
}

export { formatInput, formatOp, formatResult } from './lin/format.js';
export {
  HistoryRecorder,
  type HistoryRecorderOptions,
  type KvInput,
  type KvResult,
  type Op,
  type PendingCall,
  resultFromError,
} from './lin/history.js';

export interface CheckOptions {
  /** Most model steps for the whole search (a bound on work). Default 20 million (a few seconds). */
  readonly maxSteps?: number;
  /** Most model steps spent shrinking a violation to a small window. Default 5 million. */
  readonly maxShrinkSteps?: number;
  /** For the elapsed time in the stats. */
  readonly clock?: Clock;
}

export interface CheckStats {
  /** Ops in the history, and those the search used (failed ops and gets of unknown outcome say nothing). */
  readonly ops: number;
  readonly checkedOps: number;
  readonly keys: number;
  /** Model steps tried, in the search and in shrinking. */
  readonly steps: number;
  readonly elapsedMs: number;
}

export type CheckResult =
  | { readonly ok: true; readonly status: 'linearizable'; readonly stats: CheckStats }
  | {
      readonly ok: false;
      readonly status: 'violation';
      /** The key whose violation is shown (the one whose first unexplainable result came earliest). */
      readonly key: string;
      /** The smallest non-linearizable window found, by start time. */
      readonly window: readonly Op[];
      /** The op whose result cannot be explained (also in `window`). */
      readonly culprit: Op;
      /** Earlier writes that can have left the key in its state at the window's start. */
      readonly before: readonly Op[];
      /** Every key found non-linearizable. */
      readonly failedKeys: readonly string[];
      readonly explanation: string;
      readonly stats: CheckStats;
    }
  | {
      readonly ok: false;
      readonly status: 'inconclusive';
      /** Keys whose search ran out of budget (none of them shown to be non-linearizable). */
      readonly keys: readonly string[];
      readonly explanation: string;
      readonly stats: CheckStats;
    };

export const DEFAULT_MAX_STEPS = 20_000_000;
export const DEFAULT_MAX_SHRINK_STEPS = 5_000_000;
const MAX_SHRUNK_KEYS = 5;

/** Checks a history (see lin/history.ts). Throws InvalidArgumentError on a malformed history. */
export function checkLinearizable(history: readonly Op[], options: CheckOptions = {}): CheckResult {
  const clock = options.clock ?? systemClock;
  const began = clock.now();
  const ids = new Set<number>();
  const byKey = new Map<string, Op[]>();
  let t0 = Number.POSITIVE_INFINITY;
  for (const op of history) {
    validateOp(op);
    if (ids.has(op.id)) throw new InvalidArgumentError(`op id ${op.id} appears twice in the history`);
    ids.add(op.id);
    t0 = Math.min(t0, op.start);
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  const budget: Budget = { remaining: options.maxSteps ?? DEFAULT_MAX_STEPS, used: 0 };
  const shrinkBudget: Budget = { remaining: options.maxShrinkSteps ?? DEFAULT_MAX_SHRINK_STEPS, used: 0 };
  const failed: KeyHistory[] = [];
  const exhausted: KeyHistory[] = [];
  let checkedOps = 0;
  for (const key of [...byKey.keys()].sort()) {
    const values = new ValueTable();
    const all = byKey.get(key)!;
    const ops = all.map((op) => prepare(op, values)).filter((p): p is PreparedOp => p !== undefined);
    checkedOps += ops.length;
    const r = checkKey(ops, budget, shrinkBudget);
    const k: KeyHistory = { key, ops, values, total: all.length, stuck: r.stuck, window: r.window };
    if (r.outcome === 'violation') failed.push(k);
    else if (r.outcome === 'budget') exhausted.push(k);
  }
  const undecided = exhausted.map((k) => k.key);
  const stats = (): CheckStats => ({
    ops: history.length,
    checkedOps,
    keys: byKey.size,
    steps: budget.used + shrinkBudget.used,
    elapsedMs: clock.now() - began,
  });
  if (failed.length === 0) {
    if (undecided.length === 0) return { ok: true, status: 'linearizable', stats: stats() };
    return {
      ok: false,
      status: 'inconclusive',
      keys: undecided,
      explanation:
        `the search ran out of its budget of ${options.maxSteps ?? DEFAULT_MAX_STEPS} steps on ` +
        `${undecided.length} key(s) (${undecided.slice(0, 5).join(', ')}${undecided.length > 5 ? ', …' : ''}) ` +
        'without finding a violation; raise maxSteps or record fewer unknown outcomes',
      stats: stats(),
    };
  }
  // Shrinking costs more than checking: a few failing keys are enough to find the earliest failure.
  const windows = failed
    .slice(0, MAX_SHRUNK_KEYS)
    .map((f) => ({ f, w: f.window ?? shrinkWindow(f.ops, shrinkBudget, f.stuck) }));
  windows.sort((a, b) => a.w.culprit.end - b.w.culprit.end);
  const { f, w } = windows[0]!;
  const failedKeys = failed.map((x) => x.key);
  let explanation = explainWindow(f.key, w, f.values, t0, f.total);
  if (failedKeys.length > 1) explanation += `\n(${failedKeys.length} keys are non-linearizable; this one failed first)`;
  if (undecided.length > 0) explanation += `\n(${undecided.length} other key(s) were not decided within the budget)`;
  return {
    ok: false,
    status: 'violation',
    key: f.key,
    window: [...w.ops].sort((a, b) => a.start - b.start || a.op.id - b.op.id).map((p) => p.op),
    culprit: w.culprit.op,
    before: w.initialFrom.map((p) => p.op),
    failedKeys,
    explanation,
    stats: stats(),
  };
}

/** Steps the whole search of a key may take before short windows are tried for a violation. */
const EARLY_STEPS = 200_000;

/**
 * Checks one key. Writes with an unknown outcome make the search branch (each may or may not have happened, at
 * any point after its call), and most of them are never observed: a write whose value no read returned is first
 * left out. That can only make the history harder to linearize (a linearization without the write is one with the
 * write placed last), so a pass is final. Otherwise the whole history is searched; proving that no linearization
 * exists is the expensive part, so when that takes long, short windows are tried first (findLocalWindow): one
 * that fails is a proof on its own.
 */
function checkKey(
  ops: readonly PreparedOp[],
  budget: Budget,
  shrinkBudget: Budget,
): { outcome: SearchOutcome; stuck: PreparedOp | undefined; window: Window | undefined } {
  const read = new Set<number>();
  for (const p of ops) if (p.input.f === 'get' && p.result.status === 'ok') read.add(p.valueId);
  const reduced = ops.filter((p) => p.definite || p.valueId === ABSENT || read.has(p.valueId));
  if (reduced.length < ops.length && searchLinearization(reduced, [INITIAL_STATE], budget) === 'linearizable') {
    return { outcome: 'linearizable', stuck: undefined, window: undefined };
  }
  const stuck: StuckAt = { linearized: -1, op: undefined };
  const early: Budget = { remaining: Math.min(EARLY_STEPS, budget.remaining), used: 0 };
  let outcome = searchLinearization(ops, [INITIAL_STATE], early, stuck);
  budget.remaining -= early.used;
  budget.used += early.used;
  if (outcome === 'budget') {
    const window = findLocalWindow(ops, shrinkBudget, stuck.op);
    if (window !== undefined) return { outcome: 'violation', stuck: stuck.op, window };
    outcome = searchLinearization(ops, [INITIAL_STATE], budget, stuck);
  }
  return { outcome, stuck: stuck.op, window: undefined };
}

/** The ops of a history as lines (times relative to its first call), e.g. for a failing test's output. */
export function formatHistory(history: readonly Op[]): string {
  const t0 = Math.min(...history.map((o) => o.start));
  return [...history]
    .sort((a, b) => a.start - b.start || a.id - b.id)
    .map((o) => `${JSON.stringify(o.key)} ${formatOp(o, t0)}`)
    .join('\n');
}
