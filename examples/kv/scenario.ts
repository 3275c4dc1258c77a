/**
 * The scenario every KV example runs, with assertions (a failed check ends it with the reason and exit code 1):
 *
 *   1. N node processes form one cluster (every node lists the N members and the same table);
 *   2. K keys are written through the example's client, and read back with the right values;
 *   3. each node holds exactly the keys of the partitions it owns, which is about RF × K / N (within a stated
 *      tolerance), and all nodes together hold RF × K;
 *   4. a node is killed (SIGKILL): every key is still readable at once (before the failure is even detected),
 *      then the node is removed, its partitions are copied to the survivors, and the counts hold for N − 1 nodes;
 *   5. the node is restarted with the same id and data directory: it rejoins (a nodeRejoin event, not a new
 *      join), copies its share back from the others (its `moved` lines add up to its keys), and every key reads;
 *   6. another node leaves gracefully (SIGTERM): exit code 0, a graceful_shutdown nodeLeave, every key reads.
 * Every node's stdout must be JSON lines only. With `--secure` the same steps run on a secure cluster: a cluster
 * secret, TLS on every port (a CA and per-node certificates made for the run), admin and read tokens; the clients
 * talk https with the CA and the read token.
 */
import { parseArgs } from 'node:util';
import { partitionForKey } from '../../src/index.js';
import type { ClientFactory, KvClient } from './client.js';
import { type ClusterView, KvCluster, type KvProcess, type KvStats, type NodeLine } from './cluster-runner.js';

export interface ScenarioOptions {
  readonly nodes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly healthThreshold: number;
  /** Largest allowed deviation of a node's key count from RF × K / N, as a fraction (0.3 = ±30%). */
  readonly tolerance: number;
  /** The node to kill and restart (default: a node that is neither node-1 nor the Raft leader). */
  readonly kill?: string | undefined;
  /** Run the graceful-leave phase. */
  readonly leave: boolean;
  /** Requests in flight at once while writing and reading. */
  readonly concurrency: number;
  readonly keepData: boolean;
  /** Stream every node's JSON lines to the log. */
  readonly verbose: boolean;
  /** Run on a secure cluster (secret, TLS, tokens: see cluster-runner.ts). */
  readonly secure: boolean;
}

export const DEFAULT_OPTIONS: ScenarioOptions = {
  nodes: 10,
  keys: 1000,
  partitions: 64,
  replicationFactor: 3,
  healthIntervalMs: 500,
  healthTimeoutMs: 1500,
  healthThreshold: 4,
  tolerance: 0.3,
  leave: true,
  concurrency: 16,
  keepData: false,
  verbose: false,
  secure: false,
};

export interface ExampleSpec {
  /** `kv-sync`, `kv-async` or `kv-server-side`. */
  readonly name: string;
  /** Its server entry, relative to the repository root. */
  readonly entry: string;
  readonly createClient: ClientFactory;
}

export interface ScenarioResult {
  /** Phase name → milliseconds. */
  readonly phases: Readonly<Record<string, number>>;
  readonly figures: Readonly<Record<string, number | string>>;
  readonly victim: string;
  readonly leaver: string | undefined;
  /** Every process life, with the lines it printed (for further checks). */
  readonly processes: readonly KvProcess[];
}

