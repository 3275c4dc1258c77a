/**
 * ClusterKit options: the Go original's `Options` in camelCase, plus what a routable, multi-host deployment needs
 * (advertiseAddr, a list of join addresses, zone, weight, maxVoters, Raft timings). Every option is validated
 * here, before anything starts: a bad value throws InvalidArgumentError naming the option, and nothing has been
 * created on disk or on the network yet.
 *
 * Deliberate differences from the Go original (see seed-behavior.md §2.1, §8, §14):
 * - partitionCount defaults to 64 (the README's figure; the Go code used 16);
 * - health checking is enabled by default (the Go code had it off, so dead nodes were never removed);
 * - dataDir defaults to `./clusterkit-data/<nodeId>`, so two nodes started from one directory never share state;
 * - the address other nodes dial is always a real host:port (`advertiseAddr`), never the bare `:8080` the Go
 *   original published, which only worked on one host.
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import {
  DEFAULT_PARTITION_COUNT,
  DEFAULT_REPLICATION_FACTOR,
  MAX_PARTITION_COUNT,
  MAX_REPLICATION_FACTOR,
  type PlacementStrategy,
} from '../partitioning/index.js';
import type { RaftTimings } from '../raft/api.js';
import type { FileSystem } from '../raft/storage/fs.js';
import {
  type ResolvedSecurity,
  resolveSecurity,
  SECURITY_OPTION_NAMES,
  type SecurityOptions,
} from '../security/options.js';
import { describe } from '../util/assert.js';
import { type Clock, type Random, type Scheduler, systemClock, systemRandom, systemScheduler } from '../util/io.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { MAX_SERVICES, MAX_VOTERS_LIMIT, MAX_WEIGHT } from './state/types.js';

export interface HealthCheckOptions {
  /** Whether the leader removes nodes it cannot reach. Default true (the Go original: false). */
  readonly enabled?: boolean;
  /** How often the leader evaluates liveness, ms. Default 5000 (as the Go original). */
  readonly interval?: number;
  /** A node the leader has not heard from for this long (ms) is unhealthy. Default 2000. */
  readonly timeout?: number;
  /**
   * A node silent for `interval × failureThreshold` ms (the Go original's "failed this many consecutive checks")
   * is removed from the cluster. Default 3.
   */
  readonly failureThreshold?: number;
}

/**
 * Raft settings passed through to the engine (see src/raft/api.ts). ClusterKit's defaults: electionMs 1000,
 * heartbeatMs 50 (the engine's own are 300 and 50).
 */
export interface RaftTuning extends Partial<RaftTimings> {
  readonly snapshotThreshold?: number;
  readonly snapshotTrailing?: number;
  /** Timeout of one proposal (joins, custom data writes), ms. Default 5000. */
  readonly proposeTimeoutMs?: number;
  readonly leaseReads?: boolean;
}

/**
 * Security options (clusterSecret, tls, adminToken, readToken, limits) are described in src/security/options.ts
 * and docs/SECURITY.md.
 */
