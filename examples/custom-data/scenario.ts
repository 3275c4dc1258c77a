/**
 * The custom-data example's scenario, asserting every step: starts a cluster of node processes (node.ts), sets
 * feature flags and configuration through one node and checks that every node sees them (linearizable reads, then
 * each node's local reads once they catch up) and behaves accordingly (GET /hello); updates them through another
 * node (including a compare-and-set that must be refused), deletes one; kills a node (SIGKILL), changes flags while
 * it is gone, waits until the cluster removed it, restarts it on its data directory, and checks that it has the
 * latest values; finally every node leaves gracefully (SIGTERM, exit code 0).
 *
 *   npx tsx examples/custom-data/scenario.ts              # 5 nodes
 *   npx tsx examples/custom-data/scenario.ts --nodes 3    # what CI runs (test/examples/custom-data.test.ts)
 *   npx tsx examples/custom-data/scenario.ts --secure     # a cluster secret, TLS on both ports, tokens
 *
 * Exit code 0 when every check passed; 1 with the failed check; 130 after Ctrl-C (every process it started is
 * stopped and its temp directory removed).
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCredentials } from '../kv/credentials.js';
import { type ClientSecurity, schemeOf } from '../kv/secure.js';
import { asRecord, describeFailure, type JsonResponse, requestJson } from '../local-cluster/http.js';
import { freePorts, type NodeProcess, ProcessGroup, waitFor, withTimeout } from '../local-cluster/processes.js';
import type { FlagValue } from './flags.js';

const NODE_SCRIPT = 'examples/custom-data/node.ts';

export interface FlagsScenarioOptions {
  /** Cluster size, at least 3 (so that one node can die without losing the quorum). Default 5. */
  readonly nodes?: number;
  /** Where progress lines go. Default: stdout. */
  readonly log?: (line: string) => void;
  /** Called with the process group once it exists (a caller's Ctrl-C handler closes it). */
  readonly onGroup?: (group: ProcessGroup) => void;
  /**
   * A secure cluster: a CA and per-node certificates made into the run's temp directory, a cluster secret, admin
   * and read tokens (examples/kv/credentials.ts); both ports of every node speak HTTPS. Default false.
   */
  readonly secure?: boolean;
}

export interface FlagsScenarioResult {
  readonly checks: number;
  readonly elapsedMs: number;
  /** Kill → the survivors no longer list the node, ms. */
  readonly removedAfterMs: number;
}

interface FlagNode {
  readonly id: string;
  readonly httpAddr: string;
  readonly dataDir: string;
  proc: NodeProcess;
  appAddr: string;
}

/** Short health checks, lenient enough for a busy 2-core machine: removal after 0.5 s × 4 of silence. */
const HEALTH_ENV = { HEALTH_INTERVAL_MS: '500', HEALTH_TIMEOUT_MS: '1000', HEALTH_FAILURE_THRESHOLD: '4' };
const BOOT_TIMEOUT_MS = 90_000;
const CONVERGE_TIMEOUT_MS = 15_000;

