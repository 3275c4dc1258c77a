/**
 * A stuck or runaway run must end as a failure naming its seed, never hang the run, the test or the long campaign:
 * the loop's budgets (events, events without virtual time advancing, virtual time, wall clock), their plumbing into
 * a run's result, the CLI's report, and the watchdog that ends a process whose event loop is blocked for good.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { realFactory } from './engine.js';
import { SimBudgetError, SimLoop } from './loop.js';
import { deriveParams } from './params.js';
import { runSimulation } from './run.js';
import { Trace } from './trace.js';

const run = promisify(execFile);

async function budgetOf(loop: SimLoop, deadline: number): Promise<string> {
  try {
    await loop.runUntil(deadline);
  } catch (error) {
    if (error instanceof SimBudgetError) return error.budget;
    throw error;
  }
  return 'none';
}

describe('the loop budgets', () => {
  it('stops a loop in zero virtual time', async () => {
    const loop = new SimLoop(new Trace(), { maxEvents: 1e9, maxEventsPerInstant: 500, maxTimeMs: 1e9 });
    const again = (): void => void loop.schedule(0, 'spin', again);
    loop.schedule(5, 'spin', again);
    expect(await budgetOf(loop, 100)).toBe('instant');
    expect(loop.now()).toBe(5);
  });

  it('stops a storm that still advances time (the shape of seed 1001086) on the event budget', async () => {
    const loop = new SimLoop(new Trace(), { maxEvents: 2000, maxEventsPerInstant: 1e9, maxTimeMs: 1e9 });
    // Every event schedules two more a little later: the work grows without bound while time creeps on.
    const storm = (): void => {
      loop.schedule(0.001, 'a', storm);
      loop.schedule(0.001, 'b', storm);
    };
    loop.schedule(1, 'start', storm);
    expect(await budgetOf(loop, 10_000)).toBe('events');
    expect(loop.eventsRun).toBe(2001);
  });

  it('stops at the virtual-time budget, also when only the deadline moves the clock', async () => {
    const loop = new SimLoop(new Trace(), { maxEvents: 1e9, maxEventsPerInstant: 1e9, maxTimeMs: 1000 });
    const tick = (): void => void loop.schedule(10, 'tick', tick);
    loop.schedule(10, 'tick', tick);
    expect(await budgetOf(loop, 5000)).toBe('time');
    const idle = new SimLoop(new Trace(), { maxEvents: 1e9, maxEventsPerInstant: 1e9, maxTimeMs: 1000 });
    expect(await budgetOf(idle, 999)).toBe('none');
    expect(await budgetOf(idle, 1001)).toBe('time');
  });

  it('stops at the wall-clock deadline', async () => {
    const loop = new SimLoop(new Trace(), {
      maxEvents: 1e9,
      maxEventsPerInstant: 1e9,
      maxTimeMs: 1e12,
      wallDeadline: performance.now() + 50,
    });
    const tick = (): void => void loop.schedule(1, 'tick', tick);
    loop.schedule(1, 'tick', tick);
    expect(await budgetOf(loop, 1e11)).toBe('wall');
  });
});

describe('a run over budget', () => {
  it('ends with a budget violation instead of hanging', { timeout: 60_000 }, async () => {
    const params = deriveParams(3, { nodes: 3, maxEvents: 3000 });
    const r = await runSimulation(params, { factory: realFactory });
    expect(r.ok).toBe(false);
    expect(r.violations.map((v) => v.kind)).toEqual(['budget']);
    expect(r.violations[0]?.message).toMatch(/event budget exhausted: 3000 events/);
    expect(r.events).toBe(3001);
  });

  it('seed 1001086 (a commit-bump ping-pong that multiplied with every duplicated message) passes', {
    timeout: 120_000,
  }, async () => {
    const r = await runSimulation(deriveParams(1001086), { factory: realFactory });
    expect(r.violations).toEqual([]);
    // It ran away to millions of events before the fix; a normal run of its length takes tens of thousands.
    expect(r.events).toBeLessThan(300_000);
  });
});

describe('the command line', () => {
  it('reports a run over budget as a failure with its seed and replay command', { timeout: 120_000 }, async () => {
    const args = ['tsx', 'test/sim/cli.ts', '--seed', '9', '--nodes', '3', '--duration', '2000', '--max-events', '500'];
    const out = await run('npx', args).then(
      () => ({ code: 0, stdout: '' }),
      (e: unknown) => e as { code: number; stdout: string },
    );
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('FAILED seed 9');
    expect(out.stdout).toContain('[budget]');
    expect(out.stdout).toContain('replay: npm run sim -- --seed 9 --nodes 3 --duration 2000 --max-events 500');
  });

  it('the watchdog kills a process whose event loop is blocked, after printing the seed', {
    timeout: 60_000,
  }, async () => {
    const script = [
      "import { Watchdog } from './test/sim/watchdog.ts';",
      "const w = new Watchdog(300, 'npm run sim -- --seed {seed}');",
      'w.watch(4711);',
      'const end = Date.now() + 20_000;',
      'while (Date.now() < end) {}',
      "console.log('never killed');",
    ].join('\n');
    const out = await run('npx', ['tsx', '--eval', script]).then(
      () => ({ code: 0, signal: null, stderr: '', stdout: 'exited normally' }),
      (e: unknown) => e as { code: number | null; signal: string | null; stderr: string; stdout: string },
    );
    expect(out.stdout).not.toContain('never killed');
    // Killed: tsx reports its child's SIGKILL as exit code 137.
    expect(out.signal === 'SIGKILL' || out.code === 137).toBe(true);
    expect(out.stderr).toContain('FAILED seed 4711');
    expect(out.stderr).toContain('replay: npm run sim -- --seed 4711 --trace');
  });
});
