/**
 * Answers for "this node is not the leader": 307 Temporary Redirect to the same path on the leader's HTTP address
 * (307 keeps the method and body, so a PUT is replayed as a PUT), with the Go original's JSON fields (`leader_id`,
 * `leader_ip`, `message`: Go joiners read `leader_ip`) and, unlike the original, a `Location` header. When the
 * leader or its HTTP address is unknown, or the "leader" is this very node (a stale view), 503 with Retry-After
 * instead of a redirect loop.
 */
import type { IncomingMessage } from 'node:http';
import type { NodeApi } from './api.js';
import { errorBody } from './errors.js';
import type { Reply } from './reply.js';
import type { ContextLimits } from './route.js';

interface LeaderRef {
  readonly id: string;
  readonly name: string | undefined;
  readonly httpAddr: string | undefined;
}

function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    // A failing read here only means the leader's address stays unknown: the reply becomes a 503.
    return undefined;
  }
}

/**
 * Finds the leader's name and HTTP address: from `leader()` when it names the same node, completed from the member
 * list (a NotLeaderError may name a leader `leader()` does not know yet, or know without its HTTP address).
 */
function findLeader(api: NodeApi, leaderId: string | undefined): LeaderRef | undefined {
  const known = quietly(() => api.leader()) ?? undefined;
  const id = leaderId ?? known?.id;
  if (id === undefined) return undefined;
  const fromLeader = known !== undefined && known.id === id ? known : undefined;
  if (fromLeader?.httpAddr !== undefined) return { id, name: fromLeader.name, httpAddr: fromLeader.httpAddr };
  const node = quietly(() => api.clusterView())?.nodes.find((n) => n.id === id);
  return { id, name: fromLeader?.name ?? node?.name, httpAddr: node?.httpAddr };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (url.startsWith('/')) return url;
  const parsed = quietly(() => new URL(url));
  return parsed === undefined ? '/' : `${parsed.pathname}${parsed.search}`;
}

export function notLeaderReply(
  api: NodeApi,
  req: IncomingMessage,
  leaderId: string | undefined,
  scheme: string,
  limits: ContextLimits,
): Reply {
  const leader = findLeader(api, leaderId);
  const self = quietly(() => api.self());
  const addr = leader?.httpAddr;
  const usable =
    leader !== undefined &&
    addr !== undefined &&
    addr !== '' &&
    !addr.startsWith(':') &&
    leader.id !== self?.id &&
    addr !== self?.httpAddr;
  if (!usable) {
    return {
      status: 503,
      headers: { 'Retry-After': String(limits.retryAfterSeconds) },
      json: {
        ...errorBody('ERR_UNAVAILABLE', 'this node is not the leader and no leader is available; retry later'),
        leader_id: leader?.id ?? '',
      },
    };
  }
  return {
    status: 307,
    headers: { Location: `${scheme}://${addr}${pathOf(req)}` },
    json: {
      ...errorBody('ERR_NOT_LEADER', `this node is not the leader; the leader is ${leader.id} at ${addr}`),
      leader_id: leader.id,
      leader_name: leader.name ?? '',
      leader_ip: addr,
      leader_addr: addr,
      message: `Please retry the request at the leader at ${addr}`,
    },
  };
}
