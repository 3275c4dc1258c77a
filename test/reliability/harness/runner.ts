/**
 * One run of a scenario, start to finish:
 *
 *   form      n1 bootstraps, the others join; wait until every node reports the same members and table
 *   load      clients on every node (workload.ts), a table sampler on every node (sampler.ts)
 *   faults    the nemesis for the scenario's duration (or the events scenario's targeted cycles); then healed
 *   crash     (some scenarios) kill -9 of every node at once, then all restarted
 *   recover   wait until the nodes agree again; the clients keep going for a few seconds: writes must succeed
 *   verify    final reads of every key from every node; every durable write read back; then the checkers:
 *             durability, ownership (and convergence), events; once every process is gone, linearizability
 *             (in a child process with a deadline: the search is CPU-bound)
 *
 * Everything is bounded in time, every process and proxy is cleaned up (also on failure), and the report carries
 * the seed and the command that repeats the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDurability } from './checks/durability.js';
import { checkEvents, expectCycle, type LifeEvents } from './checks/events.js';
import { convergence, type TableSample } from './checks/ownership.js';
import { ProcessCluster, sleep } from './cluster.js';
import { request } from './http.js';
import type { ClusterSettings, NodeLauncher } from './launcher.js';
import { checkHistory } from './lin-check.js';
import { type FaultRecord, Nemesis } from './nemesis.js';
import { Rng } from './rng.js';
import { TableSampler } from './sampler.js';
import { type Scenario, SETTINGS } from './scenarios.js';
import { DEFAULT_WORKLOAD, Workload, type WorkloadOptions } from './workload.js';

export interface RunConfig {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly launcher: NodeLauncher;
  readonly launcherName: string;
  readonly clientsPerNode?: number;
  /** Keep the run directory (node data, logs, history.json): always, or only when the run found a violation. */
  readonly keepDir?: boolean | 'on-failure';
  readonly settings?: ClusterSettings;
  readonly workload?: Partial<WorkloadOptions>;
  /** Budget of the linearizability search (model steps), and its wall-clock deadline. */
  readonly maxSteps?: number;
  readonly linTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export type Checker =
  | 'linearizability'
  | 'durability'
  | 'ownership'
  | 'convergence'
  | 'events'
  | 'availability'
  | 'liveness'
  | 'harness';

export interface Violation {
  readonly checker: Checker;
  readonly message: string;
}

export interface RunReport {
  readonly scenario: string;
  readonly seed: number;
  readonly launcher: string;
  readonly nodes: number;
  readonly finalMembers: string[];
  readonly durationMs: number;
  wallMs: number;
  readonly ops: { calls: number; ok: number; unknown: number; failed: number; okAfterHeal: number };
  readonly durable: { written: number; acked: number; unknown: number; lost: number };
  readonly faults: FaultRecord[];
  readonly faultCounts: Record<string, number>;
  readonly ownership: { samples: number; epochs: number; versions: number };
  readonly events: { events: number; transitions: number; cycles: number };
  lin: { status: string; checkedOps: number; keys: number; steps: number; elapsedMs: number };
  readonly violations: Violation[];
  readonly command: string;
  dir: string | undefined;
}

const CONVERGE_MS = 90_000;
const DEFAULT_LIN_STEPS = 20_000_000;
const DEFAULT_LIN_TIMEOUT_MS = 180_000;
const RECOVERY_WINDOW_MS = 3000;

export function reproduceCommand(
  c: Pick<RunConfig, 'scenario' | 'seed' | 'nodes' | 'durationMs' | 'launcherName'>,
): string {
  return (
    `npm run reliability -- --scenario ${c.scenario.name} --seed ${c.seed} --nodes ${c.nodes} ` +
    `--duration ${Math.round(c.durationMs / 1000)}s --launcher ${c.launcherName}`
  );
}

