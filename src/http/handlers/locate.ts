/**
 * `GET /locate?key=<key>`: where a key lives, from this node's partition table (`?consistent=true` first waits for
 * the read barrier). The partition is the one every ClusterKit node and Go client computes (md5 of the UTF-8 key,
 * first 4 bytes big-endian, modulo the partition count); the owners are the table's, with what this node knows of
 * them (address, zone, health), primary first. The CLI's `locate` prints the same fields offline.
 */
import type { NodeInfo } from '../api.js';
import { badRequest, unavailable } from '../errors.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { queryValue } from '../validate.js';

/** Longest key accepted (keys travel in the URL; request heads are limited to 16 KiB anyway). */
export const MAX_LOCATE_KEY_LENGTH = 4096;

function ownerJson(id: string, role: 'primary' | 'replica', node: NodeInfo | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { id, role, member: node !== undefined };
  if (node !== undefined) {
    out['http_addr'] = node.httpAddr;
    if (node.zone !== undefined) out['zone'] = node.zone;
    out['healthy'] = node.healthy;
  }
  return out;
}

async function locate(ctx: RequestContext): Promise<Reply> {
  const key = queryValue(ctx.query, 'key');
  if (key === undefined) throw badRequest('query parameter key is required');
  if (key.length > MAX_LOCATE_KEY_LENGTH) {
    throw badRequest(`query parameter key is longer than ${MAX_LOCATE_KEY_LENGTH} characters`);
  }
  await ctx.consistentRead();
  const view = ctx.api.clusterView();
  const table = view.table;
  if (table === undefined) throw unavailable('the partition table is not known yet', ctx.limits.retryAfterSeconds);
  const p = table.partitionOf(key);
  const nodes = new Map(view.nodes.map((n) => [n.id, n]));
  return {
    status: 200,
    json: {
      key,
      partition: p.id,
      index: p.index,
      partition_count: table.partitionCount,
      primary: p.primary ?? null,
      replicas: [...p.replicas],
      epoch: p.epoch,
      table_version: table.version,
      owners: p.owners.map((id, i) => ownerJson(id, i === 0 ? 'primary' : 'replica', nodes.get(id))),
    },
  };
}

export function locateRoutes(): RouteDef[] {
  return [{ method: 'GET', path: '/locate', access: 'read', handle: locate }];
}
