/**
 * Who may call what on a node's HTTP API (the handler's `authorize` and `inspectBody` hooks).
 *
 * A request is made by one of:
 * - a node: a request signed with a key derived from the cluster secret for that node id (see signRequest below;
 *   the secret never travels), with a timestamp and a nonce so a captured request cannot be replayed;
 * - a holder of a client certificate signed by the cluster CA (tls.clientCerts 'request' or 'require');
 * - a holder of a bearer token (`Authorization: Bearer …`): an admin token or a read token;
 * - anyone else (anonymous).
 * Nodes and certificate holders have admin rights, like admin tokens.
 *
 * Access levels of routes: 'public' (liveness, readiness) is always open. 'read' needs a read or admin credential
 * once a read token is configured, else it is open. 'admin' needs an admin credential once the cluster has a
 * secret, client certificates, an admin token or a read token, else it is open. 'peer' (POST /join) needs an admin
 * credential once membership is authenticated (secret or client certificates), else it is open. Missing or bad
 * credentials answer 401, insufficient ones 403; nothing is read or changed before that.
 *
 * Node ids cannot be taken over: a join signed by node X (or made with a certificate naming X) may only claim id X,
 * and a join made with an admin token may not claim the id of a current member.
 *
 * Rate limits (429 with Retry-After) apply per client address to POST /join and to admin routes, before anything
 * else, including failed authentication (which bounds token guessing).
 */
import type { IncomingMessage } from 'node:http';
import type { Access } from '../http/api.js';
import { HttpError } from '../http/errors.js';
import type { AuthDecision } from '../http/handler.js';
import type { Clock } from '../util/io.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { membershipSecured, type ResolvedSecurity } from './options.js';
import { RateLimiter } from './rate-limit.js';
import { type ClusterSecret, mac, safeEqual, sha256 } from './secret.js';
import { verifiedCertNames } from './tls.js';

/** Headers of a signed node-to-node request. */
export const SIGNATURE_HEADERS = Object.freeze({
  node: 'x-clusterkit-node',
  date: 'x-clusterkit-date',
  nonce: 'x-clusterkit-nonce',
  digest: 'x-clusterkit-content-sha256',
  signature: 'x-clusterkit-signature',
});

/** A signature older or newer than this (wall clock, ms) is refused: nodes' clocks must agree within it. */
export const DEFAULT_REPLAY_WINDOW_MS = 120_000;
const MAX_NONCES = 100_000;
const SCHEME = 'CK-HMAC-SHA256-1';

function nodeKey(secret: ClusterSecret, nodeId: string): Buffer {
  return mac(secret.key('http-node'), nodeId);
}

/** The node's keys under every accepted secret (a rotation in progress): a signature by any of them is good. */
function nodeKeys(secret: ClusterSecret, nodeId: string): Buffer[] {
  return secret.keys('http-node').map((k) => mac(k, nodeId));
}

function signature(
  key: Buffer,
  method: string,
  target: string,
  nodeId: string,
  date: string,
  nonce: string,
  digest: string,
) {
  return mac(key, SCHEME, method.toUpperCase(), target, nodeId, date, nonce, digest);
}

/**
 * The headers that sign a request from node `nodeId`: `target` is the path and query as sent, `nonce` 16 random
 * bytes (hex), `now` wall-clock ms.
 */
export function signRequest(
  secret: ClusterSecret,
  nodeId: string,
  method: string,
  target: string,
  body: Uint8Array,
  nonce: string,
  now: number,
): Record<string, string> {
  const date = String(Math.floor(now));
  const digest = sha256(body).toString('hex');
  const sig = signature(nodeKey(secret, nodeId), method, target, nodeId, date, nonce, digest);
  return {
    [SIGNATURE_HEADERS.node]: encodeURIComponent(nodeId),
    [SIGNATURE_HEADERS.date]: date,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.digest]: digest,
    [SIGNATURE_HEADERS.signature]: sig.toString('hex'),
  };
}

export type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'node'; readonly nodeId: string; readonly digest: string; readonly certNames: readonly string[] }
  | { readonly kind: 'cert'; readonly certNames: readonly string[] }
  | { readonly kind: 'token'; readonly level: 'admin' | 'read' };

