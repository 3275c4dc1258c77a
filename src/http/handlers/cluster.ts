/**
 * Cluster state reads: `GET /cluster` (what smart clients route with), `/nodes`, `/nodes/:id`, `/partitions`,
 * `/partitions/stats`. All answer from the node's local view; `?consistent=true` first waits for the read barrier.
 *
 * Deliberate fixes of the Go original: ETags are computed from the whole representation (prefixed with the table
 * version and state revision), so a 304 can never hide a rebalance; responses say `Cache-Control: no-cache`
 * (revalidate every time: a 304 is cheap) instead of `max-age=30`; partitions are listed in index order; `/nodes`
 * validates its parameters instead of panicking on a negative offset.
 */
import type { ClusterView } from '../api.js';
import { notFound } from '../errors.js';
import { leaderJson, nodeJson, partitionJson } from '../format.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { checkString, queryPage } from '../validate.js';

/** Node list page size: default and largest, as the Go original. */
export const NODES_DEFAULT_LIMIT = 50;
export const NODES_MAX_LIMIT = 1000;

function configJson(view: ClusterView): Record<string, unknown> {
  const c = view.config;
  const out: Record<string, unknown> = {
    cluster_name: c.clusterName,
    partition_count: view.table?.partitionCount ?? c.partitionCount,
    replication_factor: view.table?.replicationFactor ?? c.replicationFactor,
  };
  if (c.maxVoters !== undefined) out['max_voters'] = c.maxVoters;
  if (c.placement !== undefined) out['placement'] = c.placement;
  return out;
}

async function getCluster(ctx: RequestContext): Promise<Reply> {
  await ctx.consistentRead();
  const view = ctx.api.clusterView();
  const leader = ctx.api.leader();
  const consensus = ctx.api.consensus();
  const partitions: Record<string, unknown> = {};
  for (const p of view.table?.partitions ?? []) partitions[p.id] = partitionJson(p);
  const tableVersion = view.table?.version ?? 0;
  const cluster = {
    // The Go original used the cluster name as id; ours has a unique id once the cluster is formed.
    id: view.clusterId ?? view.config.clusterName,
    name: view.config.clusterName,
    nodes: view.nodes.map(nodeJson),
    partition_map: { partitions },
    config: configJson(view),
    formed: view.clusterId !== undefined,
    revision: view.revision,
    table_version: tableVersion,
    leader: leader === null ? null : leaderJson(leader),
    term: consensus?.term ?? leader?.term ?? 0,
  };
  return {
    status: 200,
    json: {
      cluster,
      hash_config: {
        algorithm: 'md5',
        encoding: 'big_endian_uint32',
        modulo: view.table?.partitionCount ?? view.config.partitionCount,
        format: 'partition-%d',
      },
    },
    etag: { prefix: `t${tableVersion}.r${view.revision}` },
    cache: 'no-cache',
  };
}

async function listNodes(ctx: RequestContext): Promise<Reply> {
  const page = queryPage(ctx.query, NODES_DEFAULT_LIMIT, NODES_MAX_LIMIT);
  await ctx.consistentRead();
  const nodes = ctx.api.clusterView().nodes;
  const total = nodes.length;
  const start = Math.min(page.offset, total);
  const end = Math.min(start + page.limit, total);
  return {
    status: 200,
    json: {
      nodes: nodes.slice(start, end).map(nodeJson),
      total,
      offset: page.offset,
      limit: page.limit,
      has_more: end < total,
      next_offset: end,
    },
  };
}

async function getNode(ctx: RequestContext): Promise<Reply> {
  const id = checkString(ctx.params['id'], 'node id');
  await ctx.consistentRead();
  const node = ctx.api.clusterView().nodes.find((n) => n.id === id);
  if (node === undefined) throw notFound(`node ${JSON.stringify(id)} is not a member of the cluster`);
  return { status: 200, json: nodeJson(node) };
}

async function listPartitions(ctx: RequestContext): Promise<Reply> {
  await ctx.consistentRead();
  const table = ctx.api.clusterView().table;
  const partitions = (table?.partitions ?? []).map(partitionJson);
  return {
    status: 200,
    json: {
      partitions,
      count: partitions.length,
      version: table?.version ?? 0,
      partition_count: table?.partitionCount ?? 0,
      replication_factor: table?.replicationFactor ?? 0,
    },
    etag: { prefix: `t${table?.version ?? 0}` },
    cache: 'no-cache',
  };
}

async function partitionStats(ctx: RequestContext): Promise<Reply> {
  await ctx.consistentRead();
  const view = ctx.api.clusterView();
  const primaries: Record<string, number> = {};
  const replicas: Record<string, number> = {};
  // Every member appears, with 0 when it owns nothing (the Go original listed only owners).
  const count = (map: Record<string, number>, id: string, by: number): void => {
    const current = Object.hasOwn(map, id) ? map[id]! : 0;
    Object.defineProperty(map, id, { value: current + by, enumerable: true, writable: true, configurable: true });
  };
  for (const n of view.nodes) {
    count(primaries, n.id, 0);
    count(replicas, n.id, 0);
  }
  for (const p of view.table?.partitions ?? []) {
    if (p.primary !== undefined) count(primaries, p.primary, 1);
    for (const r of p.replicas) count(replicas, r, 1);
  }
  return {
    status: 200,
    json: {
      total_partitions: view.table?.partitionCount ?? 0,
      partitions_per_node: primaries,
      replicas_per_node: replicas,
      table_version: view.table?.version ?? 0,
    },
  };
}

export function clusterRoutes(): RouteDef[] {
  return [
    { method: 'GET', path: '/cluster', access: 'read', handle: getCluster },
    { method: 'GET', path: '/nodes', access: 'read', handle: listNodes },
    { method: 'GET', path: '/nodes/:id', access: 'read', handle: getNode },
    { method: 'GET', path: '/partitions', access: 'read', handle: listPartitions },
    { method: 'GET', path: '/partitions/stats', access: 'read', handle: partitionStats },
  ];
}
