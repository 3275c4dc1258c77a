/**
 * Configuration of `clusterkit agent`: command-line flags and the environment variables of the Go original's
 * docker-compose (NODE_ID, HTTP_PORT, JOIN_ADDR, DATA_DIR, ...), resolved into one validated AgentConfig.
 *
 * Pure: it reads only the records it is given (no process.env, no disk, no network), so every rule is unit- and
 * property-tested, and a bad value is reported as one InvalidArgumentError naming the flag or variable it came
 * from before anything starts. Rules:
 * - every setting has a flag and an environment variable: `--join-addr` ↔ `JOIN_ADDR`, and so on;
 * - a flag overrides its variable; an empty variable counts as unset (compose files often say `JOIN_ADDR=`);
 * - HTTP_ADDR and HTTP_PORT name the same thing: give one of them (a flag of either overrides both variables).
 *   `HTTP_PORT=8080` listens on every interface (`:8080`), as the Go original did; the advertised address is then
 *   this machine's first non-loopback IPv4 address unless ADVERTISE_ADDR says otherwise;
 * - numbers are decimal integers, durations are milliseconds or `500ms`, `1s`, `1m30s`, booleans are
 *   true/false/1/0/yes/no/on/off;
 * - secrets (CLUSTER_SECRET, ADMIN_TOKEN, READ_TOKEN) are environment variables only: a flag would show them to
 *   everyone who can list processes. They never appear in `--print-config` or in a log line.
 */
import { parseArgs } from 'node:util';
import { type ClusterKitOptions, splitHostPort } from '../cluster/options.js';
import { MAX_SERVICES, MAX_VOTERS_LIMIT, MAX_WEIGHT } from '../cluster/state/types.js';
import { InvalidArgumentError } from '../errors.js';
import { MAX_PARTITION_COUNT, MAX_REPLICATION_FACTOR, type PlacementStrategy } from '../partitioning/index.js';
import type { Logger } from '../util/logger.js';
import { parseDuration } from './duration.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where `clusterkit agent` listens when neither HTTP_ADDR nor HTTP_PORT is set. */
export const DEFAULT_AGENT_HTTP_ADDR = '127.0.0.1:8080';
/** How long a graceful leave may take before the agent stops anyway (docker's default grace is 10 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
/** Durations above this are almost certainly a unit mistake. */
const MAX_DURATION_MS = 3_600_000;

export interface AgentHealthCheck {
  readonly enabled?: boolean;
  readonly interval?: number;
  readonly timeout?: number;
  readonly failureThreshold?: number;
}

/** The agent's settings; `undefined` means "ClusterKit's default". */
export interface AgentConfig {
  readonly nodeId: string;
  readonly nodeName: string | undefined;
  readonly httpAddr: string;
  readonly advertiseAddr: string | undefined;
  /** Empty: bootstrap a new cluster (or restart from the data directory). */
  readonly joinAddr: readonly string[];
  readonly dataDir: string | undefined;
  readonly clusterName: string | undefined;
  readonly partitionCount: number | undefined;
  readonly replicationFactor: number | undefined;
  readonly maxVoters: number | undefined;
  readonly placement: PlacementStrategy | undefined;
  readonly healthCheck: AgentHealthCheck;
  readonly zone: string | undefined;
  readonly weight: number | undefined;
  readonly services: Readonly<Record<string, string>> | undefined;
  readonly raft: { readonly electionMs?: number; readonly heartbeatMs?: number };
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /** TLS on the node's port (HTTP and Raft); see docs/SECURITY.md. */
  readonly tls: AgentTls | undefined;
  /** CLUSTER_SECRET, then the CLUSTER_SECRET_ACCEPTED ones (a rotation): a list when there are several. */
  readonly clusterSecret: string | readonly string[] | undefined;
  readonly adminToken: readonly string[] | undefined;
  readonly readToken: readonly string[] | undefined;
}

export interface AgentTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
  readonly clientCerts?: 'none' | 'request' | 'require';
  readonly verifyHostname?: boolean;
  readonly watchIntervalMs?: number;
}

/** One setting: its flag (without `--`), its environment variable, and the line `--help` shows for it. */
export interface AgentSetting {
  readonly flag: string;
  readonly env: string;
  readonly value: string;
  readonly help: string;
}

