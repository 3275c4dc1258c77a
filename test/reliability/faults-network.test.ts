/**
 * Network partitions through the harness's proxies, CI size: the leader isolated, a minority cut off, one-way
 * loss, a bridge node, a cut pair, on five `clusterkit agent` processes, with clients on every node and every
 * checker (docs/RELIABILITY.md).
 */
import { describe, expect, it } from 'vitest';
import { CI_TIMEOUT_MS, runCi } from './ci.js';

describe('faults: network partitions', () => {
  it(
    'partitions of every shape, then healed: linearizable, durable, one primary per epoch, converged',
    async () => {
      const r = await runCi('partition', 103);
      expect(r.faults.length).toBeGreaterThan(0);
      expect(r.faults.every((f) => f.kind.startsWith('partition-'))).toBe(true);
      expect(r.ownership.samples).toBeGreaterThan(0);
    },
    CI_TIMEOUT_MS,
  );
});