export async function runFlagsScenario(options: FlagsScenarioOptions = {}): Promise<FlagsScenarioResult> {
  const n = options.nodes ?? 5;
  if (!Number.isInteger(n) || n < 3) throw new RangeError(`--nodes must be an integer ≥ 3, got ${n}`);
  const t0 = performance.now();
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const say = (line: string): void => log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  let checks = 0;
  const check = (ok: boolean, what: string): void => {
    assert.ok(ok, what);
    checks++;
  };
  const group = new ProcessGroup('clusterkit-flags-');
  options.onGroup?.(group);
  try {
    // --- a cluster of n nodes: node-1 bootstraps, the others join through it (all boot at once) ---------------
    const ports = await freePorts(n);
    const nodes: FlagNode[] = ports.map((port, i) => {
      const id = `node-${i + 1}`;
      return { id, httpAddr: `127.0.0.1:${port}`, dataDir: join(group.dir, id), proc: undefined!, appAddr: '' };
    });
    const credentials =
      options.secure === true
        ? new LocalCredentials(
            join(group.dir, 'pki'),
            nodes.map((x) => x.id),
          )
        : undefined;
    // The scenario reads GET /cluster (a read endpoint) and uses the application's open API: the read token will do.
    const client = credentials?.client('read');
    const url = (addr: string, path: string): string => `${schemeOf(client)}://${addr}${path}`;
    const start = (node: FlagNode, join: readonly string[]): Promise<void> =>
      startNode(group, node, join, credentials?.nodeEnv(node.id) ?? {});
    const clusterOf = (node: FlagNode): Promise<Record<string, unknown>> => fetchCluster(node, url, client);
    say(
      `starting ${n} nodes${credentials === undefined ? '' : ' (secure: secret, TLS, tokens)'} (data in ${group.dir})`,
    );
    const first = nodes[0]!;
    await Promise.all(nodes.map((node) => start(node, node === first ? [] : [first.httpAddr])));
    say(`every node is a member: ${nodes.map((x) => `${x.id} app ${x.appAddr}`).join(', ')}`);

    const api = async (node: FlagNode, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
      requestJson(method, url(node.appAddr, path), body, 10_000, client);
    const ok = async (node: FlagNode, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
      const res = await api(node, method, path, body);
      if (res.status !== 200) throw new Error(describeFailure(`${method} ${path} on ${node.id}`, res));
      return asRecord(res.body) ?? {};
    };
    let expected: Record<string, FlagValue> = {};
    const set = async (node: FlagNode, name: string, value: FlagValue): Promise<number> => {
      const r = await ok(node, 'PUT', `/flags/${name}`, { value });
      expected[name] = value;
      say(`${node.id}: set ${name} = ${JSON.stringify(value)} (revision ${String(r['revision'])})`);
      return r['revision'] as number;
    };
    const del = async (node: FlagNode, name: string): Promise<boolean> => {
      const r = await ok(node, 'DELETE', `/flags/${name}`);
      expected = Object.fromEntries(Object.entries(expected).filter(([k]) => k !== name));
      say(`${node.id}: deleted ${name} (existed: ${String(r['existed'])})`);
      return r['existed'] === true;
    };
    /** Linearizable reads on every node given: each must equal `expected` exactly; then local reads converge. */
    const everyNodeSees = async (among: readonly FlagNode[], greeting: string): Promise<void> => {
      for (const node of among) {
        const r = await ok(node, 'GET', '/flags?consistent=true');
        assert.deepEqual(r['flags'], expected, `linearizable read of the flags on ${node.id}`);
        checks++;
      }
      for (const node of among) {
        // A local read may lag the leader by a commit: wait for it to catch up (it must, and soon).
        await waitFor(
          async () => isDeepEqual((await ok(node, 'GET', '/flags'))['flags'], expected),
          CONVERGE_TIMEOUT_MS,
          `local flags on ${node.id} to equal ${JSON.stringify(expected)}`,
        );
        const hello = await ok(node, 'GET', '/hello?name=ops');
        check(
          hello['message'] === greeting,
          `GET /hello on ${node.id}: ${JSON.stringify(hello['message'])}, want ${JSON.stringify(greeting)}`,
        );
      }
      const who =
        among.length === 1
          ? `${among[0]!.id} sees ${Object.keys(expected).length} flags and greets`
          : `${among.length} nodes see ${Object.keys(expected).length} flags and greet`;
      say(`✓ ${who} "${greeting}"`);
    };

    // --- set through one node, read everywhere -------------------------------------------------------------------
    const a = nodes[0]!;
    const b = nodes[1]!;
    const c = nodes[n - 1]!;
    await set(a, 'feature.new-checkout', true);
    await set(a, 'config.greeting', 'hello');
    await set(a, 'config.limits', { maxItems: 50, regions: ['eu', 'us'] });
    await everyNodeSees(nodes, 'hello, ops');

    // --- update through another node, with a compare-and-set that must be refused --------------------------------
    const greetingRev = (await ok(b, 'GET', '/flags/config.greeting?consistent=true'))['revision'] as number;
    const stale = await api(b, 'PUT', '/flags/config.greeting', { value: 'hi', ifRevision: greetingRev - 1 });
    check(stale.status === 409, `a compare-and-set with a stale revision must be refused: ${describeStatus(stale)}`);
    say(`${b.id}: compare-and-set of config.greeting at a stale revision refused (409), as it must be`);
    const casRev = await ok(b, 'PUT', '/flags/config.greeting', { value: 'bonjour', ifRevision: greetingRev });
    expected['config.greeting'] = 'bonjour';
    check((casRev['revision'] as number) > greetingRev, 'a successful compare-and-set raises the revision');
    say(`${b.id}: compare-and-set config.greeting = "bonjour" at revision ${greetingRev}`);
    await set(b, 'feature.shout', true);
    await everyNodeSees(nodes, 'BONJOUR, OPS');

    // --- delete through a third node -----------------------------------------------------------------------------
    check(await del(c, 'feature.new-checkout'), 'deleting an existing flag reports it existed');
    check(!(await del(c, 'feature.new-checkout')), 'deleting it again succeeds and reports it did not exist');
    const gone = await api(a, 'GET', '/flags/feature.new-checkout?consistent=true');
    check(gone.status === 404, `a deleted flag reads as 404 on ${a.id}: ${describeStatus(gone)}`);
    await everyNodeSees(nodes, 'BONJOUR, OPS');

    // --- kill a node, change flags while it is gone --------------------------------------------------------------
    // Joiners start as non-voters; losing one of only two voters would lose the quorum, so wait for promotion.
    const voters = Math.min(n, 5);
    await waitFor(async () => votersOf(await clusterOf(a)) >= voters, CONVERGE_TIMEOUT_MS * 2, `${voters} Raft voters`);
    // Not the leader: an election would be another story (and another delay).
    const leader = asRecord((await clusterOf(a))['leader'])?.['leader_id'];
    const victim = [...nodes].reverse().find((x) => x.id !== leader)!;
    const killedAt = performance.now();
    victim.proc.kill('SIGKILL');
    say(`SIGKILL ${victim.id} (pid ${victim.proc.pid})`);
    const survivors = nodes.filter((x) => x !== victim);
    const [s1, s2] = [survivors[0]!, survivors[1]!];
    await set(s1, 'config.greeting', 'hola');
    await set(s2, 'config.limits', { maxItems: 100, regions: ['eu', 'us', 'ap'] });
    check(await del(s1, 'feature.shout'), 'feature.shout existed before the delete');
    await set(s2, 'feature.dark-mode', 'beta');
    await everyNodeSees(survivors, 'hola, ops');
    await waitFor(
      async () => {
        const all = await Promise.all(survivors.map(async (x) => membersOf(await clusterOf(x))));
        return all.every((ids) => !ids.includes(victim.id));
      },
      CONVERGE_TIMEOUT_MS * 2,
      `the survivors to remove ${victim.id}`,
    );
    const removedAfterMs = performance.now() - killedAt;
    say(`the cluster removed ${victim.id} ${(removedAfterMs / 1000).toFixed(1)} s after the kill`);

    // --- restart it on the same data directory: it must have the latest values -----------------------------------
    await victim.proc.exited;
    say(`restarting ${victim.id} on its data directory`);
    await start(
      victim,
      survivors.map((x) => x.httpAddr),
    );
    await everyNodeSees([victim], 'hola, ops');
    await waitFor(
      async () => membersOf(await clusterOf(s1)).length === n,
      CONVERGE_TIMEOUT_MS,
      `${victim.id} to be a member again`,
    );
    await everyNodeSees(nodes, 'hola, ops');

    // --- every node leaves gracefully ----------------------------------------------------------------------------
    for (const node of [...nodes].reverse()) {
      node.proc.kill('SIGTERM');
      const exit = await withTimeout(node.proc.exited, 20_000, () => `${node.id} did not exit after SIGTERM`);
      check(
        exit.code === 0,
        `${node.id} exits 0 after SIGTERM, got code ${exit.code} signal ${exit.signal}${node.proc.tail()}`,
      );
    }
    say(`every node left gracefully (exit code 0)`);
    const elapsedMs = performance.now() - t0;
    say(`PASS: ${checks} checks in ${(elapsedMs / 1000).toFixed(1)} s`);
    return { checks, elapsedMs, removedAfterMs };
  } finally {
    await group.close();
  }
}

async function startNode(
  group: ProcessGroup,
  node: FlagNode,
  join: readonly string[],
  securityEnv: Readonly<Record<string, string>>,
): Promise<void> {
  node.proc = group.spawn(node.id, NODE_SCRIPT, {
    ...securityEnv,
    NODE_ID: node.id,
    HTTP_ADDR: node.httpAddr,
    APP_ADDR: '127.0.0.1:0',
    JOIN_ADDR: join.join(','),
    DATA_DIR: node.dataDir,
    ...HEALTH_ENV,
  });
  const ready = await node.proc.ready(BOOT_TIMEOUT_MS);
  node.appAddr = String(ready['appAddr']);
}

async function fetchCluster(
  node: FlagNode,
  url: (addr: string, path: string) => string,
  client: ClientSecurity | undefined,
): Promise<Record<string, unknown>> {
  const res = await requestJson('GET', url(node.httpAddr, '/cluster'), undefined, 5000, client);
  const cluster = asRecord(asRecord(res.body)?.['cluster']);
  if (res.status !== 200 || cluster === undefined) throw new Error(describeFailure(`GET /cluster on ${node.id}`, res));
  return cluster;
}

function nodesOf(cluster: Record<string, unknown>): Record<string, unknown>[] {
  const list = cluster['nodes'];
  return Array.isArray(list) ? list.map((x) => asRecord(x) ?? {}) : [];
}

function membersOf(cluster: Record<string, unknown>): string[] {
  return nodesOf(cluster).map((x) => String(x['id']));
}

function votersOf(cluster: Record<string, unknown>): number {
  return nodesOf(cluster).filter((x) => x['raft_role'] === 'voter' || x['raft_role'] === 'leader').length;
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

function describeStatus(res: JsonResponse): string {
  return `HTTP ${res.status} ${JSON.stringify(res.body)}`;
}

function parseNodes(argv: readonly string[]): number {
  const i = argv.indexOf('--nodes');
  if (i < 0) return 5;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 3 || n > 50) throw new RangeError(`--nodes must be an integer from 3 to 50`);
  return n;
}

async function main(): Promise<void> {
  let group: ProcessGroup | undefined;
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted: stopping every node process and removing the temp directory\n');
    void (group?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  try {
    const argv = process.argv.slice(2);
    await runFlagsScenario({ nodes: parseNodes(argv), secure: argv.includes('--secure'), onGroup: (g) => (group = g) });
    process.exit(0);
  } catch (err) {
    process.stderr.write(`FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
