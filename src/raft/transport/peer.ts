/**
 * What a transport knows about one remote node: its address, the connection in use, a dial in progress, the
 * reconnect back-off, and the frames waiting for a connection.
 */
import type { TimerHandle } from '../../util/io.js';
import type { NodeId } from '../types.js';
import type { Connection } from './connection.js';

/**
 * Frames queued while a peer has no open connection, bounded by count and bytes. When full, the OLDEST frame is
 * dropped: Raft re-sends whatever matters (the next heartbeat or append carries newer state), and after an outage
 * the newest messages are the useful ones, whereas old votes and appends have usually been superseded.
 */
export class FrameQueue {
  private items: Buffer[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Adds a frame; returns how many frames were dropped to make room (possibly this one, if it alone is too big). */
  push(frame: Buffer): number {
    if (frame.length > this.maxBytes) return 1;
    let dropped = 0;
    while (this.length >= this.maxFrames || this.totalBytes + frame.length > this.maxBytes) {
      this.shift();
      dropped++;
    }
    this.items.push(frame);
    this.totalBytes += frame.length;
    return dropped;
  }

  /** Removes and returns every queued frame, oldest first. */
  takeAll(): Buffer[] {
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.totalBytes = 0;
    return out;
  }

  /** Drops everything; returns how many frames were dropped. */
  clear(): number {
    const n = this.length;
    this.takeAll();
    return n;
  }

  private shift(): void {
    const frame = this.items[this.head];
    if (frame === undefined) return;
    this.items[this.head] = EMPTY;
    this.head++;
    this.totalBytes -= frame.length;
    // Compact once the dead prefix dominates, so pushes stay amortised O(1).
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

export class Peer {
  readonly id: NodeId;
  addr: string;
  /** The connection messages go out on (either direction), once its handshake has succeeded. */
  conn: Connection | null = null;
  /** Our own dial in progress (connected or not, but not yet acknowledged). */
  dialing: Connection | null = null;
  /** Pending reconnect back-off. While set, no dial is started. */
  retry: TimerHandle | null = null;
  /**
   * Consecutive failures since the peer last sent us a valid message or dialled us, or since its address
   * changed: drives the back-off.
   */
  attempt = 0;
  /** `send` returned false and `onDrain` has not fired yet. */
  congested = false;
  /** A connection to this peer has been open before (so the next dial is a reconnect). */
  everConnected = false;
  /** `send` has been called for this peer (as opposed to a peer known only from its inbound handshake). */
  sentTo = false;
  readonly queue: FrameQueue;

  constructor(id: NodeId, addr: string, queue: FrameQueue) {
    this.id = id;
    this.addr = addr;
    this.queue = queue;
  }
}
