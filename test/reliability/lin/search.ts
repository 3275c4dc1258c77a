/**
 * The search for a linearization of one key's history: Wing & Gong's algorithm with Lowe's memoisation, as in
 * Porcupine. Call and return events sit in one list ordered by time; the ops that may be linearized next are those
 * whose call comes before the first remaining return (every op that returned earlier is already linearized).
 * Linearizing one (when the model accepts its result in the current state) lifts its call and return out of the
 * list; when no candidate works, the search backtracks. A configuration (ops linearized, state) already explored
 * is never explored again.
 *
 * Ops with an unknown outcome return at +Infinity: they may be linearized anywhere after their call, or never
 * (which is the same as last: nothing observes it). Four things keep them from blowing the search up:
 * - the search succeeds as soon as every op with a known outcome is linearized;
 * - values no read returns are merged into one (model.ts, mergeUnread): no op can tell them apart;
 * - of several pending unknown ops with the same input (after that merge) only one is tried: they are
 *   interchangeable, both have started and neither has a deadline;
 * - a configuration is dominated by an explored one with the same known ops and state that used a subset of the
 *   unknown ops (it had every option this one has, and more), so it is pruned too.
 * Candidates are tried in the order of their calls (trying known outcomes first was measured slower).
 *
 * At equal times a call sorts before a return: ops that touch are treated as concurrent (never a false alarm).
 */
import { mergeUnread, type PreparedOp, type RegState, stateKey, step } from './model.js';

export interface Budget {
  /** Steps left (one per model step tried); the search gives up with 'budget' when it reaches 0. */
  remaining: number;
  /** Steps used, across every search sharing this budget. */
  used: number;
}

export type SearchOutcome = 'linearizable' | 'violation' | 'budget';

/**
 * Where a failed search got stuck: the most ops with a known outcome it managed to linearize, and the op whose
 * return then blocked it. A hint for shrinking (the first unexplainable result is usually there), nothing more.
 */
export interface StuckAt {
  linearized: number;
  op: PreparedOp | undefined;
}

interface Node {
  /** Index of the op in start order. */
  readonly op: number;
  readonly call: boolean;
  /** The call's return node, or the return's call node. */
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

interface Frame {
  readonly candidates: readonly Node[];
  next: number;
  options: RegState[] | null;
  nextOption: number;
  /** The op this frame linearized to reach the frame above it, and the state before. */
  applied: Node | null;
  before: RegState;
}

interface Seen {
  readonly known: Int32Array;
  readonly unknown: Uint32Array;
}

/** Random 32-bit words (xorshift32, fixed seed: a search is reproducible). */
function randomWords(n: number, seed: number): Uint32Array {
  const h = new Uint32Array(n);
  let a = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    a ^= a << 13;
    a >>>= 0;
    a ^= a >>> 17;
    a ^= a << 5;
    a >>>= 0;
    h[i] = a;
  }
  return h;
}

function buildList(ops: readonly PreparedOp[]): Node {
  const events: { node: Node; time: number }[] = [];
  ops.forEach((p, i) => {
    const call: Node = { op: i, call: true, match: null, prev: null, next: null };
    const ret: Node = { op: i, call: false, match: call, prev: null, next: null };
    call.match = ret;
    events.push({ node: call, time: p.start }, { node: ret, time: p.end });
  });
  events.sort((x, y) => {
    if (x.time !== y.time) return x.time < y.time ? -1 : 1;
    if (x.node.call !== y.node.call) return x.node.call ? -1 : 1;
    return x.node.op - y.node.op;
  });
  const head: Node = { op: -1, call: false, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e.node;
    e.node.prev = last;
    last = e.node;
  }
  return head;
}

function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

function subsetOf(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i]! & ~b[i]!) !== 0) return false;
  return true;
}

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Searches for a linearization of `ops` (all on one key) starting from any of `initial`. Deterministic for a
 * given input.
 */
export function searchLinearization(
  ops: readonly PreparedOp[],
  initial: readonly RegState[],
  budget: Budget,
  stuck?: StuckAt,
): SearchOutcome {
  const merged = mergeUnread(ops, initial);
  const sorted = merged.ops.sort((a, b) => a.start - b.start || a.op.id - b.op.id);
  let outcome: SearchOutcome = 'violation';
  for (const s of merged.initial) {
    const r = searchFrom(sorted, s, budget, stuck);
    if (r === 'linearizable') return r;
    if (r === 'budget') outcome = 'budget';
  }
  return outcome;
}

function signature(p: PreparedOp): string {
  const i = p.input;
  return i.f === 'cas' ? `cas:${i.expectedRevision}:${i.value === null ? '-' : p.valueId}` : `${i.f}:${p.valueId}`;
}

