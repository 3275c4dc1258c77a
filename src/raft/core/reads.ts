/**
 * ReadIndex bookkeeping on the leader (thesis §6.4). A read gets the leader's commit index as its read index, but
 * only once the leader has committed an entry of its own term (before that the commit index may lag behind what
 * earlier leaders committed). The leader then proves it is still the leader with one heartbeat round: every
 * AppendEntries carries a round number, followers echo it, and a read registered before round r was sent is
 * confirmed once a quorum of voters acknowledged round r or later.
 */
import type { NodeId } from '../types.js';

export interface PendingRead {
  /** Local request id, or null for a follower's ReadIndexRequest. */
  readonly reqId: number | null;
  /** For a follower's request: who asked and its request id. */
  readonly from: NodeId | null;
  readonly remoteId: number;
  index: number;
  round: number;
}

export class ReadIndexQueue {
  /** Registered before the leader committed an entry of its term; their index is not known yet. */
  private awaitingCommit: PendingRead[] = [];
  /** Index known, waiting to be given a heartbeat round. */
  private unassigned: PendingRead[] = [];
  /** Waiting for a quorum to acknowledge their round; in increasing round order. */
  private assigned: PendingRead[] = [];

  get size(): number {
    return this.awaitingCommit.length + this.unassigned.length + this.assigned.length;
  }

  /** Registers a read; `commit` is the read index when the leader already committed in its term, else null. */
  add(read: Omit<PendingRead, 'index' | 'round'>, commit: number | null): PendingRead {
    const pending: PendingRead = { ...read, index: commit ?? 0, round: 0 };
    if (commit === null) this.awaitingCommit.push(pending);
    else this.unassigned.push(pending);
    return pending;
  }

  /** The leader's first entry of its term committed: reads waiting for it get `commit` as their index. */
  termCommitted(commit: number): void {
    for (const r of this.awaitingCommit) {
      r.index = commit;
      this.unassigned.push(r);
    }
    this.awaitingCommit = [];
  }

  needsRound(): boolean {
    return this.unassigned.length > 0;
  }

  /** Round `round` is about to be sent: every read registered so far waits for it. */
  assignRound(round: number): void {
    for (const r of this.unassigned) {
      r.round = round;
      this.assigned.push(r);
    }
    this.unassigned = [];
  }

  /** Removes and returns the reads whose round a quorum acknowledged (`quorumRound` is the highest such round). */
  confirm(quorumRound: number): PendingRead[] {
    let k = 0;
    while (k < this.assigned.length && this.assigned[k]!.round <= quorumRound) k++;
    return k === 0 ? [] : this.assigned.splice(0, k);
  }

  /** Confirms every read immediately (a single-voter cluster, or a valid lease), assigned or not. */
  confirmAllWithIndex(): PendingRead[] {
    const out = [...this.assigned, ...this.unassigned];
    this.assigned = [];
    this.unassigned = [];
    return out;
  }

  /** Removes a local read (timed out). */
  cancel(reqId: number): void {
    const keep = (r: PendingRead): boolean => r.reqId !== reqId;
    this.awaitingCommit = this.awaitingCommit.filter(keep);
    this.unassigned = this.unassigned.filter(keep);
    this.assigned = this.assigned.filter(keep);
  }

  /** Removes and returns everything (the leader stepped down). */
  drain(): PendingRead[] {
    const out = [...this.awaitingCommit, ...this.unassigned, ...this.assigned];
    this.awaitingCommit = [];
    this.unassigned = [];
    this.assigned = [];
    return out;
  }
}

/**
 * Remembers at which tick recent heartbeat rounds were sent, so a leader can compute its lease: followers do not
 * vote for anyone else for an election timeout after hearing from it, so a quorum's acknowledgement of a round
 * sent at tick t keeps the leader's position safe until t + electionTicks (minus a safety margin for clock rate
 * differences between nodes).
 */
export class RoundClock {
  /** round -> tick; insertion order is round order, so the first key is the oldest. */
  private readonly sent = new Map<number, number>();

  constructor(private readonly keep = 256) {}

  record(round: number, tick: number): void {
    this.sent.set(round, tick);
    while (this.sent.size > this.keep) {
      const oldest = this.sent.keys().next();
      if (oldest.done === true) break;
      this.sent.delete(oldest.value);
    }
  }

  /** The tick at which `round` was sent, or undefined when it is too old to remember. */
  sentAt(round: number): number | undefined {
    return this.sent.get(round);
  }

  clear(): void {
    this.sent.clear();
  }
}
