/**
 * One KV node: a ClusterKit node (the coordination port) embedded with an in-memory store, its data movement
 * (mover.ts) and a separate KV HTTP server, registered as the node's `kv` service so peers and clients find it.
 *
 * KV HTTP API (all modes; what a write or read does depends on the mode, see modes.ts):
 *   PUT    /kv/:key      {"value": "<string>"}
 *   GET    /kv/:key
 *   DELETE /kv/:key
 *   GET    /kv-stats     {"nodeId","mode","keys","primaries","replicas","tableVersion","syncing","pendingDrops",...}
 * Between nodes:
 *   GET    /internal/partition/:index   a partition's entries, for a new owner copying it
 *   GET    /internal/ready/:index       whether this node holds a complete copy (before an old owner drops its own)
 *   POST   /internal/apply              {"entries":[{partition,key,value,version}]}: replication
 * Every response carries `x-kv-table-version`, the partition-table version this node answered with, so a client
 * routing by itself knows when its table is out of date.
 *
 * Security (secure.ts): with TLS the KV port serves HTTPS with the node's certificate, and peers are called over
 * https with the cluster's CA; once the node has an admin token or client certificates, the `/internal/*` endpoints
 * answer 401 to a caller with neither the admin token nor a certificate of the CA. `/kv/*` stays open.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterKit, type ClusterKitOptions, InvalidArgumentError, type Partition } from '../../src/index.js';
import { KV_SERVICE } from './discovery.js';
import { errorReply, HttpClient, KvHttpError, readJsonObject, sendJson } from './http.js';
import { createMode, type KvContext, type KvMode, type ModeHandlers, type Reply } from './modes.js';
import { DataMover, type EmitLine } from './mover.js';
import { AsyncReplicator } from './replicator.js';
import { createAppServer, type NodeSecurity } from './secure.js';
import { isValidVersion, KvStore, VersionClock } from './store.js';

/** Longest key, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest value, in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 1 << 20;
const MAX_REQUEST_BYTES = MAX_VALUE_BYTES * 2;
const MAX_APPLY_BYTES = 64 << 20;

export interface KvNodeOptions {
  readonly mode: KvMode;
  /** The ClusterKit options; `services.kv` is added from the KV server's bound address. */
  readonly clusterkit: ClusterKitOptions;
  /** `host:port` for the KV HTTP server; port 0 picks a free port. */
  readonly kvAddr: string;
  readonly emit: EmitLine;
  /** How long a node keeps retrying to reach a partition's primary before answering 503. Default 5 s. */
  readonly forwardDeadlineMs?: number;
  /** Called with the ClusterKit instance before it starts (to register more hooks). */
  readonly beforeStart?: (ck: ClusterKit) => void;
  /**
   * From securityFromEnv: its ClusterKit options are added to `clusterkit`, the KV port serves HTTPS with the
   * node's certificate, peers are called with the CA and the admin token. Default: none (plain HTTP, all open).
   */
  readonly security?: NodeSecurity;
}

export class KvNode {
  readonly store = new KvStore();
  readonly clock = new VersionClock();
  readonly http: HttpClient;
  #ck: ClusterKit | null = null;
  #mover: DataMover | null = null;
  #replicator: AsyncReplicator | null = null;
  #mode: ModeHandlers | null = null;
  #server: Server | null = null;
  #kvAddr = '';
  #started = false;

  constructor(private readonly o: KvNodeOptions) {
    this.http = new HttpClient({ security: o.security?.peer });
  }

  /** The KV port's HTTP server (to reload its certificate), once started. */
  get server(): Server | null {
    return this.#server;
  }

