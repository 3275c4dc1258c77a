/**
 * Runs a local cluster of KV node processes (any of the three examples' `server.ts`) on 127.0.0.1 ephemeral
 * ports, with data directories under one temporary directory: starts them, reads their JSON lines, kills
 * (SIGKILL) and restarts them with the same node id, data directory and coordination port, asks them over HTTP
 * what they see, and cleans everything up (processes and the directory) even when the caller fails or is
 * interrupted. The scenarios and the CI tests use it; it knows nothing about any particular scenario.
 *
 * Secure mode (`secure`): a CA and a certificate per node (CN and DNS SAN the node id, IP SAN 127.0.0.1) are made
 * into the temporary directory, with a cluster secret, an admin token and a read token (credentials.ts); every node
 * gets them in its environment, and the runner talks https with the CA and the read token.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LocalCredentials } from './credentials.js';
import { HttpClient, sleep } from './http.js';

const REPO = join(import.meta.dirname, '..', '..');
const STDERR_TAIL = 4096;

/** A JSON line a node printed on stdout. */
export type NodeLine = Record<string, unknown> & { readonly type: string };

export interface RunnerOptions {
  /** The server entry, relative to the repository root, e.g. `examples/kv-server-side/server.ts`. */
  readonly entry: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly health: { readonly intervalMs: number; readonly timeoutMs: number; readonly failureThreshold: number };
  /** Called for every line any node prints (live progress). */
  readonly onLine?: (node: KvProcess, line: NodeLine) => void;
  /** Keep the data directories after destroy() (to inspect them). */
  readonly keepData?: boolean;
  /** Extra environment for every node. */
  readonly env?: Readonly<Record<string, string>>;
  /** Secure mode: credentials for these node ids (only they can be started). */
  readonly secure?: { readonly nodeIds: readonly string[] };
}

/** One life of a node process. */
export class KvProcess {
  readonly lines: NodeLine[] = [];
  /** Anything printed on stdout that was not a JSON object (the contract says there is none). */
  readonly nonJson: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<void>;
  httpAddr = '';
  kvAddr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #stderr = '';

