/**
 * Parent side of the multi-process tests: starts ClusterKit node processes (fixtures/node-process.ts) on
 * 127.0.0.1 ephemeral ports with data directories under one temp directory, collects the events their hooks
 * receive, sends them requests, kills (SIGKILL) and restarts them on the same port and data directory, and cleans
 * up everything (processes and the temp directory) even when a test fails.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Condition, WakeOnChange } from '../../fixtures/wake-on-change.js';
import type { ChildMessage, EventRecord, NodeProcessConfig, NodeSummary, Op } from './fixtures/protocol.js';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'node-process.ts');
const REPO = join(import.meta.dirname, '..', '..', '..');
const STDERR_TAIL = 8192;

const children = new Set<ChildProcess>();
let exitHook = false;

export type NodeOptions = Omit<NodeProcessConfig, 'nodeId' | 'port' | 'dataDir'> & { readonly port?: number };

export class NodeProc {
  readonly events: EventRecord[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  addr = '';
  port = 0;
  startMs = 0;
  killedAt = 0;
  #stderr = '';
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #started: Waiter | undefined;
  #booted: Waiter | undefined;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly config: NodeProcessConfig,
    readonly child: ChildProcess,
    private readonly changed: () => void,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_TAIL);
    });
    child.stdout?.resume();
    child.on('message', (m: ChildMessage) => this.#onMessage(m));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        const err = new Error(`node ${this.id} exited (code ${code}, signal ${signal})${this.stderrTail()}`);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        this.#started?.reject(err);
        this.#booted?.reject(err);
        this.changed();
        resolve({ code, signal });
      });
    });
  }

  get id(): string {
    return this.config.nodeId;
  }

  get alive(): boolean {
    return this.#exit === undefined && this.killedAt === 0;
  }

  /** Its ClusterKit start() resolved (and it has not exited since). */
  get running(): boolean {
    return this.alive && this.addr !== '';
  }

  stderrTail(): string {
    return this.#stderr === '' ? '' : `\n--- stderr of ${this.id} ---\n${this.#stderr}`;
  }

  /** Resolves once the process has loaded its modules. */
  booted(timeoutMs: number): Promise<void> {
    return waitFor(
      timeoutMs,
      () => `node ${this.id} did not boot within ${timeoutMs} ms${this.stderrTail()}`,
      (w) => {
        this.#booted = w;
      },
    );
  }

  /** Starts the node; resolves once its start() resolved, rejects with the node's error if it failed. */
  start(joinAddr?: readonly string[], timeoutMs = 30_000): Promise<void> {
    const done = waitFor(
      timeoutMs,
      () => `node ${this.id} did not start within ${timeoutMs} ms${this.stderrTail()}`,
      (w) => {
        this.#started = w;
      },
    );
    this.child.send(joinAddr === undefined ? { type: 'start' } : { type: 'start', joinAddr });
    return done;
  }

  request<T>(op: Op, ...args: unknown[]): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`node ${this.id} is not running`));
        return;
      }
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ type: 'req', id, op, args });
    });
  }

  summary(): Promise<NodeSummary> {
    return this.request<NodeSummary>('summary');
  }

  /** Events this node's hooks received, by name. */
  eventsNamed(name: string): Record<string, unknown>[] {
    return this.events.filter((r) => r.name === name).map((r) => r.event);
  }

  kill(): number {
    const at = Date.now();
    if (this.#exit === undefined) {
      this.killedAt = at;
      this.child.kill('SIGKILL');
    }
    return at;
  }

  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      await this.request('stop').catch(() => undefined);
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #onMessage(m: ChildMessage): void {
    switch (m.type) {
      case 'booted':
        this.#booted?.resolve();
        break;
      case 'started':
        this.addr = m.addr;
        this.port = m.port;
        this.startMs = m.startMs;
        this.#started?.resolve();
        break;
      case 'fatal': {
        const err = Object.assign(new Error(`node ${this.id} failed to start: ${m.message}`), { code: m.code });
        this.#started?.reject(err);
        break;
      }
      case 'event':
        this.events.push(m.record);
        break;
      case 'res': {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(Object.assign(new Error(`node ${this.id}: ${m.error}`), { code: m.code }));
        break;
      }
    }
    this.changed();
  }
}

