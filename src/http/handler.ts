/**
 * `createHttpHandler(api, options)`: the request listener of ClusterKit's HTTP API. It routes, checks access
 * through the optional `authorize` hook, runs the handler, and turns every failure into a JSON error reply:
 * `{"error": {"code", "message"}}` with the status of errors.ts. A request refused before its body is read gets
 * `Connection: close`, so the body is never read at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_CUSTOM_KEY_LENGTH, MAX_CUSTOM_VALUE_BYTES } from '../cluster/state/types.js';
import { ClusterKitError } from '../errors.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { type Clock, type Scheduler, systemClock, systemScheduler, type TimerHandle } from '../util/io.js';
import { errorFields, type Logger, silentLogger } from '../util/logger.js';
import type { Access, CallOptions, NodeApi } from './api.js';
import { parseJson, readBody, requireJsonContentType } from './body.js';
import { errorBody, HttpError, INTERNAL_MESSAGE, statusForCode } from './errors.js';
import { clusterRoutes } from './handlers/cluster.js';
import { consensusRoutes } from './handlers/consensus.js';
import { customDataRoutes } from './handlers/custom-data.js';
import { eventRoutes } from './handlers/events.js';
import { healthRoutes } from './handlers/health.js';
import { locateRoutes } from './handlers/locate.js';
import { membershipRoutes } from './handlers/membership.js';
import { uiRoutes } from './handlers/ui.js';
import { HttpMetrics } from './metrics.js';
import { notLeaderReply } from './redirect.js';
import { type Reply, requestHasBody, writeReply } from './reply.js';
import type { ContextLimits, HttpStats, RequestContext, RouteDef } from './route.js';
import { Router } from './router.js';
import { queryBoolean } from './validate.js';

/** What the authorize hook decides: go on, 401 (no or bad credentials) or 403 (not allowed). */
export type AuthDecision = 'allow' | 'unauthenticated' | 'forbidden';

/**
 * Authentication and authorization plug in here (src/security/http-auth.ts: tokens, signed node requests, client
 * certificates). Called for every routed request, public routes included, before its body is read. It may also
 * throw an HttpError (a 401 with a reason, a 429 when rate limited); that error is the reply.
 */
export type Authorize = (
  req: IncomingMessage,
  access: Access,
  route: { readonly method: string; readonly path: string },
) => AuthDecision | Promise<AuthDecision>;

export interface HttpHandlerOptions {
  /** Largest JSON request body. Default 64 KiB. */
  readonly maxJsonBytes?: number;
  /** Largest custom data value. Default 1 MiB (the replicated state's limit). */
  readonly maxValueBytes?: number;
  /** Longest custom data key. Default 256. */
  readonly maxKeyLength?: number;
  /** A request body must arrive within this long (408 and close otherwise). Default 10 s. */
  readonly bodyTimeoutMs?: number;
  /** A NodeApi call that has not settled after this long answers 504. Default 15 s. */
  readonly operationTimeoutMs?: number;
  /** Retry-After on 503s. Default 1 s. */
  readonly retryAfterSeconds?: number;
  /** Scheme of redirect Locations. Default http. */
  readonly scheme?: 'http' | 'https';
  readonly authorize?: Authorize;
  /**
   * Sees each request body once read, before the route's handler parses it (the security layer checks a signed
   * request's body digest and the node id a join claims). Throws HttpError to refuse the request.
   */
  readonly inspectBody?: (
    req: IncomingMessage,
    route: { readonly method: string; readonly path: string },
    body: Buffer,
  ) => void;
  /** When given, request counters and latencies are registered there (once per registry). */
  readonly metrics?: MetricsRegistry;
  readonly logger?: Logger;
  readonly scheduler?: Scheduler;
  /** Monotonic, for latencies. */
  readonly clock?: Clock;
  /** Wall-clock ms since the epoch, for timestamps in bodies. Default Date.now. */
  readonly wallClock?: () => number;
}