  constructor(
    readonly id: string,
    readonly dataDir: string,
    readonly child: ChildProcess,
    onLine: (p: KvProcess, line: NodeLine) => void,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_TAIL);
    });
    let markReady: () => void = () => undefined;
    let failReady: (err: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // Nobody may be waiting on `ready` when the process dies: that must not be an unhandled rejection.
    this.ready.catch(() => undefined);
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (text) => {
        let line: unknown;
        try {
          line = JSON.parse(text);
        } catch {
          line = undefined;
        }
        if (typeof line !== 'object' || line === null || typeof (line as { type?: unknown }).type !== 'string') {
          this.nonJson.push(text);
          return;
        }
        const l = line as NodeLine;
        this.lines.push(l);
        if (l.type === 'ready') {
          this.httpAddr = String(l['httpAddr']);
          this.kvAddr = String(l['kvAddr']);
          markReady();
        } else if (l.type === 'fatal') {
          failReady(new Error(`${id} failed to start: ${String(l['message'])}${this.stderrTail()}`));
        }
        onLine(this, l);
      });
    }
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        failReady(new Error(`${id} exited before it was ready (code ${code}, signal ${signal})${this.stderrTail()}`));
        resolve({ code, signal });
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  stderrTail(): string {
    return this.#stderr === '' ? '' : `\n--- stderr of ${this.id} ---\n${this.#stderr}`;
  }

  /** Lines of a type (and, for events, of an event name). */
  linesOf(type: string, event?: string): NodeLine[] {
    return this.lines.filter((l) => l.type === type && (event === undefined || l['event'] === event));
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Whatever happens to the caller, no node outlives it.
  process.on('exit', () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** What `GET /cluster` says, reduced to what the scenarios check. */
export interface ClusterView {
  readonly nodes: readonly string[];
  readonly tableVersion: number;
  /** Owners of each partition by index, primary first. */
  readonly owners: readonly (readonly string[])[];
  readonly partitionCount: number;
}

export interface KvStats {
  readonly nodeId: string;
  readonly keys: number;
  readonly primaries: number;
  readonly replicas: number;
  readonly tableVersion: number;
  readonly syncing: number;
  readonly pendingDrops: number;
  readonly backlog: number;
}

export class KvCluster {
  readonly dir: string;
  /** The current (latest) life of each node, by id. */
  readonly procs = new Map<string, KvProcess>();
  /** Every life ever started, in order (a restarted node has two). */
  readonly history: KvProcess[] = [];
  /** The runner's client: https with the CA and the read token in secure mode. */
  readonly http: HttpClient;
  /** Secure mode's certificates, secret and tokens (in `dir`), or undefined. */
  readonly credentials: LocalCredentials | undefined;
  #destroyed = false;

  constructor(readonly o: RunnerOptions) {
    installExitHook();
    this.dir = mkdtempSync(join(tmpdir(), 'ck-kv-'));
    try {
      this.credentials =
        o.secure === undefined ? undefined : new LocalCredentials(join(this.dir, 'pki'), o.secure.nodeIds);
    } catch (err) {
      rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
    this.http = new HttpClient({ timeoutMs: 5000, security: this.credentials?.client('read') });
  }

  /** `https` in secure mode, else `http`. */
  get scheme(): 'https' | 'http' {
    return this.credentials === undefined ? 'http' : 'https';
  }

  node(id: string): KvProcess {
    const p = this.procs.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  alive(): KvProcess[] {
    return [...this.procs.values()].filter((p) => p.alive);
  }

  /** Spawns a node and waits for its `ready` line. `joinAddrs` empty: it bootstraps a new cluster. */
  async start(
    id: string,
    joinAddrs: readonly string[],
    httpAddr = '127.0.0.1:0',
    readyTimeoutMs = 90_000,
  ): Promise<KvProcess> {
    if (this.#destroyed) throw new Error('the cluster was destroyed');
    const dataDir = join(this.dir, id);
    mkdirSync(dataDir, { recursive: true });
    const o = this.o;
    if (this.credentials !== undefined && !o.secure!.nodeIds.includes(id)) {
      throw new Error(`secure mode: no certificate was made for ${id}`);
    }
    const child = spawn(process.execPath, ['--import', 'tsx', o.entry], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...o.env,
        ...this.credentials?.nodeEnv(id),
        NODE_ID: id,
        HTTP_ADDR: httpAddr,
        KV_ADDR: '127.0.0.1:0',
        JOIN_ADDR: joinAddrs.join(','),
        DATA_DIR: dataDir,
        PARTITION_COUNT: String(o.partitionCount),
        REPLICATION_FACTOR: String(o.replicationFactor),
        HEALTH_INTERVAL_MS: String(o.health.intervalMs),
        HEALTH_TIMEOUT_MS: String(o.health.timeoutMs),
        HEALTH_FAILURE_THRESHOLD: String(o.health.failureThreshold),
      },
    });
    running.add(child);
    child.on('exit', () => running.delete(child));
    const p = new KvProcess(id, dataDir, child, (proc, line) => o.onLine?.(proc, line));
    this.procs.set(id, p);
    this.history.push(p);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        p.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${id} was not ready within ${readyTimeoutMs} ms${p.stderrTail()}`)),
            readyTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (p.alive) p.child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return p;
  }

  /** SIGKILL: a crash. Resolves once the process is gone. */
  async kill(id: string): Promise<void> {
    const p = this.node(id);
    if (p.alive) p.child.kill('SIGKILL');
    await p.exited;
  }

  /** SIGTERM: a graceful leave. Resolves with the exit status. */
  async terminate(id: string, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const p = this.node(id);
    if (p.alive) p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
    try {
      return await p.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Starts a stopped node again with the same id, data directory and coordination port (falling back to a new
   * port if the old one was taken meanwhile), joining through the other live nodes.
   */
  async restart(id: string): Promise<KvProcess> {
    const old = this.node(id);
    await old.exited;
    const joinAddrs = this.alive().map((p) => p.httpAddr);
    try {
      return await this.start(id, joinAddrs, old.httpAddr);
    } catch (err) {
      const last = this.node(id);
      if (!/EADDRINUSE/.test(String(err)) && !/EADDRINUSE/.test(last.stderrTail())) throw err;
      return this.start(id, joinAddrs);
    }
  }

  async view(p: KvProcess): Promise<ClusterView> {
    const r = await this.http.request(p.httpAddr, 'GET', '/cluster');
    if (r.status !== 200) throw new Error(`GET /cluster on ${p.id}: HTTP ${r.status}`);
    const body = r.body as {
      cluster: {
        nodes: { id: string }[];
        table_version: number;
        partition_map: { partitions: Record<string, { index: number; primary_node: string; replica_nodes: string[] }> };
      };
      hash_config: { modulo: number };
    };
    const owners: string[][] = [];
    for (const part of Object.values(body.cluster.partition_map.partitions)) {
      owners[part.index] = part.primary_node === '' ? [] : [part.primary_node, ...part.replica_nodes];
    }
    return {
      nodes: body.cluster.nodes.map((n) => n.id).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
      tableVersion: body.cluster.table_version,
      owners,
      partitionCount: body.hash_config.modulo,
    };
  }

  async stats(p: KvProcess): Promise<KvStats> {
    const r = await this.http.request(p.kvAddr, 'GET', '/kv-stats');
    if (r.status !== 200) throw new Error(`GET /kv-stats on ${p.id}: HTTP ${r.status}`);
    return r.body as KvStats;
  }

  /** Raft voters, as the given node sees them. */
  async voters(p: KvProcess): Promise<number> {
    const r = await this.http.request(p.httpAddr, 'GET', '/consensus/stats');
    return (r.body as { voters?: number } | undefined)?.voters ?? 0;
  }

  /** Resolves with the first truthy value of `cond` (polled), or fails with `what` after `timeoutMs`. */
  async waitUntil<T>(
    cond: () => Promise<T | false | undefined> | T | false | undefined,
    timeoutMs: number,
    what: string,
    pollMs = 100,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      if (this.#destroyed) throw new Error(`stopped while waiting for ${what}`);
      try {
        const v = await cond();
        if (v !== false && v !== undefined) return v;
        lastError = undefined;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() >= deadline) {
        const why =
          lastError === undefined
            ? ''
            : ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`;
        const dead = [...this.procs.values()].filter((p) => p.exit !== undefined && p.exit.signal !== 'SIGKILL');
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}${why}${dead.map((p) => p.stderrTail()).join('')}`,
        );
      }
      await sleep(pollMs);
    }
  }

  /**
   * Waits until every live node lists exactly `members`, all agree on the partition table, and every node has
   * finished moving data (nothing being copied, dropped or replicated). Resolves with one node's view and every
   * node's stats.
   */
  waitSettled(
    members: readonly string[],
    timeoutMs: number,
  ): Promise<{ view: ClusterView; stats: Map<string, KvStats> }> {
    const want = [...members].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(',');
    return this.waitUntil(
      async () => {
        const procs = this.alive();
        const views = await Promise.all(procs.map((p) => this.view(p)));
        const v0 = views[0];
        if (v0 === undefined || v0.nodes.join(',') !== want) return false;
        if (views.some((v) => v.nodes.join(',') !== want || v.tableVersion !== v0.tableVersion)) return false;
        const stats = await Promise.all(procs.map((p) => this.stats(p)));
        const busy = stats.some(
          (s) => s.tableVersion !== v0.tableVersion || s.syncing > 0 || s.pendingDrops > 0 || s.backlog > 0,
        );
        return busy ? false : { view: v0, stats: new Map(stats.map((s) => [s.nodeId, s])) };
      },
      timeoutMs,
      `members ${want} with settled data`,
      200,
    );
  }

  /** Kills every node still running and removes the data directory (unless keepData). */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const all = [...this.history];
    for (const p of all) if (p.alive) p.child.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
    this.http.close();
    if (this.o.keepData !== true) rmSync(this.dir, { recursive: true, force: true });
  }
}