export interface ClusterKitOptions extends SecurityOptions {
  /** Required. Unique, stable id of this node (1..256 characters, no control characters). */
  readonly nodeId: string;
  /**
   * Required. Where this node listens, `host:port`, for both the HTTP API and Raft (one port). The host may be
   * empty or a wildcard (`:8080`, `0.0.0.0:8080`) to listen on every interface; port 0 picks a free port (tests).
   */
  readonly httpAddr: string;
  /**
   * The `host:port` other nodes dial to reach this one. Default: httpAddr when its host is a real address; for a
   * wildcard host, the first non-internal IPv4 address of this machine (127.0.0.1 if there is none). With port 0
   * in httpAddr, the bound port is used.
   */
  readonly advertiseAddr?: string;
  /** Addresses (`host:port`) of existing nodes to join through. Absent or empty: bootstrap a new cluster. */
  readonly joinAddr?: string | readonly string[];
  /** Directory for the Raft log, snapshots and the node identity. Default `./clusterkit-data/<nodeId>`. */
  readonly dataDir?: string;
  /** Display name (the Go original's NodeName). Default: the node id. */
  readonly nodeName?: string;
  /** Default 'clusterkit-cluster'. Nodes of another cluster name cannot connect. */
  readonly clusterName?: string;
  /** Fixed at bootstrap; a joiner with another value is refused. Default 64. */
  readonly partitionCount?: number;
  /** Copies of each partition, primary included; fixed at bootstrap. Default 3. */
  readonly replicationFactor?: number;
  /** Most Raft voters; later nodes are non-voters. Fixed at bootstrap. Default 5. */
  readonly maxVoters?: number;
  /** Placement strategy, fixed at bootstrap. Default 'balanced'; 'rendezvous' is the Go original's assignment. */
  readonly placement?: PlacementStrategy;
  readonly healthCheck?: HealthCheckOptions;
  /** Application services this node offers: name → address (`:port` or `host:port`, as the Go original). */
  readonly services?: Readonly<Record<string, string>>;
  /** Failure domain (rack, availability zone): replicas of a partition go to different zones when possible. */
  readonly zone?: string;
  /** Relative capacity for placement, in (0, 1e6]. Default 1. */
  readonly weight?: number;
  /** A pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
  /** Most hooks running at once. Default 50, as the original. */
  readonly hookConcurrency?: number;
  readonly raft?: RaftTuning;
  /** How long one join attempt may take, ms. Default 5000. */
  readonly joinTimeoutMs?: number;
  /** First and longest delay between join attempts, ms. Default 100 and 5000. */
  readonly joinBackoffMs?: { readonly min?: number; readonly max?: number };
  /** Injected time and randomness (tests, simulation). Default: the system's. */
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  readonly random?: Random;
  /** Wall-clock time in ms since the epoch (event timestamps). Default Date.now. */
  readonly wallClock?: () => number;
  /**
   * The filesystem under the data directory (the Raft log, term/vote, snapshots, identity and progress files).
   * Default: node:fs, with the Raft stores' writes and fsyncs in libuv's threadpool. An injection point for
   * wrappers (encryption, metrics, fault injection: a slow fsync, a full disk).
   */
  readonly fileSystem?: FileSystem;
}

export interface ResolvedHealthCheck {
  readonly enabled: boolean;
  readonly interval: number;
  readonly timeout: number;
  readonly failureThreshold: number;
}

export interface ListenAddr {
  /** undefined: every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

export interface ResolvedOptions {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly httpAddr: string;
  readonly listen: ListenAddr;
  /** Advertised host; the port comes from `advertisePort`, or from the bound port when that is 0. */
  readonly advertiseHost: string;
  readonly advertisePort: number;
  readonly joinAddrs: readonly string[];
  readonly dataDir: string;
  readonly clusterName: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly maxVoters: number;
  readonly placement: PlacementStrategy;
  readonly healthCheck: ResolvedHealthCheck;
  readonly services: Readonly<Record<string, string>>;
  readonly zone: string | undefined;
  readonly weight: number;
  readonly logger: Logger;
  readonly hookConcurrency: number;
  readonly raft: RaftTuning;
  readonly joinTimeoutMs: number;
  readonly joinBackoffMin: number;
  readonly joinBackoffMax: number;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly wallClock: () => number;
  readonly security: ResolvedSecurity;
  /** undefined: the defaults described on ClusterKitOptions.fileSystem. */
  readonly fileSystem: FileSystem | undefined;
}

export const DEFAULT_CLUSTER_NAME = 'clusterkit-cluster';
/** Raft election timeout and heartbeat interval of a ClusterKit node unless `raft` says otherwise, ms. */
export const DEFAULT_ELECTION_MS = 1000;
export const DEFAULT_HEARTBEAT_MS = 50;
export const DEFAULT_MAX_VOTERS = 5;
export const DEFAULT_HEALTH_CHECK: ResolvedHealthCheck = Object.freeze({
  enabled: true,
  interval: 5000,
  timeout: 2000,
  failureThreshold: 3,
});

