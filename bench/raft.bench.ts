/**
 * Raft benchmark with real processes: `npm run bench:raft` (or `npx tsx bench/raft.bench.ts`).
 *
 * Every node is its own process (bench/raft/node-process.ts) with the file stores (real fdatasync on this disk)
 * and the TCP transport over 127.0.0.1. Writers run INSIDE the leader process and call propose() directly, so
 * the figures are the engine's (propose → replicated to a quorum, durable on each → applied on the leader), with
 * no client protocol (HTTP) in between. Sections:
 *
 *   seq       one sequential writer: commits/s and commit latency percentiles
 *   conc      16, 64 and 256 concurrent writers: commits/s and latency percentiles (writers are closed-loop:
 *             each awaits its commit before proposing again, so throughput = writers / commit latency)
 *   steady    a steady write load (16 writers) with no faults: elections and term changes (should be zero)
 *   failover  SIGKILL of the leader, repeated (the killed node restarts between rounds), for 3 and 5 nodes:
 *             time from the kill until a majority of the survivors know the new leader
 *
 * Options:
 *   --quick            shorter runs (3 s per throughput run, 10 s steady, 5 failover rounds)
 *   --nodes N          cluster size for every section (default: 3; failover runs 3 and 5 unless this is given)
 *   --only a,b         run only these sections (seq, conc, steady, failover)
 *   --writers LIST     writer counts of the conc section (default 16,64,256)
 *   --seconds S        length of each throughput run (default 10, --quick 3)
 *   --steady-seconds S length of the steady run (default 60, --quick 10)
 *   --rounds R         failover rounds per cluster size (default 10, --quick 5)
 *   --payload B        command size in bytes (default 64)
 *   --sync-fs          run the log's durable writes as synchronous syscalls on the main thread instead of in
 *                      libuv's threadpool (the default of openFileStores, and therefore of this benchmark)
 *   --defer-append     experiment: start each log append one tick later, after the socket writes (see protocol.ts)
 *   --tick-ms, --election-ms, --heartbeat-ms   engine timings (defaults: the engine's, 10/300/50)
 *   --cpu-prof DIR     write a V8 CPU profile of every node process to DIR (on clean stop)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { concurrentFsyncLatency, fsyncLatency, timerLateness } from './raft/calibrate.js';
import { type ClusterOptions, killLeaderAndMeasure, ProcessCluster } from './raft/cluster.js';
import { type NodeStatusReport, type NodeTimings, wallNow } from './raft/protocol.js';
import { percentile } from './raft/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    only: { type: 'string' },
    seconds: { type: 'string' },
    writers: { type: 'string' },
    'steady-seconds': { type: 'string' },
    rounds: { type: 'string' },
    payload: { type: 'string' },
    'sync-fs': { type: 'boolean', default: false },
    'defer-append': { type: 'boolean', default: false },
    'tick-ms': { type: 'string' },
    'election-ms': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
  strict: true,
});

function num(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

const quick = args.quick;
const sections = new Set((args.only ?? 'seq,conc,steady,failover').split(',').map((s) => s.trim()));
const nodes = num('nodes', args.nodes, 3);
const concWriters = (args.writers ?? '16,64,256').split(',').map((w) => num('writers', w.trim(), 16));
const runMs = num('seconds', args.seconds, quick ? 3 : 10) * 1000;
const steadyMs = num('steady-seconds', args['steady-seconds'], quick ? 10 : 60) * 1000;
const rounds = num('rounds', args.rounds, quick ? 5 : 10);
const payloadBytes = num('payload', args.payload, 64);
const timings: NodeTimings = {
  ...(args['tick-ms'] === undefined ? {} : { tickMs: num('tick-ms', args['tick-ms'], 10) }),
  ...(args['election-ms'] === undefined ? {} : { electionMs: num('election-ms', args['election-ms'], 300) }),
  ...(args['heartbeat-ms'] === undefined ? {} : { heartbeatMs: num('heartbeat-ms', args['heartbeat-ms'], 50) }),
};
const baseOptions: Omit<ClusterOptions, 'nodes'> = {
  clusterName: 'bench',
  timings,
  threadpoolFs: !args['sync-fs'],
  deferAppend: args['defer-append'],
  forwardStderr: true,
  ...(args['cpu-prof'] === undefined ? {} : { execArgv: ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] }),
};

/** Writers overwrite a bounded set of keys, so the state (and each snapshot) stays at a few thousand keys. */
const TOTAL_KEYS = 6400;
const keysPerWriter = (writers: number): number => Math.ceil(TOTAL_KEYS / writers);

