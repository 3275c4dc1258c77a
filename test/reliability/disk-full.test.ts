/**
 * Regression test for a bug the fault harness found (scenario `disk`): a store write failing with ENOSPC stopped
 * the whole node (every storage error was fatal), although the stores leave themselves intact after ENOSPC and
 * the write can simply be tried again once space is freed. Now the node keeps retrying the write, refuses
 * proposals with a clear retriable error meanwhile, hands leadership over if it led, and catches up once its disk
 * accepts writes again. Other storage errors stay fatal.
 *
 * RaftNode on the in-process test bed (virtual time, memory stores) with a log store that can be made full.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterKitError } from '../../src/errors.js';
import { storageIoError } from '../../src/raft/storage/fs.js';
import type { Entry } from '../../src/raft/types.js';
import { cmd, TestCluster, type TestNode } from '../raft/core/harness.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** Makes `node`'s log appends fail with `code` while `fault.on` is true (leaving the store unchanged). */
function faultyLog(node: TestNode, code: string): { on: boolean; failures: number } {
  const fault = { on: false, failures: 0 };
  const append = node.log.append.bind(node.log);
  node.log.append = (entries: readonly Entry[]): Promise<void> => {
    if (!fault.on) return append(entries);
    fault.failures++;
    const cause = Object.assign(new Error(`${code}: simulated`), { code });
    return Promise.reject(storageIoError('append', 'wal/segment', cause));
  };
  return fault;
}

async function rejection(c: TestCluster, p: Promise<unknown>): Promise<ClusterKitError> {
  const err = await c.settle(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ClusterKitError)) throw new Error(`expected a ClusterKitError, got ${String(err)}`);
  return err;
}

describe('a node whose disk is full', () => {
  it('refuses writes with a clear error, hands leadership over, keeps the cluster going and recovers', async () => {
    const c = await TestCluster.start(['a', 'b', 'c']);
    cluster = c;
    const old = await c.waitForLeader();
    await c.settle(old.raft.propose(cmd('k', 'v0')));
    const fault = faultyLog(old, 'ENOSPC');
    const storage: (string | null)[] = [];
    old.raft.on('storage', (e) => storage.push(e === null ? null : e.message));
    const stopped: unknown[] = [];
    old.raft.on('stopped', (e) => stopped.push(e));

    fault.on = true;
    // This proposal's append fails: it waits (the core never counts it durable here) instead of killing the node.
    const pending = old.raft.propose(cmd('k', 'v1'), { timeoutMs: 60_000 });
    pending.catch(() => undefined);
    await c.time.waitFor(() => storage.length === 1, 2000, 'the storage fault to be reported');
    expect(storage[0]).toMatch(/ENOSPC/);
    const refused = await rejection(c, old.raft.propose(cmd('k', 'v2')));
    expect(refused.code).toBe('ERR_UNAVAILABLE');
    expect(refused.retriable).toBe(true);
    expect(refused.message).toMatch(/cannot write to its disk.*ENOSPC/);

    // Leadership moved to a node that can write, and the cluster keeps committing.
    const next = await c.waitForLeader(
      5000,
      ['b', 'c', 'a'].filter((id) => id !== old.id),
    );
    expect(next.id).not.toBe(old.id);
    await c.settle(next.raft.propose(cmd('k', 'v3')));
    expect((await rejection(c, old.raft.propose(cmd('k', 'v4')))).code).toBe('ERR_UNAVAILABLE');
    await c.time.run(3000);
    expect(fault.failures).toBeGreaterThan(2); // retried with back-off
    expect(stopped).toEqual([]);

    // Space returns: the retried write succeeds, the node catches up and accepts writes again.
    fault.on = false;
    await c.time.waitFor(() => storage.length === 2, 5000, 'the storage fault to clear');
    expect(storage[1]).toBeNull();
    await c.settle(old.raft.propose(cmd('k', 'v5')));
    const last = next.raft.status().lastIndex;
    await c.waitForApplied(last, 5000);
    const values = c.running().map((n) => n.sm.data.get('k'));
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toBe('v5');
    // The first write was kept once (or not at all), never twice or out of order.
    for (const n of c.running())
      expect(n.sm.appliedIndexes).toEqual([...new Set(n.sm.appliedIndexes)].sort((x, y) => x - y));
    expect(stopped).toEqual([]);
  });

  it('still stops the node on an error that retrying cannot fix (EIO)', async () => {
    const c = await TestCluster.start(['a', 'b', 'c']);
    cluster = c;
    const leader = await c.waitForLeader();
    const fault = faultyLog(leader, 'EIO');
    const stopped: (Error | undefined)[] = [];
    leader.raft.on('stopped', (e) => stopped.push(e));
    fault.on = true;
    const err = await rejection(c, leader.raft.propose(cmd('k', 'v')));
    expect(err.code).toBe('ERR_SHUTTING_DOWN');
    await c.time.waitFor(() => stopped.length === 1, 2000, 'the node to stop');
    expect(stopped[0]?.message).toMatch(/EIO/);
  });
});
