/**
 * The fast log back-off of Raft (thesis §5.3 optimisation, as in etcd and the 6.824 lab), as pure functions
 * over a term lookup. A log's terms never decrease with the index, which makes both searches binary searches.
 */

/** Term of the entry at an index, or undefined when the index is not in the (visible) log. */
export type TermAt = (index: number) => number | undefined;

/**
 * Follower side: the first index in [lo, hi] whose entry has term `term`, given that termAt(hi) === term and
 * every index in [lo, hi] is readable. This is the `conflictIndex` sent with a rejection so the leader can skip
 * the whole conflicting term at once.
 */
export function firstIndexOfTerm(termAt: TermAt, lo: number, hi: number, term: number): number {
  let left = lo;
  let right = hi;
  // Invariant: the answer is in [left, right] and termAt(right) === term.
  while (left < right) {
    const mid = left + Math.floor((right - left) / 2);
    const t = termAt(mid);
    if (t !== undefined && t >= term) right = mid;
    else left = mid + 1;
  }
  return right;
}

/**
 * Leader side: where to retry after a rejection carrying (conflictTerm, conflictIndex). If the leader's log holds
 * entries of conflictTerm, retry just after its last one (the follower may share that term's prefix); otherwise
 * skip the follower's whole conflicting term by retrying at conflictIndex. The leader's readable log is [lo, hi]
 * (lo may be the snapshot index, whose term is known). The result is at least `floor` (one past the follower's
 * known match) and at most hi + 1.
 */
export function nextIndexAfterRejection(
  termAt: TermAt,
  lo: number,
  hi: number,
  conflictTerm: number,
  conflictIndex: number,
  floor: number,
): number {
  let next = conflictIndex;
  if (conflictTerm > 0 && hi >= lo) {
    // The last index in [lo, hi] whose term is <= conflictTerm.
    let left = lo;
    let right = hi;
    let found = -1;
    while (left <= right) {
      const mid = left + Math.floor((right - left) / 2);
      const t = termAt(mid);
      if (t !== undefined && t <= conflictTerm) {
        found = mid;
        left = mid + 1;
      } else {
        right = mid - 1;
      }
    }
    if (found >= 0 && termAt(found) === conflictTerm) next = found + 1;
  }
  return Math.max(floor, Math.min(next, hi + 1));
}
