/**
 * Security for every example, in one place: the environment variables an example node reads (the same names as
 * `clusterkit agent`), the ClusterKit options they become, HTTPS for the application's own port with the node's
 * certificate, and the client side of every HTTP call the examples make (https with the cluster's CA, the node's
 * certificate as client certificate, a bearer token). See docs/SECURITY.md for what ClusterKit protects.
 *
 *   CLUSTER_SECRET     → clusterSecret: members prove they know it (it never travels)
 *   TLS_CERT, TLS_KEY  → tls.certFile, tls.keyFile: ClusterKit's port and the application's port speak TLS only
 *   TLS_CA             → tls.caFile: peers (and client certificates) are verified against it
 *   TLS_CLIENT_CERTS   → tls.clientCerts: none (default), request or require
 *   TLS_VERIFY_HOSTNAME → tls.verifyHostname: true (default) or false
 *   TLS_WATCH_INTERVAL → tls.watchIntervalMs: ClusterKit reloads its files when they change (ms, or 500ms, 2s, 1m)
 *   ADMIN_TOKEN        → adminToken (comma-separated for rotation): the first one is what this node sends to its
 *                        peers' application ports, whose node-to-node endpoints need it
 *   READ_TOKEN         → readToken (comma-separated)
 *
 * The application's own API (the KV data, the flags) stays open to whoever can reach it, as before: it is the
 * application's, and its authorization is the application's business. Only its node-to-node endpoints (partition
 * copies, replication) are guarded: once the node has an admin token or client certificates, a caller must send an
 * admin token or present a client certificate signed by the cluster's CA.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ClientRequest,
  createServer as createHttpServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { type ClientCertMode, type ClusterKitOptions, InvalidArgumentError } from '../../src/index.js';

/** The security-related ClusterKit options. */
export type SecurityClusterOptions = Pick<ClusterKitOptions, 'clusterSecret' | 'tls' | 'adminToken' | 'readToken'>;

/** PEM material a client trusts and presents. */
export interface ClientTls {
  /** The CA the server's certificate must be signed by (default: Node's public roots). */
  readonly ca?: Buffer;
  /** A client certificate and its key (mutual TLS). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Check that the server's certificate names the host dialled. Default true. */
  readonly verifyHostname?: boolean;
}

/** How an HTTP client of the examples talks to a node: https (with `tls`) or http, and a bearer token. */
export interface ClientSecurity {
  readonly tls?: ClientTls | undefined;
  /** Sent as `Authorization: Bearer <token>` on every request. */
  readonly token?: string | undefined;
}

/** The application port's TLS: the node's own certificate, files re-read on reload. */
export interface ServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | undefined;
  readonly clientCerts: ClientCertMode;
}

/** An example node's security, from its environment. */
export interface NodeSecurity {
  /** Spread into the ClusterKit options (only what is set). */
  readonly clusterkit: SecurityClusterOptions;
  /** HTTPS for the application's port, or undefined: plain HTTP. */
  readonly serverTls: ServerTls | undefined;
  /** How this node calls its peers' application ports. */
  readonly peer: ClientSecurity;
  /** Whether a request to a node-to-node endpoint carries an admin token or a client certificate of the CA. */
  readonly isPeerRequest: (req: IncomingMessage) => boolean;
  /** Whether anything at all is configured (for the ready line and logs). */
  readonly enabled: boolean;
}