const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const f3 = (n: number): string => n.toFixed(3);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function line(s = ''): void {
  process.stdout.write(`${s}\n`);
}

/** One line per headline figure, printed again at the end next to its target and the Go original's figure. */
const summary: string[] = [];

/**
 * Runs a workload on the current leader and prints its figures with the CPU the whole cluster spent per commit.
 * If leadership moves during the run, the writers keep going on the old leader (their proposals are then forwarded)
 * and the figures are flagged.
 */
async function measured(cluster: ProcessCluster, label: string, writers: number, ms: number) {
  const { id: leaderId, term } = await cluster.waitForLeader(15_000);
  const before = await Promise.all(cluster.alive().map((p) => p.status()));
  const r = await cluster.node(leaderId).workload({
    writers,
    durationMs: ms,
    payloadBytes,
    keyPrefix: label,
    keysPerWriter: keysPerWriter(writers),
  });
  const after = await Promise.all(cluster.alive().map((p) => p.status()));
  const cpu = (s: readonly NodeStatusReport[]): number => s.reduce((t, x) => t + x.cpuMs, 0);
  const leaderCpu = (s: readonly NodeStatusReport[]): number => s.find((x) => x.id === leaderId)?.cpuMs ?? 0;
  const sent = (s: readonly NodeStatusReport[], leader: boolean): number =>
    s.filter((x) => (x.id === leaderId) === leader).reduce((t, x) => t + x.counters.messagesSent, 0);
  const errors = Object.entries(r.errors)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  line(
    `  ${label.padEnd(12)} ${int(r.commitsPerSec).padStart(7)} commits/s   ` +
      `p50 ${f3(r.latency.p50Ms)} ms  p90 ${f3(r.latency.p90Ms)}  p99 ${f3(r.latency.p99Ms)}  ` +
      `max ${f1(r.latency.maxMs)} ms   (${int(r.ok)} commits${errors === '' ? '' : `, failed: ${errors}`})`,
  );
  const ok = Math.max(1, r.ok);
  line(
    `  ${''.padEnd(12)} leader: ${f1(r.appendedEntries / Math.max(1, r.appends))} entries per log append, ` +
      `${f2(r.datasyncs / ok)} fdatasync per commit; CPU per commit: ` +
      `${f3((cpu(after) - cpu(before)) / ok)} ms all nodes, ${f3((leaderCpu(after) - leaderCpu(before)) / ok)} ms leader; ` +
      `CPU busy ${f2((cpu(after) - cpu(before)) / r.elapsedMs)} cores; messages per commit: ` +
      `${f2((sent(after, true) - sent(before, true)) / ok)} sent by the leader, ` +
      `${f2((sent(after, false) - sent(before, false)) / ok)} by the followers`,
  );
  const mine = after.find((x) => x.id === leaderId);
  const moved = mine === undefined || mine.role !== 'leader' || mine.term !== term;
  if (moved) {
    line(
      `  ${''.padEnd(12)} ! leadership moved during this run (${leaderId} is now ${mine?.role ?? 'gone'} in term ` +
        `${mine?.term ?? '?'}): the figures include proposals forwarded from a follower`,
    );
  }
  return { r, before, after, leaderId, moved };
}

