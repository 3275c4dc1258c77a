/**
 * The simulation's command line: `npm run sim -- [options]`.
 *
 *   --seed <n>        run seed n (with --runs: the first seed of the range); a failing run prints the command
 *                     that replays it exactly
 *   --runs <n>        run n seeds (default 1), printing progress and a summary
 *   --nodes <n>       cluster size (default: drawn from the seed: 3, 5 or 7)
 *   --duration <ms>   length of the fault phase in simulated ms (default 10000)
 *   --steps <n>       cap on the events of the fault phase
 *   --max-events <n>  cap on the events of a whole run (default 3,000,000); more is a `budget` failure
 *   --max-wall <s>    wall-clock seconds a run may take (default 120); more is a `budget` failure, and an event loop
 *                     blocked that long kills the process after printing the seed
 *   --faults <a,b>    only these fault kinds (default: a random subset per seed); "none" for none
 *   --trace           print every event of the run as it happens
 *   --fake            drive the harness's trivial fake engine instead of RaftNode (harness debugging)
 *   --verbose         print every run's result, not only failures
 *   --allow-duplicates  do not report a command applied at two indexes (a duplicated forwarded proposal)
 */
import { parseArgs } from 'node:util';
import type { RaftFactory } from './cluster.js';
import { loadEngine } from './engine.js';
import { FakeRaft } from './fake-raft.js';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';
import { deriveParams, describeParams, type ParamOverrides } from './params.js';
import { type RunResult, runSimulation } from './run.js';
import { Watchdog } from './watchdog.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    duration: { type: 'string' },
    steps: { type: 'string' },
    'max-events': { type: 'string' },
    'max-wall': { type: 'string' },
    faults: { type: 'string' },
    trace: { type: 'boolean', default: false },
    fake: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    'allow-duplicates': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function int(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${text}`);
    process.exit(2);
  }
  return n;
}

if (values.help) {
  console.log(
    'usage: npm run sim -- [--seed N] [--runs N] [--nodes N] [--duration MS] [--steps N] [--max-events N] [--max-wall S] [--faults a,b|none] [--trace] [--verbose]',
  );
  console.log(`fault kinds: ${FAULT_KINDS.join(', ')}`);
  process.exit(0);
}

const runs = int('runs', values.runs, 1) ?? 1;
const firstSeed = int('seed', values.seed, 0) ?? 1;
const overrides: ParamOverrides = {};
const nodes = int('nodes', values.nodes, 1);
if (nodes !== undefined) overrides.nodes = nodes;
const duration = int('duration', values.duration, 0);
if (duration !== undefined) overrides.durationMs = duration;
const steps = int('steps', values.steps, 1);
if (steps !== undefined) overrides.maxSteps = steps;
const maxEvents = int('max-events', values['max-events'], 1);
if (maxEvents !== undefined) overrides.maxEvents = maxEvents;
const maxWallMs = (int('max-wall', values['max-wall'], 1) ?? 120) * 1000;
if (values.faults !== undefined) {
  const list = values.faults === 'none' ? [] : values.faults.split(',').map((f) => f.trim());
  const bad = list.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
  if (bad.length > 0) {
    console.error(`unknown fault kinds: ${bad.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
    process.exit(2);
  }
  overrides.faults = list as FaultKind[];
}

function replayCommand(seed: number): string {
  const parts = [`npm run sim -- --seed ${seed}`];
  if (values.nodes !== undefined) parts.push(`--nodes ${values.nodes}`);
  if (values.duration !== undefined) parts.push(`--duration ${values.duration}`);
  if (values.steps !== undefined) parts.push(`--steps ${values.steps}`);
  if (values['max-events'] !== undefined) parts.push(`--max-events ${values['max-events']}`);
  if (values.faults !== undefined) parts.push(`--faults ${values.faults}`);
  if (values.fake) parts.push('--fake');
  if (values['allow-duplicates']) parts.push('--allow-duplicates');
  return parts.join(' ');
}