/** The variables this module reads, for help texts. */
export const SECURITY_ENV = [
  'CLUSTER_SECRET',
  'TLS_CERT',
  'TLS_KEY',
  'TLS_CA',
  'TLS_CLIENT_CERTS',
  'TLS_VERIFY_HOSTNAME',
  'TLS_WATCH_INTERVAL',
  'ADMIN_TOKEN',
  'READ_TOKEN',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function tokenList(env: Env, name: string): string[] {
  return (value(env, name) ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const why = (err as { code?: string }).code ?? String(err);
    throw new InvalidArgumentError(`${name}: cannot read ${file} (${why})`, { cause: err });
  }
}

function durationMs(name: string, raw: string): number {
  const m = /^(\d{1,9})(ms|s|m)?$/.exec(raw);
  if (m === null) throw new InvalidArgumentError(`${name} must be a duration such as 1000, 500ms, 2s or 1m`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Reads the security variables (see the module comment). Throws InvalidArgumentError naming the variable, never
 * quoting a secret. ClusterKit itself validates the secret's and the tokens' lengths when the node starts.
 */
export function securityFromEnv(env: Env): NodeSecurity {
  const secret = value(env, 'CLUSTER_SECRET');
  const adminTokens = tokenList(env, 'ADMIN_TOKEN');
  const readTokens = tokenList(env, 'READ_TOKEN');
  const certFile = value(env, 'TLS_CERT');
  const keyFile = value(env, 'TLS_KEY');
  const caFile = value(env, 'TLS_CA');
  const modeRaw = value(env, 'TLS_CLIENT_CERTS') ?? 'none';
  if (modeRaw !== 'none' && modeRaw !== 'request' && modeRaw !== 'require') {
    throw new InvalidArgumentError('TLS_CLIENT_CERTS must be none, request or require');
  }
  const clientCerts: ClientCertMode = modeRaw;
  const verifyRaw = value(env, 'TLS_VERIFY_HOSTNAME');
  if (verifyRaw !== undefined && verifyRaw !== 'true' && verifyRaw !== 'false') {
    throw new InvalidArgumentError('TLS_VERIFY_HOSTNAME must be true or false');
  }
  const verifyHostname = verifyRaw !== 'false';
  const watchRaw = value(env, 'TLS_WATCH_INTERVAL');
  const watchIntervalMs = watchRaw === undefined ? undefined : durationMs('TLS_WATCH_INTERVAL', watchRaw);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('TLS needs both the certificate and its key: set TLS_CERT and TLS_KEY');
  }
  if (certFile === undefined && (caFile !== undefined || modeRaw !== 'none' || watchRaw !== undefined)) {
    throw new InvalidArgumentError('TLS settings need the certificate and its key: set TLS_CERT and TLS_KEY');
  }
  if (clientCerts !== 'none' && caFile === undefined) {
    throw new InvalidArgumentError(`TLS_CLIENT_CERTS=${clientCerts} needs TLS_CA`);
  }

  const serverTls: ServerTls | undefined =
    certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile, caFile, clientCerts };
  const clusterkit: SecurityClusterOptions = {
    ...(secret === undefined ? {} : { clusterSecret: secret }),
    ...(serverTls === undefined
      ? {}
      : {
          tls: {
            certFile: serverTls.certFile,
            keyFile: serverTls.keyFile,
            ...(caFile === undefined ? {} : { caFile }),
            clientCerts,
            verifyHostname,
            ...(watchIntervalMs === undefined ? {} : { watchIntervalMs }),
          },
        }),
    ...(adminTokens.length === 0 ? {} : { adminToken: adminTokens }),
    ...(readTokens.length === 0 ? {} : { readToken: readTokens }),
  };
  // This node's certificate doubles as its client certificate towards its peers (as ClusterKit's own dials do).
  const peerTls: ClientTls | undefined =
    serverTls === undefined
      ? undefined
      : {
          ...(caFile === undefined ? {} : { ca: readPem('TLS_CA', caFile) }),
          cert: readPem('TLS_CERT', serverTls.certFile),
          key: readPem('TLS_KEY', serverTls.keyFile),
          verifyHostname,
        };
  const adminToken = adminTokens[0];
  const peer: ClientSecurity = {
    ...(peerTls === undefined ? {} : { tls: peerTls }),
    ...(adminToken === undefined ? {} : { token: adminToken }),
  };
  const digests = adminTokens.map(sha256);
  const guarded = digests.length > 0 || clientCerts !== 'none';
  const isPeerRequest = (req: IncomingMessage): boolean => {
    if (!guarded) return true;
    const socket = req.socket as Partial<TLSSocket>;
    // A certificate verified against TLS_CA (the server requests one when TLS_CLIENT_CERTS is set).
    if (clientCerts !== 'none' && socket.authorized === true) return true;
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (m === null) return false;
    const d = sha256(m[1]!);
    // Digests have one length: the comparison takes the same time whichever token (if any) matches.
    return digests.reduce((found, t) => timingSafeEqual(t, d) || found, false);
  };
  return {
    clusterkit,
    serverTls,
    peer,
    isPeerRequest,
    enabled: secret !== undefined || serverTls !== undefined || adminTokens.length > 0 || readTokens.length > 0,
  };
}

function serverContext(t: ServerTls): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return {
    cert: readPem('TLS_CERT', t.certFile),
    key: readPem('TLS_KEY', t.keyFile),
    ...(t.caFile === undefined ? {} : { ca: readPem('TLS_CA', t.caFile) }),
  };
}

