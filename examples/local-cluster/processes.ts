/**
 * Node processes for the examples' local clusters: spawns `node --import tsx <script>` with an environment, reads
 * its stdout as JSON lines, waits for its `ready` line, kills it, and cleans up every process it started and its
 * temp directory: on close(), on Ctrl-C (the caller's signal handler calls close()), and, as a last resort, when
 * this process exits without having closed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root: node scripts run from here so that `--import tsx` resolves. */
export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** One JSON object a node printed on a line of its stdout. */
export type JsonLine = Readonly<Record<string, unknown>>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const TAIL_CHARS = 4000;

/** Rejects with `message` after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message())), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Resolves with the first truthy result of `cond`, polled every `pollMs`; rejects naming `what` (and the last error
 * `cond` threw, if any) after `timeoutMs`. Errors thrown by `cond` count as "not yet": nodes come and go.
 */
export async function waitFor<T>(
  cond: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: string,
  pollMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${errorText(lastError)})`;
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
}

/** One spawned node process. */
export class NodeProcess {
  readonly exited: Promise<Exit>;
  readonly #ready: Promise<JsonLine>;
  readonly #listeners = new Set<(line: JsonLine) => void>();
  #tail = '';
  #exit: Exit | undefined;
  #killed = false;

  constructor(
    readonly nodeId: string,
    readonly child: ChildProcess,
  ) {
    let onReady: (line: JsonLine) => void = () => undefined;
    let onGone: (err: Error) => void = () => undefined;
    this.#ready = new Promise<JsonLine>((resolve, reject) => {
      onReady = resolve;
      onGone = reject;
    });
    // A rejection nobody awaited yet must not crash the parent: ready() hands out this same promise.
    this.#ready.catch(() => undefined);
    this.exited = new Promise<Exit>((resolve) => {
      child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        onGone(new Error(`${nodeId} exited before it was ready (code ${code}, signal ${signal})${this.tail()}`));
        resolve(this.#exit);
      });
    });
    child.on('error', (err) => {
      this.#append(`spawn error: ${err.message}\n`);
      onGone(err);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.#append(s));
    if (child.stdout !== null) {
      const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (raw) => {
        const line = parseJsonLine(raw);
        if (line === undefined) {
          this.#append(`${raw}\n`);
          return;
        }
        if (line['type'] === 'ready') onReady(line);
        // A node's own account of a failure belongs in the error message if it dies.
        if (
          line['type'] === 'fatal' ||
          (line['type'] === 'log' && (line['level'] === 'error' || line['level'] === 'warn'))
        ) {
          this.#append(`${raw}\n`);
        }
        for (const fn of this.#listeners) fn(line);
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Not exited and not killed by us. */
  get alive(): boolean {
    return this.#exit === undefined && !this.#killed;
  }

  get exitStatus(): Exit | undefined {
    return this.#exit;
  }

  /** Calls `fn` with every JSON line from now on; returns a function that stops it. */
  onLine(fn: (line: JsonLine) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The node's `{"type":"ready", ...}` line; rejects if it exits first or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<JsonLine> {
    return withTimeout(
      this.#ready,
      timeoutMs,
      () => `${this.nodeId} was not ready within ${Math.round(timeoutMs / 1000)} s${this.tail()}`,
    );
  }

  /** Sends `signal` (SIGKILL: a crash) unless it has exited already. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit !== undefined) return;
    if (signal === 'SIGKILL') this.#killed = true;
    this.child.kill(signal);
  }

  /** The last lines of its stderr and non-JSON stdout, for error messages ('' when there were none). */
  tail(): string {
    return this.#tail === '' ? '' : `\n--- last output of ${this.nodeId} ---\n${this.#tail.trimEnd()}`;
  }

  #append(s: string): void {
    this.#tail = (this.#tail + s).slice(-TAIL_CHARS);
  }
}

/** A JSON object from one line, or undefined when the line is not one. */
export function parseJsonLine(raw: string): JsonLine | undefined {
  const s = raw.trim();
  if (!s.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Every process still running when this process exits is killed (a crash of the parent must not leak nodes). */
const live = new Set<ProcessGroup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const g of live) g.closeSync();
  });
}

/** The processes of one local cluster and the temp directory holding their data. */
export class ProcessGroup {
  readonly dir: string;
  readonly processes: NodeProcess[] = [];
  #closing: Promise<void> | undefined;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    installExitHook();
    live.add(this);
  }

  /** Starts `node --import tsx <script>` from the repository root with `env` added to this process's. */
  spawn(nodeId: string, script: string, env: Readonly<Record<string, string>>): NodeProcess {
    if (this.#closing !== undefined) throw new Error('the process group is closed');
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new NodeProcess(nodeId, child);
    this.processes.push(p);
    return p;
  }

  /** Pids of the processes that have not exited. */
  runningPids(): number[] {
    return this.processes.filter((p) => p.exitStatus === undefined).map((p) => p.pid);
  }

  /**
   * Kills (SIGKILL) every process still running, waits until each has exited (so none is left as a zombie),
   * and removes the temp directory. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const p of this.processes) p.kill('SIGKILL');
      await Promise.all(this.processes.map((p) => p.exited));
      rmSync(this.dir, { recursive: true, force: true });
      live.delete(this);
    })();
    return this.#closing;
  }

  /** The synchronous last resort of the exit hook: signal everything, remove the directory. */
  closeSync(): void {
    for (const p of this.processes) p.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

/**
 * `n` distinct free TCP ports on 127.0.0.1, found by binding port 0 and closing again. Joiners must know the
 * first node's address before it starts, so the ports are picked up front (another program could take one in
 * between: unlikely, and the node then fails to start with a clear error).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const addr = server.address();
            if (addr === null || typeof addr === 'string') reject(new Error('no port bound'));
            else resolve(addr.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
