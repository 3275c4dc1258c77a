/**
 * The node's bounded log of recent cluster events, for the HTTP API (`GET /events`, `GET /events/stream`) and the
 * dashboard. It records exactly what the hooks receive (the public events of every applied command, then the
 * node's own health changes), in the same order, as plain JSON-ready entries numbered by a per-process sequence.
 *
 * Two budgets, one sequence: a command that moves hundreds of partitions emits hundreds of partition events, and
 * applications may write custom data all day; were they in the same ring they would push the rare, interesting
 * events (joins, leaves, rebalances, health changes) out within seconds. So those detail events get their own
 * ring, and a reader sees both merged in sequence order. `truncated` tells a reader that something after its
 * cursor was evicted (it should re-read the cluster state rather than trust the event stream to be complete).
 *
 * Subscribers are called synchronously from the apply path: they must only queue work (the SSE handler writes to a
 * socket buffer). A subscriber that throws is dropped and reported through `onError`, never allowed to disturb
 * the node.
 */
import type { ClusterEventEntry, EventFeed, EventPage, EventSubscriber } from '../http/api.js';
import type { PublicEvent } from './events.js';
import type { ClusterHealthEvent } from './health.js';

/** Event types recorded in the detail ring. */
export const DETAIL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'partitionChange',
  'partitionPromote',
  'partitionDrop',
  'customDataChange',
]);

export const DEFAULT_MAJOR_CAPACITY = 500;
export const DEFAULT_DETAIL_CAPACITY = 2000;

export interface EventLogOptions {
  /** Identifies this log; a fresh one per process (cursors of another log mean nothing here). */
  readonly logId: string;
  /** Membership, rebalance and health events kept. Default 500. */
  readonly majorCapacity?: number;
  /** Partition-level and custom data events kept. Default 2000. */
  readonly detailCapacity?: number;
  /** A subscriber threw (it has been dropped). */
  readonly onError?: (err: unknown) => void;
}

/** A fixed-capacity ring of entries in increasing seq order. */
class Ring {
  readonly #buf: ClusterEventEntry[] = [];
  #start = 0;
  /** The largest seq evicted so far (0: none). */
  evictedSeq = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#buf.length;
  }

  at(i: number): ClusterEventEntry {
    return this.#buf[(this.#start + i) % this.#buf.length]!;
  }

  push(e: ClusterEventEntry): void {
    if (this.#buf.length < this.capacity) {
      this.#buf.push(e);
      return;
    }
    this.evictedSeq = this.#buf[this.#start]!.seq;
    this.#buf[this.#start] = e;
    this.#start = (this.#start + 1) % this.capacity;
  }

  /** Index of the first entry with seq > `after` (size when none). */
  firstAfter(after: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function isNodeRecord(v: unknown): v is { readonly id: string } {
  return typeof v === 'object' && v !== null && 'id' in v && 'incarnation' in v && 'httpAddr' in v;
}

/** A node record becomes its id; arrays of records become arrays of ids; everything else is copied. */
function plain(v: unknown): unknown {
  if (isNodeRecord(v)) return v.id;
  if (Array.isArray(v)) return Object.freeze(v.map(plain));
  return v;
}

/** The entry for an event as the hooks receive it. */
export function toEntry(seq: number, event: PublicEvent | ClusterHealthEvent): ClusterEventEntry {
  const data: Record<string, unknown> = {};
  let index: number | undefined;
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type' || key === 'timestamp') continue;
    if (key === 'index' && typeof value === 'number') {
      index = value;
      continue;
    }
    data[key] = plain(value);
  }
  return Object.freeze({ seq, type: event.type, at: event.timestamp, index, data: Object.freeze(data) });
}

export class EventLog implements EventFeed {
  readonly logId: string;
  readonly #major: Ring;
  readonly #detail: Ring;
  readonly #subscribers = new Set<EventSubscriber>();
  readonly #onError: (err: unknown) => void;
  #seq = 0;
  #closed = false;

  constructor(options: EventLogOptions) {
    const major = options.majorCapacity ?? DEFAULT_MAJOR_CAPACITY;
    const detail = options.detailCapacity ?? DEFAULT_DETAIL_CAPACITY;
    if (!Number.isInteger(major) || major < 1 || !Number.isInteger(detail) || detail < 1) {
      throw new RangeError('event log capacities must be positive integers');
    }
    this.logId = options.logId;
    this.#major = new Ring(major);
    this.#detail = new Ring(detail);
    this.#onError = options.onError ?? (() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /** Records an event (ignored once closed) and hands it to every subscriber. */
  record(event: PublicEvent | ClusterHealthEvent): void {
    if (this.#closed) return;
    const entry = toEntry(++this.#seq, event);
    (DETAIL_EVENT_TYPES.has(entry.type) ? this.#detail : this.#major).push(entry);
    for (const s of this.#subscribers) {
      try {
        s.event(entry);
      } catch (err) {
        this.#subscribers.delete(s);
        this.#onError(err);
      }
    }
  }

  read(after: number | undefined, limit: number, types?: ReadonlySet<string>): EventPage {
    const want = Math.max(0, Math.floor(limit));
    const keep = (e: ClusterEventEntry): boolean => types === undefined || types.has(e.type);
    const out: ClusterEventEntry[] = [];
    if (after === undefined) {
      // The newest `want`, merged from both rings walking backwards.
      let i = this.#major.size - 1;
      let j = this.#detail.size - 1;
      while (out.length < want && (i >= 0 || j >= 0)) {
        const a = i >= 0 ? this.#major.at(i) : undefined;
        const b = j >= 0 ? this.#detail.at(j) : undefined;
        const takeA = b === undefined || (a !== undefined && a.seq > b.seq);
        const e = takeA ? a! : b;
        if (takeA) i--;
        else j--;
        if (keep(e)) out.push(e);
      }
      out.reverse();
      return { logId: this.logId, events: out, lastSeq: this.#seq, truncated: false };
    }
    let i = this.#major.firstAfter(after);
    let j = this.#detail.firstAfter(after);
    while (out.length < want && (i < this.#major.size || j < this.#detail.size)) {
      const a = i < this.#major.size ? this.#major.at(i) : undefined;
      const b = j < this.#detail.size ? this.#detail.at(j) : undefined;
      const takeA = b === undefined || (a !== undefined && a.seq < b.seq);
      const e = takeA ? a! : b;
      if (takeA) i++;
      else j++;
      if (keep(e)) out.push(e);
    }
    const truncated = Math.max(this.#major.evictedSeq, this.#detail.evictedSeq) > after;
    return { logId: this.logId, events: out, lastSeq: this.#seq, truncated };
  }

  subscribe(subscriber: EventSubscriber): () => void {
    if (this.#closed) {
      subscriber.close();
      return () => undefined;
    }
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** Number of current subscribers. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** No more events: every subscriber is told (the SSE streams end, so stopping the server is not held up). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const subs = [...this.#subscribers];
    this.#subscribers.clear();
    for (const s of subs) {
      try {
        s.close();
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
