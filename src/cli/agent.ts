/**
 * `runAgent(config, deps)`: one ClusterKit node run as a service, the code behind `clusterkit agent`.
 *
 * It starts the node, logs one `ready` line (node id, address, whether it bootstrapped, joined or restarted from its
 * data) and runs until signalled: the first SIGTERM or SIGINT leaves the cluster gracefully (its partitions are
 * handed over in the same commit that removes it) and ends with exit code 0; a second signal stops at once, without
 * leaving, and ends with 128 + the signal number. A node that dies on its own (a fatal storage error) ends the agent
 * with exit code 1, so a supervisor restarts it.
 *
 * Everything with an edge is injectable (the node factory, the logger, the signal source, timers, the data
 * directory probe), so a test harness can run the very same agent in-process, or drive a real one with its own
 * signals. It never calls process.exit: the caller turns `done` into an exit code.
 */
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { ClusterKit } from '../cluster/clusterkit.js';
import { type ClusterKitOptions, resolveOptions } from '../cluster/options.js';
import { ShuttingDownError } from '../errors.js';
import { type Scheduler, systemScheduler, type TimerHandle } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';
import { type AgentConfig, agentNodeOptions } from './agent-config.js';

/** What the agent needs of a node: a ClusterKit satisfies it. */
export interface AgentNode {
  start(): Promise<void>;
  leave(): Promise<void>;
  stop(): Promise<void>;
  /** The advertised `host:port` once started. */
  readonly address: string;
  healthCheck(): { readonly live: boolean };
  getCluster(): { readonly id: string; readonly nodes: readonly unknown[]; readonly leaderId: string | null };
  /** Re-reads the TLS files (called on SIGHUP when the agent has TLS). */
  reloadTls?(): Promise<{ readonly changed: boolean; readonly fingerprint256: string }>;
}

export type AgentSignal = 'SIGTERM' | 'SIGINT';

/** Where signals come from: `process` by default. SIGHUP is listened to only when the agent has TLS. */
export interface SignalSource {
  on(signal: AgentSignal | 'SIGHUP', listener: () => void): unknown;
  off(signal: AgentSignal | 'SIGHUP', listener: () => void): unknown;
}

export interface AgentDeps {
  /** Creates the node (validating its options); default `new ClusterKit(options)`. */
  readonly createNode?: (options: ClusterKitOptions) => AgentNode;
  /** A pino-compatible logger; the node logs through it too. Default: silent. */
  readonly logger?: Logger;
  /** Default: `process`. */
  readonly signals?: SignalSource;
  readonly scheduler?: Scheduler;
  /** Whether a data directory already holds a node's state (default: it exists and is not empty). */
  readonly hasState?: (dataDir: string) => boolean;
  /** How often the agent checks that its node is still alive, ms. Default 1000. */
  readonly watchdogMs?: number;
  /** After a second signal, how long stop() may take before the agent ends anyway, ms. Default 1000. */
  readonly forceStopMs?: number;
}

/** How the node became a member. */
export type StartMode = 'bootstrapped' | 'joined' | 'restarted';

export interface ReadyInfo {
  readonly nodeId: string;
  /** The advertised `host:port` (HTTP API and Raft). */
  readonly addr: string;
  readonly mode: StartMode;
  readonly clusterId: string;
  readonly members: number;
  readonly leader: string | null;
}

export interface AgentHandle {
  readonly node: AgentNode;
  /** Resolves once the node is a member with a partition table; rejects if it never gets there. */
  readonly ready: Promise<ReadyInfo>;
  /** Resolves with the exit code once the agent is finished (it never rejects). */
  readonly done: Promise<number>;
  /** Acts as if the process received `signal`. */
  signal(signal: AgentSignal): void;
}

function defaultHasState(dataDir: string): boolean {
  try {
    return readdirSync(dataDir).length > 0;
  } catch {
    // Absent or unreadable: the node starts empty (an unreadable directory fails loudly in start()).
    return false;
  }
}

/** How long stop() may take after a failure (a failed or slow leave, a dead node) before the agent ends anyway. */
const SLOW_STOP_MS = 10_000;

const DESCRIBE_MODE: Record<StartMode, string> = {
  bootstrapped: 'bootstrapped a new cluster',
  joined: 'joined the cluster',
  restarted: 'restarted from its data directory',
};

/**
 * Creates the node and starts it. Throws InvalidArgumentError (synchronously, before anything starts) when the
 * options are invalid; every later failure ends up in `done`.
 */
