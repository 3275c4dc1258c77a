/**
 * One node of the custom-data example: a ClusterKit node plus a small HTTP application whose behaviour follows
 * feature flags and configuration kept in the cluster's replicated custom data. Every request reads the flags
 * from this node's local copy of the replicated state, so a change made through any node applies here as soon as
 * it is committed, with no restart and no config file to redeploy.
 *
 *   NODE_ID=node-1 HTTP_ADDR=127.0.0.1:7001 APP_ADDR=127.0.0.1:8001 npx tsx examples/custom-data/node.ts
 *   NODE_ID=node-2 HTTP_ADDR=127.0.0.1:7002 APP_ADDR=127.0.0.1:8002 JOIN_ADDR=127.0.0.1:7001 npx tsx examples/custom-data/node.ts
 *
 * Environment: NODE_ID (required), HTTP_ADDR (ClusterKit's API and Raft, default 127.0.0.1:0), APP_ADDR (this
 * application, default 127.0.0.1:0), JOIN_ADDR (comma-separated; empty: bootstrap), DATA_DIR (default
 * ./clusterkit-data/<NODE_ID>), HEALTH_INTERVAL_MS, HEALTH_TIMEOUT_MS, HEALTH_FAILURE_THRESHOLD, and the security
 * variables of examples/kv/secure.ts (CLUSTER_SECRET, TLS_CERT, TLS_KEY, TLS_CA, TLS_CLIENT_CERTS, ADMIN_TOKEN,
 * READ_TOKEN, ...): with TLS, ClusterKit's port and this application's port both serve HTTPS with the node's
 * certificate (SIGHUP re-reads the files for both).
 *
 * The application's API (JSON):
 *   GET    /flags[?consistent=true]        every flag: {nodeId, flags: {name: value}, revisions: {name: n}}
 *   GET    /flags/:name[?consistent=true]  {nodeId, name, value, revision} or 404
 *   PUT    /flags/:name  {"value": <json>, "ifRevision"?: n}  → {name, revision}; 409 when ifRevision is stale
 *   DELETE /flags/:name                    → {name, existed}
 *   GET    /hello?name=you                 the greeting the flags ask for, right now, on this node
 * `consistent=true` makes the read linearizable (it reflects every write committed before it, cluster-wide);
 * without it the read is local and may lag the leader by a commit.
 *
 * stdout, one JSON object per line: {"type":"ready","nodeId","httpAddr","appAddr","tls"} once a member, and
 * {"type":"flagChange","nodeId","flag","deleted","revision"} for every flag change this node applies.
 * SIGTERM or SIGINT: leave the cluster gracefully, then exit 0 (a second signal exits at once).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterKit, ClusterKitError, type HealthCheckOptions, InvalidArgumentError } from '../../src/index.js';
import { createAppServer, reloadAppServer, securityFromEnv } from '../kv/secure.js';
import { decodeFlag, encodeFlag, type FlagValue, flagKey, flagName, greet } from './flags.js';

const MAX_BODY = 2 * 1024 * 1024;

function env(name: string, fallback?: string): string {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw new InvalidArgumentError(`${name} is required`);
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}`);
  return n;
}

function healthFromEnv(): HealthCheckOptions {
  const interval = envInt('HEALTH_INTERVAL_MS');
  const timeout = envInt('HEALTH_TIMEOUT_MS');
  const failureThreshold = envInt('HEALTH_FAILURE_THRESHOLD');
  return {
    ...(interval === undefined ? {} : { interval }),
    ...(timeout === undefined ? {} : { timeout }),
    ...(failureThreshold === undefined ? {} : { failureThreshold }),
  };
}

function print(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`bad address ${JSON.stringify(addr)}: expected host:port`);
  }
  return { host: addr.slice(0, i) || '127.0.0.1', port };
}

const nodeId = env('NODE_ID');
const security = securityFromEnv(process.env);
const joinAddr = env('JOIN_ADDR', '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The node, once it is a member: requests before that get 503. */
const running: { node: ClusterKit | undefined } = { node: undefined };

/** Every flag, as this node's replicated state holds it now. */
function readFlags(node: ClusterKit): { flags: Record<string, FlagValue>; revisions: Record<string, number> } {
  const flags: Record<string, FlagValue> = {};
  const revisions: Record<string, number> = {};
  for (const key of node.listCustomDataKeys()) {
    const name = flagName(key);
    const entry = name === undefined ? undefined : node.getCustomDataEntry(key);
    const value = entry === undefined ? undefined : decodeFlag(entry.value);
    if (name === undefined || entry === undefined || value === undefined) continue;
    flags[name] = value;
    revisions[name] = entry.revision;
  }
  return { flags, revisions };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new HttpFailure(413, 'body too large');
    chunks.push(b);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, 'the body must be JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpFailure(400, 'the body must be an object');
  return v as Record<string, unknown>;
}

