/**
 * Figures for ClusterKit formation, joining and failure detection with real node processes on 127.0.0.1
 * (not a test: `npm run bench:cluster -- [nodes=10] [--runs N] [--formation-only] [--removals K]`). Every process
 * is booted before any node starts, so TypeScript compilation never counts. Prints:
 *
 * - formation: node-1 bootstraps, then N-1 nodes join at once; time until every node reports the same members
 *   and the same partition table, counted from node-1's start() (its election included) and from the joins
 *   (the Go original: 10 nodes in 4.1 s), and the CPU time the N processes used meanwhile (from /proc, so it does
 *   not depend on how loaded the machine is: on an idle machine with C cores formation cannot take less than
 *   CPU / C);
 * - one more node: time from its start until every node's table includes it (the Go original: 2.1 s);
 * - removal: SIGKILL of a follower until every survivor's table excludes it, with interval 1 s and threshold 3
 *   (the Go original: 2.7 s; target interval × threshold + 0.5 s = 3.5 s); with --removals K, K followers are
 *   killed one after another (each once the previous one is gone). The end is when the last survivor has applied
 *   the removal (its nodeLeave hook ran, reported at once over IPC); every node's members and table are then
 *   checked to agree. (It used to poll every node's summary every millisecond until they agreed, which kept all
 *   the processes answering while they worked; the end now comes from the events, to the millisecond, at no
 *   cost.) Also printed: when the leader proposed the removal and when it applied it, counted from the kill;
 * - memory of an idle node (RSS and heap after GC);
 * - stop(): how long the leader takes to stop while one of its followers is frozen (SIGSTOP).
 *
 * With --runs N the formation is repeated on N fresh clusters and the spread is printed; the other figures are
 * measured on the last one (skipped with --formation-only).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type NodeProc, ProcCluster } from './harness.js';

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'formation-only': { type: 'boolean', default: false },
    removals: { type: 'string', default: '1' },
  },
  allowPositionals: true,
});
const N = Number(positionals[0] ?? 10);
const RUNS = Math.max(1, Number(values.runs));
const REMOVALS = Math.max(1, Math.min(Number(values.removals), Math.floor((N - 2) / 2)));
const HEALTH = { interval: 1000, timeout: 2000, failureThreshold: 3 };

/** User + system CPU time of a process so far, ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted after the command name: indexes 11 and 12 here.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

const totalCpu = (procs: readonly NodeProc[]): number => procs.reduce((n, p) => n + cpuMs(p.child.pid), 0);

interface Formation {
  fromFirstMs: number;
  fromJoinsMs: number;
  bootstrapMs: number;
  cpuMs: number;
  leaderCpuMs: number;
  joinP50: number;
  joinMax: number;
}

async function form(c: ProcCluster, members: readonly NodeProc[]): Promise<Formation> {
  const first = members[0]!;
  const cpu0 = totalCpu(members);
  const leaderCpu0 = cpuMs(first.child.pid);
  const t0 = performance.now();
  await first.start();
  const bootstrapMs = performance.now() - t0;
  const tj = performance.now();
  await Promise.all(members.slice(1).map((p) => p.start([first.addr])));
  await c.waitForAgreement(
    members.map((p) => p.id),
    30_000,
    1,
  );
  const end = performance.now();
  const joins = members.slice(1).map((p) => p.startMs);
  return {
    fromFirstMs: end - t0,
    fromJoinsMs: end - tj,
    bootstrapMs,
    cpuMs: totalCpu(members) - cpu0,
    leaderCpuMs: cpuMs(first.child.pid) - leaderCpu0,
    joinP50: pct(joins, 0.5),
    joinMax: pct(joins, 1),
  };
}

const results: Formation[] = [];
for (let run = 1; run <= RUNS; run++) {
  const last = run === RUNS;
  const withRest = last && !values['formation-only'];
  const c = new ProcCluster();
  try {
    const procs = await Promise.all(
      Array.from({ length: withRest ? N + 1 : N }, (_, i) => c.boot(`node-${i + 1}`, { healthCheck: HEALTH })),
    );
    const members = procs.slice(0, N);
    const load = loadavg()[0]!.toFixed(1);
    const f = await form(c, members);
    results.push(f);
    console.log(
      `formation ${run}/${RUNS}: ${N} nodes (1 bootstrap + ${N - 1} concurrent joins) agreed ${f.fromFirstMs.toFixed(0)} ms ` +
        `after node-1's start() (bootstrap ${f.bootstrapMs.toFixed(0)} ms, then ${f.fromJoinsMs.toFixed(0)} ms after the joins began; ` +
        `per-join start() p50 ${f.joinP50.toFixed(0)} ms, max ${f.joinMax.toFixed(0)} ms); CPU ${f.cpuMs.toFixed(0)} ms in all ` +
        `(leader ${f.leaderCpuMs.toFixed(0)} ms); load average ${load} on ${availableParallelism()} CPUs`,
    );
    if (withRest) {
      await afterFormation(c, procs);
      await stopNextToFrozen(procs);
    }
  } finally {
    await c.destroy();
  }
}
if (RUNS > 1) {
  const spread = (pick: (f: Formation) => number): string => {
    const v = results.map(pick);
    return `min ${pct(v, 0).toFixed(0)} / median ${pct(v, 0.5).toFixed(0)} / max ${pct(v, 1).toFixed(0)} ms`;
  };
  console.log(`formation over ${RUNS} runs: from node-1's start ${spread((f) => f.fromFirstMs)}`);
  console.log(`  from the joins ${spread((f) => f.fromJoinsMs)}; CPU of all nodes ${spread((f) => f.cpuMs)}`);
}

async function afterFormation(c: ProcCluster, procs: readonly NodeProc[]): Promise<void> {
  const first = procs[0]!;
  const extra = procs[N]!;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  let t0 = performance.now();
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

  let alive = [...procs];
  for (let k = 1; k <= REMOVALS; k++) {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the previous removal's follow-up settles
    const leaderId = (await first.summary()).leaderId;
    const leader = alive.find((p) => p.id === leaderId);
    const victim = alive.find((p) => p.id !== leaderId && p !== first)!;
    alive = alive.filter((p) => p !== victim);
    const load = loadavg()[0]!.toFixed(1);
    t0 = performance.now();
    const killedAt = victim.kill();
    const leaveOf = (p: NodeProc) =>
      p.events.find((e) => e.name === 'nodeLeave' && (e.event['node'] as { id?: string }).id === victim.id);
    // Re-checked on every message from a node: no polling while the cluster works.
    await c.waitUntil(() => alive.every((p) => leaveOf(p) !== undefined), 30_000, `${victim.id}'s removal`, 100);
    const appliedMs = performance.now() - t0;
    await c.waitForAgreement(
      alive.map((p) => p.id),
      30_000,
      20,
    );
    const agreedMs = performance.now() - t0;
    const ev = leader === undefined ? undefined : leaveOf(leader);
    const proposed = ev === undefined ? Number.NaN : Number(ev.event['leftAt']) - killedAt;
    const leaderApplied = ev === undefined ? Number.NaN : ev.receivedAt - killedAt;
    // The leader counts from the victim's last answer, which came up to a heartbeat before the kill.
    const silent = ev === undefined ? Number.NaN : Number(ev.event['leftAt']) - Number(ev.event['lastSeenAt']);
    console.log(
      `removal ${k}/${REMOVALS}: SIGKILLed ${victim.id} removed everywhere after ${appliedMs.toFixed(0)} ms ` +
        `(leader proposed at ${proposed.toFixed(0)} ms, after ${silent.toFixed(0)} ms of silence; applied at ${leaderApplied.toFixed(0)} ms; ` +
        `every table checked equal at ${agreedMs.toFixed(0)} ms; ${alive.length} nodes left; ` +
        `interval ${HEALTH.interval} ms × threshold ${HEALTH.failureThreshold}; target ${HEALTH.interval * HEALTH.failureThreshold + 500} ms); ` +
        `load average ${load}`,
    );
  }
}

/**
 * stop() of the leader while one of its followers is frozen (SIGSTOP: its kernel still takes bytes, its process
 * answers nothing, so it never closes its end of the leader's Raft connection): time of the 'stop' request, which
 * resolves once ClusterKit.stop() has. Followers only talk to the leader, so the leader is the node with a
 * connection to close.
 */
async function stopNextToFrozen(procs: readonly NodeProc[]): Promise<void> {
  const alive = procs.filter((p) => p.killedAt === 0);
  const leaderId = (await procs[0]!.summary()).leaderId;
  const leader = alive.find((p) => p.id === leaderId);
  const frozen = alive.find((p) => p.id !== leaderId);
  if (leader === undefined || frozen === undefined) return;
  frozen.child.kill('SIGSTOP');
  try {
    const t0 = performance.now();
    await leader.request('stop');
    console.log(
      `stop(): the leader ${leader.id} stopped in ${(performance.now() - t0).toFixed(0)} ms while its follower ${frozen.id} was frozen`,
    );
  } finally {
    frozen.child.kill('SIGCONT');
  }
}

function pct(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
}