function fmtMs(ms: number): string {
  if (ms < 10_000) return `${ms.toFixed(0)} ms`;
  if (ms < 3_600_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 3_600_000).toFixed(2)} h`;
}

function printFailure(r: RunResult): void {
  console.log(`\nFAILED seed ${r.params.seed}: ${r.violations.length} violation(s)`);
  for (const v of r.violations.slice(0, 10)) console.log(`  [${v.kind}] at ${v.time.toFixed(3)} ms: ${v.message}`);
  console.log(`  params:\n  ${describeParams(r.params)}`);
  if (!values.trace) {
    console.log('  last events:');
    for (const line of r.traceTail.slice(-40)) console.log(`    ${line}`);
  }
  console.log(`  replay: ${replayCommand(r.params.seed)} --trace`);
}

async function main(): Promise<number> {
  const factory: RaftFactory = values.fake ? (o) => new FakeRaft(o) : await loadEngine();
  const watchdog = new Watchdog(maxWallMs, replayCommand(-1).replace('--seed -1', '--seed {seed}'));
  const totals = {
    runs: 0,
    failed: 0,
    simulatedMs: 0,
    events: 0,
    acked: 0,
    issued: 0,
    reads: 0,
    readsOk: 0,
    faults: 0,
    crashes: 0,
    torn: 0,
    voterChanges: 0,
    exemptChanges: 0,
    unknownChanges: 0,
    resolvedCalls: 0,
    uncheckedCalls: 0,
  };
  const byKind: Record<string, number> = {};
  const failedSeeds: number[] = [];
  const started = performance.now();
  let lastProgress = started;
  for (let i = 0; i < runs; i++) {
    const seed = firstSeed + i;
    const params = deriveParams(seed, overrides);
    if (runs === 1) console.log(`seed ${seed}:\n  ${describeParams(params)}`);
    watchdog.watch(seed);
    const r = await runSimulation(params, {
      factory,
      exactlyOnce: !values['allow-duplicates'],
      wallLimitMs: maxWallMs,
      setup: (cluster) => cluster.loop.afterEach(() => watchdog.beat()),
      ...(values.trace ? { traceSink: (line: string) => console.log(line) } : {}),
    });
    watchdog.idle();
    totals.runs++;
    totals.simulatedMs += r.simulatedMs;
    totals.events += r.events;
    totals.acked += r.proposals.acked;
    totals.issued += r.proposals.issued;
    totals.reads += r.proposals.reads;
    totals.readsOk += r.proposals.readsOk;
    totals.faults += r.faultsInjected;
    totals.crashes += r.crashes;
    totals.torn += r.tornWrites;
    totals.voterChanges += r.membershipChecks.voterChanges;
    totals.exemptChanges += r.membershipChecks.exemptChanges;
    totals.unknownChanges += r.membershipChecks.unknownChanges;
    totals.resolvedCalls += r.membershipChecks.resolvedCalls;
    totals.uncheckedCalls += r.membershipChecks.uncheckedCalls;
    for (const v of r.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
    if (!r.ok) {
      totals.failed++;
      failedSeeds.push(seed);
      printFailure(r);
    } else if (values.verbose || runs === 1) {
      console.log(
        `seed ${seed} ok: ${fmtMs(r.simulatedMs)} simulated, ${r.events} events, ${r.proposals.acked}/${r.proposals.issued} proposals acked, ${r.faultsInjected} faults, fingerprint ${r.fingerprint}, ${r.wallMs.toFixed(0)} ms wall`,
      );
    }
    const now = performance.now();
    if (runs > 1 && (now - lastProgress > 5000 || i === runs - 1)) {
      lastProgress = now;
      const rate = totals.runs / ((now - started) / 1000);
      console.log(
        `progress: ${totals.runs}/${runs} runs, ${totals.failed} failed, ${fmtMs(now - started)} elapsed, ${rate.toFixed(1)} runs/s`,
      );
    }
  }
  const wall = performance.now() - started;
  console.log('\nsummary');
  console.log(
    `  runs:                ${totals.runs} (${totals.failed} failed${failedSeeds.length > 0 ? `: seeds ${failedSeeds.slice(0, 20).join(', ')}` : ''})`,
  );
  console.log(
    `  simulated time:      ${fmtMs(totals.simulatedMs)} (${(totals.simulatedMs / wall).toFixed(1)}x wall clock)`,
  );
  console.log(`  events:              ${totals.events}`);
  console.log(`  proposals committed: ${totals.acked} of ${totals.issued} issued`);
  console.log(`  linearizable reads:  ${totals.readsOk} of ${totals.reads} served`);
  console.log(`  faults injected:     ${totals.faults} (${totals.crashes} crashes, ${totals.torn} torn writes)`);
  console.log(
    `  membership checked:  ${totals.voterChanges} voter changes (${totals.exemptChanges} exempt, ${totals.unknownChanges} not checkable), ${totals.resolvedCalls} resolved calls (${totals.uncheckedCalls} not checkable)`,
  );
  const kinds = Object.entries(byKind).map(([k, n]) => `${k}: ${n}`);
  console.log(`  violations:          ${kinds.length === 0 ? 0 : kinds.join(', ')}`);
  console.log(`  wall time:           ${fmtMs(wall)}`);
  await watchdog.close();
  return totals.failed === 0 ? 0 : 1;
}

process.exitCode = await main();
