/**
 * The security options of a ClusterKit node (part of ClusterKitOptions) and their validation. Like every other
 * option they are checked before anything starts; unlike the others, a bad secret or token is never echoed in the
 * error message. Certificate files are read at start (start() rejects with ERR_INVALID_ARGUMENT naming the option
 * when they cannot be read or do not match).
 */
import { InvalidArgumentError } from '../errors.js';
import { describe } from '../util/assert.js';
import { ClusterSecret, MAX_SECRET_BYTES, MIN_SECRET_BYTES, TokenSet } from './secret.js';

/** Whether TLS clients (nodes and HTTP clients) present certificates signed by the CA (mutual TLS). */
export type ClientCertMode = 'none' | 'request' | 'require';

export interface TlsOptions {
  /** PEM certificate (chain) of this node: a file path. It serves HTTPS and Raft, and is the client certificate. */
  readonly certFile: string;
  /** PEM private key of the certificate: a file path. */
  readonly keyFile: string;
  /**
   * PEM CA bundle, a file path: nodes verify each other's certificates (and, with clientCerts, clients') against
   * it. Default: Node's bundled public roots (client certificates then cannot be used).
   */
  readonly caFile?: string;
  /**
   * 'none' (default): no client certificates. 'request': a client may present one; when it is signed by the CA it
   * authenticates the client (a node's must name its node id). 'require': every client, nodes and HTTP clients,
   * must present one (mutual TLS everywhere).
   */
  readonly clientCerts?: ClientCertMode;
  /** A dialled node's certificate must name the host dialled (IP or DNS SAN). Default true. */
  readonly verifyHostname?: boolean;
  /** Re-read the files this often (ms) and switch to new certificates when they changed. Default 0: only reloadTls(). */
  readonly watchIntervalMs?: number;
}

/** A token bucket: `perSecond` sustained, up to `burst` at once, per client address. */
export interface RateOptions {
  readonly perSecond: number;
  readonly burst: number;
}

export interface LimitsOptions {
  /** Most open connections on the node's port, all kinds. Default 2048. */
  readonly maxConnections?: number;
  /** Most open HTTP connections. Default 1024. */
  readonly maxHttpConnections?: number;
  /** Most connections that have not yet shown what they are (TLS handshake, first bytes). Default 256. */
  readonly maxPendingConnections?: number;
  /** TLS handshake, first bytes and Raft handshake must each complete within this long, ms. Default 5000. */
  readonly handshakeTimeoutMs?: number;
  /** Complete HTTP request headers within this long, ms. Default 10000. */
  readonly headersTimeoutMs?: number;
  /** A whole HTTP request within this long, ms. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** A request body must arrive within this long once its headers have (408 and close otherwise), ms. Default 10000. */
  readonly bodyTimeoutMs?: number;
  /** Largest JSON request body, bytes. Default 64 KiB. */
  readonly maxJsonBytes?: number;
  /** Largest Raft frame, bytes. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /**
   * POST /join per client address. Default 20/s, burst 100 (generous: nodes retry joins with back-off, and many
   * nodes may share one address). `false` disables.
   */
  readonly joinRate?: RateOptions | false;
  /** Admin endpoints per client address. Default 100/s, burst 200. `false` disables. */
  readonly adminRate?: RateOptions | false;
}

export interface SecurityOptions {
  /**
   * Shared secret (16 to 4096 bytes; use 32 random bytes, e.g. `openssl rand -base64 32`) that every node of the
   * cluster is given. With it, a node must prove it knows the secret (never sending it) to join, to send Raft
   * traffic and to call node-to-node endpoints. Never logged or shown.
   *
   * A list rotates the secret without downtime: a node proves itself with the first and accepts any of them. Roll
   * every node to `[old, new]`, then to `[new, old]`, then to `new` (docs/SECURITY.md).
   */
  readonly clusterSecret?: string | readonly string[];
  /** TLS for the HTTP API and Raft on the node's port. Without it, everything travels in clear. */
  readonly tls?: TlsOptions;
  /** Bearer token(s) for admin endpoints (several allow rotation). Without any, see docs/SECURITY.md. */
  readonly adminToken?: string | readonly string[];
  /** Bearer token(s) for read endpoints. Without any, reads are open (admin tokens and nodes may read too). */
  readonly readToken?: string | readonly string[];
  readonly limits?: LimitsOptions;
}

