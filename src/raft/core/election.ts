/**
 * Leader election: randomised timeouts, pre-vote (thesis §9.6), leader stickiness (a node that heard from a live
 * leader within the minimum election timeout ignores (pre-)vote requests unless they come from a leadership
 * transfer), and the election restriction (§5.4.1). Votes are only sent once the term and vote are durable, and a
 * candidate counts its own vote only once it is durable.
 */
import { MessageType, type RequestVote, type RequestVoteResponse, type TimeoutNow } from '../types.js';
import { tallyVotes } from './quorum.js';
import type { RaftCore } from './raft.js';

export function tickElection(c: RaftCore): void {
  c.electionElapsed++;
  if (c.electionElapsed < c.randomizedElectionTimeout) return;
  // Non-voters never campaign; their elapsed time keeps growing so they stop being "sticky" to a lost leader.
  if (!c.isPromotable()) return;
  campaign(c, c.cfg.preVote ? 'pre' : 'real', false);
}

export function campaign(c: RaftCore, kind: 'pre' | 'real', transfer: boolean): void {
  c.votes.clear();
  c.votes.set(c.id, true);
  if (kind === 'pre') {
    c.setRole('pre-candidate');
    c.setLeader(null);
    c.resetElectionTimer();
  } else {
    c.term++;
    c.votedFor = c.id;
    c.hardStateChanged();
    c.campaignSeq = c.hsSeq;
    c.setRole('candidate');
    c.setLeader(null);
    c.resetElectionTimer();
    c.counters.elections++;
  }
  const term = kind === 'pre' ? c.term + 1 : c.term;
  for (const v of c.voters()) {
    if (v === c.id) continue;
    const req: RequestVote = {
      type: MessageType.RequestVote,
      from: c.id,
      to: v,
      term,
      fromAddr: c.cfg.addr,
      lastIndex: c.log.lastIndex(),
      lastTerm: c.log.lastTerm(),
      preVote: kind === 'pre',
      transfer,
    };
    c.sendRaw(req);
  }
  handleVoteTally(c);
}

export function handleVoteTally(c: RaftCore): void {
  if (c.role !== 'pre-candidate' && c.role !== 'candidate') return;
  let votes: ReadonlyMap<string, boolean> = c.votes;
  if (c.role === 'candidate' && c.hsSavedSeq < c.campaignSeq) {
    // Our own vote is not durable yet: it does not count.
    const others = new Map(c.votes);
    others.delete(c.id);
    votes = others;
  }
  const outcome = tallyVotes(c.voters(), votes);
  if (outcome === 'won') {
    if (c.role === 'pre-candidate') campaign(c, 'real', false);
    else c.becomeLeader();
  } else if (outcome === 'lost') {
    c.becomeFollower(c.term, null);
  }
}

/** Has this node heard from a live leader recently enough to refuse to help unseat it? */
function inLease(c: RaftCore): boolean {
  // With lease reads, a node that just (re)started cannot know whether it acknowledged a leader's lease
  // moments ago, so it abstains for one election timeout.
  if (c.cfg.leaseReads && c.now < c.cfg.electionTicks) return true;
  if (c.leaderId === null) return false;
  if (c.role === 'leader') return c.cfg.checkQuorum;
  return c.electionElapsed < c.cfg.electionTicks;
}

export function handleRequestVote(c: RaftCore, m: RequestVote): void {
  if (m.term > c.term && !m.transfer && inLease(c)) return; // ignored, not even answered
  if (m.preVote) {
    // Never change term for a pre-vote; grant if a real election at m.term could elect this candidate.
    const grant = m.term > c.term && c.log.isUpToDate(m.lastIndex, m.lastTerm);
    const resp: RequestVoteResponse = {
      type: MessageType.RequestVoteResponse,
      from: c.id,
      to: m.from,
      term: grant ? m.term : c.term,
      fromAddr: c.cfg.addr,
      granted: grant,
      preVote: true,
    };
    c.sendRaw(resp);
    return;
  }
  if (m.term < c.term) {
    c.send({ type: MessageType.RequestVoteResponse, to: m.from, granted: false, preVote: false });
    return;
  }
  if (m.term > c.term) c.becomeFollower(m.term, null);
  const canVote = c.votedFor === m.from || (c.votedFor === null && c.leaderId === null);
  const grant = canVote && c.log.isUpToDate(m.lastIndex, m.lastTerm);
  if (grant) {
    if (c.votedFor !== m.from) {
      c.votedFor = m.from;
      c.hardStateChanged();
    }
    c.resetElectionTimer();
  }
  c.send({ type: MessageType.RequestVoteResponse, to: m.from, granted: grant, preVote: false });
}

export function handleVoteResponse(c: RaftCore, m: RequestVoteResponse): void {
  if (m.preVote) {
    if (c.role !== 'pre-candidate') return;
    if (m.granted ? m.term !== c.term + 1 : m.term > c.term) return;
  } else if (c.role !== 'candidate' || m.term !== c.term) {
    return;
  }
  c.votes.set(m.from, m.granted);
  handleVoteTally(c);
}

export function handleTimeoutNow(c: RaftCore, m: TimeoutNow): void {
  if (m.term < c.term || c.role === 'leader' || !c.isPromotable()) return;
  // A transfer skips pre-vote: the leader itself asked, and voters must override their stickiness.
  campaign(c, 'real', true);
}