export class ProcCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'ck-node-proc-'));
  readonly procs = new Map<string, NodeProc>();
  /** Earlier processes of restarted nodes (replaced in `procs`, still cleaned up by destroy()). */
  readonly #retired: NodeProc[] = [];
  readonly #wake = new WakeOnChange();

  constructor() {
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      });
    }
  }

  node(id: string): NodeProc {
    const p = this.procs.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  alive(): NodeProc[] {
    return [...this.procs.values()].filter((p) => p.alive);
  }

  /** Forks a node process and waits until it has loaded its modules (it does not start the node yet). */
  async boot(id: string, options: NodeOptions = {}, bootTimeoutMs = 60_000): Promise<NodeProc> {
    const config: NodeProcessConfig = {
      raft: { electionMs: 1000, heartbeatMs: 50 },
      ...options,
      nodeId: id,
      port: options.port ?? 0,
      dataDir: join(this.dir, id),
    };
    const child = fork(SCRIPT, [JSON.stringify(config)], {
      cwd: REPO,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env },
    });
    children.add(child);
    const p = new NodeProc(config, child, () => this.#wake.changed());
    this.procs.set(id, p);
    await p.booted(bootTimeoutMs);
    return p;
  }

  /** Boots and starts a node; resolves once its start() resolved. */
  async start(id: string, options: NodeOptions = {}): Promise<NodeProc> {
    const p = await this.boot(id, options);
    await p.start();
    return p;
  }

  /** Restarts a killed or stopped node on the same port and data directory. */
  async restart(id: string, options: NodeOptions = {}): Promise<NodeProc> {
    const old = this.node(id);
    await old.exited;
    const { nodeId: _id, dataDir: _dir, ...rest } = old.config;
    return this.start(id, { ...rest, ...options, port: old.port });
  }

  /**
   * Boots a second process for `id` (same port and data directory) while the first may still run, without
   * starting it: kill the first, then start() this one, and the node is back within milliseconds of its crash
   * instead of a module load later. It takes the first one's place in `procs`.
   */
  async bootReplacement(id: string, options: NodeOptions = {}): Promise<NodeProc> {
    const old = this.node(id);
    this.#retired.push(old);
    const { nodeId: _id, dataDir: _dir, ...rest } = old.config;
    return this.boot(id, { ...rest, port: old.port, ...options });
  }

  /** Resolves with the first truthy value of `cond`, re-checked on every message from a node and every `pollMs`. */
  waitUntil<T>(cond: Condition<T>, timeoutMs: number, what: string, pollMs = 50): Promise<T> {
    return this.#wake.until(cond, timeoutMs, what, pollMs, () =>
      [...this.procs.values()].map((p) => p.stderrTail()).join(''),
    );
  }

  /** Summaries of every running node. */
  summaries(): Promise<NodeSummary[]> {
    return Promise.all(
      this.alive()
        .filter((p) => p.running)
        .map((p) => p.summary()),
    );
  }

  /** Waits until every live node reports the same members (`expected`, sorted) and the same table. */
  waitForAgreement(expected: readonly string[], timeoutMs: number, pollMs = 50): Promise<NodeSummary[]> {
    const want = [...expected].sort().join(',');
    return this.waitUntil(
      async () => {
        const all = await this.summaries();
        const first = all[0];
        if (first === undefined) return null;
        const ok = all.every(
          (s) =>
            [...s.nodes].sort().join(',') === want &&
            s.tableVersion === first.tableVersion &&
            s.tableDigest === first.tableDigest &&
            s.leaderId !== null,
        );
        return ok ? all : null;
      },
      timeoutMs,
      `every node to agree on members ${want}`,
      pollMs,
    );
  }

  async destroy(): Promise<void> {
    const exits: Promise<unknown>[] = [];
    for (const p of new Set([...this.#retired, ...this.procs.values()])) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      exits.push(p.exited);
      children.delete(p.child);
    }
    await Promise.all(exits);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

/** A promise settled through the waiter handed to `register`, rejected with `message()` after `timeoutMs`. */
function waitFor(timeoutMs: number, message: () => string, register: (w: Waiter) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message())), timeoutMs);
    register({
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
  });
}
