/** Options and statistics of TcpTransport. */
import type net from 'node:net';
import type tls from 'node:tls';
import type { ClusterKitError } from '../../errors.js';
import type { Random, Scheduler } from '../../util/io.js';
import type { NodeId } from '../types.js';

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  /** Connections from nodes of another cluster are refused. */
  readonly clusterName: string;
  /** host:port others dial to reach this node; sent in the handshake. Set by `listen` when omitted. */
  readonly advertiseAddr?: string;
  readonly scheduler?: Scheduler;
  readonly random?: Random;
  /** Largest frame accepted; a larger length prefix drops the connection. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** `send` returns false once this many bytes wait for a peer. Default 4 MiB. */
  readonly highWaterMarkBytes?: number;
  /** Most bytes waiting for one peer before frames are dropped. Default 16 MiB. */
  readonly maxQueueBytes?: number;
  /** Most frames queued for a peer without a connection. Default 4096. */
  readonly maxQueueFrames?: number;
  /** First reconnect delay. Default 25 ms. */
  readonly reconnectBaseMs?: number;
  /** Longest reconnect delay. Default 2000 ms. */
  readonly reconnectMaxMs?: number;
  /** Dial (connect + handshake) or inbound handshake deadline. Default 5000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** On close, how long sockets may take to flush before being destroyed. Default 2000 ms. */
  readonly closeTimeoutMs?: number;
  /** TCP keep-alive idle time, to notice dead peers that send no FIN. Default 10 s. */
  readonly keepAliveMs?: number;
  /** How long the transport's own listener waits for a new connection's first bytes. Default 10 s. */
  readonly sniffTimeoutMs?: number;
  /**
   * Authenticates connections (a cluster secret, client certificates; src/security/raft-auth.ts). Without it, any
   * dialer that knows the cluster name is accepted.
   */
  readonly auth?: RaftAuthenticator;
  /** Dial peers over TLS with this context (this node's certificate and the CA that verifies the peer's). */
  readonly tls?: TransportTls;
  /**
   * Told about every dropped connection, refused handshake and exception thrown by a handler. The counters in
   * `stats()` record these either way; without this option, handler exceptions also go to process warnings.
   */
  readonly onError?: (err: ClusterKitError) => void;
}

export interface PeerStats {
  readonly id: NodeId;
  readonly addr: string;
  /** Which side dialled the open connection, or null when none is open. */
  readonly connection: 'outbound' | 'inbound' | null;
  readonly dialing: boolean;
  readonly queuedFrames: number;
  /** Bytes waiting: in the socket buffer when connected, else in the queue. */
  readonly pendingBytes: number;
  readonly congested: boolean;
  readonly failures: number;
}

export interface TcpTransportStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Messages dropped: queue overflow while a peer is down, buffer full, or sent after close. */
  readonly dropped: number;
  readonly dials: number;
  readonly dialFailures: number;
  /** Dials to a peer we were connected to before or whose last dial failed. */
  readonly reconnects: number;
  /** Inbound handshakes accepted. */
  readonly accepted: number;
  /** Handshakes refused by us or by the peer (other than duplicates). */
  readonly handshakeRejections: number;
  /** Simultaneous dials resolved by dropping one of the two connections. */
  readonly duplicates: number;
  /** Open connections that closed. */
  readonly disconnects: number;
  /** Connections dropped for a protocol violation (bad frame, oversize prefix, malformed handshake). */
  readonly decodeErrors: number;
  /** Well-formed messages whose `from` is not the connection's peer or whose `to` is not this node. */
  readonly misrouted: number;
  /** Exceptions thrown by the onMessage/onDrain handlers. */
  readonly handlerErrors: number;
  readonly openConnections: number;
  readonly peers: readonly PeerStats[];
}

export interface TransportTls {
  /** Read at every dial, so a reloaded certificate is used from the next connection on. */
  readonly clientContext: () => tls.SecureContext;
  /** Check that the peer's certificate names the host dialled. Default true. */
  readonly verifyHostname?: boolean;
}

/** A connection as an authenticator sees it: a key for its state, and the socket (for TLS details). */
export interface AuthConnection {
  readonly socket: net.Socket;
}

/**
 * Proof of membership on Raft connections. With a secret, the dialer sends AuthInit right after the preamble, the
 * acceptor answers AuthChallenge, and the dialer's proof travels in Hello.auth; `acceptorVerify` decides on every
 * Hello, secret or not (client certificates). Methods that throw ClusterKitError ERR_PROTOCOL drop the connection.
 */
export interface RaftAuthenticator {
  /** Whether the dialer side starts with AuthInit (a secret is configured). */
  readonly hasSecret: boolean;
  /** Dialer: the AuthInit frame (with its length prefix) to send after the preamble, or null to send Hello. */
  dialerStart(conn: AuthConnection): Buffer | null;
  /** Dialer: checks the acceptor's AuthChallenge and returns the proof to put in Hello.auth. */
  dialerProof(conn: AuthConnection, payload: Uint8Array, nodeId: string): Uint8Array;
  /** Dialer: an Ok HelloAck arrived; throws unless the acceptor proved itself first (when a secret is set). */
  checkAccepted(conn: AuthConnection): void;
  /** Acceptor: answers an AuthInit with the AuthChallenge frame (with its length prefix). */
  acceptorChallenge(conn: AuthConnection, payload: Uint8Array): Buffer;
  /** Acceptor: null to accept the Hello, else the reason to refuse it (sent to the dialer: nothing secret). */
  acceptorVerify(conn: AuthConnection, hello: { readonly nodeId: string; readonly auth: Uint8Array }): string | null;
}
