/**
 * The CLI's HTTP client for a node's API: one request at a time, with a deadline, a bearer token, TLS (node:https
 * with a CA, a client certificate and key), redirects to the leader followed (307/308 keep the method and body),
 * and a short retry when the cluster is between leaders (503 with Retry-After).
 *
 * Every failure becomes a RequestError with the exit code scripts rely on (see command.ts): the node cannot be
 * reached (3), the thing asked for does not exist (4), a compare-and-set lost (5), the request was refused as
 * invalid (2), anything else (1). Connections are never kept alive, so the process exits as soon as it is done.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { ClusterKitError, type ErrorCode } from '../errors.js';
import { type Scheduler, systemScheduler } from '../util/io.js';
import { ExitCode } from './command.js';

export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface ClientOptions {
  /** `http://host:port` or `https://host:port`. */
  readonly base: URL;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Certificates for https (absent: the system's CAs, no client certificate). */
  readonly tls?: TlsMaterial;
  /** Deadline of one whole command (every redirect and retry included), ms. */
  readonly timeoutMs: number;
  /** Redirects followed at most. Default 5. */
  readonly maxRedirects?: number;
  /** Retries of a 503 with Retry-After (no leader for a moment). Default 3. */
  readonly maxRetries?: number;
  readonly scheduler?: Scheduler;
  /** Wall clock for the deadline, ms. Default Date.now. */
  readonly now?: () => number;
  /** The transport (tests); default node:http / node:https. */
  readonly send?: SendFn;
}

export interface RawRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  readonly tls: TlsMaterial | undefined;
  readonly timeoutMs: number;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type SendFn = (request: RawRequest) => Promise<RawResponse>;

export interface RequestOptions {
  readonly body?: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A failed request, with the exit code the CLI ends with. */
export class RequestError extends ClusterKitError {
  readonly exitCode: number;
  /** The HTTP status, when the node answered. */
  readonly status: number | undefined;
  /** The node's error code (`ERR_NOT_FOUND`, ...), when it sent one. */
  readonly wireCode: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    extra: { exitCode: number; status?: number; wireCode?: string; retriable?: boolean; cause?: unknown },
  ) {
    super(code, message, { retriable: extra.retriable ?? false, cause: extra.cause });
    this.name = 'RequestError';
    this.exitCode = extra.exitCode;
    this.status = extra.status;
    this.wireCode = extra.wireCode;
  }
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'name lookup failed',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
};

