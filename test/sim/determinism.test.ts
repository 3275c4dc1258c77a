/** A seed is a complete description of a run: replaying it yields the identical event trace. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { realFactory } from './engine.js';
import { deriveParams } from './params.js';
import { runSimulation } from './run.js';

describe('determinism', () => {
  it('replays a seed to the identical event trace, and different seeds diverge', { timeout: 120_000 }, async () => {
    const params = () => deriveParams(4242, { nodes: 5, durationMs: 4000 });
    const a = await runSimulation(params(), { factory: realFactory, traceMode: 'full' });
    const b = await runSimulation(params(), { factory: realFactory, traceMode: 'full' });
    expect(a.faultsInjected).toBeGreaterThan(0);
    expect(a.proposals.acked).toBeGreaterThan(0);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.traceTail.length).toBe(a.traceTail.length);
    // Compare line by line so a divergence points at the first differing event.
    const firstDiff = a.traceTail.findIndex((line, i) => b.traceTail[i] !== line);
    expect(firstDiff).toBe(-1);
    const c = await runSimulation(deriveParams(4243, { nodes: 5, durationMs: 4000 }), { factory: realFactory });
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });
});

describe('replay from the command line', () => {
  it('prints the same fingerprint for a seed in two separate processes', { timeout: 120_000 }, async () => {
    const run = promisify(execFile);
    const args = ['tsx', 'test/sim/cli.ts', '--seed', '77', '--nodes', '3', '--duration', '2000'];
    const outputs = await Promise.all([run('npx', args), run('npx', args)]);
    const prints = outputs.map(({ stdout }) => /fingerprint ([0-9a-f]{16}:\d+)/.exec(stdout)?.[1]);
    expect(prints[0]).toMatch(/^[0-9a-f]{16}:\d+$/);
    expect(prints[1]).toBe(prints[0]);
    expect(outputs[0].stdout).toContain('violations:          0');
  });
});
