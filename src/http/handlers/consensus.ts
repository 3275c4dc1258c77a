/**
 * `GET /consensus/leader` and `GET /consensus/stats`: the Go original's LeaderInfo and ConsensusStats shapes with
 * real numbers (the original's were always 0: it type-asserted strings as integers), plus additive detail.
 * No known leader answers 503 with Retry-After (the original answered 404 in plain text): it is a transient state.
 */
import { unavailable } from '../errors.js';
import { goRaftState, leaderJson } from '../format.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';

function getLeader(ctx: RequestContext): Reply {
  const leader = ctx.api.leader();
  if (leader === null) throw unavailable('no leader elected', ctx.limits.retryAfterSeconds);
  return { status: 200, json: leaderJson(leader) };
}

function getStats(ctx: RequestContext): Reply {
  const s = ctx.api.consensus();
  if (s === null) {
    return {
      status: 200,
      json: {
        state: goRaftState(null),
        term: 0,
        last_log_index: 0,
        last_log_term: 0,
        commit_index: 0,
        applied_index: 0,
        num_peers: 0,
        leader: '',
        running: false,
      },
    };
  }
  const members = s.config.members;
  const json: Record<string, unknown> = {
    state: goRaftState(s.role),
    term: s.term,
    last_log_index: s.lastIndex,
    last_log_term: s.lastTerm,
  };
  Object.assign(json, {
    commit_index: s.commitIndex,
    applied_index: s.appliedIndex,
    // HashiCorp's num_peers: the other voters.
    num_peers: members.filter((m) => m.voter && m.id !== s.id).length,
    leader: s.leaderId ?? '',
    running: true,
    node_id: s.id,
    role: s.role,
    leader_addr: s.leaderAddr,
    first_index: s.firstIndex,
    snapshot_index: s.snapshotIndex,
    voters: members.filter((m) => m.voter).length,
    non_voters: members.filter((m) => !m.voter).length,
    members: members.map((m) => ({ id: m.id, addr: m.addr, voter: m.voter })),
    progress: s.progress.map((p) => ({
      id: p.id,
      voter: p.voter,
      match_index: p.matchIndex,
      next_index: p.nextIndex,
      lag: Math.max(0, s.lastIndex - p.matchIndex),
      last_contact_ms: p.lastContactMs,
      inflight: p.inflight,
      snapshotting: p.snapshotting,
    })),
  });
  return { status: 200, json };
}

export function consensusRoutes(): RouteDef[] {
  return [
    { method: 'GET', path: '/consensus/leader', access: 'read', handle: getLeader },
    { method: 'GET', path: '/consensus/stats', access: 'read', handle: getStats },
  ];
}
