/**
 * The process around a KV node, shared by the three examples' `server.ts` entries:
 *
 *   NODE_ID=node-1 HTTP_ADDR=127.0.0.1:8080 KV_ADDR=127.0.0.1:9080 node --import tsx examples/kv-server-side/server.ts
 *
 * Configuration comes from the environment (the Go original's docker-compose variables, all of them honoured):
 *   NODE_ID (required)   HTTP_ADDR (ClusterKit host:port, default 127.0.0.1:8080)   KV_ADDR (default 127.0.0.1:9080;
 *   port 0 = any free port)   JOIN_ADDR (comma-separated; empty = bootstrap a new cluster)   DATA_DIR (default
 *   ./clusterkit-data/<NODE_ID>)   PARTITION_COUNT   REPLICATION_FACTOR   HEALTH_INTERVAL_MS   HEALTH_TIMEOUT_MS
 *   HEALTH_FAILURE_THRESHOLD   LOG_LEVEL (ClusterKit's own log lines: error | warn (default) | info | debug)
 *   Security (secure.ts): CLUSTER_SECRET   TLS_CERT   TLS_KEY   TLS_CA   TLS_CLIENT_CERTS   TLS_VERIFY_HOSTNAME
 *   TLS_WATCH_INTERVAL   ADMIN_TOKEN   READ_TOKEN. With TLS, both ports speak HTTPS with the node's certificate.
 *
 * stdout carries one JSON object per line and nothing else:
 *   {"type":"ready","nodeId","httpAddr","kvAddr","mode","tls"}  started, KV port listening (real bound addresses)
 *   {"type":"event","event":<hook name>,"nodeId","data":{...}}  every partitionChange, nodeJoin, nodeLeave,
 *                                                               nodeRejoin, rebalanceStart, rebalanceComplete and
 *                                                               clusterHealthChange this node's hooks receive
 *   {"type":"moved","nodeId","partitionId","keys","from","sources"}  a partition copied to this node
 *   {"type":"dropped","nodeId","partitionId","keys"}             a partition this node no longer owns, deleted
 *   {"type":"cleared","nodeId","keys","offlineMs"}               stale data cleared on this node's rejoin
 *   {"type":"log","level",...}                                   ClusterKit and example diagnostics
 *   {"type":"fatal","message","code"}                            startup failed (exit code 1; 2 for bad config)
 *   {"type":"stopped","nodeId","reason"}                         after a graceful leave, just before exit 0
 * SIGTERM or SIGINT: leave the cluster gracefully, then exit 0; a second signal exits at once (code 1).
 * SIGHUP, with TLS: re-read the certificate files, for ClusterKit's port and the KV port alike.
 */
import { join } from 'node:path';
import type { ClusterKitEventName, ClusterKitOptions, Logger } from '../../src/index.js';
import { ClusterKitError } from '../../src/index.js';
import type { KvMode } from './modes.js';
import { KvNode } from './node.js';
import { type NodeSecurity, reloadAppServer, securityFromEnv } from './secure.js';

/** The hook events printed on stdout (the live demo's contract). */
export const PRINTED_EVENTS: readonly ClusterKitEventName[] = [
  'partitionChange',
  'nodeJoin',
  'nodeLeave',
  'nodeRejoin',
  'rebalanceStart',
  'rebalanceComplete',
  'clusterHealthChange',
];