export class ScenarioFailure extends Error {
  override name = 'ScenarioFailure';
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

export interface RunHooks {
  readonly log?: (message: string) => void;
  /** Called with the cluster as soon as it exists (tests check its cleanup). */
  readonly onCluster?: (cluster: KvCluster) => void;
  /** Runs on the live cluster after the scenario's checks, before teardown (extra checks in tests). */
  readonly beforeTeardown?: (cluster: KvCluster) => Promise<void>;
}

export async function runScenario(
  spec: ExampleSpec,
  options: ScenarioOptions,
  hooks: RunHooks = {},
): Promise<ScenarioResult> {
  const o = options;
  const log = hooks.log ?? (() => undefined);
  check(o.nodes >= 2 && o.keys >= 1, '--nodes must be at least 2 and --keys at least 1');
  const ids = Array.from({ length: o.nodes }, (_, i) => `node-${i + 1}`);
  const cluster = new KvCluster({
    entry: spec.entry,
    partitionCount: o.partitions,
    replicationFactor: o.replicationFactor,
    health: { intervalMs: o.healthIntervalMs, timeoutMs: o.healthTimeoutMs, failureThreshold: o.healthThreshold },
    keepData: o.keepData,
    ...(o.secure ? { secure: { nodeIds: ids } } : {}),
    ...(o.verbose ? { onLine: (p: KvProcess, l: NodeLine) => log(`  [${p.id}] ${JSON.stringify(l)}`) } : {}),
  });
  hooks.onCluster?.(cluster);
  const phases: Record<string, number> = {};
  const figures: Record<string, number | string> = {};
  let client: KvClient | undefined;
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await fn();
    phases[name] = Math.round(performance.now() - t0);
    return v;
  };
  const keys = Array.from({ length: o.keys }, (_, i) => `user:${i + 1}`);
  const runTag = Math.random().toString(36).slice(2, 8);
  const valueOf = (k: string): string => `value of ${k} (${runTag})`;
  const perPartition = new Array<number>(o.partitions).fill(0);
  for (const k of keys) perPartition[partitionForKey(k, o.partitions)]! += 1;
  const seeds = {
    httpAddrs: () => cluster.alive().map((p) => p.httpAddr),
    kvAddrs: () => cluster.alive().map((p) => p.kvAddr),
  };

  /** Exact per-node counts from the table, the ±tolerance band around RF × K / N, and the total. */
  const checkDistribution = (
    label: string,
    view: ClusterView,
    stats: ReadonlyMap<string, KvStats>,
  ): Map<string, number> => {
    const expected = new Map<string, number>(view.nodes.map((n) => [n, 0]));
    view.owners.forEach((owners, pi) => {
      for (const n of owners) expected.set(n, (expected.get(n) ?? 0) + perPartition[pi]!);
    });
    const copies = Math.min(o.replicationFactor, view.nodes.length);
    const mean = (copies * o.keys) / view.nodes.length;
    let total = 0;
    const line: string[] = [];
    for (const n of view.nodes) {
      const s = stats.get(n);
      check(s !== undefined, `${label}: no stats from ${n}`);
      total += s.keys;
      line.push(`${n}=${s.keys}`);
      check(
        s.keys === expected.get(n),
        `${label}: ${n} holds ${s.keys} keys, but the partitions it owns have ${expected.get(n)}`,
      );
      check(
        Math.abs(s.keys - mean) <= o.tolerance * mean,
        `${label}: ${n} holds ${s.keys} keys, outside ${mean.toFixed(0)} ± ${(o.tolerance * 100).toFixed(0)}%`,
      );
    }
    check(total === copies * o.keys, `${label}: the nodes hold ${total} keys in all, expected ${copies} × ${o.keys}`);
    log(`  keys per node (expected ≈ ${mean.toFixed(0)} ± ${(o.tolerance * 100).toFixed(0)}%): ${line.join(' ')}`);
    return expected;
  };

  const readAll = async (label: string): Promise<void> => {
    const c = client!;
    let wrong = 0;
    let firstWrong = '';
    await pool(keys, o.concurrency, async (k) => {
      const v = await c.get(k);
      if (v !== valueOf(k)) {
        wrong++;
        firstWrong ||= `${k} → ${JSON.stringify(v)}`;
      }
    });
    check(wrong === 0, `${label}: ${wrong} of ${o.keys} keys read back wrong (first: ${firstWrong})`);
    log(`  ${label}: ${o.keys}/${o.keys} keys read back with the right values`);
  };

