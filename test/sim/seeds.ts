/**
 * Running a batch of random seeds from a test, and reporting every failing seed with the command that replays
 * it. The counts are sized for CI (see docs/RAFT-SIMULATION.md); SIM_SEEDS_SCALE multiplies them (a nightly job
 * can run 10x) and SIM_SEED_BASE shifts the seed range to explore new seeds.
 */
import { realFactory } from './engine.js';
import { deriveParams, describeParams, type ParamOverrides } from './params.js';
import { type RunResult, runSimulation } from './run.js';

export function scaled(count: number): number {
  const scale = Number(process.env.SIM_SEEDS_SCALE ?? '1');
  return Math.max(1, Math.round(count * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

export function seedBase(): number {
  const base = Number(process.env.SIM_SEED_BASE ?? '0');
  return Number.isSafeInteger(base) ? base : 0;
}

export interface BatchResult {
  runs: number;
  failures: string[];
  results: RunResult[];
}

/** Runs seeds [first, first + count) with the given overrides; collects a readable report per failing seed. */
export async function runSeeds(first: number, count: number, overrides: ParamOverrides): Promise<BatchResult> {
  const failures: string[] = [];
  const results: RunResult[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = await runSimulation(deriveParams(seed, overrides), { factory: realFactory });
    results.push(r);
    if (!r.ok) {
      const flags = [
        overrides.nodes === undefined ? '' : ` --nodes ${overrides.nodes}`,
        overrides.durationMs === undefined ? '' : ` --duration ${overrides.durationMs}`,
        overrides.faults === undefined ? '' : ` --faults ${overrides.faults.join(',') || 'none'}`,
      ].join('');
      failures.push(
        [
          `seed ${seed}: ${r.violations.map((v) => `[${v.kind}] ${v.message}`).join('; ')}`,
          `  ${describeParams(r.params)}`,
          `  replay: npm run sim -- --seed ${seed}${flags} --trace`,
        ].join('\n'),
      );
    }
  }
  return { runs: count, failures, results };
}