const KNOWN_OPTIONS = new Set([
  ...SECURITY_OPTION_NAMES,
  'nodeId',
  'httpAddr',
  'advertiseAddr',
  'joinAddr',
  'dataDir',
  'nodeName',
  'clusterName',
  'partitionCount',
  'replicationFactor',
  'maxVoters',
  'placement',
  'healthCheck',
  'services',
  'zone',
  'weight',
  'logger',
  'hookConcurrency',
  'raft',
  'joinTimeoutMs',
  'joinBackoffMs',
  'clock',
  'scheduler',
  'random',
  'wallClock',
  'fileSystem',
]);

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);
const HOST = /^(?:\[[0-9A-Fa-f:.%]+\]|[A-Za-z0-9._-]+)$/;

function bad(message: string): never {
  throw new InvalidArgumentError(message);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function text(name: string, value: unknown, max = 256): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || hasControl(value)) {
    bad(`${name} must be a string of 1 to ${max} characters without control characters, got ${describe(value)}`);
  }
  return value;
}

function integer(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(`${name} must be an integer between ${min} and ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Splits `host:port` (IPv6 in brackets). The host may be empty (`:8080`). */
export function splitHostPort(name: string, value: unknown): { host: string; port: number } {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    bad(`${name} must be a "host:port" string, got ${describe(value)}`);
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) bad(`${name} must be "host:port" (for example "127.0.0.1:8080"), got ${describe(value)}`);
  const host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(portText) || Number(portText) > 65_535) {
    bad(`${name} has an invalid port ${describe(portText)} (expected 0..65535 without leading zeros)`);
  }
  if (host.includes(':') && !host.startsWith('['))
    bad(`${name}: an IPv6 host must be in brackets, got ${describe(host)}`);
  if (host !== '' && !HOST.test(host)) bad(`${name} has an invalid host ${describe(host)}`);
  return { host, port: Number(portText) };
}

export function isWildcardHost(host: string): boolean {
  return WILDCARDS.has(host);
}

/** The first non-internal IPv4 address of this machine, or 127.0.0.1. */
function defaultAdvertiseHost(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

function joinList(value: unknown): string[] {
  if (value === undefined) return [];
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : [];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    bad(`joinAddr must be a "host:port" string or an array of them, got ${describe(value)}`);
  }
  if (value === '') return []; // the Go original's "no JoinAddr": bootstrap
  const out: string[] = [];
  for (const [i, item] of list.entries()) {
    const where = typeof value === 'string' ? 'joinAddr' : `joinAddr[${i}]`;
    const { host, port } = splitHostPort(where, item);
    if (port === 0) bad(`${where} must name a real port, got ${describe(item)}`);
    // ":8080" (the Go original's habit) means this machine.
    const addr = `${isWildcardHost(host) ? '127.0.0.1' : host}:${port}`;
    if (!out.includes(addr)) out.push(addr);
  }
  if (out.length > 64) bad(`joinAddr lists ${out.length} addresses, more than 64`);
  return out;
}

function services(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(`services must be an object of name → address, got ${describe(value)}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_SERVICES) bad(`services lists ${entries.length} services, more than ${MAX_SERVICES}`);
  const out: [string, string][] = [];
  for (const [name, addr] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // The Go original's three rules, with its messages.
    if (name === '') bad('service name cannot be empty');
    text('service name', name);
    if (typeof addr !== 'string' || addr === '') bad(`service address for '${name}' cannot be empty`);
    if (!addr.includes(':')) {
      bad(`invalid service address format for '${name}': ${addr} (expected format: ':port' or 'host:port')`);
    }
    text(`services[${JSON.stringify(name)}]`, addr);
    out.push([name, addr]);
  }
  return Object.freeze(Object.fromEntries(out));
}

function positiveMs(name: string, value: unknown, fallback: number, max = 3_600_000): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    bad(`${name} must be a number of milliseconds in (0, ${max}], got ${describe(value)}`);
  }
  return value;
}

