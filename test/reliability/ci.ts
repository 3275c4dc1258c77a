/**
 * The CI size of the reliability scenarios (test/reliability/faults-*.test.ts): each scenario at its `ci` size,
 * with `clusterkit agent` processes (runAgent, with the harness's disk and event reporting), a fixed seed per
 * scenario (CK_RELIABILITY_SEED overrides it, to explore), and a failure message that carries the whole report and
 * the command that repeats the run.
 */
import { agentLauncher } from './harness/launcher.js';
import { type RunReport, runScenario } from './harness/runner.js';
import { scenario } from './harness/scenarios.js';

/** A CI run's budget: forming, the fault phase, recovery and the checks, on a loaded 2-core machine. */
export const CI_TIMEOUT_MS = 240_000;

export async function runCi(name: string, seed: number): Promise<RunReport> {
  const sc = scenario(name);
  const override = process.env['CK_RELIABILITY_SEED'];
  const lines: string[] = [];
  const report = await runScenario({
    scenario: sc,
    seed: override === undefined || override === '' ? seed : Number(override),
    nodes: sc.ci.nodes,
    durationMs: sc.ci.durationMs,
    launcher: agentLauncher,
    launcherName: 'agent',
    log: (line) => lines.push(line),
  });
  // An undecided check (out of budget or time) proves nothing: CI histories are small enough to be decided.
  if (report.lin.status !== 'linearizable' && report.violations.length === 0) {
    throw new Error(`the linearizability check did not decide: ${report.lin.status}\nrepeat: ${report.command}`);
  }
  if (report.violations.length > 0) {
    const detail = report.violations.map((v) => `[${v.checker}] ${v.message}`).join('\n');
    throw new Error(`${detail}\nrepeat: ${report.command}\n--- run log ---\n${lines.slice(-80).join('\n')}`);
  }
  return report;
}
