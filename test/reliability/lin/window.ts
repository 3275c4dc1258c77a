/**
 * Shrinking a non-linearizable history of one key to a small window that is still non-linearizable on its own,
 * so that a failure shows a handful of operations instead of thousands. Every step only ever weakens what the
 * window claims, so a window reported here is a proof: if the whole history were linearizable, the window would be.
 *
 * 0. Short windows first (findLocalWindow): for each op in order of return, the windows from its call (or a few
 *    calls earlier) to its return, built as in steps 2 and 3. Most violations show there, and each costs little.
 *    Otherwise, the general way:
 * 1. The end, T: the earliest return time such that the history cut at T is already non-linearizable. Cutting at
 *    T keeps the ops invoked by T; those still running at T get an unknown outcome. (If the history is
 *    linearizable, so is every cut: its linearization restricted to the ops invoked by T works.) The op that
 *    returns at T is the culprit: the first result that cannot be explained.
 * 2. The start, S (the latest that still fails): ops that returned before S are replaced by the states they can
 *    have left the key in: the initial state, or the effect of any write invoked before S that no definite write
 *    certainly followed before S. Ops running across S lose their outcome (they may have taken effect before S,
 *    interleaved with ops that are gone), and reads among them are dropped.
 * 3. Reads (gets, refused compare-and-sets) that are not needed are removed one by one: removing a read keeps a
 *    linearizable history linearizable, so a window that still fails without it is still a proof.
 */
import {
  ABSENT,
  effectOf,
  INITIAL_STATE,
  isDefiniteWrite,
  isReadOnly,
  type PreparedOp,
  type RegState,
  relax,
  stateKey,
} from './model.js';
import { type Budget, searchLinearization } from './search.js';

export interface Window {
  /** The ops of the window, as the search saw them (some relaxed to an unknown outcome). */
  readonly ops: readonly PreparedOp[];
  /** The states the key may be in when the window starts, and the writes that can have left each of them. */
  readonly initial: readonly RegState[];
  readonly initialFrom: readonly PreparedOp[];
  /** Whether `initial` includes the key's state before any write (no write certainly took effect before). */
  readonly fromStart: boolean;
  /** The first op whose result cannot be explained. */
  readonly culprit: PreparedOp;
  /** Start of the window (ms): ops that returned before it are summarised by `initial`. */
  readonly start: number;
  /** Whether the window could be shrunk all the way (false when the budget ran out on the way). */
  readonly minimal: boolean;
}

/** Window sizes beyond which removing reads one at a time is not attempted (it would cost too much). */
const MAX_READ_REMOVALS = 300;

function fails(ops: readonly PreparedOp[], initial: readonly RegState[], budget: Budget): boolean | undefined {
  const r = searchLinearization(ops, initial, budget);
  return r === 'budget' ? undefined : r === 'violation';
}

/** The history cut at time `t` (see step 1). */
function cutAt(ops: readonly PreparedOp[], t: number): PreparedOp[] {
  const out: PreparedOp[] = [];
  for (const p of ops) {
    if (p.start > t) continue;
    if (p.end <= t) out.push(p);
    else {
      const r = relax(p);
      if (r !== undefined) out.push(r);
    }
  }
  return out;
}

interface Start {
  readonly ops: PreparedOp[];
  readonly initial: RegState[];
  readonly from: PreparedOp[];
  readonly fromStart: boolean;
}

/** The window starting at `s` of an already cut history (see step 2). */
function windowFrom(ops: readonly PreparedOp[], s: number): Start {
  const inside: PreparedOp[] = [];
  const writesBefore: PreparedOp[] = [];
  for (const p of ops) {
    if (p.start < s && !isReadOnly(p)) writesBefore.push(p);
    if (p.end < s) continue;
    if (p.start >= s) inside.push(p);
    else {
      const r = relax(p);
      if (r !== undefined) inside.push(r);
    }
  }
  // A write certainly followed, before s, by a definite write cannot be the last one before the window.
  const followers = writesBefore.filter((w) => isDefiniteWrite(w) && w.end < s);
  const candidates = writesBefore.filter((w) => !followers.some((f) => w.end < f.start));
  const initial: RegState[] = [];
  const from: PreparedOp[] = [];
  const keys = new Set<string>();
  const add = (st: RegState, by: PreparedOp | undefined): void => {
    if (by !== undefined) from.push(by);
    const k = stateKey(st);
    if (keys.has(k)) return;
    keys.add(k);
    initial.push(st);
  };
  if (followers.length === 0) add(INITIAL_STATE, undefined);
  for (const w of candidates) {
    const st = effectOf(w);
    if (st !== undefined) add(st, w);
  }
  return { ops: inside, initial, from, fromStart: followers.length === 0 };
}

/** Step 3: drops the reads the failure does not need. */
function dropReads(start: Start, culprit: PreparedOp, budget: Budget): { ops: PreparedOp[]; minimal: boolean } {
  let ops = start.ops;
  if (ops.length > MAX_READ_REMOVALS) return { ops, minimal: false };
  let minimal = true;
  for (const p of [...ops]) {
    if (p === culprit || !isReadOnly(p) || !p.definite) continue;
    const without = ops.filter((q) => q !== p);
    const f = fails(without, start.initial, budget);
    if (f === undefined) minimal = false;
    if (f === true) ops = without;
  }
  return { ops, minimal };
}

function finish(start: Start, windowStart: number, culprit: PreparedOp, budget: Budget, minimal: boolean): Window {
  const reads = dropReads(start, culprit, budget);
  return {
    ops: reads.ops,
    initial: start.initial,
    initialFrom: start.from,
    fromStart: start.fromStart,
    culprit,
    start: windowStart,
    minimal: minimal && reads.minimal,
  };
}