const TARGETS: Record<string, string> = {
  '1 writer': 'target p50 < 0.4 ms; Go original ~760 commits/s, p50 1.17 ms',
  '16 writers': 'target ≥ 30,000 commits/s; Go original ~2,900 commits/s',
  '64 writers': 'target ≥ 30,000 commits/s',
};
const MORE_WRITERS = 'closed-loop writers: throughput = writers / commit latency';

async function throughput(): Promise<void> {
  line(`\n== Throughput: ${nodes} nodes, writers inside the leader process, ${payloadBytes} B commands ==`);
  line(`   (load average before: ${load()})`);
  const cluster = await ProcessCluster.start({ ...baseOptions, nodes });
  try {
    const { id } = await cluster.waitForLeader(15_000);
    line(`  leader ${id}; warming up for 2 s`);
    await cluster.node(id).workload({
      writers: 16,
      durationMs: 2000,
      payloadBytes,
      keyPrefix: 'warm',
      keysPerWriter: keysPerWriter(16),
    });
    const runs: [string, number][] = [];
    if (sections.has('seq')) runs.push(['1 writer', 1]);
    if (sections.has('conc')) for (const w of concWriters) runs.push([`${w} writers`, w]);
    for (const [label, writers] of runs) {
      const { r, moved } = await measured(cluster, label, writers, runMs);
      summary.push(
        `${label}: ${int(r.commitsPerSec)} commits/s, p50 ${f3(r.latency.p50Ms)} ms, p99 ${f3(r.latency.p99Ms)} ms` +
          ` (${TARGETS[label] ?? MORE_WRITERS})${moved ? ' [leadership moved during the run]' : ''}`,
      );
    }
    if (sections.has('steady')) await steady(cluster);
    await cluster.stopAll();
  } finally {
    await cluster.destroy();
  }
  line(`   (load average after: ${load()})`);
}

async function steady(cluster: ProcessCluster): Promise<void> {
  line(`\n== Steady load, no faults: ${steadyMs / 1000} s, 16 writers on the leader ==`);
  const eventsBefore = new Map(cluster.alive().map((p) => [p.id, p.leaderEvents.length + p.roleEvents.length]));
  const runStart = wallNow();
  const { before, after } = await measured(cluster, '16 writers', 16, steadyMs);
  const termBefore = Math.max(...before.map((s) => s.term));
  let elections = 0;
  let leaderChanges = 0;
  let events = 0;
  for (const a of after) {
    const b = before.find((s) => s.id === a.id)!;
    elections += a.counters.elections - b.counters.elections;
    leaderChanges += a.counters.leaderChanges - b.counters.leaderChanges;
    const p = cluster.node(a.id);
    events += p.leaderEvents.length + p.roleEvents.length - (eventsBefore.get(a.id) ?? 0);
  }
  const terms = after.map((s) => `${s.id}:${s.term}`).join(' ');
  const termChanges = Math.max(...after.map((s) => s.term)) - termBefore;
  summary.push(
    `steady ${steadyMs / 1000} s under load: ${termChanges} term changes, ${elections} elections started (target: 0)`,
  );
  line(
    `  term changes during the run: ${termChanges}; ` +
      `elections started: ${elections}; leader changes seen: ${leaderChanges}; role/leader events: ${events}`,
  );
  line(
    `  terms now ${terms}; event-loop delay p99/max per node: ` +
      after.map((s) => `${s.id} ${f1(s.loopDelayP99Ms)}/${f1(s.loopDelayMaxMs)} ms`).join(', '),
  );
  line(
    `  longest fdatasync per node (count ≥ 50 ms): ` +
      after.map((s) => `${s.id} ${f1(s.fsyncMaxMs)} ms (${s.fsyncSlow})`).join(', '),
  );
  if (events > 0) {
    line('  role/leader events during the run (time since the run started):');
    for (const p of cluster.alive()) {
      const evs = [
        ...p.roleEvents.map((e) => ({ at: e.at, text: `role ${e.role} term ${e.term}` })),
        ...p.leaderEvents.map((e) => ({ at: e.at, text: `leader ${e.leaderId ?? '-'} term ${e.term}` })),
      ].filter((e) => e.at >= runStart);
      for (const e of evs.sort((a, b) => a.at - b.at))
        line(`    ${p.id} ${f2((e.at - runStart) / 1000)} s into the run: ${e.text}`);
    }
  }
}

