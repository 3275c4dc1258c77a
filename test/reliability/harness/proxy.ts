/**
 * Network faults without touching the product: every node advertises the address of a proxy the harness owns
 * (ClusterKit's `advertiseAddr`), so every peer connection to node X goes through X's proxy.
 *
 * A Raft connection opens with the preamble and a Hello frame naming the dialing node (src/raft/transport/
 * codec/handshake.ts), so the proxy knows both ends of every Raft link. After the handshake it forwards whole
 * frames and drops those whose direction is cut (`LinkRules`): frames from the dialer are messages dialer → X,
 * frames from X are messages X → dialer (one connection carries both directions). Dropping whole frames keeps the
 * stream well-formed, so a cut looks to Raft like a network losing every message one way, while the TCP
 * connection stays up, as in a real partition. Handshake frames always pass (a connection's life is not a
 * message), which is what makes one-way cuts possible on a two-way connection.
 *
 * Anything else (HTTP: joins, redirects) is passed through untouched: the proxy cannot tell who sent it.
 */
import net from 'node:net';
import { decodeHello, HELLO_ACK_TYPE, HELLO_TYPE } from '../../../src/raft/transport/codec/handshake.js';
import { matchPreamble, RAFT_PREAMBLE } from '../../../src/raft/transport/frame.js';

/** Which directed links are cut. `a>b` cut: messages from a to b are lost. */
export class LinkRules {
  readonly #cut = new Set<string>();

  allows(from: string, to: string): boolean {
    return !this.#cut.has(`${from}>${to}`);
  }

  /** Cuts messages from `from` to `to` (one way). */
  cutOneWay(from: string, to: string): void {
    this.#cut.add(`${from}>${to}`);
  }

  cut(a: string, b: string): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Cuts every link between the two groups, both ways. */
  split(left: readonly string[], right: readonly string[]): void {
    for (const a of left) for (const b of right) this.cut(a, b);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** The cut links, sorted ("a>b"). */
  list(): string[] {
    return [...this.#cut].sort();
  }
}

export interface ProxyStats {
  raftConnections: number;
  httpConnections: number;
  framesForwarded: number;
  framesDropped: number;
}

/** Largest frame the proxy accepts (the transport's own default cap). */
const MAX_FRAME = 64 * 1024 * 1024;
/** A connection that has not sent its first bytes within this long is closed. */
const SNIFF_TIMEOUT_MS = 10_000;

export class NodeProxy {
  readonly stats: ProxyStats = { raftConnections: 0, httpConnections: 0, framesForwarded: 0, framesDropped: 0 };
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #port = 0;

  /**
   * @param nodeId the node behind this proxy
   * @param upstreamPort where that node listens now (read at every new connection: a restart may move it)
   */
  constructor(
    readonly nodeId: string,
    private readonly rules: LinkRules,
    private readonly upstreamPort: () => number,
  ) {
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        const a = this.#server.address();
        this.#port = typeof a === 'object' && a !== null ? a.port : 0;
        resolve(this.#port);
      });
    });
  }

  /** Drops every open connection (both ends see a reset), as a crash of the network path would. */
  resetConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  close(): Promise<void> {
    this.resetConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #register(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined); // 'close' follows; the pair is torn down there
  }

  #accept(client: net.Socket): void {
    this.#register(client);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => client.destroy(), SNIFF_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const m = matchPreamble(head);
      if (m === 'partial') return;
      if (m === 'mismatch') {
        done();
        this.stats.httpConnections++;
        this.#pipe(client, head);
        return;
      }
      // Raft: wait for the whole Hello frame to learn who is dialing.
      const p = RAFT_PREAMBLE.length;
      if (head.length < p + 4) return;
      const len = head.readUInt32BE(p);
      if (len < 2 || len > MAX_FRAME) {
        done();
        client.destroy();
        return;
      }
      if (head.length < p + 4 + len) return;
      done();
      let from: string;
      try {
        from = decodeHello(head.subarray(p + 4, p + 4 + len)).nodeId;
      } catch {
        client.destroy();
        return;
      }
      this.stats.raftConnections++;
      this.#relayRaft(client, from, head.subarray(0, p + 4 + len), head.subarray(p + 4 + len));
    };
    const done = (): void => {
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
    };
    client.on('data', onData);
    client.once('close', () => clearTimeout(timer));
  }

  #connectUpstream(client: net.Socket): net.Socket {
    const upstream = net.connect({ host: '127.0.0.1', port: this.upstreamPort(), noDelay: true });
    this.#register(upstream);
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', teardown);
    upstream.once('close', teardown);
    return upstream;
  }

  /** Plain bidirectional relay (HTTP). */
  #pipe(client: net.Socket, head: Buffer): void {
    const upstream = this.#connectUpstream(client);
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  #relayRaft(client: net.Socket, from: string, hello: Buffer, rest: Buffer): void {
    const to = this.nodeId;
    const upstream = this.#connectUpstream(client);
    upstream.write(hello);
    const inbound = new FrameFilter((frame) => this.#pass(frame, from, to));
    const outbound = new FrameFilter((frame) => this.#pass(frame, to, from));
    relay(client, upstream, inbound);
    relay(upstream, client, outbound);
    if (rest.length > 0) writeOut(client, upstream, inbound.push(rest));
    client.resume();
  }

  #pass(frame: Buffer, from: string, to: string): boolean {
    const type = frame[4 + 1];
    if (type === HELLO_TYPE || type === HELLO_ACK_TYPE || this.rules.allows(from, to)) {
      this.stats.framesForwarded++;
      return true;
    }
    this.stats.framesDropped++;
    return false;
  }
}

/** Forwards `src` → `dst` through `filter`, with back-pressure. */
function relay(src: net.Socket, dst: net.Socket, filter: FrameFilter): void {
  src.on('data', (chunk: Buffer) => {
    let out: Buffer[];
    try {
      out = filter.push(chunk);
    } catch {
      src.destroy();
      return;
    }
    writeOut(src, dst, out);
  });
}

function writeOut(src: net.Socket, dst: net.Socket, frames: readonly Buffer[]): void {
  let ok = true;
  for (const f of frames) ok = dst.write(f) && ok;
  if (!ok) {
    src.pause();
    dst.once('drain', () => src.resume());
  }
}

/** Splits a byte stream into whole frames (length prefix included) and keeps those `keep` accepts. */
export class FrameFilter {
  #buf: Buffer = Buffer.alloc(0);

  constructor(private readonly keep: (frame: Buffer) => boolean) {}

  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    while (this.#buf.length - off >= 4) {
      const len = this.#buf.readUInt32BE(off);
      if (len < 2 || len > MAX_FRAME) throw new Error(`bad frame length ${len}`);
      if (this.#buf.length - off < 4 + len) break;
      const frame = this.#buf.subarray(off, off + 4 + len);
      if (this.keep(frame)) out.push(frame);
      off += 4 + len;
    }
    this.#buf = off === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(off);
    return out;
  }
}
