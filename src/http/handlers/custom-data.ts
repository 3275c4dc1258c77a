/**
 * Custom data over HTTP (the Go original had the API but no endpoints):
 *
 *   GET    /custom-data?prefix=&limit=&offset=   keys, sorted, paginated
 *   GET    /custom-data/:key                      JSON {key, value (base64), encoding, size, revision, updated_at};
 *                                                 raw bytes with ?format=raw or Accept: application/octet-stream
 *   PUT    /custom-data/:key                      body: the raw bytes (any non-JSON Content-Type, or none), or with
 *                                                 Content-Type application/json the envelope
 *                                                 {"value": "...", "encoding": "utf8" | "base64"} (utf8 by default)
 *   DELETE /custom-data/:key                      deleting an absent key succeeds (as the Go original)
 *
 * Keys are 1..256 characters (a `/` in a key is sent as %2F); values at most 1 MiB (413 beyond, measured on the
 * decoded value). Every entry has a revision, served as the ETag `"r<revision>"`: GET honours If-None-Match, and
 * PUT/DELETE honour `If-Match: "r<revision>"` and `If-None-Match: *` (create only) as compare-and-set, answering 412
 * when the key has moved on. `?consistent=true` on GETs waits for the read barrier first.
 */
import { ClusterKitError } from '../../errors.js';
import type { CustomDataItem } from '../api.js';
import { isJsonMediaType, mediaType, parseJson } from '../body.js';
import { badRequest, HttpError, notFound, payloadTooLarge } from '../errors.js';
import { goTime } from '../format.js';
import { header, type Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { checkString, expectObject, expectOnlyKeys, queryChoice, queryPage, queryValue } from '../validate.js';

export const KEYS_DEFAULT_LIMIT = 1000;
export const KEYS_MAX_LIMIT = 10_000;

function keyParam(ctx: RequestContext): string {
  // Keys are data: control characters are allowed (as in the replicated state); only the length is checked.
  return checkString(ctx.params['key'], 'custom data key', { max: ctx.limits.maxKeyLength, noControl: false });
}

function etagOf(revision: number, json: boolean): string {
  return `"r${revision}${json ? '-json' : ''}"`;
}

async function listKeys(ctx: RequestContext): Promise<Reply> {
  const page = queryPage(ctx.query, KEYS_DEFAULT_LIMIT, KEYS_MAX_LIMIT);
  const prefix = queryValue(ctx.query, 'prefix') ?? '';
  await ctx.consistentRead();
  const keys = ctx.api.customDataKeys().filter((k) => k.startsWith(prefix));
  const start = Math.min(page.offset, keys.length);
  const end = Math.min(start + page.limit, keys.length);
  return {
    status: 200,
    json: {
      keys: keys.slice(start, end),
      count: end - start,
      total: keys.length,
      offset: page.offset,
      limit: page.limit,
      has_more: end < keys.length,
      next_offset: end,
    },
  };
}

function wantsRaw(ctx: RequestContext): boolean {
  const format = queryChoice(ctx.query, 'format', ['json', 'raw'] as const);
  if (format !== undefined) return format === 'raw';
  const accept = (header(ctx.req, 'accept') ?? '').toLowerCase();
  return accept.includes('application/octet-stream') && !accept.includes('application/json');
}

async function getValue(ctx: RequestContext): Promise<Reply> {
  const key = keyParam(ctx);
  const raw = wantsRaw(ctx);
  await ctx.consistentRead();
  const item = ctx.api.getCustomData(key);
  if (item === undefined) throw notFound(`key not found: ${key}`);
  if (raw) {
    return {
      status: 200,
      raw: { body: item.value, contentType: 'application/octet-stream' },
      etag: { value: etagOf(item.revision, false) },
      cache: 'no-cache',
    };
  }
  return { status: 200, json: itemJson(item), etag: { value: etagOf(item.revision, true) }, cache: 'no-cache' };
}

function itemJson(item: CustomDataItem): Record<string, unknown> {
  return {
    key: item.key,
    value: Buffer.from(item.value.buffer, item.value.byteOffset, item.value.byteLength).toString('base64'),
    encoding: 'base64',
    size: item.value.byteLength,
    revision: item.revision,
    updated_at: goTime(item.updatedAt),
  };
}

/**
 * The compare-and-set revision a PUT/DELETE asks for, from If-Match / If-None-Match; undefined when unconditional.
 * A tag we never issue fails here with 412; `If-Match: *` becomes -1 ("the key exists"), which the replicated
 * state decides when the write commits (a follower's possibly stale copy is never consulted).
 */
function precondition(ctx: RequestContext, key: string): number | undefined {
  const ifMatch = header(ctx.req, 'if-match');
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw badRequest('send If-Match or If-None-Match, not both');
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw badRequest('on writes, If-None-Match only supports "*" (create only)');
    return 0;
  }
  if (ifMatch === undefined) return undefined;
  const tag = ifMatch.trim();
  if (tag === '*') return -1;
  const m = /^"r([1-9][0-9]{0,15})(?:-json)?"$/.exec(tag);
  const revision = m === null ? Number.NaN : Number(m[1]);
  if (!Number.isSafeInteger(revision)) throw preconditionFailed(key);
  return revision;
}

