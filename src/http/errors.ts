/**
 * Errors on the HTTP surface: `HttpError` for problems the HTTP layer itself detects (bad paths, methods, bodies,
 * parameters), and the mapping of ClusterKitError codes to statuses. Every error response has the body
 * `{"error": {"code": "...", "message": "..."}}`. Internal failures answer 500 with a generic message: the details
 * (and the stack) go to the node's log, never to the client.
 */
import { ClusterKitError, type ErrorCode } from '../errors.js';

/**
 * Wire codes: every ClusterKit ErrorCode, plus the ones only HTTP has. They are stable, like ErrorCode.
 */
export type HttpErrorCode =
  | ErrorCode
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_NOT_ACCEPTABLE'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_PRECONDITION_FAILED'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_RATE_LIMITED';

/** The ClusterKit code an HTTP-only code belongs to (for code that switches on ClusterKitError.code). */
function baseCode(code: HttpErrorCode): ErrorCode {
  switch (code) {
    case 'ERR_REQUEST_TIMEOUT':
      return 'ERR_TIMEOUT';
    case 'ERR_PRECONDITION_FAILED':
      return 'ERR_CONFLICT';
    case 'ERR_RATE_LIMITED':
      return 'ERR_UNAVAILABLE';
    case 'ERR_METHOD_NOT_ALLOWED':
    case 'ERR_PAYLOAD_TOO_LARGE':
    case 'ERR_UNSUPPORTED_MEDIA_TYPE':
    case 'ERR_NOT_ACCEPTABLE':
    case 'ERR_UNAUTHENTICATED':
    case 'ERR_FORBIDDEN':
      return 'ERR_INVALID_ARGUMENT';
    default:
      return code;
  }
}

const HTTP_BRAND = Symbol.for('clusterkit.http-error');

/** A response the HTTP layer decided on. `close` asks for the connection to be closed after it (body not read). */
export class HttpError extends ClusterKitError {
  readonly status: number;
  readonly wireCode: HttpErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly close: boolean;
  /** Extra top-level fields of the response body (e.g. leader info beside `error`). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    options: {
      headers?: Record<string, string>;
      close?: boolean;
      extra?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(baseCode(code), message, {
      cause: options.cause,
      retriable: status === 503 || status === 408 || status === 429,
    });
    this.name = 'HttpError';
    this.status = status;
    this.wireCode = code;
    this.headers = options.headers ?? {};
    this.close = options.close ?? false;
    this.extra = options.extra ?? {};
    Object.defineProperty(this, HTTP_BRAND, { value: true });
  }

  // ClusterKitError's brand check would make every ClusterKitError an HttpError; this one checks its own brand.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[HTTP_BRAND] === true;
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 'ERR_INVALID_ARGUMENT', message);
}

export function notFound(message: string): HttpError {
  return new HttpError(404, 'ERR_NOT_FOUND', message);
}

/** 413; the connection is closed so the rest of the body is never read. */
export function payloadTooLarge(message: string): HttpError {
  return new HttpError(413, 'ERR_PAYLOAD_TOO_LARGE', message, { close: true });
}

export function unavailable(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(503, 'ERR_UNAVAILABLE', message, { headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/** The status a ClusterKitError code maps to; ERR_NOT_LEADER is handled separately (it may redirect). */
export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'ERR_INVALID_ARGUMENT':
      return 400;
    case 'ERR_NOT_FOUND':
      return 404;
    case 'ERR_CONFLICT':
    case 'ERR_MEMBERSHIP':
      return 409;
    case 'ERR_TIMEOUT':
      return 504;
    case 'ERR_NOT_LEADER':
    case 'ERR_UNAVAILABLE':
    case 'ERR_SHUTTING_DOWN':
    case 'ERR_TRANSPORT':
      return 503;
    case 'ERR_PROTOCOL':
    case 'ERR_STORAGE_CORRUPT':
    case 'ERR_STORAGE_IO':
    case 'ERR_INTERNAL':
      return 500;
  }
}

/** The error body every failed request gets. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Message shown for 500s: the real error is logged, not sent. */
export const INTERNAL_MESSAGE = 'internal error; the details are in the node log';
