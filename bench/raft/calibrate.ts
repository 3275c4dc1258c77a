/**
 * Machine-state probes printed next to the Raft figures, so a reader can tell a slow engine from a busy machine:
 * the raw latency of a 200-byte write + fdatasync in the temp directory (where the benchmark's data directories
 * live), the same for three flushers in lock step (what a 3-node commit asks of a disk the nodes share), and how
 * late a 1 ms timer fires (CPU contention shows up there first).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
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

/**
 * `flushers` threads each append 200 bytes to a file of their own and fdatasync it, all at the same moment, round
 * after round, as the leader and followers of one commit do. Returns the latency of each flush: on one shared disk
 * they queue behind each other.
 */
export async function concurrentFsyncLatency(flushers = 3, rounds = 300): Promise<LatencySummary> {
  const dir = mkdtempSync(join(tmpdir(), 'ck-fsync-'));
  // A worker from source text: the benchmark runs under tsx, and this body needs nothing but node:fs.
  const body = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const fd = fs.openSync(workerData.path, 'w+');
    const buf = Buffer.alloc(200, 0x61);
    let pos = 0;
    parentPort.on('message', (m) => {
      if (m === 'stop') { fs.closeSync(fd); parentPort.close(); return; }
      const t = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, pos);
      pos += buf.length;
      fs.fdatasyncSync(fd);
      parentPort.postMessage(performance.now() - t);
    });`;
  const workers = Array.from(
    { length: flushers },
    (_, i) => new Worker(body, { eval: true, workerData: { path: join(dir, `probe-${i}`) } }),
  );
  try {
    const samples = new Samples();
    for (let r = 0; r < rounds; r++) {
      const times = await Promise.all(
        workers.map(
          (w) =>
            new Promise<number>((resolve) => {
              w.once('message', (ms: number) => resolve(ms));
              w.postMessage('go');
            }),
        ),
      );
      for (const ms of times) samples.push(ms);
    }
    return summarize(samples);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    rmSync(dir, { recursive: true, force: true });
  }
}
