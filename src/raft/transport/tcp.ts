/**
 * TcpTransport: Raft messages between nodes over TCP, one long-lived connection per pair of nodes carrying
 * traffic both ways.
 *
 * Connection life:
 * - `send` to a peer with no connection queues the frame and dials the address lazily. The dialer writes the
 *   preamble and a Hello (protocol versions, cluster name, node id, address, the id it expects to reach, its
 *   incarnation, and a proof of membership); the acceptor checks it and answers HelloAck. Frames queued
 *   meanwhile go out once the ack arrives. Either side then uses the connection for everything it sends to the
 *   other, whoever dialled. With an `auth` option holding a cluster secret, an AuthInit/AuthChallenge exchange
 *   comes first (src/security/raft-auth.ts); with `tls`, dials are TLS. Before the handshake is done, frames are
 *   limited to 128 KiB.
 * - When both sides dial at once, the connection dialled by the LOWER node id (plain string comparison) is kept:
 *   an acceptor with a lower id than the dialer refuses the dial (status Duplicate) while its own dial to that
 *   peer is in flight or while an open connection from the same incarnation exists; an acceptor with a higher
 *   id always accepts and drops its own dial. A peer that dials again although we hold a connection to it has
 *   lost that connection (or restarted, which the new incarnation shows), so the new connection replaces it.
 * - A lost connection or failed dial is retried after an exponential back-off with equal jitter
 *   (base·2^(n-1), capped, times a random factor in [0.5, 1)), using the injected Scheduler and Random. The
 *   failure count resets when the peer sends a valid message, and when it is evidently back: it dials us (its
 *   Hello passed every check; the connection it opens is used at once, and our pending retry is cancelled).
 *   A new address for the peer (passed to `send`: it restarted elsewhere, or its membership was updated) starts
 *   over too: the failures at the old address say nothing about the new one, so a waiting retry or a dial still
 *   in flight to the old address is dropped and the new address is dialled at once. Without this, a back-off
 *   grown while a peer was down (up to reconnectMaxMs) delayed the first contact with its new process by as
 *   much.
 * - Back-pressure: `send` returns false when the bytes waiting for a peer (socket buffer, or the queue while no
 *   connection is open) reach `highWaterMarkBytes`; `onDrain(peerId)` fires when they fall back. While a peer
 *   has no connection, at most `maxQueueFrames` frames and `maxQueueBytes` bytes wait; beyond that the OLDEST
 *   are dropped and counted (see FrameQueue). On an open connection whose buffer already holds `maxQueueBytes`,
 *   new frames are dropped and counted.
 * - Protocol violations (oversize length prefix, undecodable frame, unknown type, bad handshake) drop that one
 *   connection and count it; the transport keeps serving everyone else.
 */
import type net from 'node:net';
import { ClusterKitError, InvalidArgumentError } from '../../errors.js';
import { type Random, type Scheduler, systemRandom, systemScheduler } from '../../util/io.js';
import type { Message, NodeId, Transport } from '../types.js';
import {
  decodeHello,
  decodeHelloAck,
  encodeHello,
  encodeHelloAck,
  type Hello,
  HelloStatus,
  isAuthFrame,
} from './codec/handshake.js';
import {
  decodeMessage,
  encodeFrame,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
} from './codec/index.js';
import { Connection, type ConnectionCallbacks, type ConnectionRole } from './connection.js';
import { dialTcp, dialTls, parseAddr } from './dial.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_MESSAGE_TERM, matchPreamble, RAFT_PREAMBLE } from './frame.js';
import { type RaftConnectionHandler, SharedListener } from './listener.js';
import type { PeerStats, RaftAuthenticator, TcpTransportOptions, TcpTransportStats, TransportTls } from './options.js';
import { FrameQueue, Peer } from './peer.js';

export type { PeerStats, TcpTransportOptions, TcpTransportStats } from './options.js';

/** Largest frame accepted before a connection's handshake is done: a Hello with long strings and auth fits. */
const HANDSHAKE_MAX_FRAME_BYTES = 128 * 1024;

