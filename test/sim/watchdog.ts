/**
 * The CLI's guard against a run that blocks the event loop for good (an engine callback or a chain of promise
 * continuations that never yields). The loop's own budgets (events, virtual time, wall clock) are only checked
 * between events, so they cannot see such a hang; a worker thread can. The main thread bumps a shared counter
 * after every event; when it stands still for `limitMs`, the worker prints the seed and its replay command straight
 * to stderr (the main thread, which owns console, is stuck) and kills the process.
 */
import { Worker } from 'node:worker_threads';

// Plain CommonJS so the worker needs no TypeScript loader.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beats = new Int32Array(workerData.beats);
const seed = new Float64Array(workerData.seed);
let last = Atomics.load(beats, 0);
let since = Date.now();
setInterval(() => {
  const now = Atomics.load(beats, 0);
  if (now !== last || Atomics.load(beats, 1) === 0) {
    last = now;
    since = Date.now();
    return;
  }
  if (Date.now() - since < workerData.limitMs) return;
  const s = seed[0];
  writeSync(2, '\\nFAILED seed ' + s + ': the event loop was blocked for ' + ((Date.now() - since) / 1000).toFixed(1) +
    ' s (a synchronous hang in the engine or the harness)\\n  replay: ' + workerData.replay.replace('{seed}', String(s)) +
    ' --trace\\n');
  process.kill(process.pid, 'SIGKILL');
}, Math.min(1000, workerData.limitMs));
`;

export class Watchdog {
  private readonly beats = new Int32Array(new SharedArrayBuffer(8));
  private readonly seed = new Float64Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  /** `replay` is the replay command with `{seed}` where the seed goes. */
  constructor(limitMs: number, replay: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { beats: this.beats.buffer, seed: this.seed.buffer, limitMs, replay },
    });
    this.worker.unref();
  }

  /** A run of `seed` starts: watch it. */
  watch(seed: number): void {
    this.seed[0] = seed;
    Atomics.add(this.beats, 0, 1);
    Atomics.store(this.beats, 1, 1);
  }

  /** Called after every event. */
  beat(): void {
    Atomics.add(this.beats, 0, 1);
  }

  /** Between runs (and while printing): nothing to watch. */
  idle(): void {
    Atomics.store(this.beats, 1, 0);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