const RANK = { none: 0, read: 1, admin: 2 } as const;
type Level = keyof typeof RANK;

export interface HttpAuthOptions {
  readonly security: ResolvedSecurity;
  /** Monotonic, for the rate limits. */
  readonly clock: Clock;
  /** Wall-clock ms, for signature timestamps. */
  readonly wallClock: () => number;
  /** Whether `nodeId` is a current member (joins with an admin token may not claim a member's id). */
  readonly isMember: (nodeId: string) => boolean;
  readonly logger?: Logger;
  readonly replayWindowMs?: number;
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, 'ERR_UNAUTHENTICATED', message, { headers: { 'WWW-Authenticate': 'Bearer' } });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export class HttpAuth {
  readonly #o: HttpAuthOptions;
  readonly #secured: boolean;
  readonly #window: number;
  readonly #principals = new WeakMap<IncomingMessage, Principal>();
  /** `nodeId nonce` → wall-clock ms after which it may be forgotten (the signature is stale by then). */
  readonly #nonces = new Map<string, number>();
  readonly #joinLimit: RateLimiter | undefined;
  readonly #adminLimit: RateLimiter | undefined;
  readonly #logger: Logger;

  constructor(options: HttpAuthOptions) {
    this.#o = options;
    this.#secured = membershipSecured(options.security);
    this.#window = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    this.#logger = options.logger ?? silentLogger;
    const { joinRate, adminRate } = options.security.limits;
    this.#joinLimit = joinRate === false ? undefined : new RateLimiter({ ...joinRate, clock: options.clock });
    this.#adminLimit = adminRate === false ? undefined : new RateLimiter({ ...adminRate, clock: options.clock });
  }

  /** The handler's `authorize` hook. */
  readonly authorize = (req: IncomingMessage, access: Access): AuthDecision => {
    this.#rateLimit(req, access);
    if (access === 'public') return 'allow';
    const p = this.#identify(req);
    this.#principals.set(req, p);
    const s = this.#o.security;
    const anyToken = s.adminTokens.size > 0 || s.readTokens.size > 0;
    let need: Level = 'none';
    if (access === 'read' && s.readTokens.size > 0) need = 'read';
    if (access === 'admin' && (this.#secured || anyToken)) need = 'admin';
    if (access === 'peer' && this.#secured) need = 'admin';
    const level: Level = p.kind === 'anonymous' ? 'none' : p.kind === 'token' ? p.level : 'admin';
    if (RANK[level] >= RANK[need]) return 'allow';
    this.#logger.debug({ remote: req.socket.remoteAddress, access, principal: p.kind }, 'HTTP request refused');
    return p.kind === 'anonymous' ? 'unauthenticated' : 'forbidden';
  };

  /** The handler's `inspectBody` hook. */
  readonly inspectBody = (
    req: IncomingMessage,
    route: { readonly method: string; readonly path: string },
    body: Buffer,
  ): void => {
    const p = this.#principals.get(req);
    if (p?.kind === 'node' && !safeEqual(Buffer.from(p.digest, 'hex'), sha256(body))) {
      throw unauthenticated('the request body does not match its signature');
    }
    if (route.method === 'POST' && route.path === '/join' && p !== undefined) this.#checkJoin(p, body);
  };

  /** How `req` was authenticated (after authorize ran for it). */
  principalOf(req: IncomingMessage): Principal | undefined {
    return this.#principals.get(req);
  }

  #rateLimit(req: IncomingMessage, access: Access): void {
    const limiter = access === 'peer' ? this.#joinLimit : access === 'admin' ? this.#adminLimit : undefined;
    if (limiter === undefined) return;
    const waitMs = limiter.take(req.socket.remoteAddress ?? '');
    if (waitMs === 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new HttpError(429, 'ERR_RATE_LIMITED', `too many requests from this address; retry in ${seconds} s`, {
      headers: { 'Retry-After': String(seconds) },
    });
  }

  #identify(req: IncomingMessage): Principal {
    if (req.headers[SIGNATURE_HEADERS.signature] !== undefined) return this.#verifySignature(req);
    const s = this.#o.security;
    const authz = header(req, 'authorization');
    if (authz !== undefined) {
      const m = /^Bearer +(\S+) *$/i.exec(authz);
      if (m === null) throw unauthenticated('unsupported Authorization header (expected "Bearer <token>")');
      const token = m[1]!;
      if (s.adminTokens.has(token)) return { kind: 'token', level: 'admin' };
      if (s.readTokens.has(token)) return { kind: 'token', level: 'read' };
      throw unauthenticated('unknown token');
    }
    const names = s.tls !== undefined && s.tls.clientCerts !== 'none' ? verifiedCertNames(req.socket) : [];
    return names.length > 0 ? { kind: 'cert', certNames: names } : { kind: 'anonymous' };
  }

  #verifySignature(req: IncomingMessage): Principal {
    const secret = this.#o.security.secret;
    if (secret === undefined) throw unauthenticated('this node has no cluster secret to check signed requests with');
    const H = SIGNATURE_HEADERS;
    const rawNode = header(req, H.node);
    const date = header(req, H.date);
    const nonce = header(req, H.nonce);
    const digest = header(req, H.digest);
    const sig = header(req, H.signature);
    let nodeId: string | undefined;
    try {
      nodeId = rawNode === undefined ? undefined : decodeURIComponent(rawNode);
    } catch {
      nodeId = undefined;
    }
    if (
      nodeId === undefined ||
      nodeId === '' ||
      nodeId.length > 256 ||
      date === undefined ||
      !/^[0-9]{1,16}$/.test(date) ||
      nonce === undefined ||
      !/^[0-9a-f]{32}$/.test(nonce) ||
      digest === undefined ||
      !/^[0-9a-f]{64}$/.test(digest) ||
      sig === undefined ||
      !/^[0-9a-f]{64}$/.test(sig)
    ) {
      throw unauthenticated('incomplete or malformed request signature');
    }
    const now = this.#o.wallClock();
    const skew = now - Number(date);
    if (Math.abs(skew) > this.#window) {
      throw unauthenticated(
        `request signature is ${skew > 0 ? 'too old' : 'from the future'}: node clocks must agree within ` +
          `${this.#window / 1000} s`,
      );
    }
    const given = Buffer.from(sig, 'hex');
    const signed = nodeKeys(secret, nodeId).some((k) =>
      safeEqual(signature(k, req.method ?? '', req.url ?? '', nodeId, date, nonce, digest), given),
    );
    if (!signed) {
      throw unauthenticated('bad request signature (is the cluster secret the same on every node?)');
    }
    this.#rememberNonce(`${nodeId} ${nonce}`, now);
    const certNames = this.#o.security.tls === undefined ? [] : verifiedCertNames(req.socket);
    return { kind: 'node', nodeId, digest, certNames };
  }

  #rememberNonce(key: string, now: number): void {
    const nonces = this.#nonces;
    if (nonces.has(key)) throw unauthenticated('replayed request (this signature was already used)');
    // Oldest first (insertion order): drop what can no longer be replayed anyway, then bound the size.
    for (const [k, expires] of nonces) {
      if (expires > now && nonces.size < MAX_NONCES) break;
      nonces.delete(k);
    }
    nonces.set(key, now + 2 * this.#window);
  }

  #checkJoin(p: Principal, body: Buffer): void {
    let id: unknown;
    try {
      id = (JSON.parse(body.toString('utf8')) as { node?: { id?: unknown } } | null)?.node?.id;
    } catch {
      return; // malformed: the join handler answers 400
    }
    if (typeof id !== 'string') return;
    if (p.kind === 'node' && p.nodeId !== id) {
      throw new HttpError(403, 'ERR_FORBIDDEN', `node "${p.nodeId}" cannot join under another id ("${id}")`);
    }
    if ((p.kind === 'node' || p.kind === 'cert') && p.certNames.length > 0 && !p.certNames.includes(id)) {
      throw new HttpError(403, 'ERR_FORBIDDEN', `the client certificate does not name node "${id}"`);
    }
    if (p.kind === 'token' && this.#o.isMember(id)) {
      throw new HttpError(
        403,
        'ERR_FORBIDDEN',
        `node id "${id}" belongs to a member: only that node's own credentials can rejoin with it`,
      );
    }
  }
}
