/**
 * Probes and monitoring: `GET /health` (liveness), `/ready` (readiness), `/health/detailed`, `/metrics`.
 *
 * Deliberate fixes of the Go original: liveness and readiness are separate (the original probed peers with
 * `/ready`, evicting healthy nodes during slow formation); readiness means "a member with a known partition table",
 * not "every owner present" (a degraded cluster still serves); `/health/detailed` reports the node's real status
 * (the original's `healthy` was always true); `/metrics` answers the original's JSON (whose counters were always
 * 0; now real request and error counts) to any client that does not ask for text, as Go clients do not, and the
 * Prometheus text format to scrapers, which name it in their Accept header, or with `?format=prometheus`.
 */
import { goDuration, goRaftState, goTime } from '../format.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { queryChoice } from '../validate.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function liveness(ctx: RequestContext): Reply {
  const health = ctx.api.health();
  const self = ctx.api.self();
  return {
    status: health.live ? 200 : 503,
    json: {
      // The Go original's Result fields, then the shape its docs promised.
      success: health.live,
      message: health.live ? 'healthy' : health.status,
      status: health.live ? 'healthy' : 'unhealthy',
      state: health.status,
      node_id: self.id,
      timestamp: goTime(ctx.now()),
    },
  };
}

function readiness(ctx: RequestContext): Reply {
  const health = ctx.api.health();
  const self = ctx.api.self();
  const view = ctx.api.clusterView();
  const members = new Set(view.nodes.map((n) => n.id));
  const partitions = view.table?.partitions ?? [];
  // The Go original's valid_partitions: a primary, and every owner a member.
  const valid = partitions.filter((p) => p.primary !== undefined && p.owners.every((o) => members.has(o))).length;
  let reason: string | undefined;
  if (!health.live) reason = `the node is ${health.status}`;
  else if (!members.has(self.id)) reason = 'this node is not a member of the cluster yet';
  else if (view.table === undefined) reason = 'the partition table is not known yet';
  const ready = reason === undefined;
  const json: Record<string, unknown> = {
    ready,
    nodes: view.nodes.length,
    partitions: partitions.length,
    valid_partitions: valid,
    node_id: self.id,
    table_version: view.table?.version ?? 0,
  };
  if (reason !== undefined) {
    json['message'] = 'cluster not ready';
    json['reason'] = reason;
  }
  return { status: ready ? 200 : 503, json };
}

function detailed(ctx: RequestContext): Reply {
  const health = ctx.api.health();
  const self = ctx.api.self();
  const view = ctx.api.clusterView();
  const consensus = ctx.api.consensus();
  return {
    status: 200,
    json: {
      healthy: health.status === 'healthy',
      node_id: self.id,
      node_name: self.name,
      is_leader: consensus?.role === 'leader',
      node_count: view.nodes.length,
      partition_count: view.table?.partitionCount ?? 0,
      raft_state: goRaftState(consensus?.role ?? null),
      last_sync: goTime(health.lastSyncAt),
      uptime: goDuration(health.uptimeMs),
      status: health.status,
      live: health.live,
      uptime_seconds: Math.floor(health.uptimeMs / 1000),
      term: consensus?.term ?? 0,
      leader_id: consensus?.leaderId ?? null,
      table_version: view.table?.version ?? 0,
      checks: (health.checks ?? []).map((c) => ({ name: c.name, ok: c.ok, message: c.message ?? '' })),
    },
  };
}

/**
 * True when the Accept header names a text format (Prometheus' `text/plain`, OpenMetrics) above application/json.
 * Wildcards count for neither: a client that did not say (Go's http.Get, curl) gets the original's JSON.
 */
function wantsText(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let json = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'application/json') json = Math.max(json, q);
    else if (type === 'text/plain' || type.startsWith('application/openmetrics-text')) text = Math.max(text, q);
  }
  return text > json;
}

function metrics(ctx: RequestContext): Reply {
  const format = queryChoice(ctx.query, 'format', ['json', 'prometheus', 'text'] as const);
  const json = format === undefined ? !wantsText(ctx.req.headers.accept) : format === 'json';
  if (!json) {
    return { status: 200, raw: { body: ctx.api.metricsText(), contentType: PROMETHEUS_CONTENT_TYPE } };
  }
  const health = ctx.api.health();
  const view = ctx.api.clusterView();
  const consensus = ctx.api.consensus();
  const stats = ctx.stats();
  return {
    status: 200,
    json: {
      node_count: view.nodes.length,
      partition_count: view.table?.partitionCount ?? 0,
      request_count: stats.requests,
      error_count: stats.errors,
      last_sync: goTime(health.lastSyncAt),
      is_leader: consensus?.role === 'leader',
      raft_state: goRaftState(consensus?.role ?? null),
      uptime_seconds: Math.floor(health.uptimeMs / 1000),
    },
  };
}

export function healthRoutes(): RouteDef[] {
  return [
    { method: 'GET', path: '/health', access: 'public', handle: liveness },
    { method: 'GET', path: '/ready', access: 'public', handle: readiness },
    { method: 'GET', path: '/health/detailed', access: 'read', handle: detailed },
    { method: 'GET', path: '/metrics', access: 'read', handle: metrics },
  ];
}
