/**
 * A tiny JSON-over-HTTP client for the examples: a timeout on every request, and http or https as the URL says,
 * with the CA, client certificate and bearer token of a ClientSecurity (examples/kv/secure.ts) on a secure cluster.
 */
import type { IncomingMessage } from 'node:http';
import { type ClientSecurity, startRequest } from '../kv/secure.js';

export interface JsonResponse {
  readonly status: number;
  /** The parsed body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
}

/** Sends one request; rejects only when no HTTP answer came (refused, reset, timed out). */
export function requestJson(
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  timeoutMs = 5000,
  security?: ClientSecurity,
): Promise<JsonResponse> {
  const u = new URL(url);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  // The URL's scheme decides; an https URL without a CA verifies against Node's public roots.
  const https = u.protocol === 'https:';
  const sec: ClientSecurity = {
    ...(https ? { tls: security?.tls ?? {} } : {}),
    ...(security?.token === undefined ? {} : { token: security.token }),
  };
  return new Promise<JsonResponse>((resolve, reject) => {
    const req = startRequest(
      sec,
      {
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: Number(u.port || (https ? 443 : 80)),
        method,
        path: `${u.pathname}${u.search}`,
        headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text === '' ? undefined : text;
          if (text !== '') {
            try {
              parsed = JSON.parse(text);
            } catch {
              // Not JSON: the caller gets the text (an error page, a proxy's message) to show as is.
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(data);
  });
}

/** A short, human description of a failed request or response, for error messages. */
export function describeFailure(what: string, outcome: JsonResponse | Error): string {
  if (outcome instanceof Error) {
    const cause = (outcome as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `${outcome.message} (${cause.message})` : outcome.message;
    return `${what}: ${detail}`;
  }
  const b = outcome.body;
  const msg = typeof b === 'object' && b !== null && 'error' in b ? JSON.stringify(b.error) : JSON.stringify(b);
  return `${what}: HTTP ${outcome.status}${msg === undefined ? '' : ` ${msg.slice(0, 200)}`}`;
}

/** `value` as a plain object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
