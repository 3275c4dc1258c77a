/**
 * The little HTTP the KV examples need, on node:http: a JSON client with keep-alive connections and a timeout per
 * request (nodes and clients talk to each other a lot, so connection reuse matters), and server-side helpers to
 * read a bounded JSON body and answer JSON, with errors in one shape: `{"error":{"code","message","retriable",...}}`.
 * With a ClientSecurity the client speaks https with the cluster's CA and sends a bearer token (secure.ts).
 */
import type { Agent, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ClusterKitError, type ErrorCode, InvalidArgumentError } from '../../src/index.js';
import { type ClientSecurity, createAgent, startRequest } from './secure.js';

/** Largest request or response body the examples accept. A partition copy can be large; a value is at most 1 MiB. */
export const MAX_BODY_BYTES = 64 << 20;

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty body. */
  readonly body: unknown;
}

export interface RequestOptions {
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** `addr` is `host:port`. */
function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  return { host: addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(addr.slice(colon + 1)) };
}

export interface HttpClientOptions {
  readonly maxSockets?: number;
  readonly timeoutMs?: number;
  /** https with a CA (and client certificate), a bearer token. Default: plain http, no token. */
  readonly security?: ClientSecurity | undefined;
}

export class HttpClient {
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #security: ClientSecurity | undefined;

  constructor(options: HttpClientOptions = {}) {
    this.#security = options.security;
    this.#agent = createAgent(options.security, { maxSockets: options.maxSockets ?? 32 });
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  /**
   * One JSON request. Resolves with any HTTP status; rejects with ERR_TRANSPORT (retriable) when the peer cannot be
   * reached or the connection fails, ERR_TIMEOUT when it does not answer in time, ERR_PROTOCOL on a non-JSON body.
   */
  request(
    addr: string,
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<HttpResult> {
    const { host, port } = splitAddr(addr);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const req = startRequest(
        this.#security,
        {
          host,
          port,
          path,
          method,
          agent: this.#agent,
          headers: {
            accept: 'application/json',
            ...(data === undefined ? {} : { 'content-type': 'application/json', 'content-length': data.length }),
            ...options.headers,
          },
        },
        (res) => {
          readBody(res, MAX_BODY_BYTES).then(
            (text) => {
              clearTimeout(timer);
              try {
                resolve({
                  status: res.statusCode ?? 0,
                  headers: res.headers,
                  body: text === '' ? undefined : JSON.parse(text),
                });
              } catch (err) {
                reject(new ClusterKitError('ERR_PROTOCOL', `${method} ${addr}${path}: invalid JSON`, { cause: err }));
              }
            },
            (err: unknown) => {
              clearTimeout(timer);
              reject(transportError(method, addr, path, err));
            },
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new ClusterKitError('ERR_TIMEOUT', `${method} ${addr}${path}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof ClusterKitError ? err : transportError(method, addr, path, err));
      });
      req.end(data);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function transportError(method: string, addr: string, path: string, err: unknown): ClusterKitError {
  const msg = err instanceof Error ? err.message : String(err);
  return new ClusterKitError('ERR_TRANSPORT', `${method} ${addr}${path}: ${msg}`, { retriable: true, cause: err });
}

/** Reads a whole body as UTF-8, failing once it exceeds `limit` bytes. */
export function readBody(stream: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ClusterKitError('ERR_INVALID_ARGUMENT', `body larger than ${limit} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Reads a JSON object body (400 on anything else). */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('the body must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  json: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const data = Buffer.from(JSON.stringify(json), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length, ...headers });
  res.end(data);
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_UNAVAILABLE: 503,
  ERR_SHUTTING_DOWN: 503,
  ERR_TIMEOUT: 504,
  ERR_TRANSPORT: 502,
};

/**
 * An error the KV API answers with: a ClusterKit error plus the HTTP status and extra fields for the JSON body
 * (for example `reason: "not_owner"` with the owners, so a smart client knows to refresh its table).
 */
export class KvHttpError extends ClusterKitError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly details: Readonly<Record<string, unknown>> = {},
    retriable = status >= 500 || status === 421,
  ) {
    super(code, message, { retriable });
    this.name = 'KvHttpError';
  }
}

/** The status and JSON body for any thrown value; unknown errors are 500s (and the caller logs them). */
export function errorReply(err: unknown): { status: number; json: { error: Record<string, unknown> } } {
  if (err instanceof KvHttpError) {
    return {
      status: err.status,
      json: { error: { code: err.code, message: err.message, retriable: err.retriable, ...err.details } },
    };
  }
  if (err instanceof ClusterKitError) {
    return {
      status: STATUS[err.code] ?? 500,
      json: { error: { code: err.code, message: err.message, retriable: err.retriable } },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, json: { error: { code: 'ERR_INTERNAL', message, retriable: false } } };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
