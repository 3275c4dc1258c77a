/**
 * The main job's steps, on a local cluster of KV server processes, each one checked:
 *
 *   1 start the node processes          node-1 bootstraps, the others join through it
 *   2 form the cluster                  every node agrees on the members and the table; enough Raft voters
 *   3 write the keys                    PUT through every node in turn
 *   4 kill a node                       SIGKILL a follower; wait until the cluster removes it
 *   5 rebalance and move data           the new table, the partition copies; every key readable meanwhile
 *   6 restart it                        same id and data directory; the rejoin, the copies back to it
 *   7 read back and verify              every key, through every node, compared with what was written
 *
 * Everything the nodes report (hook events, data moves) streams into the live view as it arrives; the result is a
 * RunSummary whatever happens (ok, or the failed step and why). The caller owns the cluster's cleanup.
 */
import { randomBytes } from 'node:crypto';
import type { Options } from './args.js';
import { type ClusterView, type KvNode, LocalCluster } from './cluster.js';
import { forEachLimited, KvClient } from './kv.js';
import { describeEvent, EventTracker, ev, type NodeLine } from './lines.js';
import { waitFor } from './processes.js';
import { emptySummary, type RunSummary, renderKeysTable } from './summary.js';
import type { LiveView, NodeRow } from './view.js';

interface Rec {
  readonly at: number;
  readonly line: NodeLine;
}

type EventLine = Extract<NodeLine, { kind: 'event' }>;

const PHASES = 7;
/** Booting a TypeScript process on a loaded 2-core machine can take a while; the rest is quick. */
const BOOT_TIMEOUT_MS = 90_000;
const SETTLE_TIMEOUT_MS = 30_000;

class StepFailure extends Error {}

export interface RunHooks {
  /** Called once the cluster exists, so that Ctrl-C can stop its processes. */
  readonly onCluster: (cluster: LocalCluster) => void;
}

