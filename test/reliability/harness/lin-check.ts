/**
 * The linearizability check of a run, in a process of its own:
 *
 *   node --import tsx test/reliability/harness/lin-check.ts <history.json> <maxSteps>
 *
 * prints one JSON line {status, stats, explanation?}. The search is CPU-bound and synchronous: run in the harness
 * it would freeze the harness's event loop (and the proxies every node talks through) for as long as it takes, and
 * nothing could bound it in time. In a child, the harness kills it at its deadline (`checkHistory`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLinearizable, type Op } from '../linearizability.js';

export interface LinVerdict {
  readonly status: 'linearizable' | 'violation' | 'inconclusive' | 'timeout' | 'error';
  readonly explanation?: string;
  readonly stats: { checkedOps: number; keys: number; steps: number; elapsedMs: number };
}

const NO_STATS = { checkedOps: 0, keys: 0, steps: 0, elapsedMs: 0 };

/** Runs the check of the history saved in `file` in a child process, killed after `timeoutMs`. */
export function checkHistory(file: string, maxSteps: number, timeoutMs: number): Promise<LinVerdict> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'lin-check.ts'), file, String(maxSteps)],
      {
        cwd: join(import.meta.dirname, '..', '..', '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - t0;
      if (signal === 'SIGKILL') {
        resolve({
          status: 'timeout',
          explanation: `the check did not finish within ${timeoutMs} ms (history: ${file})`,
          stats: { ...NO_STATS, elapsedMs },
        });
        return;
      }
      try {
        resolve(JSON.parse(out) as LinVerdict);
      } catch {
        resolve({
          status: 'error',
          explanation: `the check failed (exit ${code}): ${err}`,
          stats: { ...NO_STATS, elapsedMs },
        });
      }
    });
  });
}

// As a child: check the history file named on the command line.
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const history = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Op[];
  // JSON has no Infinity or undefined: calls that never returned come back with end null.
  const ops = history.map((o) => ({ ...o, end: o.end ?? undefined }));
  const r = checkLinearizable(ops, { maxSteps: Number(process.argv[3]) });
  const verdict: LinVerdict = {
    status: r.status,
    ...(r.status === 'linearizable' ? {} : { explanation: r.explanation }),
    stats: { checkedOps: r.stats.checkedOps, keys: r.stats.keys, steps: r.stats.steps, elapsedMs: r.stats.elapsedMs },
  };
  process.stdout.write(`${JSON.stringify(verdict)}\n`);
}