type Counters = { -readonly [K in Exclude<keyof TcpTransportStats, 'peers' | 'openConnections'>]: number };

const NO_AUTH = new Uint8Array(0);

export class TcpTransport implements Transport, RaftConnectionHandler {
  readonly nodeId: NodeId;
  readonly clusterName: string;
  /**
   * Random per start (drawn from the injected Random, so give each process its own seed): lets peers tell a
   * restarted node from a duplicate dial.
   */
  readonly incarnation: number;

  private advertise: string;
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly maxFrameBytes: number;
  private readonly hwm: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueFrames: number;
  private readonly reconnectBaseMs: number;
  private readonly reconnectMaxMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly keepAliveMs: number;
  private readonly sniffTimeoutMs: number;
  private readonly onErrorHook: ((err: ClusterKitError) => void) | undefined;
  private readonly auth: RaftAuthenticator | undefined;
  private readonly tls: TransportTls | undefined;

  private readonly peers = new Map<NodeId, Peer>();
  private readonly connections = new Set<Connection>();
  private messageHandler: ((msg: Message) => void) | null = null;
  private drainHandler: ((peerId: NodeId) => void) | null = null;
  private listener: SharedListener | null = null;
  private closing: Promise<void> | null = null;
  private readonly counters: Counters = {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    dropped: 0,
    dials: 0,
    dialFailures: 0,
    reconnects: 0,
    accepted: 0,
    handshakeRejections: 0,
    duplicates: 0,
    disconnects: 0,
    decodeErrors: 0,
    misrouted: 0,
    handlerErrors: 0,
  };
  private readonly callbacks: ConnectionCallbacks;

  constructor(options: TcpTransportOptions) {
    if (typeof options.nodeId !== 'string' || options.nodeId === '') {
      throw new InvalidArgumentError('nodeId must be a non-empty string');
    }
    this.nodeId = options.nodeId;
    this.clusterName = options.clusterName;
    this.advertise = options.advertiseAddr ?? '';
    this.scheduler = options.scheduler ?? systemScheduler;
    this.random = options.random ?? systemRandom;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
    this.hwm = positive('highWaterMarkBytes', options.highWaterMarkBytes, 4 * 1024 * 1024);
    this.maxQueueBytes = positive('maxQueueBytes', options.maxQueueBytes, 16 * 1024 * 1024);
    this.maxQueueFrames = positive('maxQueueFrames', options.maxQueueFrames, 4096);
    this.reconnectBaseMs = positive('reconnectBaseMs', options.reconnectBaseMs, 25);
    this.reconnectMaxMs = positive('reconnectMaxMs', options.reconnectMaxMs, 2000);
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', options.handshakeTimeoutMs, 5000);
    this.closeTimeoutMs = positive('closeTimeoutMs', options.closeTimeoutMs, 2000);
    this.keepAliveMs = positive('keepAliveMs', options.keepAliveMs, 10_000);
    this.sniffTimeoutMs = positive('sniffTimeoutMs', options.sniffTimeoutMs, 10_000);
    this.onErrorHook = options.onError;
    this.auth = options.auth;
    this.tls = options.tls;
    this.incarnation = Math.floor(this.random.next() * 2 ** 48);
    // Validates the strings once, up front, instead of failing on the first dial.
    encodeHello(this.hello(''), PROTOCOL_VERSION);
    this.callbacks = {
      frame: (conn, payload) => this.onFrame(conn, payload),
      received: (_conn, bytes) => {
        this.counters.bytesReceived += bytes;
      },
      drain: (conn) => this.onSocketDrain(conn),
      protocolError: (conn, err) => {
        this.counters.decodeErrors++;
        this.report(err, conn);
      },
      closed: (conn) => this.onClosed(conn),
    };
  }

  /** The address sent in handshakes. */
  get advertiseAddr(): string {
    return this.advertise;
  }