export async function runLocalCluster(o: Options, view: LiveView, hooks: RunHooks): Promise<RunSummary> {
  const t0 = performance.now();
  const summary = emptySummary(o.nodes, o.keys, o.partitions, o.replication);
  const records: Rec[] = [];
  const tracker = new EventTracker();
  const polled = new Map<string, Partial<NodeRow>>();
  let cluster: LocalCluster | undefined;
  let step = '';
  let poller: NodeJS.Timeout | undefined;

  const rows = (): NodeRow[] =>
    (cluster?.nodes ?? []).map((n) => {
      const p = n.state === 'up' ? (polled.get(n.id) ?? {}) : {};
      return { ...p, id: n.id, state: n.state, ...(n.proc === undefined ? {} : { pid: n.proc.pid }) };
    });
  const refresh = (): void => {
    view.model.nodes = rows();
    const dist = tracker.counts().filter((c) => c.kind !== 'moved' && c.kind !== 'dropped');
    view.model.counters =
      `events ${dist.reduce((s, c) => s + c.distinct, 0)} distinct (${dist.reduce((s, c) => s + c.deliveries, 0)} lines)` +
      ` · moved ${summary.copies} copies, ${summary.keysMoved} keys · dropped ${summary.drops} copies, ${summary.keysDropped} keys`;
    view.changed();
  };

  const onLine = (node: KvNode, line: NodeLine): void => {
    records.push({ at: performance.now(), line });
    const first = tracker.add(line);
    switch (line.kind) {
      case 'ready': {
        const scheme = line.tls === true ? 'https://' : '';
        view.log(`${node.id} ready: cluster API ${scheme}${line.httpAddr}, KV API ${scheme}${line.kvAddr}`, 'good');
        break;
      }
      case 'event': {
        const text = first ? describeEvent(line) : undefined;
        if (text !== undefined) view.log(`◆ ${text}`, line.event === 'clusterHealthChange' ? 'warn' : 'event');
        break;
      }
      case 'moved':
        // Copies of empty partitions (while the cluster forms) are counted, not listed.
        if (line.keys > 0) {
          summary.copies++;
          summary.keysMoved += line.keys;
          view.log(
            `  ↳ ${line.partitionId} copied to ${line.nodeId} from ${line.from}: ${plural(line.keys, 'key')}`,
            'move',
          );
        }
        break;
      case 'dropped':
        if (line.keys > 0) {
          summary.drops++;
          summary.keysDropped += line.keys;
          view.log(`  ↳ ${line.partitionId} dropped on ${line.nodeId}: ${plural(line.keys, 'key')}`, 'dim');
        }
        break;
      case 'other':
        break;
    }
    refresh();
  };

  /** The first record since `since` matching `pred`, waited for. */
  const waitRecord = (since: number, pred: (r: Rec) => boolean, timeoutMs: number, what: string): Promise<Rec> =>
    waitFor(() => records.find((r) => r.at >= since && pred(r)), timeoutMs, what, 25);
  const isEvent = (r: Rec, name: EventLine['event']): r is Rec & { line: EventLine } =>
    r.line.kind === 'event' && r.line.event === name;

  const phase = async <T>(n: number, name: string, fn: () => Promise<T>): Promise<T> => {
    step = name;
    view.phase(`${n}/${PHASES} ${name}`);
    const start = performance.now();
    try {
      return await fn();
    } finally {
      summary.phases.push({ name, ms: performance.now() - start });
      view.model.progress = undefined;
    }
  };

  /** Every running node agrees on `ids` and one table, a leader is known, and at least `voters` vote. */
  const agreement = (ids: readonly string[], voters: number, what: string): Promise<ClusterView> => {
    const want = [...ids].sort().join(',');
    view.detail(`waiting for ${what}`);
    return waitFor(
      async () => {
        const c = cluster!;
        const views = await Promise.all(c.up().map((n) => c.clusterView(n)));
        const v0 = views[0];
        if (v0 === undefined || c.up().length !== ids.length) return undefined;
        const same = views.every(
          (v) =>
            v.members
              .map((m) => m.id)
              .sort()
              .join(',') === want &&
            v.tableVersion === v0.tableVersion &&
            v.leaderId !== null,
        );
        const voting = v0.members.filter((m) => m.role === 'leader' || m.role === 'voter').length;
        return same && voting >= voters ? v0 : undefined;
      },
      SETTLE_TIMEOUT_MS,
      what,
      100,
    );
  };

  /** Waits until every copy the table `version` asked for has been reported done (moved) by its receiver. */
  const waitCopies = async (version: number, since: number, cause: string): Promise<void> => {
    const expected = (): Set<string> => {
      const s = new Set<string>();
      for (const r of records) {
        if (!isEvent(r, 'partitionChange') || r.at < since) continue;
        const d = r.line.data;
        if (ev.tableVersion(d) === version && ev.needsCopy(d) && ev.copyFrom(d).length > 0) {
          s.add(`${ev.copyTo(d) ?? '?'}|${ev.partitionId(d) ?? '?'}`);
        }
      }
      return s;
    };
    /** `{copies}` once every expected copy is reported, else undefined. */
    const done = (): { copies: number } | undefined => {
      const want = expected();
      const got = new Set<string>();
      for (const r of records) {
        if (r.at >= since && r.line.kind === 'moved' && want.has(`${r.line.nodeId}|${r.line.partitionId}`)) {
          got.add(`${r.line.nodeId}|${r.line.partitionId}`);
        }
      }
      view.detail(`partition copies done ${got.size}/${want.size}`);
      return got.size === want.size ? { copies: want.size } : undefined;
    };
    try {
      const { copies } = await waitFor(done, SETTLE_TIMEOUT_MS, 'the partition copies', 25);
      view.log(
        `✔ ${copies} partition copies for table v${version} done ${seconds(performance.now() - since)} after ${cause}`,
        'good',
      );
    } catch {
      // The final read-back is the verdict on the data; a missing report only deserves a warning.
      view.log(
        `! not every partition copy for table v${version} was reported done within ${SETTLE_TIMEOUT_MS / 1000} s`,
        'warn',
      );
    }
  };

  const keyOf = (i: number): string => `key-${String(i).padStart(String(o.keys - 1).length, '0')}`;
  const runId = randomBytes(4).toString('hex');
  const valueOf = (i: number): string => `value-${i}-${runId}`;
  /** Made once the cluster exists (on a secure cluster it talks https with the cluster's CA). */
  let kv: KvClient | undefined;

  /** Reads every key and compares its value; returns the counts and the first problem. */
  const readAll = async (label: string) => {
    const r = { ok: 0, wrong: 0, missing: 0, errors: 0, first: '' };
    let done = 0;
    await forEachLimited(o.keys, o.concurrency, async (i) => {
      const got = await kv!.get(keyOf(i), i);
      if (got.kind === 'ok' && got.value === valueOf(i)) r.ok++;
      else {
        if (got.kind === 'ok') r.wrong++;
        else if (got.kind === 'missing') r.missing++;
        else r.errors++;
        r.first ||=
          got.kind === 'ok'
            ? `${keyOf(i)} = ${JSON.stringify(got.value)}, expected ${JSON.stringify(valueOf(i))}`
            : got.kind === 'missing'
              ? `${keyOf(i)} not found`
              : got.message;
      }
      view.progress(label, ++done, o.keys);
    });
    return r;
  };

  /**
   * Once copies and drops have settled, the running nodes hold exactly replication × keys copies between them
   * (fewer nodes than the replication factor: one copy per node, so nodes × keys).
   * Waits for that (a warning, not a failure, if it does not happen: the reads are the verdict), then records and
   * shows the keys per node.
   */
  const snapshotKeys = async (label: string): Promise<void> => {
    const want = Math.min(o.replication, cluster!.up().length) * o.keys;
    let perNode: Record<string, number | undefined> = {};
    let total = 0;
    view.detail(`waiting for ${want} copies of keys held in all (replication × keys, at most one per node)`);
    try {
      await waitFor(
        async () => {
          perNode = await cluster!.keysPerNode();
          total = Object.values(perNode).reduce<number>((s, k) => s + (k ?? 0), 0);
          return total === want;
        },
        SETTLE_TIMEOUT_MS,
        'the copies to settle',
        100,
      );
    } catch {
      view.log(`! the nodes hold ${total} copies of keys in all, not the ${want} expected`, 'warn');
    }
    summary.keysPerNode.push({ label, perNode });
    view.block(renderKeysTable([{ label, perNode }], (o.replication * o.keys) / o.nodes));
  };

  try {
    cluster = await LocalCluster.create(o, onLine);
    const c = cluster;
    hooks.onCluster(c);
    kv = new KvClient({ targets: () => c.up().map((n) => n.kvAddr), security: c.client });
    const secure = o.secure ? ' · secure (secret, TLS, tokens)' : '';
    view.model.title = `ClusterKit local cluster · ${o.nodes} nodes · ${o.partitions} partitions · replication ${o.replication} · health ${o.healthIntervalMs} ms × ${o.healthThreshold}${secure}`;
    refresh();
    if (view.tty) {
      poller = setInterval(() => void poll(c, polled).then(refresh), 500);
      poller.unref();
    }

    await phase(1, 'start the node processes', async () => {
      view.log(`data directories in ${c.group.dir}`, 'dim');
      if (c.credentials !== undefined) {
        view.log(
          `secure: a cluster secret, admin and read tokens, TLS on every port with a CA and per-node certificates in ${c.credentials.dir}`,
          'dim',
        );
      }
      const first = c.nodes[0]!;
      for (const n of c.nodes) {
        const p = c.spawn(n, n === first ? [] : [first.httpAddr]);
        view.log(
          `${n.id} process started (pid ${p.pid})${n === first ? ', bootstraps the cluster' : `, joins through ${first.id}`}`,
          'dim',
        );
      }
      view.detail(`waiting for ${o.nodes} ready lines`);
      await Promise.all(c.nodes.map((n) => n.proc!.ready(BOOT_TIMEOUT_MS)));
    });

    const voters = Math.min(o.nodes, 5);
    await phase(2, 'form the cluster', async () => {
      const v = await agreement(
        c.nodes.map((n) => n.id),
        voters,
        `${o.nodes} members on one table, ${voters} Raft voters`,
      );
      view.log(
        `✔ formed: ${v.members.length} members, leader ${v.leaderId}, table v${v.tableVersion}, ${voters} voters`,
        'good',
      );
    });

    await phase(3, `write ${o.keys} keys`, async () => {
      const start = performance.now();
      await forEachLimited(o.keys, o.concurrency, async (i) => {
        await kv!.put(keyOf(i), valueOf(i), i);
        view.progress('writes', ++summary.written, o.keys);
      });
      const ms = performance.now() - start;
      view.log(
        `✔ wrote ${summary.written} keys in ${seconds(ms)} (${Math.round(summary.written / (ms / 1000))} writes/s)`,
        'good',
      );
      await snapshotKeys('written');
    });

    const leader = (await c.clusterView(c.up()[0]!)).leaderId;
    const victim = [...c.nodes].reverse().find((n) => n.id !== leader)!;
    summary.victim = victim.id;
    const before = summary.keysPerNode[0]?.perNode[victim.id];
    const killAt = await phase(4, `kill ${victim.id}`, async () => {
      const at = performance.now();
      c.kill(victim);
      view.log(`✖ SIGKILL ${victim.id} (pid ${victim.proc!.pid}): no goodbye, the leader must notice by itself`, 'bad');
      view.detail(`waiting for the leader to detect ${victim.id}`);
      const limit = o.healthIntervalMs * o.healthThreshold + o.healthTimeoutMs + SETTLE_TIMEOUT_MS;
      const leave = await waitRecord(
        at,
        (r) => isEvent(r, 'nodeLeave') && ev.node(r.line.data) === victim.id,
        limit,
        `the cluster to remove ${victim.id}`,
      );
      summary.removedAfterMs = leave.at - at;
      const sick = records.find(
        (r) => r.at >= at && isEvent(r, 'clusterHealthChange') && ev.unhealthy(r.line.data).includes(victim.id),
      );
      summary.unhealthyAfterMs = sick === undefined ? undefined : sick.at - at;
      view.log(
        `✔ detected: ${victim.id} unhealthy after ${seconds(summary.unhealthyAfterMs)}, removed after ${seconds(summary.removedAfterMs)}`,
        'good',
      );
      return at;
    });

    await phase(5, 'rebalance and move data', async () => {
      const start = await waitRecord(
        killAt,
        (r) => isEvent(r, 'rebalanceStart') && ev.triggerNode(r.line.data) === victim.id,
        SETTLE_TIMEOUT_MS,
        `the rebalance after ${victim.id} left`,
      );
      const version = ev.toVersion((start.line as EventLine).data) ?? -1;
      await waitRecord(
        killAt,
        (r) => isEvent(r, 'rebalanceComplete') && ev.tableVersion(r.line.data) === version,
        SETTLE_TIMEOUT_MS,
        `the rebalance to table v${version} to complete`,
      );
      await waitCopies(version, killAt, 'the kill');
      const survivors = c.nodes.filter((n) => n !== victim).map((n) => n.id);
      await agreement(survivors, 1, `${survivors.length} survivors on one table`);
      await snapshotKeys('outage');
      view.detail(`reading every key with ${victim.id} down`);
      const r = await readAll('reads');
      summary.outageVerified = r.ok;
      if (r.ok !== o.keys) {
        throw new StepFailure(
          `${o.keys - r.ok} of ${o.keys} keys not readable while ${victim.id} was down (first: ${r.first})`,
        );
      }
      view.log(`✔ all ${r.ok} keys readable with the right value while ${victim.id} is down`, 'good');
    });

    await phase(6, `restart ${victim.id}`, async () => {
      const at = performance.now();
      const p = c.spawn(
        victim,
        c.up().map((n) => n.httpAddr),
      );
      view.log(`${victim.id} restarted on its data directory (pid ${p.pid})`, 'dim');
      view.detail(`waiting for ${victim.id} to be ready`);
      await p.ready(BOOT_TIMEOUT_MS);
      summary.readyAfterMs = performance.now() - at;
      view.detail(`waiting for the rejoin`);
      const back = await waitRecord(
        at,
        (r) => (isEvent(r, 'nodeRejoin') || isEvent(r, 'nodeJoin')) && ev.node(r.line.data) === victim.id,
        SETTLE_TIMEOUT_MS,
        `the cluster to announce ${victim.id}'s rejoin`,
      );
      summary.rejoinedAfterMs = back.at - at;
      const rb = records.find(
        (r) => r.at >= at && isEvent(r, 'rebalanceStart') && ev.triggerNode(r.line.data) === victim.id,
      );
      const version = rb === undefined ? undefined : ev.toVersion((rb.line as EventLine).data);
      if (version !== undefined) await waitCopies(version, at, 'the restart');
      await agreement(
        c.nodes.map((n) => n.id),
        1,
        `${o.nodes} members on one table again`,
      );
      await snapshotKeys('rejoined');
      const now = summary.keysPerNode.at(-1)?.perNode[victim.id];
      view.log(`✔ ${victim.id} is back with ${now ?? '?'} keys (before the kill: ${before ?? '?'})`, 'good');
    });

    await phase(7, 'read back and verify', async () => {
      const r = await readAll('reads');
      summary.verified = r.ok;
      summary.wrong = r.wrong;
      summary.missing = r.missing;
      summary.readErrors = r.errors;
      if (r.ok !== o.keys) {
        throw new StepFailure(
          `${o.keys - r.ok} of ${o.keys} keys failed verification (wrong ${r.wrong}, missing ${r.missing}, errors ${r.errors}); first: ${r.first}`,
        );
      }
      view.log(`✔ ${r.ok}/${o.keys} keys read back with the value written`, 'good');
    });
    summary.ok = true;
  } catch (err) {
    summary.ok = false;
    const msg = err instanceof Error ? err.message : String(err);
    summary.reason = step === '' ? msg : `${step}: ${msg}`;
  } finally {
    if (poller !== undefined) clearInterval(poller);
    summary.events = tracker.counts();
    summary.totalMs = performance.now() - t0;
  }
  return summary;
}

/** Refreshes the panel's per-node details (roles, health, partitions, keys) from the nodes' APIs. */
let polling = false;
async function poll(c: LocalCluster, into: Map<string, Partial<NodeRow>>): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    const up = c.up();
    const v = up[0] === undefined ? undefined : await c.clusterView(up[0]).catch(() => undefined);
    const keys = await c.keysPerNode();
    for (const n of c.nodes) {
      const m = v?.members.find((x) => x.id === n.id);
      const owned = v?.owned[n.id];
      const k = keys[n.id];
      into.set(n.id, {
        ...(m === undefined ? {} : { role: m.role, ...(m.healthy === null ? {} : { healthy: m.healthy }) }),
        ...(owned === undefined ? {} : { primaries: owned.primaries, replicas: owned.replicas }),
        ...(k === undefined ? {} : { keys: k }),
      });
    }
  } finally {
    polling = false;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`;
}
