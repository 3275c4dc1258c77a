/**
 * What handlers return (`Reply`), and how it is written: JSON with a trailing newline (as Go's json.Encoder
 * writes), entity tags and conditional GETs, cache headers, and `Connection: close` when a request body was left
 * unread (so the server never reads a body nobody wants).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type EtagSpec =
  /** A tag computed from the serialized body, prefixed (e.g. with the table version) so humans can read it. */
  | { readonly prefix: string }
  /** A tag given by the handler (already unique for the representation). */
  | { readonly value: string };

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialized as JSON. */
  readonly json?: unknown;
  /** Sent as is. */
  readonly raw?: { readonly body: Uint8Array | string; readonly contentType: string };
  /**
   * A body written over time (server-sent events): the headers are sent at once (no Content-Length), then `start`
   * owns the response and ends it. Not called for HEAD (the headers alone answer it).
   */
  readonly stream?: { readonly contentType: string; start(res: ServerResponse): void };
  /** Only on 200 replies to GET/HEAD: a matching If-None-Match turns the reply into a 304. */
  readonly etag?: EtagSpec;
  /** Default `no-store`; `no-cache` for representations clients should revalidate with their ETag. */
  readonly cache?: 'no-cache' | 'no-store';
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A strong entity tag from the body: the prefix, then 96 bits of SHA-1 (collisions are not a concern here). */
export function contentEtag(prefix: string, body: Uint8Array | string): string {
  const digest = createHash('sha1').update(body).digest('base64url').slice(0, 16);
  return `"${prefix}${prefix === '' ? '' : '-'}${digest}"`;
}

/**
 * True when an If-None-Match header value matches `etag`: `*`, or any listed tag by weak comparison (RFC 9110
 * §13.1.2: `W/"x"` matches `"x"`).
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const part of trimmed.split(',')) {
    const t = part.trim();
    if ((t.startsWith('W/') ? t.slice(2) : t) === bare) return true;
  }
  return false;
}

/** True when the request announced a body (a non-zero Content-Length, or chunked transfer coding). */
export function requestHasBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te !== '') return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

export interface WriteOptions {
  /** Close the connection after this response (e.g. the request body was not read, or was refused). */
  readonly close: boolean;
}

/** Writes `reply`. Does nothing if the response has already started or the connection is gone. */
export function writeReply(req: IncomingMessage, res: ServerResponse, reply: Reply, options: WriteOptions): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.stream !== undefined) {
    writeStream(req, res, reply, reply.stream, options);
    return;
  }
  let body: Uint8Array | string = '';
  let contentType: string | undefined;
  if (reply.raw !== undefined) {
    body = reply.raw.body;
    contentType = reply.raw.contentType;
  } else if (reply.json !== undefined) {
    body = `${JSON.stringify(reply.json)}\n`;
    contentType = JSON_CONTENT_TYPE;
  }
  const headers: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': reply.cache ?? 'no-store',
  };
  let status = reply.status;
  if (reply.etag !== undefined && status === 200 && (req.method === 'GET' || req.method === 'HEAD')) {
    const etag = 'value' in reply.etag ? reply.etag.value : contentEtag(reply.etag.prefix, body);
    headers['ETag'] = etag;
    if (etagMatches(header(req, 'if-none-match'), etag)) {
      status = 304;
      body = '';
      contentType = undefined;
    }
  }
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  if (status !== 304) headers['Content-Length'] = String(Buffer.byteLength(body));
  Object.assign(headers, reply.headers);
  if (options.close) headers['Connection'] = 'close';
  res.writeHead(status, headers);
  res.end(status === 304 ? undefined : body);
}

function writeStream(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  stream: NonNullable<Reply['stream']>,
  options: WriteOptions,
): void {
  const headers: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': reply.cache ?? 'no-store',
    'Content-Type': stream.contentType,
    ...reply.headers,
  };
  if (options.close) headers['Connection'] = 'close';
  res.writeHead(reply.status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  stream.start(res);
}

/** One header's value; repeated headers are joined with ", " (the list syntax every header here allows). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}