/** The application's HTTP server: HTTPS with the node's certificate when `tls` is given, else plain HTTP. */
export function createAppServer(tls: ServerTls | undefined, handler: RequestListener): Server {
  if (tls === undefined) return createHttpServer(handler);
  return createHttpsServer(
    {
      ...serverContext(tls),
      minVersion: 'TLSv1.2',
      // 'request': a client may present a certificate (checked against the CA); 'require': it must.
      requestCert: tls.clientCerts !== 'none',
      rejectUnauthorized: tls.clientCerts === 'require',
    },
    handler,
  );
}

/**
 * Re-reads the certificate, key and CA of an application server made by createAppServer (a SIGHUP after a
 * certificate rotation). New connections use them; open ones keep theirs. Throws, changing nothing, when the files
 * cannot be read or do not match.
 */
export function reloadAppServer(server: Server, tls: ServerTls): void {
  const s = server as Server & { setSecureContext?: (o: object) => void };
  s.setSecureContext?.({ ...serverContext(tls), minVersion: 'TLSv1.2' });
}

/** `https` or `http`, for URLs and messages. */
export function schemeOf(security: ClientSecurity | undefined): 'https' | 'http' {
  return security?.tls === undefined ? 'http' : 'https';
}

/** A keep-alive agent for the client: https when `security` has TLS. */
export function createAgent(
  security: ClientSecurity | undefined,
  options: { readonly maxSockets?: number; readonly keepAlive?: boolean } = {},
): HttpAgent {
  const base = { keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? 32 };
  const t = security?.tls;
  if (t === undefined) return new HttpAgent(base);
  return new HttpsAgent({ ...base, ...tlsClientOptions(t) });
}

function tlsClientOptions(t: ClientTls): Record<string, unknown> {
  return {
    ...(t.ca === undefined ? {} : { ca: t.ca }),
    ...(t.cert === undefined ? {} : { cert: t.cert }),
    ...(t.key === undefined ? {} : { key: t.key }),
    minVersion: 'TLSv1.2',
    // Still verified against the CA; only the host name check is skipped (TLS_VERIFY_HOSTNAME=false).
    ...(t.verifyHostname === false ? { checkServerIdentity: () => undefined } : { checkServerIdentity }),
  };
}

export interface OutgoingRequest {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  /** From createAgent with the same `security`; without one, a connection per request. */
  readonly agent?: HttpAgent;
}

/**
 * Starts one request with the client's security: https with its CA and certificate (or plain http), its bearer
 * token (an explicit `authorization` header wins). The caller writes the body and ends it, and handles 'response' and 'error' as with node:http.
 */
export function startRequest(
  security: ClientSecurity | undefined,
  r: OutgoingRequest,
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  const token = security?.token;
  const options = {
    host: r.host,
    port: r.port,
    method: r.method,
    path: r.path,
    ...(r.agent === undefined ? {} : { agent: r.agent }),
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...r.headers },
  };
  const t = security?.tls;
  if (t === undefined) return httpRequest(options, onResponse);
  // With an agent, its TLS options apply (they are part of its connection pool key); without, these do.
  return httpsRequest({ ...(r.agent === undefined ? tlsClientOptions(t) : {}), ...options }, onResponse);
}
