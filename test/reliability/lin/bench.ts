/**
 * Figures for the linearizability checker: `npx tsx test/reliability/lin/bench.ts`. Histories come from the
 * simulated atomic register (lin/simulate.ts), so every one is linearizable; then one read is changed to a value
 * never written, which the checker must find and shrink.
 */
import { seededRandom } from '../../../src/util/io.js';
import { checkLinearizable } from '../linearizability.js';
import { type SimOptions, simulateHistory } from './simulate.js';

const cases: (SimOptions & { readonly name: string })[] = [
  { name: '10k ops, 10 clients, 50 keys, 2% timeouts', clients: 10, keys: 50, opsPerClient: 1000, unknownRate: 0.02 },
  { name: '10k ops, 30 clients, 50 keys, 10% timeouts', clients: 30, keys: 50, opsPerClient: 333, unknownRate: 0.1 },
  { name: '10k ops, 20 clients, 5 keys, 2% timeouts', clients: 20, keys: 5, opsPerClient: 500, unknownRate: 0.02 },
  { name: '2.4k ops, 8 clients, 1 key, 5% timeouts', clients: 8, keys: 1, opsPerClient: 300, unknownRate: 0.05 },
];

for (const c of cases) {
  const h = simulateHistory(seededRandom(7), { ...c, failedRate: 0.01 });
  const r = checkLinearizable(h);
  const line = `${c.name}: ${r.status}, ${r.stats.steps} steps, ${r.stats.elapsedMs.toFixed(0)} ms`;
  const reads = h.filter((o) => o.input.f === 'get' && o.result.status === 'ok' && o.end !== undefined);
  const target = reads[Math.floor(reads.length / 2)];
  if (target === undefined) {
    console.log(line);
    continue;
  }
  const bad = checkLinearizable(h.map((o) => (o === target ? { ...o, result: { status: 'ok', value: '?' } } : o)));
  const found = bad.status === 'violation' ? `window of ${bad.window.length}` : bad.status;
  console.log(`${line}; with one bad read: ${found}, ${bad.stats.elapsedMs.toFixed(0)} ms`);
}