async function route(req: IncomingMessage, url: URL): Promise<{ status: number; json: unknown }> {
  const node = running.node;
  if (node === undefined) throw new HttpFailure(503, 'the node is starting');
  const consistent = url.searchParams.get('consistent') === 'true';
  const path = url.pathname;
  if (req.method === 'GET' && path === '/hello') {
    return {
      status: 200,
      json: { nodeId, message: greet(readFlags(node).flags, url.searchParams.get('name') ?? 'world') },
    };
  }
  if (req.method === 'GET' && path === '/flags') {
    if (consistent) await node.sync();
    return { status: 200, json: { nodeId, ...readFlags(node) } };
  }
  const m = /^\/flags\/([^/]+)$/.exec(path);
  if (m === null) throw new HttpFailure(404, `no route ${req.method} ${path}`);
  const name = decodeURIComponent(m[1]!);
  const key = flagKey(name);
  switch (req.method) {
    case 'GET': {
      if (consistent) await node.sync();
      const entry = node.getCustomDataEntry(key);
      if (entry === undefined) throw new HttpFailure(404, `no flag ${name}`);
      return { status: 200, json: { nodeId, name, value: decodeFlag(entry.value) ?? null, revision: entry.revision } };
    }
    case 'PUT': {
      const body = await readBody(req);
      const bytes = encodeFlag(body['value']);
      const ifRevision = body['ifRevision'];
      if (ifRevision !== undefined && typeof ifRevision !== 'number') {
        throw new HttpFailure(400, 'ifRevision must be a number');
      }
      const revision =
        ifRevision === undefined
          ? await node.setCustomData(key, bytes)
          : await node.compareAndSetCustomData(key, ifRevision, bytes);
      return { status: 200, json: { name, revision } };
    }
    case 'DELETE':
      return { status: 200, json: { name, existed: await node.deleteCustomData(key) } };
    default:
      throw new HttpFailure(405, `method ${req.method} not allowed`);
  }
}

function statusOf(err: unknown): number {
  if (err instanceof HttpFailure) return err.status;
  if (err instanceof ClusterKitError) {
    if (err.code === 'ERR_INVALID_ARGUMENT') return 400;
    if (err.code === 'ERR_NOT_FOUND') return 404;
    if (err.code === 'ERR_CONFLICT') return 409;
    if (err.retriable) return 503;
  }
  return 500;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  route(req, url).then(
    ({ status, json }) => reply(res, status, json),
    (err: unknown) => {
      const status = statusOf(err);
      const code = err instanceof ClusterKitError ? err.code : undefined;
      // A server error is this node's problem: say so on stderr too, not only to the client.
      if (status >= 500) process.stderr.write(`${nodeId}: ${req.method} ${url.pathname} failed: ${String(err)}\n`);
      reply(res, status, {
        error: err instanceof Error ? err.message : String(err),
        ...(code === undefined ? {} : { code }),
      });
    },
  );
}

function reply(res: ServerResponse, status: number, json: unknown): void {
  const body = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const app = createAppServer(security.serverTls, handle);
const appListen = splitAddr(env('APP_ADDR', '127.0.0.1:0'));
await new Promise<void>((resolve, reject) => {
  app.once('error', reject);
  app.listen(appListen.port, appListen.host, () => resolve());
});
const appPort = (app.address() as AddressInfo).port;
const appAddr = `${appListen.host}:${appPort}`;

const node = new ClusterKit({
  nodeId,
  httpAddr: env('HTTP_ADDR', '127.0.0.1:0'),
  dataDir: env('DATA_DIR', `./clusterkit-data/${nodeId}`),
  healthCheck: healthFromEnv(),
  ...security.clusterkit,
  // Service discovery: other nodes (and clients reading GET /cluster) find this application here.
  services: { flags: appAddr },
  ...(joinAddr.length === 0 ? {} : { joinAddr }),
});
node.on('customDataChange', (e) => {
  const flag = flagName(e.key);
  if (flag !== undefined) print({ type: 'flagChange', nodeId, flag, deleted: e.deleted, revision: e.revision });
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    process.exit(1);
  }
  stopping = true;
  process.stderr.write(`${nodeId}: ${signal}, leaving the cluster\n`);
  app.close();
  app.closeAllConnections();
  await node.leave();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    shutdown(signal).catch((err: unknown) => {
      process.stderr.write(`${nodeId}: leaving failed: ${String(err)}\n`);
      process.exit(1);
    });
  });
}

// SIGHUP after a certificate rotation: both ports use the new files for new connections (without TLS, SIGHUP keeps
// its default meaning).
const tls = security.serverTls;
if (tls !== undefined) {
  const reload = async (): Promise<void> => {
    try {
      const r = await node.reloadTls();
      reloadAppServer(app, tls);
      process.stderr.write(`${nodeId}: SIGHUP: TLS files reloaded (changed: ${r.changed})\n`);
    } catch (err) {
      // Unusable files change nothing: the node keeps the certificate it has.
      process.stderr.write(`${nodeId}: SIGHUP: TLS reload failed: ${String(err)}\n`);
    }
  };
  process.on('SIGHUP', () => void reload());
}

try {
  await node.start();
} catch (err) {
  process.stderr.write(`${nodeId}: could not start: ${String(err)}\n`);
  process.exit(1);
}
running.node = node;
print({ type: 'ready', nodeId, httpAddr: node.address, appAddr, tls: tls !== undefined });