export function runAgent(config: AgentConfig, deps: AgentDeps = {}): AgentHandle {
  const logger = deps.logger;
  const log = logger?.child({ component: 'agent', node: config.nodeId });
  const options = agentNodeOptions(config, logger);
  const resolved = resolveOptions(options); // throws on a bad value; pure
  const node = (deps.createNode ?? ((o: ClusterKitOptions) => new ClusterKit(o)))(options);
  const signals: SignalSource = deps.signals ?? process;
  const scheduler = deps.scheduler ?? systemScheduler;
  // A second signal means "now": a stop still waiting on an unresponsive peer after this is abandoned (the Raft
  // log is durable at every write, so nothing is lost by not waiting).
  const forceStopMs = deps.forceStopMs ?? 1000;
  const hadState = (deps.hasState ?? defaultHasState)(resolved.dataDir);
  const mode: StartMode = hadState ? 'restarted' : config.joinAddr.length === 0 ? 'bootstrapped' : 'joined';

  let phase: 'starting' | 'running' | 'leaving' | 'stopping' | 'done' = 'starting';
  let signalCount = 0;
  let watchdog: TimerHandle | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    finish = (code) => {
      if (phase === 'done') return;
      phase = 'done';
      watchdog?.cancel();
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      if (config.tls !== undefined) signals.off('SIGHUP', onHup);
      log?.info({ event: 'exit', exitCode: code }, `agent finished with exit code ${code}`);
      resolve(code);
    };
  });

  /** Stops the node and finishes with `code`; after `limitMs` without stop() settling, finishes anyway. */
  const stopNow = (code: number, why: string, limitMs = SLOW_STOP_MS): void => {
    phase = 'stopping';
    const timer = scheduler.setTimeout(() => {
      log?.warn({ event: 'force-exit' }, `stop() did not finish within ${limitMs} ms; exiting`);
      finish(code);
    }, limitMs);
    node.stop().then(
      () => {
        timer.cancel();
        finish(code);
      },
      (err: unknown) => {
        timer.cancel();
        log?.error({ ...errorFields(err) }, `stop failed after ${why}`);
        finish(code);
      },
    );
  };

  const leave = (signal: AgentSignal): void => {
    const wasStarting = phase === 'starting';
    phase = 'leaving';
    log?.info(
      { event: 'leaving', signal },
      wasStarting
        ? `${signal} received while starting: stopping (send it again to stop at once)`
        : `${signal} received: leaving the cluster gracefully (send it again to stop at once)`,
    );
    const timeout = scheduler.setTimeout(() => {
      if (phase !== 'leaving') return;
      log?.error({ event: 'leave-timeout' }, `leaving took longer than ${config.shutdownTimeoutMs} ms; stopping`);
      stopNow(1, 'a leave timeout');
    }, config.shutdownTimeoutMs);
    node.leave().then(
      () => {
        timeout.cancel();
        if (phase !== 'leaving') return;
        // A node stopped before it had joined never was a member: it did not leave anything.
        if (wasStarting) log?.info({ event: 'stopped' }, 'stopped before joining');
        else log?.info({ event: 'left' }, 'left the cluster');
        finish(0);
      },
      (err: unknown) => {
        timeout.cancel();
        if (phase !== 'leaving') return;
        log?.error({ event: 'leave-failed', ...errorFields(err) }, 'leaving failed; stopping');
        stopNow(1, 'a failed leave');
      },
    );
  };

  const onSignal = (signal: AgentSignal): void => {
    if (phase === 'done') return;
    signalCount++;
    const code = 128 + (constants.signals[signal] ?? 15);
    if (phase === 'stopping') {
      // Already stopping (after a second signal, a failed leave, a dead node): another signal ends it now.
      log?.warn({ event: 'force-exit', signal }, `${signal} received while stopping: exiting now`);
      finish(code);
      return;
    }
    if (signalCount === 1) {
      leave(signal);
      return;
    }
    log?.warn({ event: 'stopping', signal }, `${signal} received again: stopping now, without leaving`);
    stopNow(code, 'a second signal', forceStopMs);
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  // SIGHUP reloads the certificates; without TLS it keeps its default meaning (the terminal went away: exit).
  const onHup = (): void => {
    if (phase !== 'running' || node.reloadTls === undefined) return;
    node.reloadTls().then(
      (r) => {
        log?.info(
          { event: 'tls-reloaded', changed: r.changed, fingerprint256: r.fingerprint256 },
          r.changed ? 'SIGHUP: new TLS certificate in use' : 'SIGHUP: the TLS certificate files are unchanged',
        );
      },
      (err: unknown) => {
        log?.error(
          { event: 'tls-reload-failed', ...errorFields(err) },
          'SIGHUP: could not reload the TLS files; the node keeps the certificate it has',
        );
      },
    );
  };
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  if (config.tls !== undefined) signals.on('SIGHUP', onHup);

  const checkAlive = (): void => {
    if (phase !== 'running') return;
    if (!node.healthCheck().live) {
      log?.error({ event: 'node-died' }, 'the node stopped on its own (see the errors above); exiting');
      stopNow(1, 'the node dying');
      return;
    }
    watchdog = scheduler.setTimeout(checkAlive, deps.watchdogMs ?? 1000);
  };

  log?.info(
    { event: 'starting', nodeId: config.nodeId, httpAddr: config.httpAddr, joinAddr: config.joinAddr, mode },
    `starting node ${config.nodeId} on ${config.httpAddr}`,
  );
  const ready = node.start().then(
    (): ReadyInfo => {
      const cluster = node.getCluster();
      const info: ReadyInfo = {
        nodeId: config.nodeId,
        addr: node.address,
        mode,
        clusterId: cluster.id,
        members: cluster.nodes.length,
        leader: cluster.leaderId,
      };
      if (phase === 'starting') {
        phase = 'running';
        log?.info(
          { event: 'ready', ...info },
          `ready: node ${info.nodeId} at ${info.addr} ${DESCRIBE_MODE[mode]} (${info.members} member${info.members === 1 ? '' : 's'})`,
        );
        watchdog = scheduler.setTimeout(checkAlive, deps.watchdogMs ?? 1000);
      }
      return info;
    },
    (err: unknown) => {
      // A signal during start stops the node, and start() then rejects: that is the requested outcome.
      const requested = phase !== 'starting' && err instanceof ShuttingDownError;
      if (!requested) {
        log?.error({ event: 'start-failed', ...errorFields(err) }, `could not start: ${describeError(err)}`);
        if (phase === 'starting') finish(1);
      }
      throw err;
    },
  );
  ready.catch(() => undefined); // observed through `done`; callers who await `ready` still get the rejection
  return { node, ready, done, signal: onSignal };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
