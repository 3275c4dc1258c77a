/**
 * The sequential specification of one key of the custom data: a register holding a value or nothing, with the
 * key's revision. The checker asks `step` whether an operation with its recorded result could run against a state,
 * and what state it leaves; a result that does not say everything (an unknown outcome, a missing revision) can
 * leave several.
 *
 * Revisions follow the replicated state machine (src/cluster/state/transitions.ts): a write gets the state's next
 * revision, which is global, so successive writes of one key get strictly increasing revisions; an absent key has
 * revision 0. A state whose value was written without a known revision carries rev = UNKNOWN_REV and a `floor`:
 * its revision is above every revision observed on the key before it; the first observation fixes it.
 */
import type { KvInput, KvResult, Op } from './history.js';

/** The value id of "no value". Values are interned per key as 1, 2, ... */
export const ABSENT = 0;
/**
 * The value id of "a value that no read (of the ops being searched) returns". Such values cannot be told apart by
 * any op (a get compares with the value it returned; a compare-and-set looks at revisions), so the search merges
 * them: see `mergeUnread`.
 */
export const UNREAD = -2;
/** rev of a present value whose revision is not known yet. */
export const UNKNOWN_REV = -1;

export interface RegState {
  /** Interned value, ABSENT when the key does not exist. */
  readonly v: number;
  /** The key's revision: 0 when absent, UNKNOWN_REV when present but not observed yet. */
  readonly rev: number;
  /** The highest revision observed on this key so far (revisions of later writes are above it). */
  readonly floor: number;
}

export const INITIAL_STATE: RegState = Object.freeze({ v: ABSENT, rev: 0, floor: 0 });

/** An op ready for the search: its value interned, its end Infinity when the outcome is unknown. */
export interface PreparedOp {
  readonly op: Op;
  readonly input: KvInput;
  /** Only ok / not-found / conflict / unknown: failed ops never reach the search. */
  readonly result: KvResult;
  readonly start: number;
  readonly end: number;
  /** The outcome is known (it must be linearized inside [start, end]). */
  readonly definite: boolean;
  /** The interned value written (set, cas) or read (get ok); ABSENT otherwise. */
  readonly valueId: number;
}

export function stateKey(s: RegState): string {
  return `${s.v},${s.rev},${s.floor}`;
}

/** Interns the values of one key's history. */
export class ValueTable {
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [''];

  id(value: string): number {
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.#names.length;
      this.#ids.set(value, id);
      this.#names.push(value);
    }
    return id;
  }

  name(id: number): string | undefined {
    return id === ABSENT ? undefined : this.#names[id];
  }
}

/**
 * Turns ops of one key into search ops: failed ops and gets with unknown results say nothing and are left out
 * (undefined); an op that never returned, or returned unknown, may take effect at any time after its start.
 */
export function prepare(op: Op, values: ValueTable): PreparedOp | undefined {
  const r = op.result;
  if (r.status === 'failed') return undefined;
  if (r.status === 'unknown' && op.input.f === 'get') return undefined;
  const definite = r.status !== 'unknown' && op.end !== undefined;
  let valueId = ABSENT;
  if (op.input.f === 'set') valueId = values.id(op.input.value);
  else if (op.input.f === 'cas' && op.input.value !== null) valueId = values.id(op.input.value);
  else if (op.input.f === 'get' && r.status === 'ok' && r.value !== undefined) valueId = values.id(r.value);
  return {
    op,
    input: op.input,
    result: definite ? r : { status: 'unknown' },
    start: op.start,
    end: definite ? op.end : Number.POSITIVE_INFINITY,
    definite,
    valueId,
  };
}

/** The same op with its outcome forgotten: it may or may not take effect, any time after its start. */
export function relax(p: PreparedOp): PreparedOp | undefined {
  if (p.input.f === 'get') return undefined;
  return { ...p, result: { status: 'unknown' }, end: Number.POSITIVE_INFINITY, definite: false };
}

/**
 * The same search problem with every value no get returns replaced by UNREAD. States that differ only in which
 * unread value they hold behave identically under every op, so merging them changes no answer, and it collapses
 * the branching over writes with unknown outcomes whose values nobody saw: they become interchangeable.
 */
export function mergeUnread(
  ops: readonly PreparedOp[],
  initial: readonly RegState[],
): { ops: PreparedOp[]; initial: RegState[] } {
  const read = new Set<number>();
  for (const p of ops) if (p.input.f === 'get' && p.result.status === 'ok') read.add(p.valueId);
  const unread = (v: number): boolean => v !== ABSENT && !read.has(v);
  const states = new Map<string, RegState>();
  for (const s of initial) {
    const m = unread(s.v) ? { ...s, v: UNREAD } : s;
    states.set(stateKey(m), m);
  }
  return {
    ops: ops.map((p) => (p.input.f !== 'get' && unread(p.valueId) ? { ...p, valueId: UNREAD } : p)),
    initial: [...states.values()],
  };
}