  /** Changes the address sent in later handshakes. Throws InvalidArgumentError if it cannot be encoded. */
  setAdvertiseAddr(addr: string): void {
    const previous = this.advertise;
    this.advertise = addr;
    try {
      encodeHello(this.hello(''), PROTOCOL_VERSION);
    } catch (err) {
      this.advertise = previous;
      throw err;
    }
  }

  /**
   * Listens on a port of its own for Raft only (use SharedListener to share a port with HTTP). Resolves with the
   * bound port; sets the advertised address from it if none was given.
   */
  async listen(options: { readonly host?: string; readonly port?: number } = {}): Promise<number> {
    if (this.listener !== null || this.closing !== null) {
      throw new InvalidArgumentError('the transport is already listening or closed');
    }
    const host = options.host ?? '127.0.0.1';
    this.listener = await SharedListener.listen({
      host,
      port: options.port ?? 0,
      raft: this,
      sniffTimeoutMs: this.sniffTimeoutMs,
      scheduler: this.scheduler,
    });
    if (this.advertise === '')
      this.advertise = host.includes(':') ? `[${host}]:${this.listener.port}` : `${host}:${this.listener.port}`;
    return this.listener.port;
  }

  onMessage(handler: (msg: Message) => void): void {
    this.messageHandler = handler;
  }

  onDrain(handler: (peerId: NodeId) => void): void {
    this.drainHandler = handler;
  }

  /**
   * Queues `msg` for `msg.to`, dialling `addr` if there is no connection yet. Returns false while the link is
   * congested (the message is still queued or written unless a limit drops it; see the file comment). Network
   * trouble never throws; a message that cannot be encoded at all (a negative term, an over-long id) throws
   * InvalidArgumentError, since that is a bug in the caller. A message to this node itself is delivered
   * asynchronously without a socket.
   */
  send(addr: string, msg: Message): boolean {
    if (this.closing !== null) {
      this.counters.dropped++;
      return false;
    }
    if (msg.to === this.nodeId) {
      // Loopback: no socket, but still asynchronous, as a network delivery would be.
      queueMicrotask(() => this.deliver(msg));
      return true;
    }
    const frame = encodeFrame(msg);
    const peer = this.peerFor(msg.to, addr);
    if (peer.addr !== addr) this.readdress(peer, addr);
    peer.sentTo = true;
    const conn = peer.conn;
    if (conn !== null) {
      if (conn.bufferedBytes + frame.length > this.maxQueueBytes) {
        this.counters.dropped++;
        peer.congested = true;
        return false;
      }
      this.writeFrame(conn, frame);
      if (!peer.congested && this.isCongested(conn)) peer.congested = true;
      return !peer.congested;
    }
    this.counters.dropped += peer.queue.push(frame);
    if (peer.dialing === null && peer.retry === null) this.dial(peer);
    if (peer.queue.bytes >= this.hwm) peer.congested = true;
    return !peer.congested;
  }

  /**
   * Writes what `send` batched in this tick to the sockets now rather than on the next tick. The engine calls it
   * before a synchronous fsync, which would otherwise run before the batched writev (microtasks run before
   * process.nextTick), putting the follower's fsync in series with the leader's.
   */
  flush(): void {
    for (const conn of this.connections) conn.flush();
  }

  /** Takes over an accepted socket whose first bytes (`head`, starting with the preamble) were already read. */
  handleConnection(socket: net.Socket, head: Buffer): void {
    if (this.closing !== null || matchPreamble(head) !== 'match') {
      socket.destroy();
      return;
    }
    const conn = this.track(socket, 'acceptor');
    socket.setKeepAlive(true, this.keepAliveMs);
    conn.setDeadline(this.handshakeTimeoutMs, () =>
      this.report(new ClusterKitError('ERR_TIMEOUT', 'inbound connection sent no handshake in time'), conn),
    );
    conn.feed(head.subarray(RAFT_PREAMBLE.length));
    socket.resume();
  }

