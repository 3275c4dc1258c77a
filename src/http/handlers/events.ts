/**
 * The node's recent cluster events, the same ones its hooks receive: `GET /events` reads a page of the node's
 * bounded event log by cursor, `GET /events/stream` pushes them as they happen (server-sent events).
 *
 * `GET /events?after=<seq>&limit=<n>&types=<a,b>`: the events after `seq` (oldest first, at most `limit`, default
 * 100, at most 1000); without `after`, the newest `limit` events. `next_after` is the cursor for the next call;
 * `truncated` says events after the cursor were evicted before being read (re-read the cluster state); `log_id`
 * changes when the node restarts (its cursors start again from 0).
 *
 * `GET /events/stream?after=<seq>&types=<a,b>`: `text/event-stream`. It opens with a `ready` event
 * (`{node_id, log_id, last_seq, truncated}`), replays what follows the cursor (the `Last-Event-ID` header, sent by
 * reconnecting EventSource clients, wins over `after`), then sends each event as it is recorded, with the id
 * `<log_id>:<seq>`; a comment every 15 s keeps idle connections open through proxies. A client too slow to keep up
 * is disconnected (it resumes from its last id). Streams end when the node stops.
 */
import type { ServerResponse } from 'node:http';
import type { Scheduler, TimerHandle } from '../../util/io.js';
import type { ClusterEventEntry, EventFeed } from '../api.js';
import { badRequest, unavailable } from '../errors.js';
import { goTime } from '../format.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { queryInteger, queryValue } from '../validate.js';

export const EVENTS_DEFAULT_LIMIT = 100;
export const EVENTS_MAX_LIMIT = 1000;
/** Concurrent event streams one node serves; more get 503. */
export const MAX_EVENT_STREAMS = 64;
export const STREAM_HEARTBEAT_MS = 15_000;
/** Unsent bytes a stream may hold for a slow client before it is disconnected. */
export const MAX_STREAM_BUFFER_BYTES = 1024 * 1024;
/** How long a disconnected EventSource waits before reconnecting, ms (the `retry` field). */
const RETRY_MS = 2000;

/** The event types a node records (the hook event names). */
export const EVENT_TYPES: readonly string[] = [
  'nodeJoin',
  'nodeRejoin',
  'nodeLeave',
  'nodeUpdate',
  'rebalanceStart',
  'rebalanceComplete',
  'partitionChange',
  'partitionPromote',
  'partitionDrop',
  'customDataChange',
  'clusterHealthChange',
];

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An entry in the HTTP API's shape: snake_case names, the time as RFC 3339 and as ms. */
export function eventJson(e: ClusterEventEntry): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.data)) data[snake(k)] = v;
  return { seq: e.seq, type: e.type, at: goTime(e.at), at_ms: e.at, index: e.index ?? null, data };
}

function feedOf(ctx: RequestContext): EventFeed {
  const feed = ctx.api.events?.();
  if (feed === undefined || feed.closed) throw unavailable('the node is not recording events', 1);
  return feed;
}

function queryTypes(query: URLSearchParams): ReadonlySet<string> | undefined {
  const raw = queryValue(query, 'types');
  if (raw === undefined) return undefined;
  const types = raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of types) {
    if (!EVENT_TYPES.includes(t)) {
      throw badRequest(`query parameter types has an unknown event type ${JSON.stringify(t)}`);
    }
  }
  if (types.length === 0) throw badRequest('query parameter types must name at least one event type');
  return new Set(types);
}

function listEvents(ctx: RequestContext): Reply {
  const after = queryInteger(ctx.query, 'after');
  const limit = Math.min(EVENTS_MAX_LIMIT, Math.max(1, queryInteger(ctx.query, 'limit') ?? EVENTS_DEFAULT_LIMIT));
  const types = queryTypes(ctx.query);
  const page = feedOf(ctx).read(after, limit, types);
  const full = after !== undefined && page.events.length === limit;
  const lastReturned = page.events[page.events.length - 1]?.seq ?? 0;
  const nextAfter = full ? lastReturned : page.lastSeq;
  return {
    status: 200,
    json: {
      node_id: ctx.api.self().id,
      log_id: page.logId,
      events: page.events.map(eventJson),
      last_seq: page.lastSeq,
      next_after: nextAfter,
      has_more: nextAfter < page.lastSeq,
      truncated: page.truncated,
    },
  };
}