async function failover(size: number): Promise<void> {
  line(`\n== Leader failover after kill -9: ${size} nodes, ${rounds} rounds ==`);
  line(`   (load average before: ${load()})`);
  const cluster = await ProcessCluster.start({ ...baseOptions, nodes: size });
  const known: number[] = [];
  const elected: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const { id } = await cluster.waitForLeader(15_000);
      // Every live node follows this leader (the node restarted last round included), and the log moves.
      await cluster.waitUntil(
        () => cluster.alive().every((p) => p.lastLeader?.leaderId === id),
        15_000,
        'every node to follow the leader',
      );
      await cluster.node(id).workload({ writers: 4, ops: 200, payloadBytes, keyPrefix: `r${round}` });
      await cluster.waitForConvergence(15_000);
      // Kill at a random point of the heartbeat cycle rather than right after the last write.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
      const m = await killLeaderAndMeasure(cluster, 20_000);
      known.push(m.ms);
      elected.push(m.electedMs);
      line(
        `  round ${String(round).padStart(2)}: killed ${m.victim}, ${m.newLeader} leads term ${m.term}; ` +
          `elected after ${f1(m.electedMs)} ms, known by a majority of survivors after ${f1(m.ms)} ms`,
      );
      await cluster.restart(m.victim);
    }
    await cluster.stopAll();
  } finally {
    await cluster.destroy();
  }
  const sorted = Float64Array.from(known).sort();
  const sortedElected = Float64Array.from(elected).sort();
  line(
    `  ${size} nodes: kill → new leader known by a majority of survivors: median ${f1(percentile(sorted, 50))} ms, ` +
      `p90 ${f1(percentile(sorted, 90))} ms, max ${f1(sorted[sorted.length - 1] ?? 0)} ms ` +
      `(kill → elected: median ${f1(percentile(sortedElected, 50))} ms)`,
  );
  line(`   (load average after: ${load()})`);
}

async function machineState(when: string): Promise<void> {
  const fsync = fsyncLatency();
  const three = await concurrentFsyncLatency(3);
  const timer = await timerLateness();
  line(
    `machine ${when}: load average ${load()}; raw write+fdatasync p50 ${f3(fsync.p50Ms)} ms p99 ` +
      `${f3(fsync.p99Ms)} ms, three at once (one shared disk) p50 ${f3(three.p50Ms)} ms p99 ${f3(three.p99Ms)} ms; ` +
      `1 ms timer late by p50 ${f3(timer.p50Ms)} ms p99 ${f3(timer.p99Ms)} ms`,
  );
}

async function main(): Promise<void> {
  line(`Raft benchmark (real processes, file stores with fdatasync, TCP on 127.0.0.1)`);
  line(
    `node ${process.version}; ${args['sync-fs'] ? 'synchronous fs syscalls (--sync-fs)' : 'fs syscalls in the threadpool (the default)'}, O_DSYNC log appends` +
      `${args['defer-append'] ? ', deferred log appends (experiment)' : ''}; timings ` +
      `${JSON.stringify(timings)} (empty = engine defaults)`,
  );
  await machineState('before');
  if (sections.has('seq') || sections.has('conc') || sections.has('steady')) await throughput();
  if (sections.has('failover')) {
    for (const size of args.nodes === undefined ? [3, 5] : [nodes]) await failover(size);
  }
  line();
  await machineState('after');
  line('\nSummary (writers run inside the leader process: engine figures, no client protocol):');
  for (const s of summary) line(`  ${s}`);
  if (args['cpu-prof'] !== undefined) line(`CPU profiles written to ${args['cpu-prof']}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
