/** Random seeds, part B: 5-node clusters (see seeds-a.test.ts). */
import { describe, expect, it } from 'vitest';
import { runSeeds, scaled, seedBase } from './seeds.js';

describe('random seeds (5 nodes)', () => {
  it('5-node clusters', { timeout: 600_000 }, async () => {
    const { failures, results } = await runSeeds(seedBase() + 20_001, scaled(100), { nodes: 5, durationMs: 5000 });
    expect(failures.join('\n\n')).toBe('');
    const crashes = results.reduce((n, r) => n + r.crashes, 0);
    const membership = results.reduce(
      (n, r) =>
        n +
        Object.entries(r.operatorCalls)
          .filter(([k]) => k.endsWith(' ok'))
          .reduce((m, [, v]) => m + v, 0),
      0,
    );
    expect(crashes).toBeGreaterThan(results.length);
    expect(membership).toBeGreaterThan(10);
  });
});