  get ck(): ClusterKit {
    if (this.#ck === null) throw new KvHttpError('ERR_UNAVAILABLE', 'the node is starting', 503);
    return this.#ck;
  }

  /** The KV server's bound `host:port`. */
  get kvAddr(): string {
    return this.#kvAddr;
  }

  /** Listens on the KV port, then starts ClusterKit with the `kv` service registered; resolves once a member. */
  async start(): Promise<void> {
    const server = createAppServer(this.o.security?.serverTls, (req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 30_000;
    this.#server = server;
    const colon = this.o.kvAddr.lastIndexOf(':');
    const host = this.o.kvAddr.slice(0, colon);
    const port = Number(this.o.kvAddr.slice(colon + 1));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: host === '' ? undefined : host.replace(/^\[(.*)\]$/, '$1'), port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
    this.#kvAddr = `${wildcard ? '127.0.0.1' : host}:${bound}`;
    // A wildcard host registers `:port`: ClusterKit completes it with the node's advertised host.
    const service = wildcard ? `:${bound}` : this.#kvAddr;
    const ck = new ClusterKit({
      ...this.o.clusterkit,
      ...this.o.security?.clusterkit,
      services: { ...this.o.clusterkit.services, [KV_SERVICE]: service },
    });
    this.o.beforeStart?.(ck);
    const mover = new DataMover({ ck, store: this.store, clock: this.clock, http: this.http, emit: this.o.emit });
    mover.attach();
    // kv-async replicates through it; kv-server-side uses it to retry the replicas that missed a synchronous write.
    const replicator = new AsyncReplicator(ck, this.http, this.o.emit);
    this.#ck = ck;
    this.#mover = mover;
    this.#replicator = replicator;
    this.#mode = createMode(this.o.mode, this.#context(ck, mover, replicator));
    await ck.start();
    mover.startReconciling();
    this.#started = true;
  }

  /** Leaves the cluster gracefully (its partitions go to the others), then closes the KV server. */
  async leave(): Promise<void> {
    try {
      if (this.#ck !== null && this.#started) await this.#ck.leave();
    } finally {
      await this.#close();
    }
  }

  /** Stops without leaving (the cluster sees a failure). */
  async stop(): Promise<void> {
    try {
      if (this.#ck !== null) await this.#ck.stop();
    } finally {
      await this.#close();
    }
  }

  async #close(): Promise<void> {
    this.#mover?.stop();
    this.#replicator?.stop();
    this.http.close();
    const server = this.#server;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stats(): Record<string, unknown> {
    const ck = this.ck;
    const me = ck.getMyNodeId();
    let primaries = 0;
    let replicas = 0;
    for (const p of this.#partitionsOrEmpty(ck)) {
      if (p.primaryNode === me) primaries++;
      else if (p.replicaNodes.includes(me)) replicas++;
    }
    const progress = this.#mover?.progress() ?? { syncing: 0, pendingDrops: 0 };
    return {
      nodeId: me,
      mode: this.o.mode,
      keys: this.store.liveKeys(),
      primaries,
      replicas,
      partitionsHeld: this.store.partitions().length,
      tableVersion: ck.getCluster().tableVersion,
      syncing: progress.syncing,
      pendingDrops: progress.pendingDrops,
      backlog: this.#replicator?.backlog() ?? 0,
      kvAddr: this.#kvAddr,
    };
  }

  #partitionsOrEmpty(ck: ClusterKit): readonly Partition[] {
    try {
      return ck.listPartitions();
    } catch {
      return [];
    }
  }

  #context(ck: ClusterKit, mover: DataMover, replicator: AsyncReplicator): KvContext {
    return {
      ck,
      me: ck.getMyNodeId(),
      store: this.store,
      clock: this.clock,
      http: this.http,
      mover,
      replicator,
      forwardDeadlineMs: this.o.forwardDeadlineMs ?? 5000,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#route(req);
    } catch (err) {
      const e = errorReply(err);
      if (e.status === 500) this.o.emit({ type: 'log', level: 'error', msg: 'request failed', err: String(err) });
      reply = e;
    }
    const version = this.#ck === null ? 0 : this.#ck.getCluster().tableVersion;
    if (!res.headersSent) sendJson(res, reply.status, reply.json, { 'x-kv-table-version': String(version) });
  }

  async #route(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://kv');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/kv-stats') {
      allow(method, ['GET']);
      return { status: 200, json: this.stats() };
    }
    if (path.startsWith('/kv/')) {
      const key = decodeKey(path.slice(4));
      const mode = this.#mode;
      if (mode === null || !this.#started) throw new KvHttpError('ERR_UNAVAILABLE', 'the node is starting', 503);
      const hops = Number(req.headers['x-kv-hops'] ?? 0) || 0;
      const local = req.headers['x-kv-read'] === 'local';
      switch (method) {
        case 'PUT': {
          const body = await readJsonObject(req, MAX_REQUEST_BYTES);
          return mode.put(key, checkValue(body['value']), writeVersion(body['version']), hops);
        }
        case 'GET':
          return mode.get(key, hops, local);
        case 'DELETE':
          return mode.del(key, writeVersion(url.searchParams.get('version') ?? undefined), hops);
        default:
          throw methodNotAllowed(['GET', 'PUT', 'DELETE']);
      }
    }
    if (path.startsWith('/internal/') && this.o.security !== undefined && !this.o.security.isPeerRequest(req)) {
      // Not retriable: the caller lacks the credentials, and retrying will not give it them.
      throw new KvHttpError(
        'ERR_MEMBERSHIP',
        'a node-to-node endpoint: it needs the admin token or a client certificate of the cluster CA',
        401,
        {},
        false,
      );
    }
    const internal = /^\/internal\/(partition|ready)\/(0|[1-9][0-9]{0,5})$/.exec(path);
    if (internal !== null) {
      allow(method, ['GET']);
      const mover = this.#mover;
      const index = Number(internal[2]);
      if (mover === null) throw new KvHttpError('ERR_UNAVAILABLE', 'the node is starting', 503);
      return internal[1] === 'partition'
        ? { status: 200, json: mover.dump(index) }
        : { status: 200, json: { ready: mover.isReady(index) } };
    }
    if (path === '/internal/apply') {
      allow(method, ['POST']);
      return this.#apply(await readJsonObject(req, MAX_APPLY_BYTES));
    }
    throw new KvHttpError('ERR_NOT_FOUND', `no such endpoint: ${method} ${path}`, 404);
  }

  /** Replicated writes from a primary or a client: stored when this node owns the partition (by its table). */
  #apply(body: Record<string, unknown>): Reply {
    const entries = body['entries'];
    if (!Array.isArray(entries)) throw new InvalidArgumentError('entries must be an array');
    const ck = this.ck;
    const me = ck.getMyNodeId();
    const parts = ck.listPartitions();
    // Validate the whole batch before storing any of it.
    const valid = (entries as unknown[]).map((raw) => {
      const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      const { partition, key, value, version } = e;
      if (
        typeof partition !== 'number' ||
        typeof key !== 'string' ||
        (value !== null && typeof value !== 'string') ||
        !isValidVersion(version)
      ) {
        throw new InvalidArgumentError('each entry needs partition, key, value (string or null) and version');
      }
      return { partition, key, value, version };
    });
    const results = valid.map((e) => {
      const p = parts[e.partition];
      if (p === undefined || (p.primaryNode !== me && !p.replicaNodes.includes(me))) return 'not_owner';
      this.clock.observe(e.version);
      return this.store.apply(e.partition, e.key, { value: e.value, version: e.version }) ? 'applied' : 'stale';
    });
    return { status: 200, json: { results } };
  }
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) throw methodNotAllowed(methods);
}

function methodNotAllowed(methods: readonly string[]): KvHttpError {
  return new KvHttpError('ERR_INVALID_ARGUMENT', `method not allowed (use ${methods.join(', ')})`, 405);
}

function decodeKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new InvalidArgumentError('the key is not valid percent-encoding');
  }
  if (key.length === 0) throw new InvalidArgumentError('the key cannot be empty');
  if (key.length > MAX_KEY_LENGTH)
    throw new InvalidArgumentError(`the key is longer than ${MAX_KEY_LENGTH} characters`);
  return key;
}

function checkValue(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError('the body must be {"value": "<string>"}');
  if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`the value is larger than ${MAX_VALUE_BYTES} bytes`);
  }
  return value;
}

/** A version supplied by the writer (kv-sync clients stamp their writes), or undefined. */
function writeVersion(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const v = typeof raw === 'string' ? Number(raw) : raw;
  if (!isValidVersion(v)) throw new InvalidArgumentError('version must be a positive integer');
  return v;
}