export const AGENT_SETTINGS: readonly AgentSetting[] = [
  { flag: 'node-id', env: 'NODE_ID', value: '<id>', help: 'unique, stable id of this node (required)' },
  { flag: 'node-name', env: 'NODE_NAME', value: '<name>', help: 'display name (default: the node id)' },
  {
    flag: 'http-addr',
    env: 'HTTP_ADDR',
    value: '<host:port>',
    help: `where to listen, HTTP API and Raft on one port (default ${DEFAULT_AGENT_HTTP_ADDR})`,
  },
  { flag: 'http-port', env: 'HTTP_PORT', value: '<port>', help: 'listen on every interface at this port' },
  {
    flag: 'advertise-addr',
    env: 'ADVERTISE_ADDR',
    value: '<host:port>',
    help: "the address other nodes dial (default: the listen address; for :port, this host's first IPv4)",
  },
  {
    flag: 'join-addr',
    env: 'JOIN_ADDR',
    value: '<a,b,...>',
    help: 'existing nodes to join through; none: bootstrap a new cluster',
  },
  {
    flag: 'data-dir',
    env: 'DATA_DIR',
    value: '<dir>',
    help: 'Raft log and snapshots (default ./clusterkit-data/<id>)',
  },
  { flag: 'cluster-name', env: 'CLUSTER_NAME', value: '<name>', help: 'default clusterkit-cluster' },
  { flag: 'partition-count', env: 'PARTITION_COUNT', value: '<n>', help: 'fixed at bootstrap (default 64)' },
  {
    flag: 'replication-factor',
    env: 'REPLICATION_FACTOR',
    value: '<n>',
    help: 'copies per partition, primary included (default 3)',
  },
  { flag: 'max-voters', env: 'MAX_VOTERS', value: '<n>', help: 'Raft voters; later nodes are non-voters (default 5)' },
  { flag: 'placement', env: 'PLACEMENT', value: '<strategy>', help: 'balanced (default) or rendezvous' },
  {
    flag: 'health-check-enabled',
    env: 'HEALTH_CHECK_ENABLED',
    value: '<bool>',
    help: 'remove nodes that stop answering (default true)',
  },
  {
    flag: 'health-check-interval',
    env: 'HEALTH_CHECK_INTERVAL',
    value: '<duration>',
    help: 'how often liveness is judged (default 5s)',
  },
  {
    flag: 'health-check-timeout',
    env: 'HEALTH_CHECK_TIMEOUT',
    value: '<duration>',
    help: 'silence after which a node is unhealthy (default 2s)',
  },
  {
    flag: 'health-check-failure-threshold',
    env: 'HEALTH_CHECK_FAILURE_THRESHOLD',
    value: '<n>',
    help: 'removed after interval × this of silence (default 3)',
  },
  { flag: 'zone', env: 'ZONE', value: '<zone>', help: 'failure domain: replicas go to different zones' },
  { flag: 'weight', env: 'WEIGHT', value: '<number>', help: 'relative capacity for placement (default 1)' },
  {
    flag: 'services',
    env: 'SERVICES',
    value: '<name=addr,...>',
    help: 'services this node offers, e.g. kv=:9000,grpc=10.0.0.5:9001',
  },
  {
    flag: 'raft-election-timeout',
    env: 'RAFT_ELECTION_TIMEOUT',
    value: '<duration>',
    help: 'Raft election timeout (default 1s)',
  },
  {
    flag: 'raft-heartbeat-interval',
    env: 'RAFT_HEARTBEAT_INTERVAL',
    value: '<duration>',
    help: 'Raft heartbeat interval (default 50ms)',
  },
  { flag: 'tls-cert', env: 'TLS_CERT', value: '<file>', help: 'PEM certificate of this node: TLS on its port' },
  { flag: 'tls-key', env: 'TLS_KEY', value: '<file>', help: 'PEM key of that certificate' },
  {
    flag: 'tls-ca',
    env: 'TLS_CA',
    value: '<file>',
    help: 'PEM CA bundle nodes (and client certificates) are verified with',
  },
  {
    flag: 'tls-client-certs',
    env: 'TLS_CLIENT_CERTS',
    value: '<mode>',
    help: 'none (default), request or require: client certificates (mutual TLS)',
  },
  {
    flag: 'tls-verify-hostname',
    env: 'TLS_VERIFY_HOSTNAME',
    value: '<bool>',
    help: "a dialled node's certificate must name the host dialled (default true)",
  },
  {
    flag: 'tls-watch-interval',
    env: 'TLS_WATCH_INTERVAL',
    value: '<duration>',
    help: 'reload the certificate files when they change, checked this often (default: on SIGHUP only)',
  },
  { flag: 'log-level', env: 'LOG_LEVEL', value: '<level>', help: `${LOG_LEVELS.join('|')} (default info)` },
  {
    flag: 'shutdown-timeout',
    env: 'SHUTDOWN_TIMEOUT',
    value: '<duration>',
    help: 'longest graceful leave before stopping anyway (default 30s)',
  },
];

