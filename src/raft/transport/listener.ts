/**
 * One port for everything. A node by default listens on a single port: connections that open with the Raft
 * preamble go to the transport, everything else to the HTTP server. The listener reads only the first bytes
 * (at most 4) to decide, then hands the socket over with those bytes put back.
 *
 * With TLS (the `tls` option), the port speaks TLS only: a connection must open with a TLS record, the TLS server
 * terminates it, and the same decision is made on the first decrypted bytes. Plaintext Raft is dropped, plaintext
 * HTTP gets a 400 that says to use https. Limits: connections in total, HTTP connections, and connections still
 * pending (TLS handshake or first bytes not done), so a flood of idle connections cannot crowd out the others.
 */
import net from 'node:net';
import type tls from 'node:tls';
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
  /**
   * Terminates TLS: a `tls.Server` that never listens itself (src/security/tls.ts makes one; its handshake timeout
   * applies). One per listener: the listener handles its 'secureConnection' and 'tlsClientError' events.
   */
  readonly tls?: tls.Server;
  /** Most open connections of any kind (net.Server.maxConnections); more are closed at once. Default: no limit. */
  readonly maxConnections?: number;
  /** Most open HTTP connections; more are closed at once. Default: no limit. */
  readonly maxHttpConnections?: number;
  /** Most connections whose TLS handshake or first bytes are pending; more are closed at once. Default: no limit. */
  readonly maxPendingConnections?: number;
  /** Told about failed TLS handshakes (bad or missing client certificates, timeouts, garbage). */
  readonly onError?: (err: Error) => void;
}

export interface SharedListenerStats {
  readonly raftConnections: number;
  readonly httpConnections: number;
  /** Closed because they sent nothing within the sniff timeout. */
  readonly timeouts: number;
  /** Not Raft, and no HTTP server to take them. */
  readonly refused: number;
  /** Plaintext connections refused because the port speaks TLS only. */
  readonly plaintextRefused: number;
  /** TLS handshakes that failed or timed out. */
  readonly tlsFailures: number;
  /** Closed at once because a connection limit was reached. */
  readonly overLimit: number;
}

/** What a plaintext HTTP client gets from a TLS-only port. */
const TLS_ONLY_REPLY = (() => {
  const body = `${JSON.stringify({ error: { code: 'ERR_INVALID_ARGUMENT', message: 'this port speaks TLS only: use https://' } })}\n`;
  return (
    'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
})();

/** First byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

/** A TCP connection's key, the same for a raw socket and the TLS socket over it. */
function connectionKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

export class SharedListener {
  private readonly server: net.Server;
  private readonly options: SharedListenerOptions;
  private readonly sniffing = new Map<net.Socket, () => void>();
  private boundPort = 0;
  private boundHost = '';
  private counters = {
    raftConnections: 0,
    httpConnections: 0,
    timeouts: 0,
    refused: 0,
    plaintextRefused: 0,
    tlsFailures: 0,
    overLimit: 0,
  };
  /** Raw sockets handed to the TLS server whose handshake has not finished, by connectionKey. */
  private readonly tlsPending = new Map<string, net.Socket>();
  private httpOpen = 0;

  private constructor(options: SharedListenerOptions) {
    this.options = options;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (options.maxConnections !== undefined) this.server.maxConnections = options.maxConnections;
    this.server.on('drop', () => this.counters.overLimit++);
    options.tls?.on('secureConnection', (socket: tls.TLSSocket) => {
      this.tlsPending.delete(connectionKey(socket));
      this.sniff(socket, true);
    });
    options.tls?.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      this.counters.tlsFailures++;
      this.tlsPending.delete(connectionKey(socket));
      socket.destroy();
      this.options.onError?.(err);
    });
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
    for (const socket of this.tlsPending.values()) socket.destroy();
    this.tlsPending.clear();
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
    const max = this.options.maxPendingConnections;
    if (max !== undefined && this.sniffing.size + this.tlsPending.size >= max) {
      this.counters.overLimit++;
      socket.destroy();
      return;
    }
    this.sniff(socket, false);
  }

  /** `secure`: a TLS socket whose handshake is done (its first bytes are decrypted ones). */
  private sniff(socket: net.Socket, secure: boolean): void {
    const timeoutMs = this.options.sniffTimeoutMs ?? DEFAULT_SNIFF_TIMEOUT_MS;
    const scheduler = this.options.scheduler ?? systemScheduler;
    const abort = sniffPreamble(socket, timeoutMs, scheduler, (result, head) => {
      this.sniffing.delete(socket);
      this.route(socket, result, head, secure);
    });
    // `done` never runs synchronously, so the entry is always removed by the callback above.
    this.sniffing.set(socket, abort);
  }

  private route(socket: net.Socket, result: SniffResult, head: Buffer, secure: boolean): void {
    const tlsOnly = this.options.tls !== undefined && !secure;
    switch (result) {
      case 'raft':
        if (tlsOnly) {
          this.counters.plaintextRefused++;
          socket.destroy();
          return;
        }
        this.counters.raftConnections++;
        this.options.raft.handleConnection(socket, head);
        return;
      case 'other': {
        if (tlsOnly) {
          if (head[0] === TLS_HANDSHAKE) this.startTls(socket, head);
          else this.refusePlaintext(socket);
          return;
        }
        const http = this.options.http;
        if (http === undefined) {
          this.counters.refused++;
          socket.destroy();
          return;
        }
        const max = this.options.maxHttpConnections;
        if (max !== undefined && this.httpOpen >= max) {
          this.counters.overLimit++;
          socket.destroy();
          return;
        }
        this.httpOpen++;
        socket.once('close', () => this.httpOpen--);
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

  private startTls(socket: net.Socket, head: Buffer): void {
    const key = connectionKey(socket);
    this.tlsPending.set(key, socket);
    socket.once('close', () => {
      if (this.tlsPending.get(key) === socket) this.tlsPending.delete(key);
    });
    // The TLS socket reads what the sniff read ahead before reading the handle.
    socket.unshift(head);
    this.options.tls!.emit('connection', socket);
  }

  private refusePlaintext(socket: net.Socket): void {
    this.counters.plaintextRefused++;
    socket.on('error', () => undefined);
    const scheduler = this.options.scheduler ?? systemScheduler;
    const fallback = scheduler.setTimeout(() => socket.destroy(), 1000);
    socket.end(TLS_ONLY_REPLY, () => {
      fallback.cancel();
      socket.destroy();
    });
  }
}

/** Listens on one port for both Raft and HTTP. See SharedListener. */
export function listenShared(options: SharedListenerOptions): Promise<SharedListener> {
  return SharedListener.listen(options);
}