  stats(): TcpTransportStats {
    const peers: PeerStats[] = [];
    for (const p of this.peers.values()) {
      peers.push({
        id: p.id,
        addr: p.addr,
        connection: p.conn === null ? null : p.conn.role === 'dialer' ? 'outbound' : 'inbound',
        dialing: p.dialing !== null,
        queuedFrames: p.queue.length,
        pendingBytes: p.conn === null ? p.queue.bytes : p.conn.bufferedBytes,
        congested: p.congested,
        failures: p.attempt,
      });
    }
    return { ...this.counters, openConnections: this.connections.size, peers };
  }

  /**
   * Stops everything: no more dials or accepts, back-off timers cancelled, queued frames dropped. Open connections
   * flush what was already written (so a last message such as TimeoutNow still leaves) and close; stragglers are
   * destroyed after `closeTimeoutMs`. Resolves when every socket and the listener are closed.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    for (const peer of this.peers.values()) {
      peer.retry?.cancel();
      peer.retry = null;
      peer.queue.clear();
    }
    const conns = [...this.connections];
    for (const c of conns) {
      if (c.state === 'open') c.end(this.closeTimeoutMs);
      else c.destroy();
    }
    const listenerClosed = this.listener?.close() ?? Promise.resolve();
    this.closing = Promise.all([...conns.map((c) => c.closed), listenerClosed]).then(() => undefined);
    return this.closing;
  }

  // --- dialling --------------------------------------------------------------------------------------------------

  private dial(peer: Peer): void {
    this.counters.dials++;
    if (peer.everConnected || peer.attempt > 0) this.counters.reconnects++;
    const target = parseAddr(peer.addr);
    if (target === null) {
      this.report(new ClusterKitError('ERR_TRANSPORT', `cannot dial ${peer.id}: "${peer.addr}" is not host:port`));
      this.dialFailed(peer);
      return;
    }
    const socket = this.tls === undefined ? dialTcp(target) : dialTls(target, this.tls);
    const conn = this.track(socket, 'dialer');
    conn.peerId = peer.id;
    peer.dialing = conn;
    conn.setDeadline(this.handshakeTimeoutMs, () =>
      this.report(new ClusterKitError('ERR_TIMEOUT', `no handshake from ${peer.id} at ${peer.addr} in time`), conn),
    );
    if (this.tls !== undefined) {
      socket.once('error', (err: Error) =>
        this.report(new ClusterKitError('ERR_TRANSPORT', `TLS: ${err.message}`), conn),
      );
    }
    socket.once(this.tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.setKeepAlive(true, this.keepAliveMs);
      // With a cluster secret, Hello waits for the acceptor's challenge (see RaftAuthenticator).
      const first = this.auth?.dialerStart(conn) ?? encodeHello(this.hello(peer.id), PROTOCOL_VERSION);
      this.writeRaw(conn, Buffer.concat([RAFT_PREAMBLE, first]));
    });
  }

  /**
   * The peer is known to be up again (its new process asked to join, say): forget the back-off and, if frames
   * wait for it, dial now instead of when the retry timer fires (up to reconnectMaxMs later).
   */
  reconnect(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (peer === undefined || this.closing !== null) return;
    peer.attempt = 0;
    if (peer.conn !== null || peer.dialing !== null || peer.retry === null) return;
    peer.retry.cancel();
    peer.retry = null;
    this.dial(peer);
  }

  /**
   * The peer has a new address: forget the back-off earned at the old one, and drop a dial still in flight
   * there (on a real network a dial to a vanished host can hang until the handshake timeout). The caller dials
   * the new address at once if frames are waiting. An open connection stays: it reaches the peer, wherever it
   * was dialled.
   */
  private readdress(peer: Peer, addr: string): void {
    peer.addr = addr;
    peer.attempt = 0;
    if (peer.conn !== null) return;
    peer.retry?.cancel();
    peer.retry = null;
    const stale = peer.dialing;
    if (stale !== null) {
      peer.dialing = null; // so that its close is not counted as a failure at the new address
      stale.destroy();
    }
  }

