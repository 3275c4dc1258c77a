/**
 * One TCP connection between two transports, in either direction: framing on the way in, per-tick write batching
 * on the way out, and a single place where the socket's lifecycle ends. It knows nothing about peers or
 * handshakes; TcpTransport drives it through the callbacks.
 */
import type net from 'node:net';
import { ClusterKitError } from '../../errors.js';
import type { Scheduler, TimerHandle } from '../../util/io.js';
import { FrameReader } from './frame.js';

export type ConnectionRole = 'dialer' | 'acceptor';

export interface ConnectionCallbacks {
  /** One complete frame payload. May throw ERR_PROTOCOL, which drops the connection. */
  frame(conn: Connection, payload: Buffer): void;
  /** Bytes arrived (for counters). */
  received(conn: Connection, bytes: number): void;
  /** The socket's buffer drained after a write that filled it. */
  drain(conn: Connection): void;
  /** The connection is being dropped because the peer broke the protocol. */
  protocolError(conn: Connection, err: ClusterKitError): void;
  /** The socket is fully closed. Called exactly once. */
  closed(conn: Connection): void;
}

let nextConnectionId = 1;

/** How long a closing connection waits for the peer's FIN once its own bytes and FIN are with the kernel. */
const FIN_LINGER_MS = 50;

export class Connection {
  /** For logs and tests. */
  readonly id = nextConnectionId++;
  readonly socket: net.Socket;
  readonly role: ConnectionRole;
  /** 'handshaking' until the Hello/HelloAck exchange succeeds; 'open' after; 'closed' once the socket is gone. */
  state: 'handshaking' | 'open' | 'closed' = 'handshaking';
  /** The remote node's id and incarnation, known once the handshake succeeds (a dialer knows the id earlier). */
  peerId = '';
  peerIncarnation = -1;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private readonly reader: FrameReader;
  private readonly callbacks: ConnectionCallbacks;
  private readonly scheduler: Scheduler;
  private corked = false;
  private deadline: TimerHandle | null = null;
  private resolveClosed!: () => void;

  constructor(
    socket: net.Socket,
    role: ConnectionRole,
    maxFrameBytes: number,
    scheduler: Scheduler,
    callbacks: ConnectionCallbacks,
  ) {
    this.socket = socket;
    this.role = role;
    this.reader = new FrameReader(maxFrameBytes);
    this.scheduler = scheduler;
    this.callbacks = callbacks;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('drain', () => this.callbacks.drain(this));
    // Errors (ECONNRESET, ECONNREFUSED, EPIPE) always end in 'close'; the close handler does the bookkeeping.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  /** Passes received bytes through the framer. Also used for bytes read ahead by a port-sharing listener. */
  feed(chunk: Buffer): void {
    if (this.state === 'closed' || chunk.length === 0) return;
    this.callbacks.received(this, chunk.length);
    try {
      this.reader.push(chunk, (payload) => this.callbacks.frame(this, payload));
    } catch (err) {
      const e =
        err instanceof ClusterKitError && err.code === 'ERR_PROTOCOL'
          ? err
          : new ClusterKitError('ERR_INTERNAL', 'frame handler failed', { cause: err });
      this.callbacks.protocolError(this, e);
      this.destroy();
    }
  }

  /** Changes the largest frame accepted from now on (a frame being assembled is checked against the old one). */
  setMaxFrameBytes(n: number): void {
    this.reader.maxFrameBytes = n;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** True when the socket buffer is over its own mark, so a 'drain' event is guaranteed to follow. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /**
   * Queues bytes. Writes made in the same tick leave in one writev (cork now, uncork on the next tick), so a
   * burst of small messages costs one syscall instead of one each.
   */
  write(bytes: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(bytes);
  }

  /** Hands the bytes batched so far in this tick to the kernel now (see TcpTransport.flush). */
  flush(): void {
    if (this.corked) this.uncork();
  }

  /** @internal */
  uncork(): void {
    // The nextTick scheduled by write() may find the socket already flushed; uncorking it again would be harmless
    // for Node but would undo a later cork made in the same tick, so only a corked connection is uncorked.
    if (!this.corked) return;
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  }

  /** Destroys the connection unless it is open (handshake finished) within `ms`. */
  setDeadline(ms: number, onExpire: () => void): void {
    this.clearDeadline();
    this.deadline = this.scheduler.setTimeout(() => {
      this.deadline = null;
      if (this.state === 'handshaking') {
        onExpire();
        this.destroy();
      }
    }, ms);
  }

  clearDeadline(): void {
    this.deadline?.cancel();
    this.deadline = null;
  }

  /**
   * Graceful close: flushes what was written and sends FIN. Once every byte and the FIN are with the kernel
   * ('finish'), the kernel delivers them whether or not the descriptor stays open (the socket keeps reading, so no
   * unread input turns the close into a reset), so the peer's FIN is only awaited for FIN_LINGER_MS: a peer that is
   * alive but frozen (SIGSTOP, a stalled VM) never sends one, and stopping a node must not wait for it. `graceMs`
   * bounds the case where even our own bytes cannot leave (the peer stopped reading and the buffers are full).
   */
  end(graceMs: number): void {
    if (this.state === 'closed') return;
    this.reader.stop();
    if (this.corked) this.uncork();
    this.destroyAfter(graceMs);
    this.socket.once('finish', () => {
      if (this.state !== 'closed') this.destroyAfter(Math.min(graceMs, FIN_LINGER_MS));
    });
    this.socket.end();
  }

  private destroyAfter(ms: number): void {
    this.clearDeadline();
    this.deadline = this.scheduler.setTimeout(() => {
      this.deadline = null;
      this.destroy();
    }, ms);
  }

  destroy(): void {
    this.reader.stop();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearDeadline();
    this.reader.stop();
    this.callbacks.closed(this);
    this.resolveClosed();
  }
}

function uncork(conn: Connection): void {
  conn.uncork();
}
