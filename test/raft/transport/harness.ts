/** Test harness for the TCP transport: nodes on 127.0.0.1 with ephemeral ports, inboxes, raw peers. */
import net from 'node:net';
import { encodeHello, type Hello } from '../../../src/raft/transport/codec/handshake.js';
import { FrameReader, RAFT_PREAMBLE } from '../../../src/raft/transport/frame.js';
import { TcpTransport, type TcpTransportOptions } from '../../../src/raft/transport/tcp.js';
import type { Message } from '../../../src/raft/types.js';
import { type Scheduler, seededRandom, systemScheduler, type TimerHandle } from '../../../src/util/io.js';

export const CLUSTER = 'test-cluster';

/** A Scheduler that counts timers still pending, to prove a closed transport leaves none behind. */
export class TrackingScheduler implements Scheduler {
  pending = 0;
  setTimeout(fn: () => void, ms: number): TimerHandle {
    let live = true;
    this.pending++;
    const settle = (): boolean => {
      if (!live) return false;
      live = false;
      this.pending--;
      return true;
    };
    const h = systemScheduler.setTimeout(() => {
      if (settle()) fn();
    }, ms);
    return {
      cancel: () => {
        if (settle()) h.cancel();
      },
    };
  }
}

/** Resolves when `cond()` holds, checking after every macrotask turn; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export class TestNode {
  readonly inbox: Message[] = [];
  readonly drains: string[] = [];
  readonly errors: Error[] = [];
  readonly scheduler = new TrackingScheduler();
  transport!: TcpTransport;
  port = 0;

  constructor(
    readonly id: string,
    private readonly extra: Partial<TcpTransportOptions> = {},
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Creates the transport and listens on `port` (0 = ephemeral). */
  async start(port = 0): Promise<this> {
    this.transport = this.create();
    this.port = await this.transport.listen({ host: '127.0.0.1', port });
    return this;
  }

  /** A transport not listening on its own port (for the shared listener). */
  create(): TcpTransport {
    const t = new TcpTransport({
      nodeId: this.id,
      clusterName: CLUSTER,
      scheduler: this.scheduler,
      random: seededRandom(this.id.length * 7919 + this.id.charCodeAt(0)),
      reconnectBaseMs: 10,
      reconnectMaxMs: 100,
      closeTimeoutMs: 500,
      onError: (e) => this.errors.push(e),
      ...this.extra,
    });
    t.onMessage((m) => this.inbox.push(m));
    t.onDrain((p) => this.drains.push(p));
    this.transport = t;
    return t;
  }

  received(pred: (m: Message) => boolean): number {
    return this.inbox.filter(pred).length;
  }
}

/** A hand-driven peer speaking raw bytes, for hostile and edge-case input. */
export class RawPeer {
  readonly frames: Buffer[] = [];
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  isClosed = false;
  /** Set when the bytes received were not frames. */
  readError: unknown;

  /** `skip`: bytes to discard before the first frame (the preamble, when acting as a server). */
  private constructor(socket: net.Socket, skip = 0) {
    this.socket = socket;
    let toSkip = skip;
    socket.on('data', (c: Buffer) => {
      const n = Math.min(toSkip, c.length);
      toSkip -= n;
      try {
        this.reader.push(c.subarray(n), (p) => this.frames.push(Buffer.from(p)));
      } catch (err) {
        this.readError = err;
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Wraps an accepted socket (RawPeer acting as a server): the dialer's preamble is skipped. */
  static wrap(socket: net.Socket): RawPeer {
    return new RawPeer(socket, RAFT_PREAMBLE.length);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  hello(overrides: Partial<Hello> = {}): void {
    const h: Hello = {
      minVersion: 1,
      maxVersion: 1,
      clusterName: CLUSTER,
      nodeId: 'raw',
      addr: '127.0.0.1:1',
      expectedPeerId: '',
      incarnation: 1,
      auth: new Uint8Array(0),
      ...overrides,
    };
    this.write(Buffer.concat([RAFT_PREAMBLE, encodeHello(h, 1)]));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Lets handles closed by earlier code finish closing (libuv releases them in its close phase). */
export async function settleHandles(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** Counts this process's open TCP handles (sockets and servers). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}