/** The stream's cursor: `Last-Event-ID` (`<log_id>:<seq>`) or `?after=`. */
function streamCursor(ctx: RequestContext, logId: string): { after: number | undefined; foreign: boolean } {
  const header = ctx.req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') {
    const m = /^([0-9a-z]+):(0|[1-9][0-9]{0,15})$/.exec(header);
    if (m === null) throw badRequest('Last-Event-ID must be <log_id>:<seq>');
    // From another life of this node: its numbers mean nothing here, so replay all that is kept.
    if (m[1] !== logId) return { after: 0, foreign: true };
    return { after: Number(m[2]), foreign: false };
  }
  return { after: queryInteger(ctx.query, 'after'), foreign: false };
}

function sseData(json: unknown): string {
  // JSON never contains a raw newline, so one data line carries it.
  return `data: ${JSON.stringify(json)}\n\n`;
}

export function eventRoutes(enabled: boolean, scheduler: Scheduler): RouteDef[] {
  if (!enabled) return [];
  let streams = 0;

  const stream = (ctx: RequestContext): Reply => {
    const feed = feedOf(ctx);
    const types = queryTypes(ctx.query);
    const peek = feed.read(undefined, 0);
    const cursor = streamCursor(ctx, peek.logId);
    if (streams >= MAX_EVENT_STREAMS) {
      throw unavailable(`this node already serves ${MAX_EVENT_STREAMS} event streams`, ctx.limits.retryAfterSeconds);
    }
    const nodeId = ctx.api.self().id;
    const start = (res: ServerResponse): void => {
      streams++;
      let heartbeat: TimerHandle | undefined;
      let unsubscribe = (): void => undefined;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        streams--;
        heartbeat?.cancel();
        unsubscribe();
      };
      res.once('close', finish);
      const write = (text: string): void => {
        if (done || res.destroyed) return;
        res.write(text);
        // A client that does not read: drop it rather than buffer without bound (it resumes from its last id).
        if (res.writableLength > MAX_STREAM_BUFFER_BYTES) res.destroy();
      };
      const send = (e: ClusterEventEntry): void => {
        if (types !== undefined && !types.has(e.type)) return;
        write(`id: ${peek.logId}:${e.seq}\n${sseData(eventJson(e))}`);
      };
      const beat = (): void => {
        write(': keep-alive\n\n');
        heartbeat = scheduler.setTimeout(beat, STREAM_HEARTBEAT_MS);
      };
      // Read the backlog and subscribe in one synchronous step: no event can fall between the two.
      const backlog = cursor.after === undefined ? undefined : feed.read(cursor.after, Number.MAX_SAFE_INTEGER, types);
      const ready = {
        node_id: nodeId,
        log_id: peek.logId,
        last_seq: feed.read(undefined, 0).lastSeq,
        truncated: cursor.foreign || (backlog?.truncated ?? false),
      };
      write(`retry: ${RETRY_MS}\nevent: ready\n${sseData(ready)}`);
      for (const e of backlog?.events ?? []) send(e);
      unsubscribe = feed.subscribe({
        event: send,
        close: () => {
          finish();
          res.end();
        },
      });
      if (!done) heartbeat = scheduler.setTimeout(beat, STREAM_HEARTBEAT_MS);
    };
    return {
      status: 200,
      headers: { 'X-Accel-Buffering': 'no' },
      stream: { contentType: 'text/event-stream; charset=utf-8', start },
    };
  };

  return [
    { method: 'GET', path: '/events', access: 'read', handle: listEvents },
    { method: 'GET', path: '/events/stream', access: 'read', handle: stream },
  ];
}
