/**
 * Crashes and pauses with real `clusterkit agent` processes, CI size (the long runs: npm run reliability, see
 * docs/RELIABILITY.md): kill -9 of any node and of the leader with rolling restarts; SIGSTOP/SIGCONT longer than
 * the election timeout. Clients on every node; the history must be linearizable, no acknowledged write lost, no
 * two primaries of a partition at one epoch, every node back on one table, events once each.
 */
import { describe, expect, it } from 'vitest';
import { CI_TIMEOUT_MS, runCi } from './ci.js';

describe('faults: crashes and pauses', () => {
  it(
    'kill -9 (any node, the leader) and rolling restarts',
    async () => {
      const r = await runCi('crash', 101);
      expect(r.faults.length).toBeGreaterThan(0);
      expect(r.lin.status).not.toBe('not run');
      expect(r.ops.ok).toBeGreaterThan(0);
      expect(r.durable.acked).toBeGreaterThan(0);
    },
    CI_TIMEOUT_MS,
  );

  it(
    'SIGSTOP/SIGCONT of any node and of the leader, longer than the election timeout',
    async () => {
      const r = await runCi('pause', 102);
      expect(r.faults.length).toBeGreaterThan(0);
      expect(r.ops.okAfterHeal).toBeGreaterThan(0);
    },
    CI_TIMEOUT_MS,
  );
});