export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  stats(): HttpStats;
  /** Every route with its methods and access level (for documentation and tests). */
  routes(): readonly { readonly method: string; readonly path: string; readonly access: Access }[];
};

export const DEFAULT_MAX_JSON_BYTES = 64 * 1024;
/** The replicated state's limits (1 MiB, 256 characters, as the Go original). */
export const DEFAULT_MAX_VALUE_BYTES = MAX_CUSTOM_VALUE_BYTES;
export const DEFAULT_MAX_KEY_LENGTH = MAX_CUSTOM_KEY_LENGTH;
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 15_000;

export function createHttpHandler(api: NodeApi, options: HttpHandlerOptions = {}): HttpHandler {
  const scheduler = options.scheduler ?? systemScheduler;
  const clock = options.clock ?? systemClock;
  const wallClock = options.wallClock ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const limits: ContextLimits = {
    maxJsonBytes: options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES,
    maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    maxKeyLength: options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
  };
  const scheme = options.scheme ?? 'http';
  const defs: RouteDef[] = [
    ...healthRoutes(),
    ...clusterRoutes(),
    ...consensusRoutes(),
    ...membershipRoutes(typeof api.leave === 'function'),
    ...customDataRoutes(),
    ...locateRoutes(),
    ...eventRoutes(typeof api.events === 'function', scheduler),
    ...uiRoutes(),
  ];
  const router = new Router<RouteDef>();
  for (const d of defs) router.add(d.method, d.path, d);
  const counters = { requests: 0, errors: 0, inFlight: 0 };
  const metrics = options.metrics === undefined ? undefined : new HttpMetrics(options.metrics, () => counters.inFlight);
  const stats = (): HttpStats => ({ ...counters });

  const withTimeout = async <T>(fn: (o: CallOptions) => Promise<T>, signal: AbortSignal): Promise<T> => {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = scheduler.setTimeout(() => {
        reject(
          new ClusterKitError(
            'ERR_TIMEOUT',
            `the operation did not complete within ${operationTimeoutMs} ms; it may still take effect`,
            { retriable: true },
          ),
        );
      }, operationTimeoutMs);
    });
    try {
      // Through then(), so a synchronous throw becomes a rejection like any other.
      const call = Promise.resolve().then(() => fn({ signal, timeoutMs: operationTimeoutMs }));
      return await Promise.race([call, timeout]);
    } finally {
      timer?.cancel();
    }
  };

  const errorReply = (err: unknown, req: IncomingMessage): { reply: Reply; close: boolean } => {
    if (err instanceof HttpError) {
      return {
        reply: {
          status: err.status,
          headers: err.headers,
          json: { ...errorBody(err.wireCode, err.message), ...err.extra },
        },
        close: err.close,
      };
    }
    if (err instanceof ClusterKitError) {
      if (err.code === 'ERR_NOT_LEADER') {
        const leaderId = (err as { leaderId?: unknown }).leaderId;
        return {
          reply: notLeaderReply(api, req, typeof leaderId === 'string' ? leaderId : undefined, scheme, limits),
          close: false,
        };
      }
      const status = statusForCode(err.code);
      if (status >= 500 && status !== 503 && status !== 504) {
        logger.error({ ...errorFields(err), method: req.method, url: req.url }, 'HTTP request failed');
        return { reply: { status, json: errorBody(err.code, INTERNAL_MESSAGE) }, close: false };
      }
      const headers: Record<string, string> = status === 503 ? { 'Retry-After': String(limits.retryAfterSeconds) } : {};
      return { reply: { status, headers, json: errorBody(err.code, err.message) }, close: false };
    }
    logger.error({ ...errorFields(err), method: req.method, url: req.url }, 'HTTP request failed');
    return { reply: { status: 500, json: errorBody('ERR_INTERNAL', INTERNAL_MESSAGE) }, close: false };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = clock.now();
    counters.inFlight++;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let pattern = 'unmatched';
    res.once('finish', () => {
      counters.requests++;
      if (res.statusCode >= 400) counters.errors++;
      metrics?.observe(req.method ?? 'GET', pattern, res.statusCode, (clock.now() - started) / 1000);
    });
    res.once('close', () => counters.inFlight--);
    let bodyRead = false;
    let routeKey: { readonly method: string; readonly path: string } | undefined;
    const read = async (maxBytes: number): Promise<Buffer> => {
      bodyRead = true;
      const sendContinue = (): void => res.writeContinue();
      const body = await readBody(req, { maxBytes, timeoutMs: bodyTimeoutMs, scheduler, sendContinue });
      if (routeKey !== undefined) options.inspectBody?.(req, routeKey, body);
      return body;
    };
    let reply: Reply;
    let close = false;
    try {
      // Checked here rather than by Node (requireHostHeader) so the answer is a JSON error like every other.
      if (req.httpVersion === '1.1' && req.headers.host === undefined) {
        throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'an HTTP/1.1 request needs a Host header', { close: true });
      }
      const target = parseTarget(req.url ?? '/');
      const method = req.method ?? 'GET';
      const match = router.match(method, target.path);
      if (match.kind === 'none') throw new HttpError(404, 'ERR_NOT_FOUND', `no such endpoint: ${target.path}`);
      if (match.kind === 'method') {
        const allow = [...match.allow, 'OPTIONS'].join(', ');
        if (method === 'OPTIONS') reply = { status: 204, headers: { Allow: allow } };
        else {
          throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${target.path}`, {
            headers: { Allow: allow },
          });
        }
      } else {
        pattern = match.pattern;
        const def = match.value;
        routeKey = { method: def.method, path: def.path };
        if (options.authorize !== undefined) {
          const decision = await options.authorize(req, def.access, routeKey);
          if (decision === 'unauthenticated') {
            throw new HttpError(401, 'ERR_UNAUTHENTICATED', 'authentication required', {
              headers: { 'WWW-Authenticate': 'Bearer' },
            });
          }
          if (decision !== 'allow') throw new HttpError(403, 'ERR_FORBIDDEN', `access level ${def.access} required`);
        }
        const ctx: RequestContext = {
          req,
          api,
          params: match.params,
          query: target.query,
          signal: controller.signal,
          remoteAddress: req.socket.remoteAddress,
          limits,
          readBody: read,
          readJson: async (required) => {
            requireJsonContentType(req);
            return parseJson(await read(limits.maxJsonBytes), required);
          },
          call: (fn) => withTimeout(fn, controller.signal),
          consistentRead: async () => {
            if (queryBoolean(target.query, 'consistent'))
              await withTimeout((o) => api.readBarrier(o), controller.signal);
          },
          now: wallClock,
          stats,
          notLeader: (leaderId) => notLeaderReply(api, req, leaderId, scheme, limits),
        };
        reply = await def.handle(ctx);
      }
    } catch (err) {
      ({ reply, close } = errorReply(err, req));
    }
    // A body nobody read is not read now either: close the connection instead of draining it.
    writeReply(req, res, reply, { close: close || (!bodyRead && requestHasBody(req)) });
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      // Only reachable if writing the reply itself threw: nothing sensible can be sent any more.
      logger.error({ ...errorFields(err), method: req.method, url: req.url }, 'HTTP response failed');
      res.destroy();
    });
  };
  return Object.assign(listener, {
    stats,
    routes: () => defs.map((d) => ({ method: d.method, path: d.path, access: d.access })),
  });
}

/** The path (still percent-encoded) and query of a request target (origin-form, or absolute-form from proxies). */
function parseTarget(url: string): { path: string; query: URLSearchParams } {
  let target = url;
  if (!target.startsWith('/')) {
    try {
      const u = new URL(target);
      target = `${u.pathname}${u.search}`;
    } catch {
      throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'the request target is not a path');
    }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  return { path, query };
}
