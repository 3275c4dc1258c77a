/**
 * Membership under faults, CI size: the exact hook events of a kill → removal → restart cycle on every survivor,
 * and joins, graceful leaves and operator removals while nodes crash, pause and get cut off (docs/RELIABILITY.md).
 */
import { describe, expect, it } from 'vitest';
import { CI_TIMEOUT_MS, runCi } from './ci.js';

describe('faults: membership and events', () => {
  it(
    'a node killed until removed, then restarted: every survivor fires nodeLeave, partitionChange, nodeRejoin once',
    async () => {
      const r = await runCi('events', 106);
      expect(r.events.cycles).toBeGreaterThanOrEqual(1);
      expect(r.events.events).toBeGreaterThan(0);
    },
    CI_TIMEOUT_MS,
  );

  it(
    'joins, leaves and removals during crashes, pauses and partitions',
    async () => {
      const r = await runCi('churn', 107);
      expect(r.faults.some((f) => f.kind === 'join' || f.kind === 'leave' || f.kind === 'remove')).toBe(true);
    },
    CI_TIMEOUT_MS,
  );
});