function healthCheck(value: unknown): ResolvedHealthCheck {
  if (value === undefined) return DEFAULT_HEALTH_CHECK;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(`healthCheck must be an object, got ${describe(value)}`);
  }
  const h = value as Record<string, unknown>;
  for (const k of Object.keys(h)) {
    if (!['enabled', 'interval', 'timeout', 'failureThreshold'].includes(k))
      bad(`healthCheck has an unknown field ${k}`);
  }
  if (h['enabled'] !== undefined && typeof h['enabled'] !== 'boolean') {
    bad(`healthCheck.enabled must be a boolean, got ${describe(h['enabled'])}`);
  }
  // 0 means "default", as in the Go original (its zero values).
  const orDefault = (v: unknown): unknown => (v === 0 ? undefined : v);
  return Object.freeze({
    enabled: h['enabled'] ?? DEFAULT_HEALTH_CHECK.enabled,
    interval: positiveMs('healthCheck.interval', orDefault(h['interval']), DEFAULT_HEALTH_CHECK.interval),
    timeout: positiveMs('healthCheck.timeout', orDefault(h['timeout']), DEFAULT_HEALTH_CHECK.timeout),
    failureThreshold: integer(
      'healthCheck.failureThreshold',
      orDefault(h['failureThreshold']),
      1,
      1000,
      DEFAULT_HEALTH_CHECK.failureThreshold,
    ),
  });
}

function raftTuning(value: unknown): RaftTuning {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(`raft must be an object, got ${describe(value)}`);
  }
  const r = value as Record<string, unknown>;
  const out: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    if (k === 'leaseReads') {
      if (typeof v !== 'boolean') bad(`raft.leaseReads must be a boolean, got ${describe(v)}`);
      out[k] = v;
    } else if (['tickMs', 'electionMs', 'heartbeatMs', 'proposeTimeoutMs'].includes(k)) {
      out[k] = positiveMs(`raft.${k}`, v, 0);
    } else if (['snapshotThreshold', 'snapshotTrailing'].includes(k)) {
      out[k] = integer(`raft.${k}`, v, k === 'snapshotThreshold' ? 1 : 0, 1e9, 0);
    } else {
      bad(`raft has an unknown field ${k}`);
    }
  }
  // ClusterKit runs inside application processes (GC pauses, busy event loops): like the Go original (1 s), it
  // elects more patiently than the bare engine's 300 ms, unless told otherwise.
  const electionMs = (out['electionMs'] as number | undefined) ?? DEFAULT_ELECTION_MS;
  out['electionMs'] = electionMs;
  out['heartbeatMs'] ??= Math.max(
    (out['tickMs'] as number | undefined) ?? 10,
    Math.min(DEFAULT_HEARTBEAT_MS, Math.floor(electionMs / 5)),
  );
  return Object.freeze(out);
}

function logger(value: unknown): Logger {
  if (value === undefined) return silentLogger;
  const l = value as Record<string, unknown> | null;
  for (const m of ['trace', 'debug', 'info', 'warn', 'error', 'child']) {
    if (typeof l?.[m] !== 'function') bad(`logger must be pino-compatible (missing ${m}())`);
  }
  return value as Logger;
}

function injected<T>(name: string, value: unknown, method: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
    bad(`${name} must have a ${method}() method`);
  }
  return value as T;
}

/** A directory name for a node id: ids are free text, directory names are not. */
function dirNameFor(nodeId: string): string {
  // encodeURIComponent keeps dots: "." and ".." must not name the parent directories.
  if (nodeId === '.' || nodeId === '..') return nodeId.replace(/\./g, '%2E');
  return /^[A-Za-z0-9._-]+$/.test(nodeId) ? nodeId : encodeURIComponent(nodeId);
}