function preconditionFailed(key: string): HttpError {
  return new HttpError(412, 'ERR_PRECONDITION_FAILED', `precondition failed: key ${JSON.stringify(key)} has changed`);
}

/** Runs a conditional write, turning a compare-and-set conflict into 412. */
async function conditional<T>(key: string, expected: number | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const conflict = err instanceof ClusterKitError && !(err instanceof HttpError) && err.code === 'ERR_CONFLICT';
    if (expected !== undefined && conflict) throw preconditionFailed(key);
    throw err;
  }
}

function decodeBase64(text: string): Buffer {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw badRequest('value is not valid base64 (standard alphabet, padded)');
  }
  return Buffer.from(text, 'base64');
}

/** The value a PUT carries: the raw body, or the JSON envelope's decoded value. */
async function readValue(ctx: RequestContext): Promise<Uint8Array> {
  const max = ctx.limits.maxValueBytes;
  const type = mediaType(ctx.req.headers['content-type']);
  if (!isJsonMediaType(type)) return ctx.readBody(max);
  // Room for the base64 of a maximal value plus the envelope.
  const body = await ctx.readBody(Math.ceil(max / 3) * 4 + 1024);
  const o = expectObject(parseJson(body, true), 'custom data envelope');
  expectOnlyKeys(o, ['value', 'encoding'], 'custom data envelope');
  const encoding = o['encoding'] ?? 'utf8';
  if (encoding !== 'utf8' && encoding !== 'base64') {
    throw badRequest('custom data envelope.encoding must be "utf8" or "base64"');
  }
  const text = o['value'];
  if (typeof text !== 'string') throw badRequest('custom data envelope.value must be a string');
  const value = encoding === 'base64' ? decodeBase64(text) : Buffer.from(text, 'utf8');
  if (value.byteLength > max) {
    throw payloadTooLarge(`value too large (max ${max} bytes, got ${value.byteLength} bytes)`);
  }
  return value;
}

async function putValue(ctx: RequestContext): Promise<Reply> {
  const key = keyParam(ctx);
  const expectedRevision = precondition(ctx, key);
  const value = await readValue(ctx);
  const outcome = await conditional(key, expectedRevision, () =>
    ctx.call((o) => ctx.api.setCustomData({ key, value, expectedRevision }, o)),
  );
  return {
    status: outcome.created ? 201 : 200,
    headers: { ETag: etagOf(outcome.revision, false) },
    json: {
      success: true,
      message: outcome.created ? 'created' : 'updated',
      data: { key, revision: outcome.revision, created: outcome.created, size: value.byteLength },
    },
  };
}

async function deleteValue(ctx: RequestContext): Promise<Reply> {
  const key = keyParam(ctx);
  const expectedRevision = precondition(ctx, key);
  const outcome = await conditional(key, expectedRevision, () =>
    ctx.call((o) => ctx.api.deleteCustomData({ key, expectedRevision }, o)),
  );
  return {
    status: 200,
    json: {
      success: true,
      message: outcome.existed ? 'deleted' : 'key did not exist',
      data: { key, existed: outcome.existed },
    },
  };
}

export function customDataRoutes(): RouteDef[] {
  return [
    { method: 'GET', path: '/custom-data', access: 'read', handle: listKeys },
    { method: 'GET', path: '/custom-data/:key', access: 'read', handle: getValue },
    { method: 'PUT', path: '/custom-data/:key', access: 'admin', handle: putValue },
    { method: 'DELETE', path: '/custom-data/:key', access: 'admin', handle: deleteValue },
  ];
}
