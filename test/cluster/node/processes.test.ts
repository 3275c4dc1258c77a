/**
 * ClusterKit nodes as real processes (fixtures/node-process.ts) on 127.0.0.1 ephemeral ports, with real disks:
 * formation of 10 nodes, SIGKILL of one node of three and its restart, SIGKILL of the leader of five, a node
 * paused with SIGSTOP past the failure threshold coming back by itself, custom data and linearizable reads, and
 * hooks reading the node during rebalances of hundreds of partitions. Every process is booted (TypeScript
 * compiled) before any node starts, so boot cost never disturbs a running cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeSummary } from './fixtures/protocol.js';
import { type NodeOptions, type NodeProc, ProcCluster } from './harness.js';

/** Lenient for small, busy CI machines: unhealthy after 1 s of silence, removed after 2.5 s. */
const HEALTH = { interval: 500, timeout: 1000, failureThreshold: 5 };
const DEAD_AFTER_MS = HEALTH.interval * HEALTH.failureThreshold;

type Ev = Record<string, unknown> & { node?: { id: string }; reason?: string };

let cluster: ProcCluster | null = null;

afterEach(async () => {
  await cluster?.destroy();
  cluster = null;
});

/** Boots `n` processes, starts node-1 (bootstrap), then the others joining through it, concurrently. */
async function form(
  n: number,
  options: NodeOptions = {},
): Promise<{ c: ProcCluster; procs: NodeProc[]; formMs: number }> {
  const c = new ProcCluster();
  cluster = c;
  const procs = await Promise.all(
    Array.from({ length: n }, (_, i) => c.boot(`node-${i + 1}`, { healthCheck: HEALTH, ...options })),
  );
  const first = procs[0]!;
  await first.start();
  const t0 = performance.now();
  await Promise.all(procs.slice(1).map((p) => p.start([first.addr])));
  await c.waitForAgreement(
    procs.map((p) => p.id),
    20_000,
  );
  const formMs = performance.now() - t0;
  // Joiners start as non-voters and are promoted once caught up: until min(N, 5) members vote, losing one of
  // the few voters loses the quorum, so the failure scenarios wait for that first.
  const voters = Math.min(n, 5);
  await c.waitUntil(
    async () => (await c.summaries()).every((s) => s.voters.length === voters),
    10_000,
    `${voters} voters`,
  );
  return { c, procs, formMs };
}

function ownerCounts(s: NodeSummary): number[] {
  return [...new Set(s.owners.map((o) => o.length))];
}