/** The default transport: node:http or node:https, no keep-alive, the whole exchange bounded by timeoutMs. */
export const nodeSend: SendFn = (request) =>
  new Promise<RawResponse>((resolve, reject) => {
    const secure = request.url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: request.method,
      headers: request.headers,
      agent: false,
      ...(secure && request.tls !== undefined ? request.tls : {}),
    };
    const req = (secure ? https : http).request(request.url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // The timer lives exactly as long as the request: destroy() settles it either way.
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${request.timeoutMs} ms`), { code: 'CK_TIMEOUT' }));
    }, request.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(request.body === undefined ? undefined : Buffer.from(request.body));
  });

/** The error for a request that got no answer. */
export function transportError(err: unknown, url: URL): RequestError {
  const code = (err as { code?: unknown } | null)?.code;
  const where = url.host;
  if (code === 'CK_TIMEOUT') {
    return new RequestError('ERR_TIMEOUT', `node ${where} did not answer in time (${(err as Error).message})`, {
      exitCode: ExitCode.Unreachable,
      retriable: true,
      cause: err,
    });
  }
  const reason = typeof code === 'string' ? (NETWORK_REASONS[code] ?? code) : undefined;
  const tls = typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'EPROTO');
  const detail = err instanceof Error ? err.message : String(err);
  const message = tls
    ? `TLS with ${where} failed: ${detail} (check --ca, --cert, --key)`
    : `node unreachable at ${where}: ${reason ?? detail}`;
  return new RequestError('ERR_TRANSPORT', message, { exitCode: ExitCode.Unreachable, retriable: !tls, cause: err });
}

interface ErrorBody {
  readonly code: string | undefined;
  readonly message: string | undefined;
}

function errorBodyOf(body: Buffer): ErrorBody {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown; message?: unknown };
    const e = parsed.error;
    if (typeof e === 'object' && e !== null) {
      const { code, message } = e as { code?: unknown; message?: unknown };
      return {
        code: typeof code === 'string' ? code : undefined,
        message: typeof message === 'string' ? message : undefined,
      };
    }
    // The Go original's shapes: {"error": "text"} or {"message": "text"}.
    if (typeof e === 'string') return { code: undefined, message: e };
    if (typeof parsed.message === 'string') return { code: undefined, message: parsed.message };
  } catch {
    // Not JSON: the body text itself is the best message there is.
  }
  const text = body.toString('utf8').trim().split('\n')[0] ?? '';
  return { code: undefined, message: text === '' ? undefined : text.slice(0, 200) };
}

/** The error for an answer that is not a success. */
export function responseError(res: RawResponse): RequestError {
  const { code, message } = errorBodyOf(res.body);
  const status = res.status;
  const text = message ?? `HTTP ${status}`;
  const extra = { status, ...(code === undefined ? {} : { wireCode: code }) };
  if (status === 401) {
    return new RequestError(
      'ERR_INVALID_ARGUMENT',
      `not authenticated: ${text} (pass --token or set CLUSTERKIT_TOKEN)`,
      {
        ...extra,
        exitCode: ExitCode.Failure,
      },
    );
  }
  if (status === 403) {
    return new RequestError('ERR_INVALID_ARGUMENT', `not allowed: ${text}`, { ...extra, exitCode: ExitCode.Failure });
  }
  if (status === 404) return new RequestError('ERR_NOT_FOUND', text, { ...extra, exitCode: ExitCode.NotFound });
  if (status === 409 || status === 412) {
    return new RequestError('ERR_CONFLICT', text, { ...extra, exitCode: ExitCode.Conflict });
  }
  if (status === 400 || status === 413 || status === 414 || status === 415) {
    return new RequestError('ERR_INVALID_ARGUMENT', text, { ...extra, exitCode: ExitCode.Usage });
  }
  if (status === 503) {
    return new RequestError('ERR_UNAVAILABLE', text, { ...extra, exitCode: ExitCode.Failure, retriable: true });
  }
  if (status === 504) return new RequestError('ERR_TIMEOUT', text, { ...extra, exitCode: ExitCode.Failure });
  return new RequestError('ERR_PROTOCOL', `${text} (HTTP ${status})`, { ...extra, exitCode: ExitCode.Failure });
}

function header(res: RawResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class NodeClient {
  readonly #o: ClientOptions;
  readonly #send: SendFn;
  readonly #scheduler: Scheduler;
  readonly #now: () => number;

  constructor(options: ClientOptions) {
    this.#o = options;
    this.#send = options.send ?? nodeSend;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#now = options.now ?? Date.now;
  }

  get base(): URL {
    return this.#o.base;
  }

  /**
   * Sends a request and returns any answer below 300 (after redirects and retries). Throws RequestError for
   * everything else.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const deadline = this.#now() + this.#o.timeoutMs;
    let url = new URL(path, this.#o.base);
    let redirects = 0;
    let retries = 0;
    for (;;) {
      const left = deadline - this.#now();
      if (left <= 0) {
        throw new RequestError('ERR_TIMEOUT', `no answer from ${url.host} within ${this.#o.timeoutMs} ms`, {
          exitCode: ExitCode.Unreachable,
        });
      }
      const res = await this.#once(method, url, options, left);
      if (res.status < 300) return res;
      if ((res.status === 307 || res.status === 308) && redirects < (this.#o.maxRedirects ?? 5)) {
        const next = this.#redirectTarget(res, url);
        if (next !== undefined) {
          redirects++;
          url = next;
          continue;
        }
      }
      const retryAfter = Number(header(res, 'retry-after'));
      if (res.status === 503 && Number.isFinite(retryAfter) && retries < (this.#o.maxRetries ?? 3)) {
        const wait = Math.min(Math.max(retryAfter, 0) * 1000, 1000);
        if (this.#now() + wait < deadline) {
          retries++;
          await new Promise<void>((resolve) => this.#scheduler.setTimeout(resolve, wait));
          continue;
        }
      }
      throw responseError(res);
    }
  }

  /** GET and parse JSON. */
  async getJson(path: string): Promise<unknown> {
    return parseJsonBody(await this.request('GET', path, { headers: { Accept: 'application/json' } }));
  }

  /** Sends a JSON body (or none) and parses the JSON answer. */
  async sendJson(method: string, path: string, body?: unknown): Promise<unknown> {
    const options: RequestOptions =
      body === undefined
        ? { headers: { Accept: 'application/json' } }
        : {
            headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify(body)),
          };
    return parseJsonBody(await this.request(method, path, options));
  }

  async #once(method: string, url: URL, options: RequestOptions, timeoutMs: number): Promise<RawResponse> {
    const headers: Record<string, string> = { 'User-Agent': 'clusterkit-cli', ...options.headers };
    if (this.#o.token !== undefined) headers['Authorization'] = `Bearer ${this.#o.token}`;
    if (options.body !== undefined) headers['Content-Length'] = String(options.body.byteLength);
    try {
      return await this.#send({ method, url, headers, body: options.body, tls: this.#o.tls, timeoutMs });
    } catch (err) {
      throw transportError(err, url);
    }
  }

  /**
   * Where a redirect points: the Location header, or (the Go original sent none) the `leader_ip` of the body. A
   * client that was asked to use TLS never follows a redirect to plain http: it keeps https, so a token is never
   * sent in clear because a node is configured with the wrong scheme.
   */
  #redirectTarget(res: RawResponse, from: URL): URL | undefined {
    let target: URL | undefined;
    const location = header(res, 'location');
    try {
      if (location !== undefined && location !== '') target = new URL(location, from);
      else {
        const body = JSON.parse(res.body.toString('utf8')) as { leader_ip?: unknown };
        if (typeof body.leader_ip === 'string' && body.leader_ip !== '' && !body.leader_ip.startsWith(':')) {
          target = new URL(`${from.pathname}${from.search}`, `${from.protocol}//${body.leader_ip}`);
        }
      }
    } catch {
      return undefined;
    }
    if (target === undefined || (target.protocol !== 'http:' && target.protocol !== 'https:')) return undefined;
    if (this.#o.base.protocol === 'https:' && target.protocol === 'http:') target.protocol = 'https:';
    return target;
  }
}

export function parseJsonBody(res: RawResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown;
  } catch {
    throw new RequestError('ERR_PROTOCOL', `the node answered HTTP ${res.status} with a body that is not JSON`, {
      exitCode: ExitCode.Failure,
      status: res.status,
    });
  }
}