/** Histories longer than this skip the search for local windows (it is quadratic in the length). */
const MAX_LOCAL_SEARCH_OPS = 4000;
/** Window starts tried per candidate culprit: its own start, then 1, 3 and 7 starts earlier. */
const LOCAL_PROBES = [0, 1, 3, 7];
/** Most candidate culprits tried, and most steps spent on one window (a window that costs more is skipped). */
const LOCAL_CULPRITS = 200;
const LOCAL_WINDOW_STEPS = 2000;

/** A check of one window on its own small budget, charged to `budget`. */
function failsCheaply(ops: readonly PreparedOp[], initial: readonly RegState[], budget: Budget): boolean {
  const own: Budget = { remaining: Math.min(LOCAL_WINDOW_STEPS, budget.remaining), used: 0 };
  const f = fails(ops, initial, own);
  budget.remaining -= own.used;
  budget.used += own.used;
  return f === true;
}

/**
 * Looks for a failure that shows in a short window: for candidate culprits, the windows that end at its return
 * and start at (or shortly before) its call. Each costs little, unlike proving that a long prefix has no
 * linearization, which is what the bisection of `shrinkWindow` has to do; so this also finds violations in
 * histories too hard to search whole. Candidates first: reads of a value no write in the history wrote, then ops
 * in order of distance from `hint` (where the whole search got stuck, when known), else in order of return.
 * Returns undefined when none of these windows fails.
 */
export function findLocalWindow(ops: readonly PreparedOp[], budget: Budget, hint?: PreparedOp): Window | undefined {
  if (ops.length > MAX_LOCAL_SEARCH_OPS) return undefined;
  const written = new Set<number>();
  for (const p of ops) if (p.input.f !== 'get' && p.valueId !== ABSENT) written.add(p.valueId);
  const impossible = (p: PreparedOp): boolean => p.input.f === 'get' && p.valueId !== ABSENT && !written.has(p.valueId);
  const around = hint?.end ?? Number.NEGATIVE_INFINITY;
  const culprits = ops
    .filter((p) => p.definite)
    .sort(
      (a, b) =>
        Number(impossible(b)) - Number(impossible(a)) ||
        Math.abs(a.end - around) - Math.abs(b.end - around) ||
        a.end - b.end,
    )
    .slice(0, LOCAL_CULPRITS);
  const allStarts = [...new Set(ops.map((p) => p.start))].sort((a, b) => b - a);
  const hopeless = culprits[0];
  if (hopeless !== undefined && impossible(hopeless)) {
    // No state ever holds the value it read: it fails alone, whatever else happened.
    const w = windowFrom(cutAt(ops, hopeless.end), hopeless.start);
    return finish({ ...w, ops: [hopeless] }, hopeless.start, hopeless, budget, true);
  }
  for (const culprit of culprits) {
    if (budget.remaining <= 0) return undefined;
    const cut = cutAt(ops, culprit.end);
    const first = allStarts.findIndex((x) => x <= culprit.start);
    for (const back of LOCAL_PROBES) {
      const s = allStarts[first + back];
      if (s === undefined) break;
      const w = windowFrom(cut, s);
      if (!w.ops.includes(culprit)) continue;
      if (failsCheaply(w.ops, w.initial, budget)) return finish(w, s, culprit, budget, true);
    }
  }
  return undefined;
}

/**
 * Shrinks the failing history `ops` of one key (already known to be non-linearizable from INITIAL_STATE).
 * Spends at most what `budget` has left; with too little, returns a larger (still failing) window.
 */
export function shrinkWindow(ops: readonly PreparedOp[], budget: Budget, hint?: PreparedOp): Window {
  const local = findLocalWindow(ops, budget, hint);
  if (local !== undefined) return local;
  // Step 1: binary search over return times; a cut whose check runs out of budget counts as passing.
  const ends = [...new Set(ops.filter((p) => p.definite).map((p) => p.end))].sort((a, b) => a - b);
  let minimal = true;
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const f = fails(cutAt(ops, ends[mid]!), [INITIAL_STATE], budget);
    if (f === undefined) minimal = false;
    if (f === true) hi = mid;
    else lo = mid + 1;
  }
  const t = ends[lo]!;
  const cut = cutAt(ops, t);
  const culprit = cut.find((p) => p.definite && p.end === t) ?? cut[cut.length - 1]!;

  // Step 2: a late start that still fails, galloping back from the culprit's own start, then bisecting. The
  // earliest start always fails (its window is the whole cut history), so a failing start is always found.
  const starts = [...new Set(cut.map((p) => p.start).filter((x) => x <= culprit.start))].sort((a, b) => b - a);
  const tried = new Map<number, Start & { fails: boolean }>();
  const attempt = (i: number): boolean => {
    let w = tried.get(i);
    if (w === undefined) {
      const win = windowFrom(cut, starts[i]!);
      const f = fails(win.ops, win.initial, budget);
      if (f === undefined) minimal = false;
      w = { ...win, fails: f === true };
      tried.set(i, w);
    }
    return w.fails;
  };
  let passed = -1;
  let failed = -1;
  for (let i = 0, stride = 1; i < starts.length; i = Math.min(starts.length - 1, i + stride), stride *= 2) {
    if (attempt(i)) {
      failed = i;
      break;
    }
    passed = i;
    if (i === starts.length - 1) break;
  }
  if (failed < 0) {
    const whole: Start = { ops: cut, initial: [INITIAL_STATE], from: [], fromStart: true };
    return finish(whole, starts[starts.length - 1] ?? culprit.start, culprit, budget, false);
  }
  lo = passed + 1;
  hi = failed;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (attempt(mid)) hi = mid;
    else lo = mid + 1;
  }
  return finish(tried.get(hi)!, starts[hi]!, culprit, budget, minimal);
}