/** States `s` may be in after seeing revision `r` (none when it contradicts what is known). */
function observe(s: RegState, r: number | undefined): RegState[] {
  if (r === undefined) return [s];
  if (s.rev !== UNKNOWN_REV) return s.rev === r ? [s] : [];
  return r > s.floor ? [{ v: s.v, rev: r, floor: r }] : [];
}

function written(s: RegState, v: number, r: number | undefined): RegState[] {
  if (r === undefined) return [{ v, rev: UNKNOWN_REV, floor: s.floor }];
  return r > s.floor ? [{ v, rev: r, floor: r }] : [];
}

function deleted(s: RegState): RegState {
  return { v: ABSENT, rev: 0, floor: s.floor };
}

/** Whether a compare-and-set expecting revision `e` succeeds in `s`: yes, no, or maybe (revision unknown). */
function casMatches(s: RegState, e: number): 'yes' | 'no' | 'maybe' {
  if (s.v === ABSENT) return e === 0 ? 'yes' : 'no';
  if (s.rev !== UNKNOWN_REV) return s.rev === e ? 'yes' : 'no';
  return e > s.floor ? 'maybe' : 'no';
}

/** The states `p` can leave when it runs in state `s` and returns what it returned; empty when it cannot. */
export function step(s: RegState, p: PreparedOp): RegState[] {
  const r = p.result;
  const input = p.input;
  switch (input.f) {
    case 'get':
      if (r.status === 'not-found') return s.v === ABSENT ? [s] : [];
      if (r.status !== 'ok') return [s];
      return s.v === p.valueId && s.v !== ABSENT ? observe(s, r.revision) : [];
    case 'set':
      if (r.status === 'ok') {
        if (r.existed !== undefined && r.existed !== (s.v !== ABSENT)) return [];
        return written(s, p.valueId, r.revision);
      }
      return written(s, p.valueId, undefined);
    case 'delete':
      if (r.status === 'ok' && r.existed !== undefined && r.existed !== (s.v !== ABSENT)) return [];
      return [deleted(s)];
    case 'cas': {
      const e = input.expectedRevision;
      const match = casMatches(s, e);
      // The state the write starts from, its revision now known to be `e`.
      const matched: RegState = match === 'maybe' ? { v: s.v, rev: e, floor: e } : s;
      const apply = (rev: number | undefined): RegState[] =>
        input.value === null ? [deleted(matched)] : written(matched, p.valueId, rev);
      if (r.status === 'ok') return match === 'no' ? [] : apply(r.status === 'ok' ? r.revision : undefined);
      if (r.status === 'conflict') {
        if (match === 'yes') return [];
        if (r.currentRevision === undefined) return [s];
        if (s.v === ABSENT) return r.currentRevision === 0 ? [s] : [];
        return r.currentRevision === e ? [] : observe(s, r.currentRevision);
      }
      if (match === 'yes') return apply(undefined);
      if (match === 'no') return [s];
      return [...apply(undefined), s];
    }
  }
}

/** The state a write leaves when it is the last one before a window (for the window's possible initial states). */
export function effectOf(p: PreparedOp): RegState | undefined {
  const r = p.result;
  switch (p.input.f) {
    case 'get':
      return undefined;
    case 'delete':
      return INITIAL_STATE;
    case 'set': {
      const rev = r.status === 'ok' ? r.revision : undefined;
      return { v: p.valueId, rev: rev ?? UNKNOWN_REV, floor: rev ?? 0 };
    }
    case 'cas': {
      if (r.status === 'conflict') return undefined;
      if (p.input.value === null) return INITIAL_STATE;
      const rev = r.status === 'ok' ? r.revision : undefined;
      return { v: p.valueId, rev: rev ?? UNKNOWN_REV, floor: rev ?? 0 };
    }
  }
}

/** True for an op that certainly changed the key (a definite write). */
export function isDefiniteWrite(p: PreparedOp): boolean {
  if (!p.definite) return false;
  if (p.input.f === 'get') return false;
  return !(p.input.f === 'cas' && p.result.status === 'conflict');
}

/** True for an op whose only effect is what it observed (removing it from a linearizable history keeps it so). */
export function isReadOnly(p: PreparedOp): boolean {
  return p.input.f === 'get' || (p.input.f === 'cas' && p.result.status === 'conflict');
}
