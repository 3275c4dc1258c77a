/**
 * Figures for ClusterKit formation, joining and failure detection with real node processes on 127.0.0.1
 * (not a test: run `npx tsx test/cluster/node/bench.ts [nodes=10]`). Every process is booted before any node
 * starts, so TypeScript compilation never counts. Prints:
 *
 * - formation: node-1 bootstraps, then N-1 nodes join at once; time until every node reports the same members
 *   and the same partition table (the Go original: 10 nodes in 4.1 s);
 * - one more node: time from its start until every node's table includes it (the Go original: 2.1 s);
 * - removal: SIGKILL of a follower until every survivor's table excludes it, with interval 1 s and threshold 3
 *   (the Go original: 2.7 s; target interval × threshold + 0.5 s = 3.5 s);
 * - memory of an idle node (RSS and heap after GC).
 */
import { ProcCluster } from './harness.js';

const N = Number(process.argv[2] ?? 10);
const HEALTH = { interval: 1000, timeout: 2000, failureThreshold: 3 };

const c = new ProcCluster();
try {
  const procs = await Promise.all(
    Array.from({ length: N + 1 }, (_, i) => c.boot(`node-${i + 1}`, { healthCheck: HEALTH })),
  );
  const first = procs[0]!;
  const extra = procs[N]!;
  const members = procs.slice(0, N);
  await first.start();
  let t0 = performance.now();
  await Promise.all(members.slice(1).map((p) => p.start([first.addr])));
  const joinedMs = performance.now() - t0;
  await c.waitForAgreement(
    members.map((p) => p.id),
    30_000,
    1,
  );
  const formedMs = performance.now() - t0;
  const joins = members.slice(1).map((p) => p.startMs);
  console.log(
    `formation: ${N} nodes (1 bootstrap + ${N - 1} concurrent joins) agreed after ${formedMs.toFixed(0)} ms ` +
      `(all start() resolved after ${joinedMs.toFixed(0)} ms; per-join start() p50 ${pct(joins, 0.5)} ms, max ${pct(joins, 1)} ms)`,
  );

  await new Promise((resolve) => setTimeout(resolve, 1000));
  t0 = performance.now();
  await extra.start([first.addr]);
  const startMs = performance.now() - t0;
  await c.waitForAgreement(
    procs.map((p) => p.id),
    30_000,
    1,
  );
  console.log(
    `node ${N + 1}: start() resolved after ${startMs.toFixed(0)} ms, every node settled after ${(performance.now() - t0).toFixed(0)} ms`,
  );

  const mem = await first.request<{ rss: number; heapUsed: number }>('memory');
  const memF = await extra.request<{ rss: number; heapUsed: number }>('memory');
  console.log(
    `memory: leader rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB; ` +
      `follower rss ${(memF.rss / 2 ** 20).toFixed(1)} MiB heap ${(memF.heapUsed / 2 ** 20).toFixed(1)} MiB ` +
      `(idle, ${N + 1} nodes, 64 partitions; includes tsx)`,
  );

  const leaderId = (await first.summary()).leaderId;
  const victim = procs.find((p) => p.id !== leaderId && p !== first)!;
  const killedAt = performance.now();
  victim.kill();
  await c.waitForAgreement(
    procs.filter((p) => p !== victim).map((p) => p.id),
    30_000,
    1,
  );
  console.log(
    `removal: SIGKILLed node removed everywhere after ${(performance.now() - killedAt).toFixed(0)} ms ` +
      `(interval ${HEALTH.interval} ms × threshold ${HEALTH.failureThreshold}; target ${HEALTH.interval * HEALTH.failureThreshold + 500} ms)`,
  );
} finally {
  await c.destroy();
}

function pct(values: readonly number[], q: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0).toFixed(0);
}