describe('ClusterKit nodes as processes', () => {
  it('10 nodes form one cluster: same members and table everywhere; custom data everywhere; hooks never deadlock', async () => {
    const { c, procs, formMs } = await form(10, { partitionCount: 256, probe: true });
    const all = await c.summaries();
    const ids = procs.map((p) => p.id).sort();
    for (const s of all) {
      expect([...s.nodes].sort(), `members on ${s.id}`).toEqual(ids);
      expect(s.tableVersion, `table version on ${s.id}`).toBe(all[0]!.tableVersion);
      expect(s.tableDigest, `table on ${s.id}`).toBe(all[0]!.tableDigest);
      expect(s.clusterId).toBe(all[0]!.clusterId);
      expect(ownerCounts(s)).toEqual([3]);
      expect(s.ready).toBe(true);
      // maxVoters (5) vote, the others receive the log.
      expect(s.raftMembers).toHaveLength(10);
      // The hook that reads the node from inside every partition change ran, and saw a consistent view.
      expect(s.probeErrors, `probe errors on ${s.id}`).toBe(0);
      expect(s.probeCalls, `probe calls on ${s.id}`).toBeGreaterThan(0);
      expect(s.hookErrors).toBe(0);
    }
    // Every node's own copy events: it was told about each partition it holds.
    for (const p of procs) {
      const gained = new Set(
        p
          .eventsNamed('partitionChange')
          .filter((e) => (e.copyToNode as { id: string }).id === p.id)
          .map((e) => e.partitionId),
      );
      const held = all[0]!.owners.filter((o) => o.includes(p.id)).length;
      expect(gained.size, `copies announced to ${p.id}`).toBeGreaterThanOrEqual(held);
    }
    expect(formMs, 'formation took too long even for a slow machine').toBeLessThan(20_000);

    // Custom data written on one node is readable on all; a linearizable read returns the latest write.
    await procs[6]!.request('set', 'feature_flags', '{"new_ui":true}');
    await c.waitUntil(
      async () =>
        (await Promise.all(procs.map((p) => p.request<string | null>('get', 'feature_flags')))).every(
          (v) => v === '{"new_ui":true}',
        ),
      10_000,
      'the write to reach every node',
    );
    for (const [k, writer] of [procs[1]!, procs[4]!, procs[9]!].entries()) {
      await writer.request('set', 'last_writer', `write ${k} by ${writer.id}`);
      for (const reader of procs) {
        expect(await reader.request('getLinearizable', 'last_writer')).toBe(`write ${k} by ${writer.id}`);
      }
    }
  });

  it('kill -9 one node of three (RF 3): removed once, nothing cascades, survivors told; its restart is a rejoin', async () => {
    const { c, procs } = await form(3);
    const before = await c.summaries();
    const leaderId = before[0]!.leaderId!;
    const victim = procs.find((p) => p.id !== leaderId)!;
    const survivors = procs.filter((p) => p !== victim);
    const primaryOf = before[0]!.owners.map((o) => o[0]);
    const victimPrimaries = primaryOf.filter((id) => id === victim.id).length;
    for (const p of procs) p.events.length = 0;

    const killedAt = victim.kill();
    await c.waitForAgreement(
      survivors.map((p) => p.id),
      DEAD_AFTER_MS + 15_000,
    );
    const removedAfter = Date.now() - killedAt;
    expect(removedAfter).toBeGreaterThanOrEqual(DEAD_AFTER_MS - 100);
    await c.waitUntil(
      () => survivors.every((p) => p.eventsNamed('rebalanceComplete').length >= 1),
      5000,
      'the survivors to run their hooks',
    );
    for (const p of survivors) {
      const s = await p.summary();
      expect(ownerCounts(s), `owners on ${p.id}`).toEqual([2]);
      expect(s.owners.flat()).not.toContain(victim.id);
      // Exactly one removal, of the dead node: no healthy node removed.
      const leaves = p.eventsNamed('nodeLeave') as Ev[];
      expect(leaves.map((e) => [e.node?.id, e.reason])).toEqual([[victim.id, 'health_check_failure']]);
      const leave = leaves[0]!;
      expect((leave.partitionsOwned as string[]).length).toBe(victimPrimaries);
      expect((leave.partitionsOwned as string[]).length + (leave.partitionsReplica as string[]).length).toBe(64);
      expect(leave.lastSeenAt as number).toBeGreaterThan(killedAt - 2000);
      expect(leave.lastSeenAt as number).toBeLessThanOrEqual(killedAt + 500);
      // The survivors already hold every partition: promotions, announced as partition changes needing no copy.
      const changes = p.eventsNamed('partitionChange') as Ev[];
      expect(changes).toHaveLength(victimPrimaries);
      for (const e of changes) {
        const other = survivors.find((q) => q.id !== (e.copyToNode as { id: string }).id)!.id;
        expect(e).toMatchObject({
          oldPrimary: victim.id,
          changeReason: 'node_leave',
          needsCopy: false,
          isPrimary: true,
        });
        expect(e.newPrimary).toBe((e.copyToNode as { id: string }).id);
        expect((e.copyFromNodes as { id: string }[]).map((n) => n.id)).toEqual([other]);
      }
      const complete = p.eventsNamed('rebalanceComplete') as Ev[];
      expect(complete.map((e) => e.trigger)).toEqual(['node_leave']);
      // Health went degraded (the dead node unhealthy) and back to healthy once it was removed.
      const health = (p.eventsNamed('clusterHealthChange') as Ev[]).map((e) => e.status);
      expect(health).toContain('degraded');
      expect(health[health.length - 1]).toBe('healthy');
    }

    // Restart on the same port and data directory: a rejoin, announced before the partition changes it causes.
    const restartedAt = Date.now();
    const back = await c.restart(victim.id);
    await c.waitForAgreement(
      procs.map((p) => p.id),
      15_000,
    );
    await c.waitUntil(
      () =>
        [...survivors, back].every((p) => p.eventsNamed('rebalanceComplete').some((e) => e.trigger === 'node_rejoin')),
      5000,
      'every node to run its rejoin hooks',
    );
    const after = await back.summary();
    expect(new Set(after.nodes).size).toBe(3);
    expect(ownerCounts(after)).toEqual([3]);
    for (const p of [...survivors, back]) {
      const rejoins = p.eventsNamed('nodeRejoin') as Ev[];
      expect(rejoins, `rejoin events on ${p.id}`).toHaveLength(1);
      const r = rejoins[0]!;
      expect(r.node?.id).toBe(victim.id);
      expect(r.offlineDuration as number).toBeGreaterThanOrEqual(restartedAt - killedAt - 2000);
      expect(r.offlineDuration as number).toBeLessThanOrEqual(Date.now() - killedAt + 1000);
      expect(r.lastSeenAt).toBe((survivors[0]!.eventsNamed('nodeLeave')[0] as Ev).lastSeenAt);
      expect(r.partitionsBeforeLeave as string[]).toHaveLength(64);
      const names = p.events.map((e) => e.name);
      const firstRejoinChange = p.events.findIndex(
        (e) => e.name === 'partitionChange' && e.event.changeReason === 'node_rejoin',
      );
      expect(names.indexOf('nodeRejoin')).toBeLessThan(firstRejoinChange);
      const copiesToVictim = (p.eventsNamed('partitionChange') as Ev[]).filter(
        (e) => (e.copyToNode as { id: string }).id === victim.id && e.changeReason === 'node_rejoin',
      );
      expect(copiesToVictim).toHaveLength(64);
      for (const e of copiesToVictim) {
        expect(e.needsCopy).toBe(true);
        expect((e.copyFromNodes as { id: string }[]).map((n) => n.id).sort()).toEqual(
          survivors.map((s) => s.id).sort(),
        );
      }
    }
    // The restarted node reports its rejoin first, and nothing from before its restart.
    expect(back.events[0]?.name).toBe('nodeRejoin');
    expect(back.eventsNamed('nodeJoin')).toEqual([]);
  });

  it('kill -9 the leader of five: a new leader, membership and custom data intact, writes from every node', async () => {
    const { c, procs } = await form(5);
    await procs[1]!.request('set', 'config', 'v1');
    const leaderId = (await c.summaries())[0]!.leaderId!;
    const leader = c.node(leaderId);
    const survivors = procs.filter((p) => p !== leader);
    const termBefore = (await survivors[0]!.summary()).term;
    leader.kill();
    const agreed = await c.waitForAgreement(
      survivors.map((p) => p.id),
      DEAD_AFTER_MS + 20_000,
    );
    const newLeader = agreed[0]!.leaderId!;
    expect(newLeader).not.toBe(leaderId);
    expect(agreed.every((s) => s.leaderId === newLeader && s.term > termBefore)).toBe(true);
    for (const p of survivors) expect(await p.request('get', 'config')).toBe('v1');
    for (const p of survivors) await p.request('set', `written-by-${p.id}`, 'ok');
    for (const p of survivors) {
      for (const q of survivors) expect(await p.request('getLinearizable', `written-by-${q.id}`)).toBe('ok');
    }
    await c.waitUntil(async () => (await survivors[0]!.summary()).voters.length === 4, 10_000, 'four voters');

    // A node paused past the failure threshold is removed; resumed, it notices and rejoins by itself.
    const sleeper = survivors.find((p) => p.id !== newLeader)!;
    const awake = survivors.filter((p) => p !== sleeper);
    sleeper.child.kill('SIGSTOP');
    try {
      await c.waitUntil(
        async () => !(await c.node(newLeader).summary()).nodes.includes(sleeper.id),
        DEAD_AFTER_MS + 15_000,
        'the paused node to be removed',
      );
    } finally {
      sleeper.child.kill('SIGCONT');
    }
    await c.waitForAgreement(
      survivors.map((p) => p.id),
      20_000,
    );
    for (const p of awake) {
      expect(
        (p.eventsNamed('nodeLeave') as Ev[]).filter((e) => e.node?.id === sleeper.id).map((e) => e.reason),
      ).toEqual(['health_check_failure']);
      expect((p.eventsNamed('nodeRejoin') as Ev[]).map((e) => e.node?.id)).toEqual([sleeper.id]);
    }
  });
});
