/**
 * What a leader knows about each follower, and the flow control it applies (etcd's design): in `probe` state the
 * leader does not know where the follower's log matches and sends one AppendEntries at a time; in `replicate`
 * state it pipelines optimistically, bounded by in-flight messages and bytes; in `snapshot` state it streams a
 * snapshot chunk by chunk and sends no entries.
 */
import type { NodeId, Snapshot } from '../types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The unacknowledged AppendEntries to one follower: their last index and byte size, oldest first. */
export class Inflights {
  private items: { last: number; bytes: number }[] = [];
  private bytesHeld = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  full(): boolean {
    return this.items.length >= this.maxCount || this.bytesHeld >= this.maxBytes;
  }

  add(last: number, bytes: number): void {
    this.items.push({ last, bytes });
    this.bytesHeld += bytes;
  }

  /** Everything up to `index` was acknowledged. */
  freeTo(index: number): void {
    let k = 0;
    while (k < this.items.length && this.items[k]!.last <= index) {
      this.bytesHeld -= this.items[k]!.bytes;
      k++;
    }
    if (k > 0) this.items.splice(0, k);
  }

  reset(): void {
    this.items = [];
    this.bytesHeld = 0;
  }
}

/** A snapshot being streamed to one follower. */
export interface SnapshotSend {
  readonly snapshot: Snapshot;
  /** Bytes the follower confirmed it has. */
  acked: number;
  /** Offset of the chunk sent last, and when (tick). */
  sentOffset: number;
  sentTick: number;
}

/** A removed follower that is still being told about its removal. */
export interface Departure {
  /** Index of the first configuration entry without it. */
  readonly configIndex: number;
  /** Tick the removal was appended. */
  readonly since: number;
  /** Heartbeat round current when the follower was first sent that the removal committed; null until then. */
  toldRound: number | null;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries is outstanding; cleared by any response and every heartbeat interval. */
  probeSent = false;
  readonly inflight: Inflights;
  /** Tick of the last message received from this follower in the current term, or -1. */
  lastResponseTick = -1;
  /** Heard from since the last check-quorum pass. */
  recentActive = false;
  /** Highest heartbeat round it acknowledged (ReadIndex, leases). */
  ackedRound = 0;
  /** Tick when match last advanced or replication (re)started: detects pipelines stalled by lost messages. */
  progressTick: number;
  /** The transport reported the link as congested: no new AppendEntries until it drains. */
  congested = false;
  snapshot: SnapshotSend | null = null;
  /** Tick at which to try sending a snapshot again after the follower refused one. */
  snapshotRetryTick = 0;
  /**
   * The highest commit index this follower could take from an AppendEntries we sent it: a follower caps the
   * leader's commit at the last index the message vouches for, so this is min(commit, prevIndex + entries).
   */
  sentCommit = 0;
  /**
   * Set once a configuration that no longer lists this follower was appended: the leader keeps replicating to it
   * until it has been told that this configuration committed (see replication.ts, settleDeparture).
   */
  departing: Departure | null = null;

  constructor(
    readonly id: NodeId,
    next: number,
    maxInflight: number,
    maxInflightBytes: number,
    now: number,
  ) {
    this.next = next;
    this.inflight = new Inflights(maxInflight, maxInflightBytes);
    this.progressTick = now;
  }

  /** Back to probing from `next` (never below match + 1). */
  becomeProbe(next: number, now: number): void {
    this.state = 'probe';
    this.next = Math.max(this.match + 1, next);
    this.snapshot = null;
    this.probeSent = false;
    this.inflight.reset();
    this.progressTick = now;
  }

  becomeReplicate(now: number): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.snapshot = null;
    this.probeSent = false;
    this.inflight.reset();
    this.progressTick = now;
  }

  becomeSnapshot(snapshot: Snapshot, now: number): void {
    this.state = 'snapshot';
    this.snapshot = { snapshot, acked: 0, sentOffset: -1, sentTick: now };
    this.probeSent = false;
    this.inflight.reset();
    this.progressTick = now;
  }

  /** A success acknowledged everything up to `index`. Returns whether match advanced. */
  maybeUpdate(index: number, now: number): boolean {
    let advanced = false;
    if (index > this.match) {
      this.match = index;
      this.progressTick = now;
      advanced = true;
    }
    if (this.next < index + 1) this.next = index + 1;
    this.inflight.freeTo(index);
    return advanced;
  }

  /**
   * etcd's CanBumpCommit: the follower's log holds entries up to `match` that it does not yet know are committed,
   * so an (empty) AppendEntries now lets it apply them without waiting for the next heartbeat.
   */
  canBumpCommit(committed: number): boolean {
    return this.sentCommit < Math.min(committed, this.match);
  }

  /** May the leader send this follower new entries now? */
  canSendEntries(): boolean {
    if (this.congested) return false;
    switch (this.state) {
      case 'probe':
        return !this.probeSent;
      case 'replicate':
        return !this.inflight.full();
      case 'snapshot':
        return false;
    }
  }
}
