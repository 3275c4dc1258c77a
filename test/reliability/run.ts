/**
 * The long reliability runs: `npm run reliability -- [options]` (or `npx tsx test/reliability/run.ts`).
 *
 *   --scenario <name>   crash | pause | partition | disk | churn | durability | events | mixed | all (default all)
 *   --seed <n>          the seed (default: random, printed); a run prints the command that repeats it
 *   --runs <n>          seeds n, n+1, ... (default 1)
 *   --duration <d>      length of the fault phase: 90s, 5m, 120000 (default: the scenario's)
 *   --nodes <n>         cluster size at the start (default: the scenario's)
 *   --launcher <name>   agent (clusterkit agent's runAgent, with disk faults and hook events; default),
 *                       fixture (test/reliability/harness/node-main.ts), cli (the clusterkit executable itself:
 *                       no disk faults, no events)
 *   --ci                the CI size of each scenario (fewer nodes, a short fault phase)
 *   --keep              keep the run directory (node data, logs, history.json) and print where it is; without
 *                       it, the directory is kept only when the run found a violation
 *   --json <file>       append each run's report as one JSON line to <file>
 *   --markdown          at the end, print one docs/RELIABILITY.md table row per run
 *   --quiet             print only the summaries
 *
 * Exit code 0 when no run found a violation, 1 otherwise.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { killChildrenOnSignals, LAUNCHERS } from './harness/launcher.js';
import { markdownRow, summary } from './harness/report.js';
import { runScenario } from './harness/runner.js';
import { SCENARIOS, type Scenario, scenario } from './harness/scenarios.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    duration: { type: 'string' },
    nodes: { type: 'string' },
    launcher: { type: 'string', default: 'agent' },
    ci: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function usage(code: number): never {
  console.log(
    'usage: npm run reliability -- [--scenario NAME|all] [--seed N] [--runs N] [--duration 90s] [--nodes N] ' +
      '[--launcher agent|fixture|cli] [--ci] [--keep] [--json FILE] [--quiet]',
  );
  console.log(`scenarios: ${SCENARIOS.map((s) => `${s.name} (${s.description})`).join('\n           ')}`);
  process.exit(code);
}

function fail(message: string): never {
  console.error(message);
  return usage(2);
}

function duration(text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text.trim());
  if (m === null) fail(`--duration must look like 90s, 5m or 120000, got ${text}`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

function int(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${text}`);
  return n;
}

if (values.help) usage(0);
const launcher = LAUNCHERS[values.launcher];
if (launcher === undefined) fail(`unknown launcher ${values.launcher}`);
const list: Scenario[] = values.scenario === 'all' ? [...SCENARIOS] : [scenario(values.scenario)];
const runs = int('runs', values.runs, 1);
const firstSeed = values.seed === undefined ? Math.floor(Math.random() * 1e9) : int('seed', values.seed, 0);
killChildrenOnSignals();

/** Forming, recovery and the checks on top of the fault phase: far more than they take on a loaded machine. */
const RUN_OVERHEAD_BOUND_MS = 15 * 60_000;

const rows: string[] = [];
let failed = 0;
for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i;
  for (const sc of list) {
    const nodes = values.nodes === undefined ? (values.ci ? sc.ci.nodes : sc.nodes) : int('nodes', values.nodes, 1);
    const durationMs =
      values.duration === undefined ? (values.ci ? sc.ci.durationMs : sc.durationMs) : duration(values.duration);
    const t0 = Date.now();
    // Every step of a run is bounded; this is the bound on the whole (forming, faults, recovery, checks).
    const bound = durationMs + RUN_OVERHEAD_BOUND_MS;
    const watchdog = setTimeout(() => {
      console.error(`FAIL ${sc.name} seed ${seed}: the run exceeded ${Math.round(bound / 60_000)} min; stopping`);
      process.exit(1); // the exit hook kills every node process
    }, bound);
    const report = await runScenario({
      scenario: sc,
      seed,
      nodes,
      durationMs,
      launcher,
      launcherName: values.launcher,
      keepDir: values.keep ? true : 'on-failure',
      ...(values.quiet
        ? {}
        : { log: (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`) }),
    });
    clearTimeout(watchdog);
    console.log(summary(report));
    if (values.json !== undefined) appendFileSync(values.json, `${JSON.stringify(report)}\n`);
    rows.push(markdownRow(report));
    if (report.violations.length > 0) failed++;
  }
}
if (values.markdown) console.log(rows.join('\n'));
process.exit(failed === 0 ? 0 : 1);
