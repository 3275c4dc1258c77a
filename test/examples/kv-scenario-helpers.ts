/**
 * Shared by the KV example tests: the CI size of the scenarios and a runner that prints progress only when the
 * scenario fails (so a failure shows what happened before it).
 */
import type { KvCluster } from '../../examples/kv/cluster-runner.js';
import {
  DEFAULT_OPTIONS,
  type ExampleSpec,
  runScenario,
  type ScenarioOptions,
  type ScenarioResult,
} from '../../examples/kv/scenario.js';

/**
 * 5 nodes, 300 keys. Short health checks so a kill is detected in under two seconds (unhealthy after 1 s of
 * silence, removed after 5 × 300 ms), but not so short that a busy CI machine's pauses look like deaths (a node
 * wrongly removed comes back by itself, but the rejoin and its copies slow the scenario down).
 */
export const CI_OPTIONS: ScenarioOptions = {
  ...DEFAULT_OPTIONS,
  nodes: 5,
  keys: 300,
  healthIntervalMs: 300,
  healthTimeoutMs: 1000,
  healthThreshold: 5,
  // Small counts vary more: 300 keys over 64 partitions is under 5 keys per partition.
  tolerance: 0.35,
};

export async function runCi(
  spec: ExampleSpec,
  options: ScenarioOptions,
  beforeTeardown?: (cluster: KvCluster) => Promise<void>,
): Promise<ScenarioResult> {
  const log: string[] = [];
  try {
    return await runScenario(spec, options, {
      log: (m) => log.push(m),
      ...(beforeTeardown === undefined ? {} : { beforeTeardown }),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\n--- scenario log ---\n${log.join('\n')}`, { cause: err });
  }
}
