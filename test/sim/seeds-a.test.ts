/**
 * Random seeds, part A: 3-node and 7-node clusters. Every run draws its own faults, timings and workload from
 * its seed and must pass every safety checker and the liveness checks after the heal. A failure prints each bad
 * seed with the command that replays it.
 */
import { describe, expect, it } from 'vitest';
import { runSeeds, scaled, seedBase } from './seeds.js';

describe('random seeds (3 and 7 nodes)', () => {
  it('3-node clusters', { timeout: 600_000 }, async () => {
    const { failures, results } = await runSeeds(seedBase() + 1, scaled(150), { nodes: 3, durationMs: 5000 });
    expect(failures.join('\n\n')).toBe('');
    // The runs really exercised the system: proposals committed and faults were injected.
    expect(results.reduce((n, r) => n + r.proposals.acked, 0)).toBeGreaterThan(results.length * 20);
    expect(results.reduce((n, r) => n + r.faultsInjected, 0)).toBeGreaterThan(results.length * 3);
  });

  it('7-node clusters', { timeout: 600_000 }, async () => {
    const { failures } = await runSeeds(seedBase() + 10_001, scaled(50), { nodes: 7, durationMs: 5000 });
    expect(failures.join('\n\n')).toBe('');
  });
});
