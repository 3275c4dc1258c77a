/**
 * Disk faults and whole-cluster crashes, CI size: a slow fsync and a full disk (ENOSPC) on any node and on the
 * leader, with crashes; kill -9 of every node at once, then a restart, after which every acknowledged write must
 * still be there (docs/RELIABILITY.md).
 */
import { describe, expect, it } from 'vitest';
import { CI_TIMEOUT_MS, runCi } from './ci.js';

describe('faults: disks and total crashes', () => {
  it(
    'slow and full disks: the node refuses writes, stays up, and recovers when space returns',
    async () => {
      const r = await runCi('disk', 104);
      expect(r.faults.some((f) => f.kind === 'disk-full' || f.kind === 'disk-slow')).toBe(true);
      expect(r.ops.okAfterHeal).toBeGreaterThan(0);
    },
    CI_TIMEOUT_MS,
  );

  it(
    'kill -9 of every node at once, then a restart: no acknowledged write lost',
    async () => {
      const r = await runCi('durability', 105);
      expect(r.faultCounts['kill-all']).toBeGreaterThanOrEqual(1);
      expect(r.durable.acked).toBeGreaterThan(0);
      expect(r.durable.lost).toBe(0);
    },
    CI_TIMEOUT_MS,
  );
});
