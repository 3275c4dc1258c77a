/**
 * The driver's table of client requests in flight: their promises, deadlines, what each one waits for (an index
 * to be applied with a given term, or the applied index to reach a read index), and latency histograms. Pure
 * bookkeeping: time comes in as arguments.
 */
import { ClusterKitError, type NotLeaderError, TimeoutError } from '../../errors.js';
import { MinHeap } from './heap.js';
import { LatencyHistogram } from './histogram.js';

export type RequestKind = 'propose' | 'read' | 'membership' | 'transfer';

interface Pending<R> {
  readonly kind: RequestKind;
  readonly startedAt: number;
  readonly deadline: number;
  readonly resolve: (value: R | undefined) => void;
  readonly reject: (error: Error) => void;
  /** Proposed while this node was not the leader: its answer may come after the entry was applied here. */
  readonly forwarded: boolean;
}

/** Results of recently applied commands kept while forwarded proposals are outstanding (see appended()). */
const RECENT_RESULTS = 65_536;

export class PendingRequests<R> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<R>>();
  private readonly deadlines = new MinHeap<{ at: number; reqId: number }>((d) => d.at);
  /** index -> requests waiting for that index to be applied with that term. */
  private readonly applyWaits = new Map<number, { reqId: number; term: number }[]>();
  private readonly readWaits = new MinHeap<{ index: number; reqId: number }>((w) => w.index);
  private forwardedOutstanding = 0;
  private readonly recent = new Map<number, { term: number; ok: boolean; value: unknown }>();
  readonly proposeLatency = new LatencyHistogram();
  readonly readLatency = new LatencyHistogram();
  proposalsFailed = 0;

  constructor(private readonly notLeader: () => NotLeaderError) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request; returns its id and the promise the caller gets. */
  add<T>(
    kind: RequestKind,
    now: number,
    timeoutMs: number,
    forwarded: boolean,
  ): { reqId: number; promise: Promise<T> } {
    const reqId = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      if (forwarded) this.forwardedOutstanding++;
      this.pending.set(reqId, {
        kind,
        startedAt: now,
        deadline: now + timeoutMs,
        resolve: resolve as (value: R | undefined) => void,
        reject,
        forwarded,
      });
    });
    this.deadlines.push({ at: now + timeoutMs, reqId });
    if (this.deadlines.size > 2 * this.pending.size + 1024) {
      // Deadlines of settled requests are left behind (removing from a heap is costly); rebuild now and then so
      // a busy node does not hold a timeout's worth of them.
      this.deadlines.drain();
      for (const [id, p] of this.pending) this.deadlines.push({ at: p.deadline, reqId: id });
    }
    return { reqId, promise };
  }

  /** Rejects every request whose deadline passed; `cancel` tells the core to forget each. */
  expire(now: number, cancel: (reqId: number) => void): void {
    for (let d = this.deadlines.peek(); d !== undefined && d.at <= now; d = this.deadlines.peek()) {
      this.deadlines.pop();
      const p = this.pending.get(d.reqId);
      if (p === undefined) continue;
      cancel(d.reqId);
      this.fail(d.reqId, new TimeoutError(`${p.kind} timed out after ${Math.round(now - p.startedAt)} ms`));
    }
  }

  /** The request's entry is in the log at (index, term); `applied` is this node's applied index. */
  appended(reqId: number, index: number, term: number, applied: number, now: number): void {
    if (!this.pending.has(reqId)) return;
    if (index > applied) {
      const waits = this.applyWaits.get(index);
      if (waits === undefined) this.applyWaits.set(index, [{ reqId, term }]);
      else waits.push({ reqId, term });
      return;
    }
    // A forwarded proposal whose answer arrived after this node had already applied the entry.
    const r = this.recent.get(index);
    if (r !== undefined) this.settleApplied(reqId, term, r.term, r.ok, r.value, now);
    else this.fail(reqId, new TimeoutError(`the outcome of the proposal at index ${index} is unknown here`));
  }

  /** A read may complete once `index` is applied. */
  readAt(reqId: number, index: number, applied: number, now: number): void {
    if (!this.pending.has(reqId)) return;
    if (applied >= index) this.succeed(reqId, undefined, now);
    else this.readWaits.push({ index, reqId });
  }

  /** This node applied the entry (index, term); for a command, `ok`/`value` is the state machine's outcome. */
  applied(index: number, term: number, command: boolean, ok: boolean, value: unknown, now: number): void {
    if (command && this.forwardedOutstanding > 0) {
      this.recent.set(index, { term, ok, value });
      if (this.recent.size > RECENT_RESULTS) {
        const oldest = this.recent.keys().next();
        if (oldest.done !== true) this.recent.delete(oldest.value);
      }
    }
    const waits = this.applyWaits.get(index);
    if (waits !== undefined) {
      this.applyWaits.delete(index);
      for (const w of waits) this.settleApplied(w.reqId, w.term, term, ok, value, now);
    }
  }

  /** Everything up to `applied` is applied: completes the reads waiting for it. */
  appliedTo(applied: number, now: number): void {
    if (this.forwardedOutstanding === 0 && this.recent.size > 0) this.recent.clear();
    for (let w = this.readWaits.peek(); w !== undefined && w.index <= applied; w = this.readWaits.peek()) {
      this.readWaits.pop();
      this.succeed(w.reqId, undefined, now);
    }
  }

  /** A snapshot replaced the state at `index`: requests waiting for an entry it covers cannot learn their result. */
  restored(index: number, now: number): void {
    for (const [i, waits] of [...this.applyWaits]) {
      if (i > index) continue;
      this.applyWaits.delete(i);
      for (const w of waits) {
        const p = this.pending.get(w.reqId);
        if (p === undefined) continue;
        this.fail(
          w.reqId,
          new TimeoutError(`the outcome of the ${p.kind} is unknown: a snapshot replaced the log at ${index}`),
        );
      }
    }
    this.appliedTo(index, now);
  }

  succeed(reqId: number, value: R | undefined, now: number): void {
    const p = this.pending.get(reqId);
    if (p === undefined) return;
    this.finish(reqId, p);
    if (p.kind === 'propose') this.proposeLatency.record(now - p.startedAt);
    else if (p.kind === 'read') this.readLatency.record(now - p.startedAt);
    p.resolve(value);
  }

  fail(reqId: number, error: Error): void {
    const p = this.pending.get(reqId);
    if (p === undefined) return;
    this.finish(reqId, p);
    if (p.kind === 'propose') this.proposalsFailed++;
    p.reject(error);
  }

  failAll(error: Error): void {
    for (const reqId of [...this.pending.keys()]) this.fail(reqId, error);
  }

  private settleApplied(reqId: number, wanted: number, actual: number, ok: boolean, value: unknown, now: number): void {
    if (wanted !== actual) {
      // Another leader's entry took that index: ours was never committed.
      this.fail(reqId, this.notLeader());
    } else if (ok) {
      this.succeed(reqId, value as R, now);
    } else {
      const error =
        value instanceof Error
          ? value
          : new ClusterKitError('ERR_INTERNAL', `the state machine failed to apply the command: ${String(value)}`);
      this.fail(reqId, error);
    }
  }

  private finish(reqId: number, p: Pending<R>): void {
    this.pending.delete(reqId);
    if (p.forwarded) this.forwardedOutstanding--;
    // Waits of settled requests are skipped lazily; when nothing is pending, drop them all.
    if (this.pending.size === 0) {
      this.applyWaits.clear();
      this.readWaits.drain();
      this.deadlines.drain();
    }
  }
}
