/**
 * The process manager: real node processes on 127.0.0.1, each behind its proxy (proxy.ts), with a data directory
 * and a log file under one run directory. It starts, kills (SIGKILL), pauses (SIGSTOP/SIGCONT), restarts and
 * retires nodes, fills their disks, records the hook events of every life of every node, and cleans everything
 * up (processes, proxies, the run directory).
 *
 * Ports: a node's advertised address is its proxy's, fixed for the run; the real port it listens on is picked
 * fresh (from the OS) at every start, so a restart never fights over a port in TIME_WAIT or taken meanwhile.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskMode } from './faulty-fs.js';
import { getJson, request } from './http.js';
import type { ClusterSettings, ExitInfo, HookEvent, NodeLauncher, NodeProcess } from './launcher.js';
import { LinkRules, NodeProxy } from './proxy.js';

export type NodeStatus = 'down' | 'up' | 'paused' | 'left';

export interface Life {
  readonly life: number;
  readonly startedAt: number;
  readonly events: HookEvent[];
  endedAt?: number;
  exit?: ExitInfo;
  /** The harness ended this life on purpose (kill, leave, stop); false: the process went down by itself. */
  expectedEnd: boolean;
}

export interface NodeSlot {
  readonly id: string;
  readonly proxy: NodeProxy;
  readonly dataDir: string;
  listenPort: number;
  proc: NodeProcess | null;
  status: NodeStatus;
  /** This life answered GET /ready (it is a member that knows the table); false while starting and once gone. */
  ready: boolean;
  readonly lives: Life[];
}