  private hello(expectedPeerId: string, auth: Uint8Array = NO_AUTH): Hello {
    return {
      minVersion: MIN_PROTOCOL_VERSION,
      maxVersion: MAX_PROTOCOL_VERSION,
      clusterName: this.clusterName,
      nodeId: this.nodeId,
      addr: this.advertise,
      expectedPeerId,
      incarnation: this.incarnation,
      auth,
    };
  }

  private dialFailed(peer: Peer): void {
    this.counters.dialFailures++;
    peer.attempt++;
    this.scheduleRetry(peer);
  }

  private scheduleRetry(peer: Peer): void {
    if (this.closing !== null || peer.retry !== null) return;
    const ceiling = Math.min(this.reconnectMaxMs, this.reconnectBaseMs * 2 ** Math.min(peer.attempt - 1, 30));
    const delay = ceiling / 2 + (this.random.next() * ceiling) / 2;
    peer.retry = this.scheduler.setTimeout(() => {
      peer.retry = null;
      if (this.closing === null && peer.conn === null && peer.dialing === null && peer.queue.length > 0) {
        this.dial(peer);
      }
    }, delay);
  }

  // --- handshake -------------------------------------------------------------------------------------------------

  private onFrame(conn: Connection, payload: Buffer): void {
    if (conn.state === 'open') {
      this.onMessageFrame(conn, payload);
    } else if (conn.role === 'acceptor') {
      if (isAuthFrame(payload)) this.onAuthInit(conn, payload);
      else this.onHello(conn, decodeHello(payload));
    } else if (this.auth !== undefined && isAuthFrame(payload)) {
      // The acceptor proved it knows the secret: prove it back inside the Hello.
      const proof = this.auth.dialerProof(conn, payload, this.nodeId);
      this.writeRaw(conn, encodeHello(this.hello(conn.peerId, proof), PROTOCOL_VERSION));
    } else {
      this.onHelloAck(conn, decodeHelloAck(payload));
    }
  }

  private onAuthInit(conn: Connection, payload: Buffer): void {
    if (this.auth?.hasSecret === true) {
      this.writeRaw(conn, this.auth.acceptorChallenge(conn, payload));
      return;
    }
    this.counters.handshakeRejections++;
    this.report(new ClusterKitError('ERR_TRANSPORT', 'refused a dialer that expects a cluster secret'), conn);
    const reason = 'this node has no cluster secret';
    this.writeRaw(conn, encodeHelloAck(this.ack(HelloStatus.AuthFailed, 0, reason), PROTOCOL_VERSION));
    conn.end(this.closeTimeoutMs);
  }