export interface ResolvedTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | undefined;
  readonly clientCerts: ClientCertMode;
  readonly verifyHostname: boolean;
  readonly watchIntervalMs: number;
}

export interface ResolvedLimits {
  readonly maxConnections: number;
  readonly maxHttpConnections: number;
  readonly maxPendingConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxJsonBytes: number;
  readonly maxFrameBytes: number;
  readonly joinRate: RateOptions | false;
  readonly adminRate: RateOptions | false;
}

export interface ResolvedSecurity {
  readonly secret: ClusterSecret | undefined;
  readonly tls: ResolvedTls | undefined;
  readonly adminTokens: TokenSet;
  readonly readTokens: TokenSet;
  readonly limits: ResolvedLimits;
}

export const SECURITY_OPTION_NAMES: readonly string[] = ['clusterSecret', 'tls', 'adminToken', 'readToken', 'limits'];

export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  maxConnections: 2048,
  maxHttpConnections: 1024,
  maxPendingConnections: 256,
  handshakeTimeoutMs: 5000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  maxJsonBytes: 64 * 1024,
  maxFrameBytes: 64 * 1024 * 1024,
  joinRate: Object.freeze({ perSecond: 20, burst: 100 }),
  adminRate: Object.freeze({ perSecond: 100, burst: 200 }),
});

function bad(message: string): never {
  throw new InvalidArgumentError(message);
}

function record(name: string, value: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    bad(`${name} must be an object, got ${describe(value)}`);
  }
  const r = value as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!fields.includes(k)) bad(`${name} has an unknown field ${k}`);
  return r;
}

/** A secret-bearing string: its value is never part of the message. */
function secretString(name: string, value: unknown): string {
  if (typeof value !== 'string') bad(`${name} must be a string (its value is not shown)`);
  const n = Buffer.byteLength(value, 'utf8');
  if (n < MIN_SECRET_BYTES || n > MAX_SECRET_BYTES) {
    bad(`${name} must be ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes long (its value is not shown)`);
  }
  if (value.trim() !== value) bad(`${name} must not start or end with whitespace (its value is not shown)`);
  return value;
}

function clusterSecret(value: unknown): ClusterSecret {
  if (typeof value === 'string') return ClusterSecret.fromString(secretString('clusterSecret', value));
  if (!Array.isArray(value) || value.length === 0 || value.length > 8) {
    bad('clusterSecret must be a string or a list of 1 to 8 strings (the first proves, all are accepted)');
  }
  const list = (value as unknown[]).map((s, i) => secretString(`clusterSecret[${i}]`, s));
  if (new Set(list).size !== list.length) bad('clusterSecret lists a secret twice (its value is not shown)');
  return ClusterSecret.fromStrings(list[0]!, ...list.slice(1));
}

function tokens(name: string, value: unknown): TokenSet {
  if (value === undefined) return new TokenSet([]);
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : undefined;
  if (list === undefined) bad(`${name} must be a string or an array of strings (values are not shown)`);
  if (list.length > 64) bad(`${name} lists more than 64 tokens`);
  return new TokenSet(list.map((t, i) => secretString(typeof value === 'string' ? name : `${name}[${i}]`, t)));
}

function path(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 4096) {
    bad(`${name} must be a file path, got ${describe(value)}`);
  }
  return value;
}

function count(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    bad(`${name} must be an integer between 1 and ${max}, got ${describe(value)}`);
  }
  return value;
}

function rate(name: string, value: unknown, fallback: RateOptions | false): RateOptions | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  const r = record(name, value, ['perSecond', 'burst']);
  const perSecond = r['perSecond'];
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > 1e6) {
    bad(`${name}.perSecond must be a number in (0, 1e6], got ${describe(perSecond)}`);
  }
  return Object.freeze({ perSecond, burst: count(`${name}.burst`, r['burst'], Math.ceil(perSecond), 1e6) });
}

