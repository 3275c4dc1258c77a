/**
 * The run's result and its summary, printed last: verdict, phase times, keys verified, failure detection and
 * recovery times, data moved, keys per node, and events seen by kind. Pure: the test checks the text.
 */
import type { EventCount } from './lines.js';
import { noPaint, type Paint } from './view.js';

export interface PhaseTime {
  readonly name: string;
  readonly ms: number;
}

export interface RunSummary {
  ok: boolean;
  /** Why the run failed (undefined when ok). */
  reason: string | undefined;
  readonly nodes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly replication: number;
  phases: PhaseTime[];
  written: number;
  /** Keys read back with the right value, during the outage and at the end. */
  outageVerified: number | undefined;
  verified: number | undefined;
  /** Wrong values, 404s and failed reads of the final read-back. */
  wrong: number;
  missing: number;
  readErrors: number;
  victim: string | undefined;
  /** Kill → reported unhealthy / removed from the cluster, ms. */
  unhealthyAfterMs: number | undefined;
  removedAfterMs: number | undefined;
  /** Restart → ready / announced as rejoined, ms. */
  readyAfterMs: number | undefined;
  rejoinedAfterMs: number | undefined;
  /** Copies of partitions with data (moved lines) and keys in them; drops likewise. */
  copies: number;
  keysMoved: number;
  drops: number;
  keysDropped: number;
  /** Keys held per node (primary and replica copies) after the writes, during the outage, at the end. */
  keysPerNode: { label: string; perNode: Record<string, number | undefined> }[];
  events: EventCount[];
  totalMs: number;
}

export function emptySummary(nodes: number, keys: number, partitions: number, replication: number): RunSummary {
  return {
    ok: false,
    reason: undefined,
    nodes,
    keys,
    partitions,
    replication,
    phases: [],
    written: 0,
    outageVerified: undefined,
    verified: undefined,
    wrong: 0,
    missing: 0,
    readErrors: 0,
    victim: undefined,
    unhealthyAfterMs: undefined,
    removedAfterMs: undefined,
    readyAfterMs: undefined,
    rejoinedAfterMs: undefined,
    copies: 0,
    keysMoved: 0,
    drops: 0,
    keysDropped: 0,
    keysPerNode: [],
    events: [],
    totalMs: 0,
  };
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);

/** The keys-per-node table: one row per node, one column per moment. */
export function renderKeysTable(rows: RunSummary['keysPerNode'], expectedPerNode: number): string[] {
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.flatMap((r) => Object.keys(r.perNode)))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  const widths = rows.map((r) => Math.max(r.label.length, 6));
  const out = [`  ${'keys held'.padEnd(10)}${rows.map((r, i) => r.label.padStart(widths[i]! + 2)).join('')}`];
  for (const id of ids) {
    const cells = rows.map((r, i) => {
      const v = r.perNode[id];
      return (v === undefined ? '—' : String(v)).padStart(widths[i]! + 2);
    });
    out.push(`  ${id.padEnd(10)}${cells.join('')}`);
  }
  out.push(`  (about replication × keys / nodes = ${Math.round(expectedPerNode)} per node when all are up)`);
  return out;
}

export function renderSummary(s: RunSummary, paint: Paint = noPaint): string[] {
  const out: string[] = [''];
  const verdict = s.ok
    ? paint('good', `✔ PASS: ${s.verified ?? 0}/${s.keys} keys verified after a node was killed and restarted`)
    : paint('bad', `✖ FAIL: ${s.reason ?? 'unknown reason'}`);
  out.push(
    paint(
      'phase',
      `Summary · ${s.nodes} nodes · ${s.keys} keys · ${s.partitions} partitions · replication ${s.replication}`,
    ),
  );
  out.push(verdict);
  out.push('');
  const w = Math.max(22, ...s.phases.map((p) => p.name.length));
  out.push(`  ${'phase'.padEnd(w)}     time`);
  for (const p of s.phases) out.push(`  ${p.name.padEnd(w)} ${seconds(p.ms).padStart(8)}`);
  out.push(`  ${'total'.padEnd(w)} ${seconds(s.totalMs).padStart(8)}`);
  out.push('');
  out.push(`  keys written            ${s.written}/${s.keys}`);
  if (s.outageVerified !== undefined) {
    out.push(`  readable during outage  ${s.outageVerified}/${s.keys}`);
  }
  out.push(
    `  keys verified           ${s.verified === undefined ? '—' : `${s.verified}/${s.keys}`}` +
      (s.wrong + s.missing + s.readErrors > 0
        ? `  (wrong ${s.wrong}, missing ${s.missing}, errors ${s.readErrors})`
        : ''),
  );
  if (s.victim !== undefined) {
    out.push(`  killed                  ${s.victim} (SIGKILL)`);
    out.push(`  detected unhealthy      ${seconds(s.unhealthyAfterMs)} after the kill`);
    out.push(`  removed from cluster    ${seconds(s.removedAfterMs)} after the kill`);
    out.push(`  restarted, ready        ${seconds(s.readyAfterMs)} after the restart`);
    out.push(`  rejoin announced        ${seconds(s.rejoinedAfterMs)} after the restart`);
  }
  out.push(`  data moved              ${s.copies} partition copies, ${s.keysMoved} keys`);
  out.push(`  data dropped            ${s.drops} partition copies, ${s.keysDropped} keys`);
  const table = renderKeysTable(s.keysPerNode, (s.replication * s.keys) / s.nodes);
  if (table.length > 0) out.push('', ...table);
  if (s.events.length > 0) {
    out.push('', '  events seen             distinct  lines (one per node that reported it)');
    for (const e of s.events)
      out.push(`  ${e.kind.padEnd(22)}  ${String(e.distinct).padStart(8)}  ${String(e.deliveries).padStart(5)}`);
  }
  out.push('');
  return out;
}