  const settleTimeout = 60_000 + o.nodes * 5000;
  try {
    // 1. Formation.
    const security = o.secure ? ', secure: secret, TLS, tokens' : '';
    log(`${spec.name}: starting ${o.nodes} nodes (${o.partitions} partitions, RF ${o.replicationFactor}${security})`);
    const first = await timed('startFirst', () => cluster.start(ids[0]!, []));
    const settled = await timed('form', async () => {
      await Promise.all(ids.slice(1).map((id) => cluster.start(id, [first.httpAddr])));
      const voters = Math.min(o.nodes, 5);
      await cluster.waitUntil(
        async () => (await cluster.voters(first)) >= voters,
        settleTimeout,
        `${voters} Raft voters`,
      );
      return cluster.waitSettled(ids, settleTimeout);
    });
    log(`  formed in ${phases['form']} ms: ${o.nodes} nodes, table version ${settled.view.tableVersion}`);

    // 2. Writes and reads.
    client = await spec.createClient(seeds, cluster.credentials?.client('read'));
    const c = client;
    await timed('write', async () => {
      await pool(keys, o.concurrency, (k) => c.put(k, valueOf(k)));
      await c.flush();
    });
    figures['writesPerSecond'] = Math.round((o.keys / Math.max(1, phases['write']!)) * 1000);
    log(`  wrote ${o.keys} keys in ${phases['write']} ms (${figures['writesPerSecond']}/s)`);
    await timed('read', () => readAll('read back'));
    figures['readsPerSecond'] = Math.round((o.keys / Math.max(1, phases['read']!)) * 1000);

    // 3. Distribution.
    const before = await cluster.waitSettled(ids, settleTimeout);
    checkDistribution('after the writes', before.view, before.stats);

    // 4. Kill one node.
    const leaderId = await leaderOf(cluster, first);
    const victim = o.kill ?? pickNode(ids, [ids[0]!, leaderId], Math.ceil(o.nodes / 2));
    check(ids.includes(victim), `--kill ${victim}: no such node`);
    log(`killing ${victim} (SIGKILL; the leader is ${leaderId})`);
    const killedLife = cluster.node(victim);
    await cluster.kill(victim);
    const killedAt = Date.now();
    await timed('readAfterKill', () => readAll('right after the kill'));
    const survivors = ids.filter((id) => id !== victim);
    const afterKill = await timed('recoverAfterKill', () => cluster.waitSettled(survivors, settleTimeout));
    figures['removedAfterMs'] = firstLineAfter(cluster, 'event', 'nodeLeave', killedAt, victim) ?? -1;
    const movedAfterKill = sumLines(cluster, survivors, 'moved', killedAt);
    check(movedAfterKill.count > 0, `no partition was copied after ${victim} died`);
    log(
      `  ${victim} removed ${figures['removedAfterMs']} ms after the kill; ${movedAfterKill.count} partition copies (${movedAfterKill.keys} keys) to the survivors; settled after ${phases['recoverAfterKill']} ms`,
    );
    checkDistribution(`with ${victim} dead`, afterKill.view, afterKill.stats);
    await readAll(`with ${victim} removed`);

    // 5. Restart it.
    log(`restarting ${victim} with its data directory`);
    const restartedAt = Date.now();
    const reborn = await timed('restart', () => cluster.restart(victim));
    const afterRestart = await timed('rejoin', () => cluster.waitSettled(ids, settleTimeout));
    const expected = checkDistribution(`after ${victim} came back`, afterRestart.view, afterRestart.stats);
    const rejoins = cluster
      .alive()
      .flatMap((p) => p.linesOf('event', 'nodeRejoin'))
      .filter((l) => (l['data'] as { node?: { id?: string } }).node?.id === victim);
    check(rejoins.length > 0, `${victim} came back, but no node reported a nodeRejoin event for it`);
    const mine = afterRestart.stats.get(victim)!.keys;
    check(mine > 0 && mine === expected.get(victim), `${victim} holds ${mine} keys after its return`);
    const restored = restoredByCopies(reborn, victim, afterRestart.view, perPartition);
    check(restored.missing.length === 0, `${victim} owns ${restored.missing.join(', ')} but never copied them`);
    check(
      restored.keys === mine,
      `${victim} holds ${mine} keys but its copies since it rejoined add up to ${restored.keys}`,
    );
    check(killedLife !== reborn && reborn.kvAddr !== '', 'the restart did not start a new process');
    const droppedAfterRestart = sumLines(cluster, survivors, 'dropped', restartedAt);
    log(
      `  ${victim} rejoined and copied ${restored.keys} keys back (${restored.partitions} partitions); the others dropped ${droppedAfterRestart.count} partitions; settled after ${phases['rejoin']} ms`,
    );
    await readAll(`after ${victim} came back`);

    // 6. A graceful leave.
    let leaver: string | undefined;
    if (o.leave) {
      const leaderNow = await leaderOf(cluster, cluster.node(ids[0]!));
      leaver = pickNode(ids, [ids[0]!, victim, leaderNow], o.nodes);
      log(`stopping ${leaver} gracefully (SIGTERM)`);
      const leftAt = Date.now();
      const exit = await timed('leave', () => cluster.terminate(leaver!));
      check(exit.code === 0, `${leaver} exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
      const remaining = ids.filter((id) => id !== leaver);
      const afterLeave = await timed('settleAfterLeave', () => cluster.waitSettled(remaining, settleTimeout));
      const graceful = cluster
        .alive()
        .flatMap((p) => p.linesOf('event', 'nodeLeave'))
        .filter((l) => {
          const d = l['data'] as { node?: { id?: string }; reason?: string; timestamp?: number };
          return d.node?.id === leaver && d.reason === 'graceful_shutdown' && (d.timestamp ?? 0) >= leftAt - 1000;
        });
      check(graceful.length > 0, `no node reported ${leaver}'s departure as graceful_shutdown`);
      checkDistribution(`after ${leaver} left`, afterLeave.view, afterLeave.stats);
      await readAll(`after ${leaver} left`);
    }

    // The stdout contract: JSON lines only, a ready line per life.
    for (const p of cluster.history) {
      check(p.nonJson.length === 0, `${p.id} printed non-JSON on stdout: ${JSON.stringify(p.nonJson[0])}`);
      check(p.linesOf('ready').length === 1, `${p.id} printed ${p.linesOf('ready').length} ready lines`);
    }
    const events = new Map<string, number>();
    for (const p of cluster.history) {
      for (const l of p.linesOf('event')) events.set(String(l['event']), (events.get(String(l['event'])) ?? 0) + 1);
    }
    for (const [name, n] of events) figures[`events.${name}`] = n;
    for (const [name, n] of Object.entries(client.counters())) figures[`client.${name}`] = n;
    await hooks.beforeTeardown?.(cluster);
    return { phases, figures, victim, leaver, processes: [...cluster.history] };
  } finally {
    client?.close();
    await cluster.destroy();
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once; rejects with the first failure. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function leaderOf(cluster: KvCluster, p: KvProcess): Promise<string> {
  return cluster.waitUntil(
    async () => {
      const r = await cluster.http.request(p.httpAddr, 'GET', '/consensus/leader');
      return r.status === 200 ? (r.body as { leader_id: string }).leader_id : undefined;
    },
    30_000,
    'a Raft leader',
  );
}

/** The node at `preferred` (1-based) or the next one after it that is not excluded. */
function pickNode(ids: readonly string[], exclude: readonly string[], preferred: number): string {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[(preferred - 1 + i) % ids.length]!;
    if (!exclude.includes(id)) return id;
  }
  return ids[ids.length - 1]!;
}

/** Milliseconds from `since` to the first `event` line about `nodeId` (by the receiving node's clock). */
function firstLineAfter(
  cluster: KvCluster,
  type: string,
  event: string,
  since: number,
  nodeId: string,
): number | undefined {
  let first: number | undefined;
  for (const p of cluster.alive()) {
    for (const l of p.linesOf(type, event)) {
      const d = l['data'] as { node?: { id?: string }; timestamp?: number };
      if (d.node?.id === nodeId && (d.timestamp ?? 0) >= since) first = Math.min(first ?? Infinity, d.timestamp!);
    }
  }
  return first === undefined ? undefined : first - since;
}

/**
 * What a restarted node copied since it last cleared its data (its latest rejoin; a node the health checks remove
 * again right after a rejoin clears and copies once more): for each partition it owns now, the keys of its latest
 * copy. Partitions with keys but no copy are `missing`.
 */
function restoredByCopies(
  life: KvProcess,
  nodeId: string,
  view: ClusterView,
  perPartition: readonly number[],
): { keys: number; partitions: number; missing: string[] } {
  const lines = life.lines;
  let from = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.type === 'cleared') from = i + 1;
  const latest = new Map<string, number>();
  for (const l of lines.slice(from)) if (l.type === 'moved') latest.set(String(l['partitionId']), Number(l['keys']));
  let keys = 0;
  let partitions = 0;
  const missing: string[] = [];
  view.owners.forEach((owners, pi) => {
    if (!owners.includes(nodeId)) return;
    const copied = latest.get(`partition-${pi}`);
    if (copied === undefined) {
      if (perPartition[pi]! > 0) missing.push(`partition-${pi}`);
      return;
    }
    keys += copied;
    partitions++;
  });
  return { keys, partitions, missing };
}

/** Count and total keys of `moved` or `dropped` lines printed by the current lives of `ids` since `since`. */
function sumLines(
  cluster: KvCluster,
  ids: readonly string[],
  type: 'moved' | 'dropped',
  since: number,
): { count: number; keys: number } {
  let count = 0;
  let keys = 0;
  for (const id of ids) {
    const p = cluster.procs.get(id);
    if (p === undefined) continue;
    for (const l of p.linesOf(type)) {
      if (Number(l['at'] ?? 0) < since) continue;
      count++;
      keys += Number(l['keys']);
    }
  }
  return { count, keys };
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

const HELP = `Options (defaults in brackets):
  --nodes N              node processes [10]
  --keys K               keys written and verified [1000]
  --partitions P         partitions [64]
  --rf R                 replication factor [3]
  --tolerance F          allowed deviation of a node's key count from RF×K/N, as a fraction [0.3]
  --kill ID              the node to kill and restart [a node that is neither node-1 nor the leader]
  --no-leave             skip the graceful-leave phase
  --health-interval MS   [500]   --health-timeout MS [1500]   --health-threshold N [4]
  --concurrency C        requests in flight [16]
  --secure               a secure cluster: cluster secret, TLS on every port (a CA and per-node certificates
                         made for the run), admin and read tokens; the same checks
  --keep-data            keep the temporary data directories
  --verbose              print every node's JSON lines
  --json                 print the result as one JSON object at the end`;

export function parseOptions(argv: readonly string[]): { options: ScenarioOptions; json: boolean; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string' },
      keys: { type: 'string' },
      partitions: { type: 'string' },
      rf: { type: 'string' },
      tolerance: { type: 'string' },
      kill: { type: 'string' },
      'no-leave': { type: 'boolean' },
      'health-interval': { type: 'string' },
      'health-timeout': { type: 'string' },
      'health-threshold': { type: 'string' },
      concurrency: { type: 'string' },
      'keep-data': { type: 'boolean' },
      secure: { type: 'boolean' },
      verbose: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const num = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new ScenarioFailure(`--${name} must be a number ≥ ${min}, got ${raw}`);
    return n;
  };
  const d = DEFAULT_OPTIONS;
  return {
    options: {
      nodes: num('nodes', values.nodes, d.nodes, 2),
      keys: num('keys', values.keys, d.keys, 1),
      partitions: num('partitions', values.partitions, d.partitions, 1),
      replicationFactor: num('rf', values.rf, d.replicationFactor, 1),
      tolerance: num('tolerance', values.tolerance, d.tolerance, 0),
      kill: values.kill,
      leave: values['no-leave'] !== true,
      healthIntervalMs: num('health-interval', values['health-interval'], d.healthIntervalMs, 10),
      healthTimeoutMs: num('health-timeout', values['health-timeout'], d.healthTimeoutMs, 10),
      healthThreshold: num('health-threshold', values['health-threshold'], d.healthThreshold, 1),
      concurrency: num('concurrency', values.concurrency, d.concurrency, 1),
      keepData: values['keep-data'] === true,
      verbose: values.verbose === true,
      secure: values.secure === true,
    },
    json: values.json === true,
    help: values.help === true,
  };
}

/** The scenario as a command: prints progress and a summary; exit code 0 when every check passed. */
export async function main(spec: ExampleSpec, argv: readonly string[]): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${HELP}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(`npx tsx examples/${spec.name}/scenario.ts [options]\n${HELP}\n`);
    return;
  }
  // Ctrl-C: every node is killed by the runner's exit hook.
  process.once('SIGINT', () => process.exit(130));
  const t0 = performance.now();
  try {
    const r = await runScenario(spec, parsed.options, { log: (m) => process.stdout.write(`${m}\n`) });
    const total = Math.round(performance.now() - t0);
    if (parsed.json) {
      process.stdout.write(
        `${JSON.stringify({ ok: true, example: spec.name, totalMs: total, ...r, processes: undefined })}\n`,
      );
    } else {
      process.stdout.write(`\nPASS ${spec.name} in ${(total / 1000).toFixed(1)} s\n`);
      process.stdout.write(`  phases (ms): ${JSON.stringify(r.phases)}\n  figures: ${JSON.stringify(r.figures)}\n`);
    }
  } catch (err) {
    process.stdout.write(`\nFAIL ${spec.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