export function emitLine(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** A Logger writing `{"type":"log",...}` lines at `min` and above. */
export function jsonLogger(min: Level, bindings: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS.indexOf(min);
  const at =
    (level: Level) =>
    (obj: object, msg?: string): void => {
      if (LEVELS.indexOf(level) < threshold) return;
      emitLine({ type: 'log', level, ...bindings, ...obj, ...(msg === undefined ? {} : { msg }) });
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => jsonLogger(min, { ...bindings, ...b }),
  };
}

export class ConfigError extends Error {}

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

export interface ServerConfig {
  readonly nodeId: string;
  readonly kvAddr: string;
  /** Without the security options: those are in `security.clusterkit`. */
  readonly clusterkit: ClusterKitOptions;
  readonly security: NodeSecurity;
}

/** Reads the configuration from the environment; throws ConfigError naming the bad variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): ServerConfig {
  const nodeId = env['NODE_ID']?.trim() ?? '';
  if (nodeId === '') throw new ConfigError('NODE_ID is required');
  const httpAddr = env['HTTP_ADDR']?.trim() || (env['HTTP_PORT'] ? `127.0.0.1:${env['HTTP_PORT']}` : '127.0.0.1:8080');
  const kvAddr = env['KV_ADDR']?.trim() || (env['KV_PORT'] ? `127.0.0.1:${env['KV_PORT']}` : '127.0.0.1:9080');
  if (!/^.*:\d{1,5}$/.test(kvAddr)) throw new ConfigError(`KV_ADDR must be host:port, got ${JSON.stringify(kvAddr)}`);
  const joinAddr = (env['JOIN_ADDR'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const level = (env['LOG_LEVEL']?.trim() || 'warn') as Level;
  if (!LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  const partitionCount = intEnv(env, 'PARTITION_COUNT');
  const replicationFactor = intEnv(env, 'REPLICATION_FACTOR');
  const interval = intEnv(env, 'HEALTH_INTERVAL_MS');
  const timeout = intEnv(env, 'HEALTH_TIMEOUT_MS');
  const failureThreshold = intEnv(env, 'HEALTH_FAILURE_THRESHOLD');
  let security: NodeSecurity;
  try {
    security = securityFromEnv(env);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const clusterkit: ClusterKitOptions = {
    nodeId,
    httpAddr,
    dataDir: env['DATA_DIR']?.trim() || join('clusterkit-data', nodeId),
    logger: jsonLogger(level, { nodeId }),
    ...(joinAddr.length === 0 ? {} : { joinAddr }),
    ...(partitionCount === undefined ? {} : { partitionCount }),
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
    healthCheck: {
      ...(interval === undefined ? {} : { interval }),
      ...(timeout === undefined ? {} : { timeout }),
      ...(failureThreshold === undefined ? {} : { failureThreshold }),
    },
  };
  return { nodeId, kvAddr, clusterkit, security };
}

/** JSON-safe copy of an event (drops nothing a hook receives: events are plain data). */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) as unknown;
}

/** Runs a KV node process in `mode` until a signal. */
export async function runKvServer(mode: KvMode): Promise<void> {
  let config: ServerConfig;
  try {
    config = configFromEnv(process.env);
  } catch (err) {
    emitLine({ type: 'fatal', message: err instanceof Error ? err.message : String(err), code: 'ERR_CONFIG' });
    process.exit(2);
  }
  const node = new KvNode({
    mode,
    clusterkit: config.clusterkit,
    kvAddr: config.kvAddr,
    security: config.security,
    emit: emitLine,
    // Registered before ClusterKit starts, so the first events (this node's own join) are printed too.
    beforeStart: (ck) => {
      for (const event of PRINTED_EVENTS) {
        ck.on(event, (data) => emitLine({ type: 'event', event, nodeId: config.nodeId, data: jsonSafe(data) }));
      }
    },
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(1);
    node.leave().then(
      () => {
        emitLine({ type: 'stopped', nodeId: config.nodeId, reason: signal });
        process.exit(0);
      },
      (err: unknown) => {
        emitLine({ type: 'log', level: 'error', nodeId: config.nodeId, msg: 'leave failed', err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const tls = config.security.serverTls;
  // SIGHUP after a certificate rotation: both ports switch to the new files for new connections. Without TLS it
  // keeps its default meaning (exit), as for any other program.
  if (tls !== undefined) process.on('SIGHUP', () => void reloadTls(node, tls, config.nodeId));
  try {
    await node.start();
  } catch (err) {
    emitLine({
      type: 'fatal',
      nodeId: config.nodeId,
      message: err instanceof Error ? err.message : String(err),
      code: err instanceof ClusterKitError ? err.code : 'ERR_START',
    });
    await node.stop().catch((stopErr: unknown) => {
      emitLine({ type: 'log', level: 'error', nodeId: config.nodeId, msg: 'stop failed', err: String(stopErr) });
    });
    process.exit(1);
  }
  emitLine({
    type: 'ready',
    nodeId: config.nodeId,
    httpAddr: node.ck.address,
    kvAddr: node.kvAddr,
    mode,
    tls: tls !== undefined,
  });
}

async function reloadTls(node: KvNode, tls: NonNullable<NodeSecurity['serverTls']>, nodeId: string): Promise<void> {
  try {
    const r = await node.ck.reloadTls();
    const server = node.server;
    if (server !== null) reloadAppServer(server, tls);
    emitLine({ type: 'log', level: 'info', nodeId, msg: 'SIGHUP: TLS files reloaded', changed: r.changed });
  } catch (err) {
    // The node keeps the certificate it has (ClusterKit and the KV port both refuse unusable files).
    emitLine({ type: 'log', level: 'error', nodeId, msg: 'SIGHUP: TLS reload failed', err: String(err) });
  }
}
