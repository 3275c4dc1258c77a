/**
 * For the CLI tests: `clusterkit agent` as a real process (its JSON log lines parsed as they arrive), the CLI run
 * in-process with captured output (fast: no process start per command), and the CLI run as a real process.
 * Every process started here is killed when the test process exits, even after a failure.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/output.js';

export const REPO = join(import.meta.dirname, '..', '..');
const MAIN = join(REPO, 'src', 'cli', 'main.ts');

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process, with its own environment (nothing from process.env leaks in). */
export async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (d: string | Uint8Array) => (stdout += typeof d === 'string' ? d : Buffer.from(d).toString()) },
    stderr: { write: (d: string | Uint8Array) => (stderr += typeof d === 'string' ? d : Buffer.from(d).toString()) },
    env,
    readFile: (path) => readFileSync(path),
    colour: false,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Runs the CLI as a real process (`node --import tsx src/cli/main.ts ...`). */
export function cliProcess(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: REPO, env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        children.delete(child);
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    children.add(child);
  });
}

export interface LogLine {
  readonly level?: string;
  readonly event?: string;
  readonly msg?: string;
  readonly [k: string]: unknown;
}

/** One `clusterkit agent` process. */
export class AgentProc {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  addr = '';
  #stdout = '';
  #stderr = '';
  #waiters: (() => void)[] = [];
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly id: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'agent'], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '', NODE_ID: id, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this.child);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (s: string) => this.#onStdout(s));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-8192);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        children.delete(this.child);
        this.#notify();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The last lines of output, for failure messages. */
  tail(): string {
    const out = this.lines.slice(-15).map((l) => JSON.stringify(l));
    return `\n--- ${this.id} log ---\n${out.join('\n')}\n--- ${this.id} stderr ---\n${this.#stderr}`;
  }

  #onStdout(s: string): void {
    this.#stdout += s;
    let nl = this.#stdout.indexOf('\n');
    while (nl >= 0) {
      const raw = this.#stdout.slice(0, nl);
      this.#stdout = this.#stdout.slice(nl + 1);
      try {
        const line = JSON.parse(raw) as LogLine;
        this.lines.push(line);
        if (line.event === 'ready' && typeof line['addr'] === 'string') this.addr = line['addr'];
      } catch {
        this.lines.push({ msg: `(not JSON) ${raw}` });
      }
      nl = this.#stdout.indexOf('\n');
    }
    this.#notify();
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with the first log line matching `pred` (rejects on exit or after timeoutMs). */
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.id}: no matching log line within ${timeoutMs} ms${this.tail()}`)),
        timeoutMs,
      );
      const check = (): void => {
        const found = this.lines.find(pred);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (this.#exit !== undefined) {
          clearTimeout(timer);
          reject(new Error(`${this.id} exited (${JSON.stringify(this.#exit)})${this.tail()}`));
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  async ready(timeoutMs = 45_000): Promise<string> {
    await this.waitForLine((l) => l.event === 'ready', timeoutMs);
    return this.addr;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A temporary directory removed by `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns a value that is not undefined. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : JSON.stringify(err);
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (${last})`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A CA (`ca.pem`), and for each name a certificate and key (`<name>.pem`, `<name>.key`) signed by it, usable as a
 * server and a client certificate: CN and a DNS SAN of the name (a node's certificate must name its node id), and
 * an IP SAN of 127.0.0.1. Made with openssl in `dir`, valid for a day.
 */
export function makeCertificates(dir: string, names: readonly string[]): void {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=test-ca', '-days', '1');
  for (const name of names) {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    const ext = `subjectAltName=DNS:${name},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`;
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  }
}