/** Secrets: environment variables only (see the module comment). */
export const AGENT_SECRETS: readonly { readonly env: string; readonly help: string }[] = [
  { env: 'CLUSTER_SECRET', help: 'shared secret every node proves membership with (see docs/SECURITY.md)' },
  {
    env: 'CLUSTER_SECRET_ACCEPTED',
    help: 'other secret(s) also accepted, comma-separated, while rotating CLUSTER_SECRET (docs/SECURITY.md)',
  },
  { env: 'ADMIN_TOKEN', help: 'bearer token(s) for admin endpoints, comma-separated (rotation: old,new)' },
  { env: 'READ_TOKEN', help: 'bearer token(s) for read endpoints, comma-separated; unset: reads are open' },
];

export type Env = Readonly<Record<string, string | undefined>>;
/** Flag name (without `--`) → value, as parseArgs returns them. */
export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** Parses the agent's command line (flags only; no positionals). Throws parseArgs' errors (exit code 2). */
export function parseAgentArgs(argv: readonly string[]): { flags: Flags; printConfig: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'print-config': { type: 'boolean' } };
  for (const s of AGENT_SETTINGS) options[s.flag] = { type: 'string' };
  const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  if (positionals.length > 0) {
    throw new InvalidArgumentError(
      `agent takes no arguments, got ${JSON.stringify(positionals[0])}; settings are flags or environment variables`,
    );
  }
  const { 'print-config': printConfig, ...flags } = values;
  return { flags, printConfig: printConfig === true };
}

interface Raw {
  readonly label: string;
  readonly text: string;
}

function fail(label: string, text: string, rule: string): never {
  throw new InvalidArgumentError(`invalid ${label} ${JSON.stringify(text)}: ${rule}`);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function text(raw: Raw | undefined, max: number): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.text.length > max || hasControl(raw.text) || raw.text.trim() !== raw.text) {
    fail(raw.label, raw.text, `must be 1 to ${max} characters, without control characters or surrounding spaces`);
  }
  return raw.text;
}

function integer(raw: Raw | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[0-9]{1,9}$/.test(raw.text) ? Number(raw.text) : Number.NaN;
  if (!(n >= min && n <= max)) fail(raw.label, raw.text, `must be an integer from ${min} to ${max}`);
  return n;
}

function duration(raw: Raw | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw.text);
  if (ms === undefined || ms < 1 || ms > MAX_DURATION_MS) {
    fail(raw.label, raw.text, 'must be a duration from 1ms to 1h: milliseconds (1500) or with a unit (500ms, 2s, 1m)');
  }
  return ms;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function boolean(raw: Raw | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  const t = raw.text.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  return fail(raw.label, raw.text, 'must be true or false (also 1/0, yes/no, on/off)');
}

function hostPort(raw: Raw, value: string, allowPortZero: boolean): string {
  // splitHostPort's messages name the flag or variable (it gets the label as the option name).
  const { port } = splitHostPort(raw.label, value);
  if (port === 0 && !allowPortZero) fail(raw.label, value, 'must name a real port, not 0');
  return value;
}

function joinList(raw: Raw | undefined): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const item of raw.text.split(/[\s,]+/)) {
    if (item === '') continue;
    hostPort(raw, item, false);
    if (!out.includes(item)) out.push(item);
  }
  if (out.length > 64) fail(raw.label, raw.text, 'lists more than 64 addresses');
  return out;
}

function services(raw: Raw | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const out: Record<string, string> = {};
  let count = 0;
  for (const item of raw.text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? '' : item.slice(0, eq).trim();
    const addr = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (name === '' || addr === '') fail(raw.label, raw.text, `entry ${JSON.stringify(item)} is not name=address`);
    if (!addr.includes(':')) {
      fail(raw.label, raw.text, `address of ${name} must be :port or host:port, got ${JSON.stringify(addr)}`);
    }
    if (hasControl(name) || hasControl(addr) || name.length > 256 || addr.length > 256) {
      fail(raw.label, raw.text, `entry ${JSON.stringify(name)} is too long or has control characters`);
    }
    if (Object.hasOwn(out, name)) fail(raw.label, raw.text, `service ${JSON.stringify(name)} is listed twice`);
    Object.defineProperty(out, name, { value: addr, enumerable: true, writable: true, configurable: true });
    count++;
  }
  if (count > MAX_SERVICES) fail(raw.label, raw.text, `lists more than ${MAX_SERVICES} services`);
  return out;
}

