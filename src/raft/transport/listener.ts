/**
 * One port for everything. A node by default listens on a single port: connections that open with the Raft
 * preamble go to the transport, everything else to the HTTP server. The listener reads only the first bytes
 * (at most 4) to decide, then hands the socket over with those bytes put back.
 */
import net from 'node:net';
import { ClusterKitError } from '../../errors.js';
import { type Scheduler, systemScheduler } from '../../util/io.js';
import { matchPreamble } from './frame.js';

/** How long a new connection may stay silent before the listener gives up on it. */
export const DEFAULT_SNIFF_TIMEOUT_MS = 10_000;

export type SniffResult = 'raft' | 'other' | 'timeout' | 'closed';

/** Takes over a socket whose first bytes (`head`, starting with the preamble) have already been read. */
export interface RaftConnectionHandler {
  handleConnection(socket: net.Socket, head: Buffer): void;
}

/**
 * Reads from `socket` until its first bytes show whether it is a Raft connection, then calls `done` once, with
 * the socket paused and the bytes read so far. Returns a function that aborts the wait.
 */
export function sniffPreamble(
  socket: net.Socket,
  timeoutMs: number,
  scheduler: Scheduler,
  done: (result: SniffResult, head: Buffer) => void,
): () => void {
  let head: Buffer = Buffer.alloc(0);
  let finished = false;
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const m = matchPreamble(head);
    if (m !== 'partial') finish(m === 'match' ? 'raft' : 'other');
  };
  const onClose = (): void => finish('closed');
  const onError = (): void => undefined; // 'close' follows and settles the wait
  const timer = scheduler.setTimeout(() => finish('timeout'), timeoutMs);
  function finish(result: SniffResult): void {
    if (finished) return;
    finished = true;
    timer.cancel();
    socket.pause();
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
    done(result, head);
  }
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
  return () => finish('closed');
}

export interface SharedListenerOptions {
  /** Interface to bind. Omitted: all interfaces, as `net.Server.listen` does. */
  readonly host?: string;
  /** 0 picks a free port; read it back from `port`. */
  readonly port: number;
  /** Receives every connection that starts with the Raft preamble (a TcpTransport). */
  readonly raft: RaftConnectionHandler;
  /** Receives every other connection. Without it, non-Raft connections are closed. */
  readonly http?: net.Server;
  /** Silent connections are closed after this long. Default 10 s. */
  readonly sniffTimeoutMs?: number;
  readonly scheduler?: Scheduler;
}

export interface SharedListenerStats {
  readonly raftConnections: number;
  readonly httpConnections: number;
  /** Closed because they sent nothing within the sniff timeout. */
  readonly timeouts: number;
  /** Not Raft, and no HTTP server to take them. */
  readonly refused: number;
}

export class SharedListener {
  private readonly server: net.Server;
  private readonly options: SharedListenerOptions;
  private readonly sniffing = new Map<net.Socket, () => void>();
  private boundPort = 0;
  private boundHost = '';
  private counters = { raftConnections: 0, httpConnections: 0, timeouts: 0, refused: 0 };

  private constructor(options: SharedListenerOptions) {
    this.options = options;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Binds and starts accepting. Rejects with ERR_TRANSPORT if the port cannot be bound. */
  static async listen(options: SharedListenerOptions): Promise<SharedListener> {
    const listener = new SharedListener(options);
    await listener.bind();
    return listener;
  }

  /** The bound port (the real one when 0 was asked for). */
  get port(): number {
    return this.boundPort;
  }

  /** The bound address as reported by the OS. */
  get host(): string {
    return this.boundHost;
  }

  stats(): SharedListenerStats {
    return { ...this.counters };
  }

  /**
   * Stops accepting and drops connections still being sniffed. Resolves once every socket this listener accepted
   * is closed, which includes the ones handed over: close the transport and the HTTP server's connections
   * (`closeAllConnections()`) as well, in any order.
   */
  close(): Promise<void> {
    for (const abort of [...this.sniffing.values()]) abort();
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      // The close callback runs before libuv has released the listening handle (handles are released in the
      // close phase, after the check phase that runs setImmediate), so wait for the next loop iteration's check
      // phase: "closed" then really means no handle is left open.
      this.server.close(() => setImmediate(() => setImmediate(resolve)));
    });
  }

  private bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new ClusterKitError('ERR_TRANSPORT', `cannot listen on port ${this.options.port}`, { cause: err }));
      };
      this.server.once('error', onError);
      const done = (): void => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a !== null && typeof a === 'object') {
          this.boundPort = a.port;
          this.boundHost = a.address;
        }
        resolve();
      };
      if (this.options.host === undefined) this.server.listen(this.options.port, done);
      else this.server.listen(this.options.port, this.options.host, done);
    });
  }

  private accept(socket: net.Socket): void {
    const timeoutMs = this.options.sniffTimeoutMs ?? DEFAULT_SNIFF_TIMEOUT_MS;
    const scheduler = this.options.scheduler ?? systemScheduler;
    const abort = sniffPreamble(socket, timeoutMs, scheduler, (result, head) => {
      this.sniffing.delete(socket);
      this.route(socket, result, head);
    });
    // `done` never runs synchronously, so the entry is always removed by the callback above.
    this.sniffing.set(socket, abort);
  }

  private route(socket: net.Socket, result: SniffResult, head: Buffer): void {
    switch (result) {
      case 'raft':
        this.counters.raftConnections++;
        this.options.raft.handleConnection(socket, head);
        return;
      case 'other': {
        const http = this.options.http;
        if (http === undefined) {
          this.counters.refused++;
          socket.destroy();
          return;
        }
        this.counters.httpConnections++;
        // Put the sniffed bytes back so the HTTP parser sees the request from its first byte.
        socket.unshift(head);
        http.emit('connection', socket);
        socket.resume();
        return;
      }
      case 'timeout':
        this.counters.timeouts++;
        socket.destroy();
        return;
      case 'closed':
        socket.destroy();
        return;
    }
  }
}

/** Listens on one port for both Raft and HTTP. See SharedListener. */
export function listenShared(options: SharedListenerOptions): Promise<SharedListener> {
  return SharedListener.listen(options);
}
