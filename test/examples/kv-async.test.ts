/**
 * The kv-async example end to end, with real node processes: its scenario at CI size (5 nodes, 300 keys) through
 * its own client: formation, writes and reads, key distribution, SIGKILL of a node, its restart and rejoin, a
 * graceful leave; every key verified at every step, every node's stdout JSON only.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../examples/kv-async/client.js';
import { CI_OPTIONS, runCi } from './kv-scenario-helpers.js';

describe('kv-async example', () => {
  it('runs its scenario: form, write, kill, restart, leave; every key verified', async () => {
    const result = await runCi({ name: 'kv-async', entry: 'examples/kv-async/server.ts', createClient }, CI_OPTIONS);
    for (const p of result.processes) expect(p.nonJson).toEqual([]);
    expect(result.processes.filter((p) => p.id === result.victim)).toHaveLength(2);
    // The client routed by itself from GET /cluster and refreshed its table as membership changed.
    expect(Number(result.figures['client.tableRefreshes'])).toBeGreaterThan(1);
  }, 180_000);
});
