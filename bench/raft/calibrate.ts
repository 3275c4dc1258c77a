/**
 * Machine-state probes printed next to the Raft figures, so a reader can tell a slow engine from a busy machine:
 * the raw latency of a 200-byte write + fdatasync in the temp directory (where the benchmark's data directories
 * live), and how late a 1 ms timer fires (CPU contention shows up there first).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LatencySummary } from './protocol.js';
import { Samples, summarize } from './stats.js';

export function fsyncLatency(iterations = 500): LatencySummary {
  const dir = mkdtempSync(join(tmpdir(), 'ck-fsync-'));
  const fd = openSync(join(dir, 'probe'), 'w+');
  try {
    const buf = Buffer.alloc(200, 0x61);
    const samples = new Samples();
    for (let i = 0; i < iterations; i++) {
      const t = performance.now();
      writeSync(fd, buf, 0, buf.length, i * buf.length);
      fdatasyncSync(fd);
      samples.push(performance.now() - t);
    }
    return summarize(samples);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How late `setTimeout(fn, 1)` fires, over `iterations` sequential timers. */
export async function timerLateness(iterations = 200): Promise<LatencySummary> {
  const samples = new Samples();
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1));
    samples.push(performance.now() - t - 1);
  }
  return summarize(samples);
}