/** Validates every option and fills in the defaults. Throws InvalidArgumentError; has no side effects. */
export function resolveOptions(options: ClusterKitOptions): ResolvedOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    bad(`options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) bad(`unknown option ${JSON.stringify(key)}`);
  }
  if (options.nodeId === undefined || (options.nodeId as unknown) === '') bad('NodeID is required (option nodeId)');
  const nodeId = text('nodeId', options.nodeId);
  if (options.httpAddr === undefined || (options.httpAddr as unknown) === '') {
    bad('HTTPAddr is required (option httpAddr)');
  }
  const listenParts = splitHostPort('httpAddr', options.httpAddr);
  const wildcard = isWildcardHost(listenParts.host);
  const bare = listenParts.host.replace(/^\[(.*)\]$/, '$1');
  const listen: ListenAddr = { host: bare === '' ? undefined : bare, port: listenParts.port };
  let advertiseHost: string;
  let advertisePort: number;
  if (options.advertiseAddr !== undefined) {
    const a = splitHostPort('advertiseAddr', options.advertiseAddr);
    if (isWildcardHost(a.host)) {
      bad(`advertiseAddr must name a host other nodes can dial, got ${describe(options.advertiseAddr)}`);
    }
    if (a.port === 0 && listen.port !== 0) bad('advertiseAddr must name a real port');
    advertiseHost = a.host;
    advertisePort = a.port === 0 ? listen.port : a.port;
  } else {
    advertiseHost = wildcard ? defaultAdvertiseHost() : listenParts.host;
    advertisePort = listen.port;
  }
  const dataDir =
    options.dataDir === undefined
      ? join('clusterkit-data', dirNameFor(nodeId))
      : text('dataDir', options.dataDir, 4096);
  const replicationFactor = integer(
    'replicationFactor',
    options.replicationFactor === 0 ? undefined : options.replicationFactor,
    1,
    MAX_REPLICATION_FACTOR,
    DEFAULT_REPLICATION_FACTOR,
  );
  const partitionCount = integer(
    'partitionCount',
    options.partitionCount === 0 ? undefined : options.partitionCount,
    1,
    MAX_PARTITION_COUNT,
    DEFAULT_PARTITION_COUNT,
  );
  const placement = options.placement ?? 'balanced';
  if (placement !== 'balanced' && placement !== 'rendezvous') {
    bad(`placement must be 'balanced' or 'rendezvous', got ${describe(placement)}`);
  }
  let weight = 1;
  if (options.weight !== undefined) {
    const w: unknown = options.weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0 || w > MAX_WEIGHT) {
      bad(`weight must be a finite number in (0, ${MAX_WEIGHT}], got ${describe(w)}`);
    }
    weight = w;
  }
  const backoff = options.joinBackoffMs ?? {};
  const joinBackoffMin = positiveMs('joinBackoffMs.min', backoff.min, 100);
  const joinBackoffMax = positiveMs('joinBackoffMs.max', backoff.max, 5000);
  if (joinBackoffMax < joinBackoffMin) bad('joinBackoffMs.max must not be less than joinBackoffMs.min');
  const wallClock = options.wallClock ?? Date.now;
  if (typeof wallClock !== 'function') bad('wallClock must be a function returning ms since the epoch');
  return Object.freeze({
    nodeId,
    nodeName: options.nodeName === undefined ? nodeId : text('nodeName', options.nodeName),
    httpAddr: options.httpAddr,
    listen: Object.freeze(listen),
    advertiseHost,
    advertisePort,
    joinAddrs: Object.freeze(joinList(options.joinAddr)),
    dataDir,
    clusterName:
      options.clusterName === undefined ? DEFAULT_CLUSTER_NAME : text('clusterName', options.clusterName, 128),
    partitionCount,
    replicationFactor,
    maxVoters: integer('maxVoters', options.maxVoters, 1, MAX_VOTERS_LIMIT, DEFAULT_MAX_VOTERS),
    placement,
    healthCheck: healthCheck(options.healthCheck),
    services: services(options.services),
    zone: options.zone === undefined ? undefined : text('zone', options.zone),
    weight,
    logger: logger(options.logger),
    hookConcurrency: integer('hookConcurrency', options.hookConcurrency, 1, 10_000, 50),
    raft: raftTuning(options.raft),
    joinTimeoutMs: positiveMs('joinTimeoutMs', options.joinTimeoutMs, 5000),
    joinBackoffMin,
    joinBackoffMax,
    clock: injected<Clock>('clock', options.clock, 'now', systemClock),
    scheduler: injected<Scheduler>('scheduler', options.scheduler, 'setTimeout', systemScheduler),
    random: injected<Random>('random', options.random, 'next', systemRandom),
    wallClock,
    security: resolveSecurity(options),
    fileSystem:
      options.fileSystem === undefined
        ? undefined
        : injected<FileSystem>('fileSystem', options.fileSystem, 'datasync', options.fileSystem),
  });
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddr(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