export interface ClusterOptions {
  readonly launcher: NodeLauncher;
  readonly settings: ClusterSettings;
  /** How long a starting node may take to become ready, ms. Default 60 s (cold tsx compiles on a busy machine). */
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class ProcessCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'ck-reliability-'));
  readonly rules = new LinkRules();
  readonly slots = new Map<string, NodeSlot>();
  readonly #o: ClusterOptions;
  #destroyed = false;

  constructor(options: ClusterOptions) {
    this.#o = options;
    mkdirSync(join(this.dir, 'logs'));
  }

  get settings(): ClusterSettings {
    return this.#o.settings;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }

  slot(id: string): NodeSlot {
    const s = this.slots.get(id);
    if (s === undefined) throw new Error(`no node ${id}`);
    return s;
  }

  /** Nodes in a status (default: up). */
  nodes(status: NodeStatus = 'up'): NodeSlot[] {
    return [...this.slots.values()].filter((s) => s.status === status);
  }

  /** Nodes that are members or may come back (everything but retired ones). */
  members(): NodeSlot[] {
    return [...this.slots.values()].filter((s) => s.status !== 'left');
  }

  logFile(id: string): string {
    return join(this.dir, 'logs', `${id}.log`);
  }

  /** Creates a node (its proxy and data directory) and starts it: bootstrap when it is the first, else a join. */
  async add(id: string): Promise<NodeSlot> {
    if (this.slots.has(id)) throw new Error(`node ${id} exists`);
    const slot: NodeSlot = {
      id,
      proxy: new NodeProxy(id, this.rules, () => slot.listenPort),
      dataDir: join(this.dir, 'data', id),
      listenPort: 0,
      proc: null,
      status: 'down',
      ready: false,
      lives: [],
    };
    await slot.proxy.listen();
    this.slots.set(id, slot);
    await this.start(id);
    return slot;
  }

  /** Starts a node that is down (a restart: same data directory and advertised address, a new real port). */
  async start(id: string): Promise<void> {
    const slot = this.slot(id);
    if (slot.status !== 'down') throw new Error(`node ${id} is ${slot.status}, not down`);
    const joinAddrs = this.members()
      .filter((s) => s !== slot)
      .map((s) => s.proxy.address);
    slot.listenPort = await freePort();
    const life: Life = { life: slot.lives.length + 1, startedAt: Date.now(), events: [], expectedEnd: false };
    slot.lives.push(life);
    writeFileSync(this.logFile(id), `\n===== life ${life.life} of ${id} on port ${slot.listenPort} =====\n`, {
      flag: 'a',
    });
    const proc = this.#o.launcher({
      nodeId: id,
      listenPort: slot.listenPort,
      advertiseAddr: slot.proxy.address,
      joinAddrs,
      dataDir: slot.dataDir,
      settings: this.#o.settings,
      logFile: this.logFile(id),
    });
    slot.proc = proc;
    slot.status = 'up';
    slot.ready = false;
    proc.onEvent((e) => life.events.push(e));
    void proc.exited.then((exit) => {
      life.exit = exit;
      life.endedAt = Date.now();
      if (slot.proc === proc) {
        slot.proc = null;
        slot.ready = false;
        if (slot.status !== 'left') slot.status = 'down';
      }
      if (!life.expectedEnd && !this.#destroyed) {
        this.#log(`node ${id} (life ${life.life}) exited by itself: code ${exit.code}, signal ${exit.signal}`);
      }
    });
    this.#log(`start ${id} (life ${life.life}, port ${slot.listenPort}, proxy ${slot.proxy.port})`);
    await this.waitReady(id);
    if (slot.proc === proc) slot.ready = true;
  }

  /** Waits until the node answers GET /ready with 200 (a member that knows the table). */
  async waitReady(id: string, timeoutMs = this.#o.readyTimeoutMs ?? 60_000): Promise<void> {
    const slot = this.slot(id);
    const proc = slot.proc;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc === null || proc.done) {
        throw new Error(
          `node ${id} exited while starting${proc?.fatal.length ? `: ${proc.fatal.join('; ')}` : ''} (log: ${this.logFile(id)})`,
        );
      }
      if (slot.status === 'up') {
        const r = await request(slot.listenPort, '/ready', { timeoutMs: 2000 }).catch(() => undefined);
        if (r?.status === 200) return;
      }
      if (Date.now() > deadline)
        throw new Error(`node ${id} not ready within ${timeoutMs} ms (log: ${this.logFile(id)})`);
      await sleep(200);
    }
  }

  /** kill -9. Resolves once the process is gone. */
  async kill(id: string): Promise<void> {
    const slot = this.slot(id);
    const proc = slot.proc;
    if (proc === null) return;
    this.#currentLife(slot).expectedEnd = true;
    proc.signal('SIGKILL');
    await proc.exited;
    this.#log(`killed ${id}`);
  }

  /** SIGSTOP: the process freezes (a long GC pause, a stalled VM). */
  pause(id: string): void {
    const slot = this.slot(id);
    if (slot.status !== 'up' || slot.proc === null) return;
    slot.proc.signal('SIGSTOP');
    slot.status = 'paused';
    this.#log(`paused ${id}`);
  }

  resume(id: string): void {
    const slot = this.slot(id);
    if (slot.status !== 'paused' || slot.proc === null) return;
    slot.proc.signal('SIGCONT');
    slot.status = 'up';
    this.#log(`resumed ${id}`);
  }

  /**
   * Graceful leave (SIGTERM, as an orchestrator stops `clusterkit agent`); once it has left (exit code 0) the node
   * is retired for the rest of the run; a failed leave leaves it a stopped member. Resolves with the exit code
   * (null: it had to be killed after 30 s).
   */
  async leave(id: string): Promise<number | null> {
    const slot = this.slot(id);
    const proc = slot.proc;
    if (proc === null || slot.status !== 'up') throw new Error(`node ${id} is not up`);
    this.#currentLife(slot).expectedEnd = true;
    slot.status = 'left';
    proc.signal('SIGTERM');
    const exit = await Promise.race([proc.exited, sleep(30_000).then(() => undefined)]);
    if (exit === undefined) {
      proc.signal('SIGKILL');
      await proc.exited;
    }
    // The agent exits 0 only once it has left; otherwise (no leader reachable in time, ...) it is still a member,
    // stopped: the caller decides whether to restart it.
    if (exit?.code !== 0) slot.status = 'down';
    this.#log(
      `${exit?.code === 0 ? 'left' : 'could not leave'} ${id} (exit code ${exit?.code ?? 'none: killed after 30 s'})`,
    );
    return exit?.code ?? null;
  }

  /** An operator removes `id` (DELETE /nodes/:id through `via`). Returns the HTTP status (0: no answer). */
  async remove(id: string, via: string): Promise<number> {
    const r = await request(this.slot(via).listenPort, `/nodes/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      timeoutMs: 10_000,
    }).catch(() => undefined);
    this.#log(`remove ${id} via ${via}: ${r?.status ?? 'no answer'}`);
    return r?.status ?? 0;
  }

  disk(id: string, mode: DiskMode): void {
    const slot = this.slot(id);
    slot.proc?.disk(mode);
    this.#log(`disk of ${id}: ${JSON.stringify(mode)}`);
  }

  /** The leader as the up nodes report it (the most common answer), or undefined. */
  async leader(): Promise<string | undefined> {
    const answers = await Promise.all(
      this.nodes().map((s) =>
        getJson<{ cluster?: { leader?: { leader_id?: string } | null } }>(s.listenPort, '/cluster', 2000),
      ),
    );
    const votes = new Map<string, number>();
    for (const a of answers) {
      const id = a?.cluster?.leader?.leader_id;
      if (id !== undefined && id !== '') votes.set(id, (votes.get(id) ?? 0) + 1);
    }
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  }

  #currentLife(slot: NodeSlot): Life {
    const life = slot.lives[slot.lives.length - 1];
    if (life === undefined) throw new Error(`node ${slot.id} never started`);
    return life;
  }

  /** Kills every process and closes every proxy (the run directory stays: see removeDir). */
  async stop(): Promise<void> {
    this.#destroyed = true;
    const exits: Promise<unknown>[] = [];
    for (const slot of this.slots.values()) {
      const proc = slot.proc;
      if (proc !== null && !proc.done) {
        proc.signal('SIGKILL');
        exits.push(proc.exited);
      }
    }
    await Promise.all(exits);
    await Promise.all([...this.slots.values()].map((s) => s.proxy.close()));
  }

  /** Removes the run directory (node data and logs). */
  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** stop(), then removeDir(). */
  async destroy(): Promise<void> {
    await this.stop();
    this.removeDir();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