export async function runScenario(config: RunConfig): Promise<RunReport> {
  const began = performance.now();
  const log = config.log ?? (() => undefined);
  const rng = new Rng(config.seed);
  const settings = config.settings ?? SETTINGS;
  const c = new ProcessCluster({ launcher: config.launcher, settings, log });
  let checkLin: boolean;
  const violations: Violation[] = [];
  const violate = (checker: Checker, message: string): void => {
    violations.push({ checker, message });
    log(`VIOLATION [${checker}] ${message}`);
  };
  const perNode = config.clientsPerNode ?? 2;
  const workload = new Workload({ ...DEFAULT_WORKLOAD, ...config.workload }, rng.fork(), (id) => {
    const s = c.slots.get(id);
    return s?.status === 'up' ? s.listenPort : undefined;
  });
  const sampler = new TableSampler(c);
  const nemesisRng = rng.fork();
  const nemesis = new Nemesis(c, nemesisRng, {
    faults: config.scenario.faults,
    churn: config.scenario.churn,
    minMembers: 3,
    maxMembers: config.nodes + 2,
    electionMs: settings.raft.electionMs,
    onJoin: (id) => workload.addClients(id, perNode),
    log,
  });
  const report: RunReport = {
    scenario: config.scenario.name,
    seed: config.seed,
    launcher: config.launcherName,
    nodes: config.nodes,
    finalMembers: [],
    durationMs: config.durationMs,
    wallMs: 0,
    ops: { calls: 0, ok: 0, unknown: 0, failed: 0, okAfterHeal: 0 },
    durable: { written: 0, acked: 0, unknown: 0, lost: 0 },
    faults: nemesis.records,
    faultCounts: {},
    ownership: { samples: 0, epochs: 0, versions: 0 },
    events: { events: 0, transitions: 0, cycles: 0 },
    lin: { status: 'not run', checkedOps: 0, keys: 0, steps: 0, elapsedMs: 0 },
    violations,
    command: reproduceCommand(config),
    dir: undefined,
  };
  log(`run ${report.command} (seed ${config.seed}) in ${c.dir}`);
  let loadStarted = false;
  try {
    // form
    const ids = Array.from({ length: config.nodes }, (_, i) => `n${i + 1}`);
    await c.add(ids[0]!);
    await Promise.all(ids.slice(1).map((id) => c.add(id)));
    await waitConverged(c, sampler, CONVERGE_MS);
    log(`formed: ${ids.join(', ')}`);

    // load + faults
    sampler.start();
    workload.start(ids, perNode);
    loadStarted = true;
    // Forming fires events on every node: none means the launcher does not report them (the bare executable).
    const eventsReported = [...c.slots.values()].some((s) => s.lives.some((l) => l.events.length > 0));
    if (!eventsReported) log('the nodes report no hook events: the events checks are skipped');
    if (config.scenario.eventCycles === true) {
      report.events.cycles = await eventCycles(c, sampler, nemesisRng, config.durationMs, eventsReported, {
        violate,
        log,
        record: (r) => nemesis.records.push({ ...r, at: Math.round(performance.now() - began) }),
      });
    } else {
      await nemesis.run(config.durationMs);
    }
    for (const p of nemesis.problems) violate('harness', p);

    // crash
    if (config.scenario.killAllAtEnd) {
      const all = c.members().map((s) => s.id);
      log(`kill -9 of every node: ${all.join(', ')}`);
      nemesis.records.push({
        at: Math.round(performance.now() - began),
        kind: 'kill-all',
        targets: all,
        holdMs: 0,
        note: 'at the end',
      });
      await Promise.all(all.map((id) => c.kill(id)));
      const restarts = await Promise.allSettled(all.map((id) => c.start(id)));
      for (const r of restarts) {
        if (r.status === 'rejected')
          violate('harness', `restart after the kill of every node failed: ${String(r.reason)}`);
      }
    }

    // recover
    const healedAt = performance.now();
    const converged = await waitConverged(c, sampler, CONVERGE_MS).then(
      () => true,
      (err: unknown) => {
        violate('convergence', err instanceof Error ? err.message : String(err));
        return false;
      },
    );
    log(`converged ${Math.round(performance.now() - healedAt)} ms after the faults ended`);
    const okBefore = workload.stats.ok;
    await sleep(RECOVERY_WINDOW_MS);
    report.ops.okAfterHeal = workload.stats.ok - okBefore;
    if (converged && report.ops.okAfterHeal === 0) {
      violate('availability', `no call succeeded in the ${RECOVERY_WINDOW_MS} ms after the cluster healed`);
    }
    await workload.stop();
    await sampler.stop();
    loadStarted = false;

    // verify: final reads (recorded), durable keys, the last tables
    const up = c.nodes();
    await Promise.all(
      up.map(async (s) => {
        for (const key of workload.keyNames()) await workload.call(`final/${s.id}`, s.listenPort, key, { f: 'get' });
      }),
    );
    const read = await readDurable(
      c,
      workload.durable.map((w) => w.key),
    );
    const d = checkDurability(workload.durable, read.values);
    for (const k of read.unreadable.slice(0, 5)) violate('durability', `could not read ${k} back`);
    for (const k of d.lost.slice(0, 10)) violate('durability', `acknowledged write lost: ${k}`);
    for (const k of d.wrong.slice(0, 10)) violate('durability', `wrong value: ${k}`);
    for (const k of d.phantom.slice(0, 10)) violate('durability', `a write that never reached a node is present: ${k}`);
    report.durable.written = workload.durable.length;
    report.durable.acked = d.acked;
    report.durable.unknown = d.unknown;
    report.durable.lost = d.lost.length;

    const last = await sampler.sampleOnce(3000);
    const diff = convergence(last);
    if (diff !== null) violate('convergence', `after the run: ${diff}`);
    report.finalMembers.push(...(last[0]?.members ?? []));
    for (const v of sampler.checker.violations) violate('ownership', v.message);
    report.ownership.samples = sampler.checker.samples;
    report.ownership.epochs = sampler.checker.epochsSeen;
    report.ownership.versions = sampler.checker.versionsSeen;

    // A node process must only end when the harness ends it (kill, leave), never by itself (a full disk, a bug).
    for (const slot of c.slots.values()) {
      for (const l of slot.lives) {
        if (l.exit !== undefined && !l.expectedEnd) {
          violate(
            'liveness',
            `${slot.id} (life ${l.life}) exited on its own: code ${l.exit.code}, signal ${l.exit.signal}`,
          );
        }
      }
    }

    const lives: LifeEvents[] = [...c.slots.values()].flatMap((s) =>
      // A life that ended (killed, left, stopped) may have had hooks queued that never ran.
      s.lives.map((l) => ({ node: s.id, life: l.life, events: l.events, truncated: l.exit !== undefined })),
    );
    if (lives.some((l) => l.events.length > 0)) {
      const undisturbed = c
        .members()
        .filter((s) => s.status === 'up' && s.lives.length === 1 && !nemesis.disturbed.has(s.id))
        .map((s) => s.id);
      const ev = checkEvents(lives, undisturbed);
      for (const v of ev.violations) violate('events', v);
      report.events.events = ev.events;
      report.events.transitions = ev.transitions;
    }

    checkLin = true;
  } catch (err) {
    violate('harness', err instanceof Error ? (err.stack ?? err.message) : String(err));
    checkLin = loadStarted; // what the clients recorded is still a history to check
  } finally {
    if (loadStarted) {
      await workload.stop().catch(() => undefined);
      await sampler.stop().catch(() => undefined);
    }
    Object.assign(report.ops, {
      calls: workload.stats.calls,
      ok: workload.stats.ok,
      unknown: workload.stats.unknown,
      failed: workload.stats.failed,
    });
    for (const f of nemesis.records) report.faultCounts[f.kind] = (report.faultCounts[f.kind] ?? 0) + 1;
    await c.stop();
  }
  // The history is checked once every node is gone (the search is CPU-bound), in a child process with a deadline.
  if (checkLin) {
    const file = join(c.dir, 'history.json');
    writeFileSync(file, JSON.stringify(workload.recorder.history()));
    const v = await checkHistory(
      file,
      config.maxSteps ?? DEFAULT_LIN_STEPS,
      config.linTimeoutMs ?? DEFAULT_LIN_TIMEOUT_MS,
    );
    report.lin = { status: v.status, ...v.stats };
    log(`linearizability: ${v.status} (${v.stats.checkedOps} ops, ${Math.round(v.stats.elapsedMs)} ms)`);
    if (v.status === 'violation') violate('linearizability', v.explanation ?? '');
    else if (v.status === 'error') violate('harness', v.explanation ?? 'the linearizability check failed');
    else if (v.status !== 'linearizable') log(`linearizability not decided: ${v.explanation ?? v.status}`);
  }
  const undecided = report.lin.status === 'timeout' || report.lin.status === 'inconclusive';
  const keep = config.keepDir === true || (config.keepDir === 'on-failure' && (violations.length > 0 || undecided));
  if (keep) report.dir = c.dir;
  else c.removeDir();
  report.wallMs = Math.round(performance.now() - began);
  return report;
}