/** `ops` sorted by start. */
function searchFrom(ops: readonly PreparedOp[], initial: RegState, budget: Budget, stuck?: StuckAt): SearchOutcome {
  const n = ops.length;
  const definite = ops.map((p) => p.definite);
  const definiteCount = definite.filter(Boolean).length;
  let definiteLeft = definiteCount;
  if (definiteLeft === 0) return 'linearizable';
  // Unknown ops get their own numbering for the `unknown` bit set.
  const unknownIndex = new Int32Array(n).fill(-1);
  let unknownCount = 0;
  for (let i = 0; i < n; i++) if (!definite[i]) unknownIndex[i] = unknownCount++;
  const signatures = ops.map((p) => (p.definite ? '' : signature(p)));
  const hashes = randomWords(2 * n, 0x9e3779b9);
  const known = new Uint32Array((n + 31) >>> 5);
  const unknown = new Uint32Array((unknownCount + 31) >>> 5);
  let h1 = 0;
  let h2 = 0;
  /** Every known op before `first` (in start order) is linearized. */
  let first = definite.indexOf(true);
  const seen = new Map<string, Seen[]>();
  const head = buildList(ops);
  let state = initial;

  const isKnownDone = (i: number): boolean => (known[i >>> 5]! & (1 << (i & 31))) !== 0;
  const toggle = (i: number): void => {
    if (definite[i]) {
      known[i >>> 5]! ^= 1 << (i & 31);
      h1 ^= hashes[2 * i]!;
      h2 ^= hashes[2 * i + 1]!;
    } else {
      const u = unknownIndex[i]!;
      unknown[u >>> 5]! ^= 1 << (u & 31);
    }
  };
  /** The known ops linearized, compactly: `first`, then the ones after it. */
  const knownKey = (): Int32Array => {
    const out = [first];
    for (let w = first >>> 5; w < known.length; w++) {
      let bitsLeft = known[w]!;
      while (bitsLeft !== 0) {
        const b = 31 - Math.clz32(bitsLeft & -bitsLeft);
        bitsLeft &= bitsLeft - 1;
        const i = (w << 5) + b;
        if (i > first) out.push(i);
      }
    }
    return Int32Array.from(out);
  };
  /** Records the current configuration; false when it (or one that dominates it) was explored before. */
  const remember = (): boolean => {
    const key = `${h1}:${h2}:${stateKey(state)}`;
    const k = knownKey();
    const bucket = seen.get(key);
    if (bucket === undefined) {
      seen.set(key, [{ known: k, unknown: unknown.slice() }]);
      return true;
    }
    for (const e of bucket) if (sameInts(e.known, k) && subsetOf(e.unknown, unknown)) return false;
    bucket.push({ known: k, unknown: unknown.slice() });
    return true;
  };
  const apply = (node: Node, next: RegState): void => {
    lift(node);
    toggle(node.op);
    state = next;
    if (definite[node.op]) {
      definiteLeft--;
      if (node.op === first) {
        do first++;
        while (first < n && (!definite[first] || isKnownDone(first)));
      }
    }
  };
  const undo = (node: Node, before: RegState): void => {
    unlift(node);
    toggle(node.op);
    state = before;
    if (definite[node.op]) {
      definiteLeft++;
      if (node.op < first) first = node.op;
    }
  };
  const candidates = (): Node[] => {
    const sure: Node[] = [];
    const open: Node[] = [];
    const sigs = new Set<string>();
    for (let node = head.next; node !== null && node.call; node = node.next) {
      if (definite[node.op]) open.push(node);
      else if (!sigs.has(signatures[node.op]!)) {
        sigs.add(signatures[node.op]!);
        open.push(node);
      }
    }
    return sure.concat(open);
  };

  remember();
  const stack: Frame[] = [
    { candidates: candidates(), next: 0, options: null, nextOption: 0, applied: null, before: state },
  ];
  for (;;) {
    const frame = stack[stack.length - 1]!;
    let descended = false;
    while (!descended && frame.next < frame.candidates.length) {
      const node = frame.candidates[frame.next]!;
      if (frame.options === null) {
        if (budget.remaining <= 0) return 'budget';
        budget.remaining--;
        budget.used++;
        frame.options = step(state, ops[node.op]!);
        frame.nextOption = 0;
      }
      while (frame.nextOption < frame.options.length) {
        const before = state;
        apply(node, frame.options[frame.nextOption++]!);
        if (remember()) {
          if (definiteLeft === 0) return 'linearizable';
          frame.applied = node;
          frame.before = before;
          stack.push({ candidates: candidates(), next: 0, options: null, nextOption: 0, applied: null, before: state });
          descended = true;
          break;
        }
        undo(node, before);
      }
      if (!descended) {
        frame.next++;
        frame.options = null;
      }
    }
    if (descended) continue;
    // Every candidate of this configuration failed: back to the one before, which tries its next option.
    if (stuck !== undefined) {
      const done = definiteCount - definiteLeft;
      if (done > stuck.linearized || stuck.op === undefined) {
        let blocker = head.next;
        while (blocker !== null && blocker.call) blocker = blocker.next;
        stuck.linearized = done;
        stuck.op = blocker === null ? undefined : ops[blocker.op];
      }
    }
    stack.pop();
    const parent = stack[stack.length - 1];
    if (parent === undefined) return 'violation';
    undo(parent.applied!, parent.before);
    parent.applied = null;
  }
}
