/**
 * Membership changes: `POST /join` (node to node), `POST /rebalance`, `DELETE /nodes/:id`, `POST /leave`.
 *
 * `/join` reads the Go original's request (`{"node": {id, name, ip, port, status, services}, "raft_addr"}`) and
 * answers its shapes (200 `{success, message, data: {node_id, cluster_id, node_count}}`; 307 with `leader_ip`).
 * Deliberate fixes: the 307 carries a `Location` header as well; unknown fields are refused (a misspelt
 * `replication_factor` must not silently skip the check); a Go-style `ip` of `:port` gets the request's source
 * host; refusals are JSON errors with a status (409 for an id claimed by another incarnation or settings that
 * differ from the cluster's) instead of plain text 500s; an FSM refusal is reported, not answered 200.
 *
 * A node that is not the leader forwards the join to the leader itself when it can (see JoinCoordinator), and
 * answers with the leader's status and body: the joiner needs to reach only the address it was given. The request
 * is forwarded as received (body bytes, target, the joiner's credentials), marked so that it is never forwarded
 * twice. Otherwise (leader unknown or unreachable, a join that was already forwarded) it answers 307 as before.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
// The replicated state's limits, checked here too so that a bad join is refused before reaching Raft.
import { MAX_INCARNATION_LENGTH, MAX_SERVICES, MAX_WEIGHT } from '../../cluster/state/types.js';
import { MAX_PARTITION_COUNT, MAX_REPLICATION_FACTOR } from '../../partitioning/index.js';
import { JOIN_FORWARDED_BY_HEADER, JOIN_FORWARDED_FOR_HEADER, type JoinRelay, type JoinRequest } from '../api.js';
import { parseJson, requireJsonContentType } from '../body.js';
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

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The joiner's credentials, to forward with its join: a bearer token, and the node signature's `x-clusterkit-*`
 * headers (src/security/http-auth.ts), minus the forwarding marks, which the forwarding node sets itself.
 */
function credentialsOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value !== 'string') continue;
    if (name === JOIN_FORWARDED_BY_HEADER || name === JOIN_FORWARDED_FOR_HEADER) continue;
    if (name === 'authorization' || name.startsWith('x-clusterkit-')) out[name] = value;
  }
  return out;
}

async function join(ctx: RequestContext): Promise<Reply> {
  // Read as bytes (what readJson does, keeping them): a forwarded join must carry the very bytes a signature covers.
  requireJsonContentType(ctx.req);
  const raw = await ctx.readBody(ctx.limits.maxJsonBytes);
  const forwarded = headerOf(ctx.req, JOIN_FORWARDED_BY_HEADER) !== undefined;
  // A forwarded join came from the node that received it: the joiner's address is the one that node reports. Taking
  // it on trust gives nobody anything: it only fills in the host of a Go-style `:port`, which a joiner can name itself.
  const forwardedFor = forwarded ? headerOf(ctx.req, JOIN_FORWARDED_FOR_HEADER) : undefined;
  const remoteAddress = forwardedFor !== undefined && isIP(forwardedFor) !== 0 ? forwardedFor : ctx.remoteAddress;
  const request = parseJoinRequest(parseJson(raw, true), remoteAddress);
  const target = ctx.req.url ?? '';
  // Never forwarded twice (during a leader change two followers could bounce it between them); an absolute-form
  // target is not worth reproducing byte for byte: such a rare joiner gets the redirect.
  const relay: JoinRelay | undefined =
    forwarded || !target.startsWith('/') ? undefined : { target, body: raw, credentials: credentialsOf(ctx.req) };
  const outcome = await ctx.call((o) => ctx.api.join(relay === undefined ? request : { ...request, relay }, o));
  if (outcome.kind === 'redirect') return ctx.notLeader(outcome.leader?.id);
  if (outcome.kind === 'relayed') return { status: outcome.status, headers: outcome.headers, json: outcome.body };
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