/** Waits until every up node answers and all report the same members (the expected ones) and table. */
async function waitConverged(c: ProcessCluster, sampler: TableSampler, timeoutMs: number): Promise<TableSample[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const want = c
      .members()
      .map((s) => s.id)
      .sort()
      .join(',');
    const up = c.nodes().length;
    const samples = await sampler.sampleOnce(2000);
    const diff = convergence(samples);
    const members = samples[0] === undefined ? '' : [...samples[0].members].sort().join(',');
    if (samples.length === up && up === c.members().length && diff === null && members === want) return samples;
    const why =
      samples.length < up
        ? `${up - samples.length} of ${up} nodes did not answer`
        : diff !== null
          ? diff
          : up < c.members().length
            ? `${c.members().length - up} members are not up`
            : `members are ${members}, expected ${want}`;
    if (performance.now() > deadline) throw new Error(`the cluster did not converge within ${timeoutMs} ms: ${why}`);
    await sleep(250);
  }
}

/** Reads the durable keys back through the up nodes (linearizable reads), retrying unanswered ones. */
async function readDurable(
  c: ProcessCluster,
  keys: readonly string[],
): Promise<{ values: Map<string, string | undefined>; unreadable: string[] }> {
  const values = new Map<string, string | undefined>();
  const unreadable: string[] = [];
  const queue = [...keys];
  const worker = async (): Promise<void> => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      let done = false;
      for (let attempt = 0; attempt < 5 && !done; attempt++) {
        const up = c.nodes();
        const s = up[attempt % Math.max(1, up.length)];
        if (s === undefined) break;
        const r = await request(s.listenPort, `/custom-data/${encodeURIComponent(key)}?consistent=true&format=raw`, {
          timeoutMs: 5000,
        }).catch(() => undefined);
        if (r?.status === 200) {
          values.set(key, r.body.toString('utf8'));
          done = true;
        } else if (r?.status === 404) {
          values.set(key, undefined);
          done = true;
        } else {
          await sleep(200);
        }
      }
      if (!done) unreadable.push(key);
    }
  };
  await Promise.all(Array.from({ length: 8 }, () => worker()));
  return { values, unreadable };
}