function resolveTls(value: unknown): ResolvedTls | undefined {
  if (value === undefined) return undefined;
  const t = record('tls', value, ['certFile', 'keyFile', 'caFile', 'clientCerts', 'verifyHostname', 'watchIntervalMs']);
  const clientCerts = t['clientCerts'] ?? 'none';
  if (clientCerts !== 'none' && clientCerts !== 'request' && clientCerts !== 'require') {
    bad(`tls.clientCerts must be 'none', 'request' or 'require', got ${describe(clientCerts)}`);
  }
  const caFile = t['caFile'] === undefined ? undefined : path('tls.caFile', t['caFile']);
  if (clientCerts !== 'none' && caFile === undefined) bad(`tls.clientCerts '${clientCerts}' needs tls.caFile`);
  const verifyHostname = t['verifyHostname'] ?? true;
  if (typeof verifyHostname !== 'boolean') bad(`tls.verifyHostname must be a boolean, got ${describe(verifyHostname)}`);
  const watch = t['watchIntervalMs'] ?? 0;
  if (typeof watch !== 'number' || !Number.isInteger(watch) || watch < 0 || watch > 86_400_000) {
    bad(`tls.watchIntervalMs must be an integer number of ms between 0 and 86400000, got ${describe(watch)}`);
  }
  return Object.freeze({
    certFile: path('tls.certFile', t['certFile']),
    keyFile: path('tls.keyFile', t['keyFile']),
    caFile,
    clientCerts,
    verifyHostname,
    watchIntervalMs: watch,
  });
}

function resolveLimits(value: unknown): ResolvedLimits {
  if (value === undefined) return DEFAULT_LIMITS;
  const l = record('limits', value, Object.keys(DEFAULT_LIMITS));
  const d = DEFAULT_LIMITS;
  const ms = (k: keyof ResolvedLimits, fallback: number): number => count(`limits.${k}`, l[k], fallback, 3_600_000);
  return Object.freeze({
    maxConnections: count('limits.maxConnections', l['maxConnections'], d.maxConnections, 1_000_000),
    maxHttpConnections: count('limits.maxHttpConnections', l['maxHttpConnections'], d.maxHttpConnections, 1_000_000),
    maxPendingConnections: count(
      'limits.maxPendingConnections',
      l['maxPendingConnections'],
      d.maxPendingConnections,
      1_000_000,
    ),
    handshakeTimeoutMs: ms('handshakeTimeoutMs', d.handshakeTimeoutMs),
    headersTimeoutMs: ms('headersTimeoutMs', d.headersTimeoutMs),
    requestTimeoutMs: ms('requestTimeoutMs', d.requestTimeoutMs),
    bodyTimeoutMs: ms('bodyTimeoutMs', d.bodyTimeoutMs),
    maxJsonBytes: count('limits.maxJsonBytes', l['maxJsonBytes'], d.maxJsonBytes, 64 * 1024 * 1024),
    maxFrameBytes: count('limits.maxFrameBytes', l['maxFrameBytes'], d.maxFrameBytes, 1024 * 1024 * 1024),
    joinRate: rate('limits.joinRate', l['joinRate'], d.joinRate),
    adminRate: rate('limits.adminRate', l['adminRate'], d.adminRate),
  });
}

/** Validates the security options; throws InvalidArgumentError without ever quoting a secret. */
export function resolveSecurity(options: SecurityOptions): ResolvedSecurity {
  const secret = options.clusterSecret;
  return Object.freeze({
    secret: secret === undefined ? undefined : clusterSecret(secret),
    tls: resolveTls(options.tls),
    adminTokens: tokens('adminToken', options.adminToken),
    readTokens: tokens('readToken', options.readToken),
    limits: resolveLimits(options.limits),
  });
}

/** Whether the cluster's membership is authenticated (a secret, or client certificates signed by the CA). */
export function membershipSecured(s: ResolvedSecurity): boolean {
  return s.secret !== undefined || (s.tls !== undefined && s.tls.clientCerts !== 'none');
}
