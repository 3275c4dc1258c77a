/**
 * How the harness starts one node process: a single pluggable function (`NodeLauncher`), so the same scenarios run
 * against the test fixture (node-main.ts, which can also make its disk slow or full) or against `clusterkit agent`.
 *
 * A launched process reports the hook events it fires as JSON lines on stdout ({"type":"event",...}); its stderr
 * goes to a log file the harness keeps for post-mortems. Readiness is not the launcher's business: the harness
 * polls the node's HTTP API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DiskMode } from './faulty-fs.js';

export interface ClusterSettings {
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly healthCheck: { readonly interval: number; readonly timeout: number; readonly failureThreshold: number };
  readonly raft: { readonly electionMs: number; readonly heartbeatMs: number };
}

export interface LaunchSpec {
  readonly nodeId: string;
  /** The real port the node listens on (127.0.0.1). */
  readonly listenPort: number;
  /** What the node tells the others to dial: its proxy. */
  readonly advertiseAddr: string;
  /** Empty: bootstrap. */
  readonly joinAddrs: readonly string[];
  readonly dataDir: string;
  readonly settings: ClusterSettings;
  /** Where the process's stderr goes. */
  readonly logFile: string;
}

/** One hook invocation as a node reported it. */
export interface HookEvent {
  readonly name: string;
  /** Order on that node (per life). */
  readonly seq: number;
  /** Wall-clock ms when the hook ran. */
  readonly at: number;
  readonly event: Record<string, unknown>;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  /** Whether it has exited. */
  readonly done: boolean;
  signal(sig: NodeJS.Signals): void;
  /** Disk faults; only launchers that set `supportsDiskFaults` implement it. */
  disk(mode: DiskMode): void;
  readonly supportsDiskFaults: boolean;
  onEvent(listener: (e: HookEvent) => void): void;
  /** Messages the process printed about failing ({"type":"fatal"} lines). */
  readonly fatal: readonly string[];
}

export type NodeLauncher = (spec: LaunchSpec) => NodeProcess;

const REPO = join(import.meta.dirname, '..', '..', '..');

/** Spawns `node --import tsx <script> ...args`, wiring the JSON-lines protocol. */
export function spawnNode(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  logFile: string,
  supportsDiskFaults: boolean,
): NodeProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  const listeners: ((e: HookEvent) => void)[] = [];
  const fatal: string[] = [];
  let done = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      untrack(child);
      resolve({ code, signal });
    });
  });
  child.stdin?.on('error', () => undefined); // a dead child's stdin: writes fail, the exit is reported anyway
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { type?: string; message?: string } & Partial<HookEvent>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        log.write(`[stdout] ${line}\n`);
        return;
      }
      if (msg.type === 'event' && typeof msg.name === 'string' && typeof msg.event === 'object') {
        const e: HookEvent = { name: msg.name, seq: msg.seq ?? 0, at: msg.at ?? Date.now(), event: msg.event };
        for (const l of listeners) l(e);
      } else if (msg.type === 'fatal') {
        fatal.push(String(msg.message));
      } else {
        log.write(`${line}\n`); // the agent's own log lines
      }
    });
  }
  return {
    pid: child.pid ?? -1,
    exited,
    get done() {
      return done;
    },
    signal(sig) {
      if (!done) child.kill(sig);
    },
    disk(mode) {
      if (!supportsDiskFaults) throw new Error('this launcher cannot inject disk faults');
      if (!done) child.stdin?.write(`${JSON.stringify({ type: 'disk', ...mode })}\n`);
    },
    supportsDiskFaults,
    onEvent(listener) {
      listeners.push(listener);
    },
    fatal,
  };
}

/** The test fixture: a ClusterKit in a process of its own, with a disk the harness controls. */
export const fixtureLauncher: NodeLauncher = (spec) =>
  spawnNode(
    join(import.meta.dirname, 'node-main.ts'),
    [
      JSON.stringify({
        nodeId: spec.nodeId,
        httpAddr: `127.0.0.1:${spec.listenPort}`,
        advertiseAddr: spec.advertiseAddr,
        joinAddr: spec.joinAddrs,
        dataDir: spec.dataDir,
        ...spec.settings,
      }),
    ],
    {},
    spec.logFile,
    true,
  );

/** The environment `clusterkit agent` is configured by. */
export function agentEnv(spec: LaunchSpec): Record<string, string> {
  const s = spec.settings;
  return {
    NODE_ID: spec.nodeId,
    HTTP_ADDR: `127.0.0.1:${spec.listenPort}`,
    ADVERTISE_ADDR: spec.advertiseAddr,
    JOIN_ADDR: spec.joinAddrs.join(','),
    DATA_DIR: spec.dataDir,
    PARTITION_COUNT: String(s.partitionCount),
    REPLICATION_FACTOR: String(s.replicationFactor),
    HEALTH_CHECK_INTERVAL: `${s.healthCheck.interval}ms`,
    HEALTH_CHECK_TIMEOUT: `${s.healthCheck.timeout}ms`,
    HEALTH_CHECK_FAILURE_THRESHOLD: String(s.healthCheck.failureThreshold),
    RAFT_ELECTION_TIMEOUT: `${s.raft.electionMs}ms`,
    RAFT_HEARTBEAT_INTERVAL: `${s.raft.heartbeatMs}ms`,
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT: '15s',
  };
}

/**
 * `clusterkit agent` (its configuration and run loop, runAgent) with the harness's disk and hook-event reporting
 * injected through runAgent's createNode: harness/agent-main.ts.
 */
export const agentLauncher: NodeLauncher = (spec) =>
  spawnNode(join(import.meta.dirname, 'agent-main.ts'), [], agentEnv(spec), spec.logFile, true);

/**
 * The `clusterkit` executable itself (src/cli/main.ts agent), untouched: no disk faults, and no hook events (the
 * events checker has nothing to read).
 */
export const cliLauncher: NodeLauncher = (spec) =>
  spawnNode(join(REPO, 'src', 'cli', 'main.ts'), ['agent'], agentEnv(spec), spec.logFile, false);

export const LAUNCHERS: Readonly<Record<string, NodeLauncher>> = {
  agent: agentLauncher,
  fixture: fixtureLauncher,
  cli: cliLauncher,
};

// Every child this process started, killed if the harness exits without cleaning up (a crash, Ctrl-C).
const live = new Set<ChildProcess>();
let hooked = false;

function track(child: ChildProcess): void {
  live.add(child);
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
}

function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** For command-line runs: Ctrl-C and SIGTERM kill every node process before the harness exits. */
export function killChildrenOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

function untrack(child: ChildProcess): void {
  live.delete(child);
}