/**
 * The events scenario: cycles of kill -9 (a follower, then the leader, alternately) until every survivor has
 * removed the victim, then a restart until it is back; after each, every survivor must have reported exactly
 * one nodeLeave and one nodeRejoin for it, each with its partition changes. At least one cycle, as many as fit.
 */
async function eventCycles(
  c: ProcessCluster,
  sampler: TableSampler,
  rng: Rng,
  durationMs: number,
  checkEvents: boolean,
  out: {
    violate: (checker: Checker, message: string) => void;
    log: (line: string) => void;
    record: (r: Omit<FaultRecord, 'at'>) => void;
  },
): Promise<number> {
  const { violate, log } = out;
  const end = performance.now() + durationMs;
  let cycles = 0;
  do {
    const leader = await c.leader();
    const up = c.nodes().map((s) => s.id);
    const followers = up.filter((id) => id !== leader);
    const victim = cycles % 2 === 1 && leader !== undefined ? leader : rng.pick(followers);
    const survivors = up.filter((id) => id !== victim);
    const marks = new Map(survivors.map((id) => [id, c.slot(id).lives.at(-1)!.events.length]));
    log(`events cycle ${cycles + 1}: kill ${victim}${victim === leader ? ' (the leader)' : ''}`);
    const killedAt = performance.now();
    await c.kill(victim);
    const removeBy = performance.now() + 60_000;
    for (;;) {
      const samples = await sampler.sampleOnce(2000);
      if (samples.length === survivors.length && samples.every((s) => !s.members.includes(victim))) break;
      if (performance.now() > removeBy) throw new Error(`${victim} was not removed within 60 s`);
      await sleep(200);
    }
    await sleep(500);
    out.record({
      kind: victim === leader ? 'kill-leader' : 'kill',
      targets: [victim],
      holdMs: Math.round(performance.now() - killedAt),
      note: 'until every survivor removed it, then restarted',
    });
    await c.start(victim);
    await waitConverged(c, sampler, CONVERGE_MS);
    const since = (): LifeEvents[] =>
      survivors.map((id) => ({
        node: id,
        life: 1,
        events: c.slot(id).lives.at(-1)!.events.slice(marks.get(id)),
        truncated: false,
      }));
    if (checkEvents) {
      // Hooks run asynchronously: give the last events a moment to arrive.
      const arriveBy = performance.now() + 10_000;
      while (
        expectCycle(since(), survivors, victim, 'health_check_failure').length > 0 &&
        performance.now() < arriveBy
      ) {
        await sleep(200);
      }
      for (const v of expectCycle(since(), survivors, victim, 'health_check_failure')) violate('events', v);
    }
    cycles++;
  } while (performance.now() < end);
  return cycles;
}