  private onHello(conn: Connection, h: Hello): void {
    const refuse = (status: HelloStatus, reason: string): void => {
      if (status === HelloStatus.Duplicate) this.counters.duplicates++;
      else {
        this.counters.handshakeRejections++;
        this.report(new ClusterKitError('ERR_TRANSPORT', `refused a connection from "${h.nodeId}": ${reason}`), conn);
      }
      this.writeRaw(conn, encodeHelloAck(this.ack(status, 0, reason), PROTOCOL_VERSION));
      conn.end(this.closeTimeoutMs);
    };
    const version = Math.min(h.maxVersion, MAX_PROTOCOL_VERSION);
    if (this.closing !== null) return refuse(HelloStatus.ShuttingDown, 'shutting down');
    if (version < Math.max(h.minVersion, MIN_PROTOCOL_VERSION)) {
      return refuse(
        HelloStatus.VersionUnsupported,
        `supported versions are ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
      );
    }
    if (h.clusterName !== this.clusterName) {
      return refuse(HelloStatus.ClusterMismatch, `this node belongs to cluster "${this.clusterName}"`);
    }
    if (h.nodeId === '' || h.nodeId === this.nodeId) return refuse(HelloStatus.WrongNode, 'the dialer claims our id');
    if (h.expectedPeerId !== '' && h.expectedPeerId !== this.nodeId) {
      return refuse(HelloStatus.WrongNode, `this is node "${this.nodeId}", not "${h.expectedPeerId}"`);
    }
    const denied = this.auth?.acceptorVerify(conn, h) ?? null;
    if (denied !== null) return refuse(HelloStatus.AuthFailed, denied);
    const peer = this.peerFor(h.nodeId, h.addr);
    // It dialled us, so it is up: whatever it failed before, our next dial to it needs no back-off.
    peer.attempt = 0;
    if (h.nodeId > this.nodeId) {
      // Our own dial is the one to keep, unless the peer has restarted or lost the connection we hold.
      if (peer.dialing !== null) return refuse(HelloStatus.Duplicate, 'both sides dialled; keeping ours');
      if (peer.conn !== null && peer.conn.peerIncarnation === h.incarnation) {
        return refuse(HelloStatus.Duplicate, 'a connection is already open');
      }
    }
    conn.peerId = h.nodeId;
    conn.peerIncarnation = h.incarnation;
    conn.state = 'open';
    conn.clearDeadline();
    this.writeRaw(conn, encodeHelloAck(this.ack(HelloStatus.Ok, version, ''), PROTOCOL_VERSION));
    this.counters.accepted++;
    const ours = peer.dialing;
    if (ours !== null) {
      peer.dialing = null;
      this.counters.duplicates++;
      ours.destroy();
    }
    this.establish(peer, conn);
  }

  private ack(status: HelloStatus, version: number, reason: string) {
    return { status, version, nodeId: this.nodeId, incarnation: this.incarnation, reason, auth: NO_AUTH };
  }

  private onHelloAck(conn: Connection, payload: ReturnType<typeof decodeHelloAck>): void {
    const peer = this.peers.get(conn.peerId);
    if (peer === undefined || peer.dialing !== conn) {
      conn.destroy();
      return;
    }
    if (payload.status !== HelloStatus.Ok) {
      if (payload.status === HelloStatus.Duplicate) this.counters.duplicates++;
      else {
        this.counters.handshakeRejections++;
        const why = `${HelloStatus[payload.status] ?? payload.status}: ${payload.reason}`;
        this.report(new ClusterKitError('ERR_TRANSPORT', `${peer.id} at ${peer.addr} refused us (${why})`), conn);
      }
      conn.destroy();
      return;
    }
    if (payload.nodeId !== peer.id) {
      throw new ClusterKitError(
        'ERR_PROTOCOL',
        `expected node "${peer.id}" at ${peer.addr}, found "${payload.nodeId}"`,
      );
    }
    if (payload.version < MIN_PROTOCOL_VERSION || payload.version > MAX_PROTOCOL_VERSION) {
      throw new ClusterKitError('ERR_PROTOCOL', `peer chose unsupported protocol version ${payload.version}`);
    }
    this.auth?.checkAccepted(conn);
    conn.peerIncarnation = payload.incarnation;
    conn.state = 'open';
    conn.clearDeadline();
    peer.dialing = null;
    this.establish(peer, conn);
  }

  /** Makes `conn` the peer's connection, replacing any older one, and flushes what was queued. */
  private establish(peer: Peer, conn: Connection): void {
    conn.setMaxFrameBytes(this.maxFrameBytes);
    const old = peer.conn;
    peer.conn = conn;
    peer.everConnected = true;
    peer.retry?.cancel();
    peer.retry = null;
    if (old !== null && old !== conn) old.end(this.closeTimeoutMs);
    for (const frame of peer.queue.takeAll()) this.writeFrame(conn, frame);
    this.checkDrain(peer, conn);
  }

  // --- traffic ---------------------------------------------------------------------------------------------------

  private onMessageFrame(conn: Connection, payload: Buffer): void {
    const msg = decodeMessage(payload);
    this.counters.framesReceived++;
    if (msg.term > MAX_MESSAGE_TERM) {
      throw new ClusterKitError('ERR_PROTOCOL', `term ${msg.term} is beyond the largest accepted, ${MAX_MESSAGE_TERM}`);
    }
    if (msg.from !== conn.peerId || msg.to !== this.nodeId) {
      this.counters.misrouted++;
      return;
    }
    const peer = this.peers.get(conn.peerId);
    if (peer !== undefined && peer.conn === conn) peer.attempt = 0;
    this.deliver(msg);
  }

  private deliver(msg: Message): void {
    const handler = this.messageHandler;
    if (handler === null || this.closing !== null) return;
    try {
      handler(msg);
    } catch (err) {
      this.handlerFailed('onMessage', err);
    }
  }

  private writeFrame(conn: Connection, frame: Buffer): void {
    this.counters.framesSent++;
    this.writeRaw(conn, frame);
  }

  private writeRaw(conn: Connection, bytes: Buffer): void {
    this.counters.bytesSent += bytes.length;
    conn.write(bytes);
  }

  /**
   * Over the mark, and the socket itself has signalled it is full, which guarantees a later 'drain' event (a
   * mark below the socket's own, 16 KiB by default, therefore acts as the socket's).
   */
  private isCongested(conn: Connection): boolean {
    return conn.bufferedBytes >= this.hwm && conn.needsDrain;
  }

  private onSocketDrain(conn: Connection): void {
    const peer = this.peers.get(conn.peerId);
    if (peer !== undefined && peer.conn === conn) this.checkDrain(peer, conn);
  }

  private checkDrain(peer: Peer, conn: Connection | null): void {
    if (!peer.congested) return;
    if (conn !== null ? this.isCongested(conn) : peer.queue.bytes >= this.hwm) return;
    peer.congested = false;
    const handler = this.drainHandler;
    if (handler === null) return;
    try {
      handler(peer.id);
    } catch (err) {
      this.handlerFailed('onDrain', err);
    }
  }

  // --- bookkeeping -----------------------------------------------------------------------------------------------

  private track(socket: net.Socket, role: ConnectionRole): Connection {
    // Until the handshake is done the peer is unknown: it may not make us buffer a large frame.
    const limit = Math.min(this.maxFrameBytes, HANDSHAKE_MAX_FRAME_BYTES);
    const conn = new Connection(socket, role, limit, this.scheduler, this.callbacks);
    this.connections.add(conn);
    return conn;
  }

  private onClosed(conn: Connection): void {
    this.connections.delete(conn);
    const peer = conn.peerId === '' ? undefined : this.peers.get(conn.peerId);
    if (peer === undefined) return;
    if (peer.dialing === conn) {
      peer.dialing = null;
      if (this.closing === null) this.dialFailed(peer);
      return;
    }
    if (peer.conn !== conn) return;
    peer.conn = null;
    this.counters.disconnects++;
    if (this.closing !== null) return;
    if (!peer.sentTo) {
      // Known only from its own dial and never sent to: forget it, so that handshakes with made-up ids cannot
      // grow the peer table without bound.
      this.peers.delete(peer.id);
      return;
    }
    peer.attempt++;
    this.checkDrain(peer, null);
    this.scheduleRetry(peer);
  }

  private peerFor(id: NodeId, addr: string): Peer {
    let peer = this.peers.get(id);
    if (peer === undefined) {
      peer = new Peer(id, addr, new FrameQueue(this.maxQueueFrames, this.maxQueueBytes));
      this.peers.set(id, peer);
    }
    return peer;
  }

  private report(err: ClusterKitError, conn?: Connection): void {
    if (this.onErrorHook === undefined) return;
    const where =
      conn === undefined ? '' : ` [${conn.role} connection ${conn.id}${conn.peerId ? ` to ${conn.peerId}` : ''}]`;
    this.onErrorHook(where === '' ? err : new ClusterKitError(err.code, `${err.message}${where}`, { cause: err }));
  }

  private handlerFailed(which: string, err: unknown): void {
    this.counters.handlerErrors++;
    const e = new ClusterKitError('ERR_INTERNAL', `the ${which} handler threw`, { cause: err });
    if (this.onErrorHook !== undefined) this.onErrorHook(e);
    else process.emitWarning(e);
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return value;
}
