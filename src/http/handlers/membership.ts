/**
 * Membership changes: `POST /join` (node to node), `POST /rebalance`, `DELETE /nodes/:id`, `POST /leave`.
 *
 * `/join` reads the Go original's request (`{"node": {id, name, ip, port, status, services}, "raft_addr"}`) and
 * answers its shapes (200 `{success, message, data: {node_id, cluster_id, node_count}}`; 307 with `leader_ip`).
 * Deliberate fixes: the 307 carries a `Location` header as well; unknown fields are refused (a misspelt
 * `replication_factor` must not silently skip the check); a Go-style `ip` of `:port` gets the request's source
 * host; refusals are JSON errors with a status (409 for an id claimed by another incarnation or settings that
 * differ from the cluster's) instead of plain text 500s; an FSM refusal is reported, not answered 200.
 */
// The replicated state's limits, checked here too so that a bad join is refused before reaching Raft.
import { MAX_INCARNATION_LENGTH, MAX_SERVICES, MAX_WEIGHT } from '../../cluster/state/types.js';
import { MAX_PARTITION_COUNT, MAX_REPLICATION_FACTOR } from '../../partitioning/index.js';
import type { JoinRequest } from '../api.js';
import { badRequest } from '../errors.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import {
  checkString,
  expectObject,
  expectOnlyKeys,
  optionalInteger,
  optionalPositive,
  optionalServices,
  optionalString,
  resolveAddr,
} from '../validate.js';

const JOIN_FIELDS = ['node', 'raft_addr', 'cluster_id', 'cluster_name', 'partition_count', 'replication_factor'];
const NODE_FIELDS = ['id', 'name', 'ip', 'port', 'status', 'services', 'http_addr', 'zone', 'weight', 'incarnation'];

/** Parses and checks a join request body. Throws a 400 HttpError naming the first bad field. */
export function parseJoinRequest(body: unknown, remoteAddress: string | undefined): JoinRequest {
  const o = expectObject(body, 'join request');
  expectOnlyKeys(o, JOIN_FIELDS, 'join request');
  if (o['node'] === undefined) throw badRequest('join request.node is required');
  const n = expectObject(o['node'], 'join request.node');
  expectOnlyKeys(n, NODE_FIELDS, 'join request.node');
  const where = 'join request.node';
  const id = optionalString(n, 'id', where);
  if (id === undefined) throw badRequest(`${where}.id is required`);
  const name = optionalString(n, 'name', where) ?? id;
  // Go sends port 0 and status "active": checked for type, otherwise ignored.
  optionalInteger(n, 'port', where, 0, 65_535);
  optionalString(n, 'status', where, { min: 0 });
  const ip = optionalString(n, 'ip', where);
  const httpField = optionalString(n, 'http_addr', where);
  if (ip !== undefined && httpField !== undefined && ip !== httpField) {
    throw badRequest(`${where}.ip and ${where}.http_addr differ; send one of them`);
  }
  const rawHttp = httpField ?? ip;
  if (rawHttp === undefined) throw badRequest(`${where}.http_addr (or the Go field ip) is required`);
  const httpAddr = resolveAddr(rawHttp, `${where}.http_addr`, remoteAddress);
  const rawRaft = optionalString(o, 'raft_addr', 'join request');
  const raftAddr = rawRaft === undefined ? httpAddr : resolveAddr(rawRaft, 'join request.raft_addr', remoteAddress);
  const zone = optionalString(n, 'zone', where);
  const weight = optionalPositive(n, 'weight', where, MAX_WEIGHT);
  const services = optionalServices(n, 'services', where, MAX_SERVICES);
  const incarnation = optionalString(n, 'incarnation', where, { max: MAX_INCARNATION_LENGTH });
  return {
    node: {
      id,
      name,
      httpAddr,
      raftAddr,
      ...(zone === undefined ? {} : { zone }),
      ...(weight === undefined ? {} : { weight }),
      ...(services === undefined ? {} : { services }),
      ...(incarnation === undefined ? {} : { incarnation }),
    },
    ...optionalField('clusterId', optionalString(o, 'cluster_id', 'join request')),
    ...optionalField('clusterName', optionalString(o, 'cluster_name', 'join request')),
    ...optionalField('partitionCount', optionalInteger(o, 'partition_count', 'join request', 1, MAX_PARTITION_COUNT)),
    ...optionalField(
      'replicationFactor',
      optionalInteger(o, 'replication_factor', 'join request', 1, MAX_REPLICATION_FACTOR),
    ),
    remoteAddress,
  };
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function join(ctx: RequestContext): Promise<Reply> {
  const request = parseJoinRequest(await ctx.readJson(true), ctx.remoteAddress);
  const outcome = await ctx.call((o) => ctx.api.join(request, o));
  if (outcome.kind === 'redirect') return ctx.notLeader(outcome.leader?.id);
  return {
    status: 200,
    json: {
      success: true,
      message: 'Node joined successfully',
      data: {
        node_id: outcome.nodeId,
        cluster_id: outcome.clusterId,
        node_count: outcome.nodeCount,
        join: outcome.join,
        table_version: outcome.tableVersion,
      },
    },
  };
}

async function rebalance(ctx: RequestContext): Promise<Reply> {
  const body = await ctx.readJson(false);
  let reason = 'manual';
  if (body !== undefined) {
    const o = expectObject(body, 'rebalance request');
    expectOnlyKeys(o, ['reason'], 'rebalance request');
    reason = optionalString(o, 'reason', 'rebalance request') ?? reason;
  }
  const outcome = await ctx.call((o) => ctx.api.rebalance({ reason }, o));
  return {
    status: 200,
    json: {
      success: true,
      message: outcome.changed ? 'rebalance committed' : 'placement already matches the members; nothing moved',
      data: { changed: outcome.changed, table_version: outcome.tableVersion },
    },
  };
}

async function removeNode(ctx: RequestContext): Promise<Reply> {
  const nodeId = checkString(ctx.params['id'], 'node id');
  const outcome = await ctx.call((o) => ctx.api.removeNode({ nodeId }, o));
  return {
    status: 200,
    json: {
      success: true,
      message: 'node removed',
      data: { node_id: nodeId, node_count: outcome.nodeCount, table_version: outcome.tableVersion },
    },
  };
}

export function membershipRoutes(hasLeave: boolean): RouteDef[] {
  const routes: RouteDef[] = [
    { method: 'POST', path: '/join', access: 'peer', handle: join },
    { method: 'POST', path: '/rebalance', access: 'admin', handle: rebalance },
    { method: 'DELETE', path: '/nodes/:id', access: 'admin', handle: removeNode },
  ];
  if (hasLeave) {
    routes.push({
      method: 'POST',
      path: '/leave',
      access: 'admin',
      handle: async (ctx) => {
        const body = await ctx.readJson(false);
        if (body !== undefined) expectOnlyKeys(expectObject(body, 'leave request'), [], 'leave request');
        await ctx.call((o) => (ctx.api.leave === undefined ? Promise.resolve() : ctx.api.leave(o)));
        return { status: 200, json: { success: true, message: 'left the cluster' } };
      },
    });
  }
  return routes;
}
