/**
 * Majority arithmetic, kept pure so it can be property-tested against a brute-force reference.
 */
import type { NodeId } from '../types.js';

/** Votes or acknowledgements needed out of `voters`: a strict majority. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index a majority of voters has reached, given one match index per voter: the quorumSize-th
 * largest value. 0 for an empty voter set (nothing can commit without voters).
 */
export function quorumIndex(matches: readonly number[]): number {
  if (matches.length === 0) return 0;
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[quorumSize(matches.length) - 1]!;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/**
 * Tallies an election among `voters`: won once a majority granted, lost once a majority can no longer be
 * reached. Answers from non-voters are ignored.
 */
export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const answer = votes.get(v);
    if (answer === true) granted++;
    else if (answer === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (voters.length > 0 && granted >= q) return 'won';
  if (voters.length - rejected < q) return 'lost';
  return 'pending';
}
