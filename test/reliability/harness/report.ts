/** How a run's report is printed: a summary for people, a table row for docs/RELIABILITY.md. */
import type { RunReport } from './runner.js';

export function summary(r: RunReport): string {
  const faults = Object.entries(r.faultCounts)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ');
  return [
    `${r.violations.length === 0 ? 'PASS' : 'FAIL'} ${r.scenario} seed ${r.seed}: ${r.nodes} nodes (end: ${r.finalMembers.length}), ` +
      `faults ${Math.round(r.durationMs / 1000)} s, wall ${Math.round(r.wallMs / 1000)} s`,
    `  ops ${r.ops.calls} (ok ${r.ops.ok}, unknown ${r.ops.unknown}, failed ${r.ops.failed}; ok after heal ${r.ops.okAfterHeal}); ` +
      `durable writes ${r.durable.written} (acked ${r.durable.acked}, lost ${r.durable.lost})`,
    `  faults: ${faults || 'none'}`,
    `  linearizability ${r.lin.status} (${r.lin.checkedOps} ops, ${r.lin.keys} keys, ${r.lin.steps} steps, ${Math.round(r.lin.elapsedMs)} ms); ` +
      `tables sampled ${r.ownership.samples} (${r.ownership.epochs} partition epochs, ${r.ownership.versions} versions); ` +
      `events ${r.events.events} over ${r.events.transitions} transitions${r.events.cycles > 0 ? `, ${r.events.cycles} cycles` : ''}`,
    ...r.violations.map((v) => `  VIOLATION [${v.checker}] ${v.message.split('\n').join('\n    ')}`),
    `  repeat: ${r.command}`,
    ...(r.dir === undefined ? [] : [`  kept: ${r.dir}`]),
  ].join('\n');
}

/** The docs/RELIABILITY.md table row of a run. */
export function markdownRow(r: RunReport): string {
  const faults = Object.entries(r.faultCounts)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  const violations = r.violations.length === 0 ? 'none' : r.violations.map((v) => v.checker).join(', ');
  return (
    `| ${r.scenario} | ${r.nodes} → ${r.finalMembers.length} | ${Math.round(r.durationMs / 1000)} s (${Math.round(r.wallMs / 1000)} s in all) | ` +
    `${r.ops.calls} (${r.ops.ok} ok, ${r.ops.unknown} unknown); lin. ${r.lin.status} | ${r.durable.acked} acked, ${r.durable.lost} lost | ` +
    `${faults || 'none'} | ${violations} | \`${r.command}\` |`
  );
}
