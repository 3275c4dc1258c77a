/** Readable text for ops and violations: one line per op, times relative to the start of the history. */
import type { KvInput, KvResult, Op } from './history.js';
import { ABSENT, type PreparedOp, type RegState, UNKNOWN_REV, UNREAD, type ValueTable } from './model.js';
import type { Window } from './window.js';

function quote(value: string, max = 40): string {
  const q = JSON.stringify(value);
  return q.length <= max ? q : `${q.slice(0, max - 4)}…${q.slice(-2)}`;
}

export function formatInput(input: KvInput): string {
  switch (input.f) {
    case 'get':
      return 'get';
    case 'set':
      return `set(${quote(input.value)})`;
    case 'delete':
      return 'delete';
    case 'cas':
      return `cas(r${input.expectedRevision} → ${input.value === null ? 'delete' : quote(input.value)})`;
  }
}

export function formatResult(result: KvResult, input?: KvInput): string {
  switch (result.status) {
    case 'ok': {
      const parts = ['ok'];
      if (result.value !== undefined) parts.push(quote(result.value));
      if (result.revision !== undefined) parts.push(`rev ${result.revision}`);
      if (result.existed !== undefined) {
        if (input?.f === 'set') parts.push(result.existed ? 'replaced' : 'created');
        else parts.push(result.existed ? 'existed' : 'was absent');
      }
      return parts.join(' ');
    }
    case 'not-found':
      return 'not found';
    case 'conflict':
      return result.currentRevision === undefined ? 'conflict' : `conflict (at rev ${result.currentRevision})`;
    case 'failed':
    case 'unknown':
      return result.error === undefined ? result.status : `${result.status} (${result.error})`;
  }
}

function ms(t: number, t0: number): string {
  return (t - t0).toFixed(3).padStart(10);
}

/** `#12 c3  set("v7")  1203.412 – 1210.877  ok rev 41`, times relative to `t0`. */
export function formatOp(op: Op, t0: number, note = ''): string {
  const end = op.end === undefined ? '         …' : ms(op.end, t0);
  const what = `#${op.id} ${op.client}`.padEnd(14);
  return `${what} ${formatInput(op.input).padEnd(36)} ${ms(op.start, t0)} – ${end}  ${formatResult(op.result, op.input)}${note}`;
}

export function formatState(s: RegState, values: ValueTable): string {
  if (s.v === ABSENT) return 'absent';
  if (s.v === UNREAD)
    return `a value no read in the window returned (${s.rev === UNKNOWN_REV ? 'revision unknown' : `rev ${s.rev}`})`;
  const rev = s.rev === UNKNOWN_REV ? 'revision unknown' : `rev ${s.rev}`;
  return `${quote(values.name(s.v) ?? '?')} ${rev}`;
}

/** The explanation of a violation: what cannot be explained, the state before the window, the window's ops. */
export function explainWindow(key: string, w: Window, values: ValueTable, t0: number, opsOfKey: number): string {
  const lines: string[] = [];
  const sorted = [...w.ops].sort((a, b) => a.start - b.start || a.op.id - b.op.id);
  lines.push(
    `key ${quote(key, 80)}: not linearizable. No order of the ${sorted.length} operations below agrees with both ` +
      'their results and real time (an op that returned before another was invoked must come before it).',
  );
  lines.push(`The first result that cannot be explained: ${formatOp(w.culprit.op, t0).replace(/\s+/g, ' ')}`);
  if (w.initialFrom.length > 0) {
    lines.push(`When the window starts (${ms(w.start, t0).trim()} ms), the key can only be one of:`);
    for (const s of w.initial) lines.push(`  ${formatState(s, values)}`);
    const orNone = w.fromStart ? ' (or by none of them: absent)' : '';
    lines.push(`  as left by whichever of these earlier writes took effect last${orNone}:`);
    for (const p of [...w.initialFrom].sort((a, b) => a.start - b.start)) lines.push(`    ${formatOp(p.op, t0)}`);
  } else {
    lines.push('The key is absent when the window starts (no write was invoked before it).');
  }
  lines.push(`The window (${sorted.length} of the key's ${opsOfKey} operations; ms since the history began):`);
  for (const p of sorted) lines.push(`  ${formatOp(p.op, t0, noteFor(p, w))}`);
  if (!w.minimal) lines.push('(the search budget ran out while shrinking: a smaller window may exist)');
  return lines.join('\n');
}

function noteFor(p: PreparedOp, w: Window): string {
  if (p === w.culprit) return '   ← cannot be explained';
  if (!p.definite && p.op.result.status !== 'unknown') {
    return '   (outcome left open: it was still running when the window starts or ends)';
  }
  return '';
}