function weight(raw: Raw | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[0-9]{1,7}(?:\.[0-9]{1,9})?$/.test(raw.text) ? Number(raw.text) : Number.NaN;
  if (!(n > 0 && n <= MAX_WEIGHT)) fail(raw.label, raw.text, `must be a number greater than 0, at most ${MAX_WEIGHT}`);
  return n;
}

/** CLUSTER_SECRET alone, or followed by the secrets a rotation still (or already) accepts. */
function clusterSecrets(primary: string | undefined, accepted: string | undefined): string | string[] | undefined {
  const extra = (accepted ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (primary === undefined || primary === '') {
    if (extra.length > 0) throw new InvalidArgumentError('CLUSTER_SECRET_ACCEPTED needs CLUSTER_SECRET as well');
    return undefined;
  }
  return extra.length === 0 ? primary : [primary, ...extra];
}

function tokens(name: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const list = raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  // The value is a secret: the message names the variable, never the value.
  if (list.length === 0) throw new InvalidArgumentError(`${name} lists no token`);
  if (list.some((t) => hasControl(t) || /\s/.test(t))) {
    throw new InvalidArgumentError(`${name}: tokens must not contain spaces or control characters`);
  }
  return list;
}

function choice<T extends string>(raw: Raw | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const t = raw.text.trim().toLowerCase();
  const found = allowed.find((a) => a === t);
  if (found === undefined) fail(raw.label, raw.text, `must be one of ${allowed.join(', ')}`);
  return found;
}

/**
 * Resolves the agent's configuration from its flags and the environment. Throws InvalidArgumentError naming the
 * flag or variable of the first bad value. Does not check what only ClusterKit knows (its own validation runs
 * when the node is created, still before anything starts).
 */
export function resolveAgentConfig(flags: Flags, env: Env): AgentConfig {
  const get = (flag: string): Raw | undefined => {
    const setting = AGENT_SETTINGS.find((s) => s.flag === flag);
    if (setting === undefined) throw new Error(`unknown agent setting ${flag}`);
    const f = flags[flag];
    if (typeof f === 'string') {
      if (f === '') fail(`--${flag}`, f, 'must not be empty');
      return { label: `--${flag}`, text: f };
    }
    const e = env[setting.env];
    return e === undefined || e === '' ? undefined : { label: setting.env, text: e };
  };

  const idRaw = get('node-id');
  if (idRaw === undefined) {
    throw new InvalidArgumentError('NODE_ID is required: pass --node-id <id> or set the NODE_ID environment variable');
  }
  const nodeId = text(idRaw, 256)!;

  // HTTP_ADDR and HTTP_PORT: flags win over variables; two values at the same level are ambiguous.
  const addrFlag = typeof flags['http-addr'] === 'string';
  const portFlag = typeof flags['http-port'] === 'string';
  if (addrFlag && portFlag) throw new InvalidArgumentError('give --http-addr or --http-port, not both');
  let addrRaw: Raw | undefined;
  let portRaw: Raw | undefined;
  if (addrFlag) addrRaw = get('http-addr');
  else if (portFlag) portRaw = get('http-port');
  else {
    addrRaw = get('http-addr');
    portRaw = get('http-port');
    if (addrRaw !== undefined && portRaw !== undefined) {
      throw new InvalidArgumentError('set HTTP_ADDR or HTTP_PORT, not both');
    }
  }
  let httpAddr = DEFAULT_AGENT_HTTP_ADDR;
  if (addrRaw !== undefined) httpAddr = hostPort(addrRaw, addrRaw.text, true);
  if (portRaw !== undefined) httpAddr = `:${integer(portRaw, 0, 65_535)!}`;

  const advertiseRaw = get('advertise-addr');
  const healthCheck: AgentHealthCheck = omitUndefined({
    enabled: boolean(get('health-check-enabled')),
    interval: duration(get('health-check-interval')),
    timeout: duration(get('health-check-timeout')),
    failureThreshold: integer(get('health-check-failure-threshold'), 1, 1000),
  });
  const raft = omitUndefined({
    electionMs: duration(get('raft-election-timeout')),
    heartbeatMs: duration(get('raft-heartbeat-interval')),
  });
  if (raft.electionMs !== undefined && raft.heartbeatMs !== undefined && raft.heartbeatMs >= raft.electionMs) {
    throw new InvalidArgumentError('the Raft heartbeat interval must be shorter than the election timeout');
  }

  const secret = env['CLUSTER_SECRET'];
  return {
    nodeId,
    nodeName: text(get('node-name'), 256),
    httpAddr,
    advertiseAddr: advertiseRaw === undefined ? undefined : hostPort(advertiseRaw, advertiseRaw.text, false),
    joinAddr: joinList(get('join-addr')),
    dataDir: text(get('data-dir'), 4096),
    clusterName: text(get('cluster-name'), 128),
    partitionCount: integer(get('partition-count'), 1, MAX_PARTITION_COUNT),
    replicationFactor: integer(get('replication-factor'), 1, MAX_REPLICATION_FACTOR),
    maxVoters: integer(get('max-voters'), 1, MAX_VOTERS_LIMIT),
    placement: choice(get('placement'), ['balanced', 'rendezvous'] as const),
    healthCheck,
    zone: text(get('zone'), 256),
    weight: weight(get('weight')),
    services: services(get('services')),
    raft,
    logLevel: choice(get('log-level'), LOG_LEVELS) ?? 'info',
    shutdownTimeoutMs: duration(get('shutdown-timeout')) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    tls: tlsSettings(get),
    clusterSecret: clusterSecrets(secret, env['CLUSTER_SECRET_ACCEPTED']),
    adminToken: tokens('ADMIN_TOKEN', env['ADMIN_TOKEN']),
    readToken: tokens('READ_TOKEN', env['READ_TOKEN']),
  };
}

function tlsSettings(get: (flag: string) => Raw | undefined): AgentTls | undefined {
  const cert = get('tls-cert');
  const key = get('tls-key');
  const optional = {
    caFile: text(get('tls-ca'), 4096),
    clientCerts: choice(get('tls-client-certs'), ['none', 'request', 'require'] as const),
    verifyHostname: boolean(get('tls-verify-hostname')),
    watchIntervalMs: duration(get('tls-watch-interval')),
  };
  if (cert === undefined && key === undefined) {
    const stray = Object.entries(optional).find(([, v]) => v !== undefined);
    if (stray !== undefined) {
      throw new InvalidArgumentError('TLS settings need the certificate and its key: set TLS_CERT and TLS_KEY');
    }
    return undefined;
  }
  if (cert === undefined || key === undefined) {
    throw new InvalidArgumentError('TLS needs both the certificate and its key: set TLS_CERT and TLS_KEY');
  }
  return { certFile: text(cert, 4096)!, keyFile: text(key, 4096)!, ...omitUndefined(optional) };
}

/** The configuration without its secrets, for `--print-config` and logs. */
export function redacted(config: AgentConfig): Record<string, unknown> {
  const hide = (v: unknown): unknown => (v === undefined ? undefined : '[redacted]');
  return {
    ...config,
    clusterSecret: hide(config.clusterSecret),
    adminToken: hide(config.adminToken),
    readToken: hide(config.readToken),
  };
}

/** Drops undefined fields (the options objects are declared with exactOptionalPropertyTypes). */
export function omitUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The ClusterKit options of an agent configuration. */
export function agentNodeOptions(config: AgentConfig, logger: Logger | undefined): ClusterKitOptions {
  const healthCheck = config.healthCheck;
  return {
    nodeId: config.nodeId,
    httpAddr: config.httpAddr,
    joinAddr: config.joinAddr,
    ...omitUndefined({
      nodeName: config.nodeName,
      advertiseAddr: config.advertiseAddr,
      dataDir: config.dataDir,
      clusterName: config.clusterName,
      partitionCount: config.partitionCount,
      replicationFactor: config.replicationFactor,
      maxVoters: config.maxVoters,
      placement: config.placement,
      zone: config.zone,
      weight: config.weight,
      services: config.services,
      logger,
      tls: config.tls,
      clusterSecret: config.clusterSecret,
      adminToken: config.adminToken,
      readToken: config.readToken,
    }),
    ...(Object.keys(healthCheck).length === 0 ? {} : { healthCheck }),
    ...(Object.keys(config.raft).length === 0 ? {} : { raft: config.raft }),
  };
}
