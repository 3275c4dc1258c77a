/**
 * The two control frames that open a connection. The dialer sends Hello right after the 4-byte preamble (after
 * the AuthInit/AuthChallenge exchange when the cluster has a secret); the acceptor answers with HelloAck and, when
 * it refuses, closes the connection. Both use the same frame layout as messages ([u8 version][u8 type][body])
 * with type numbers outside the message range.
 *
 *   Hello    = u8 minVersion, u8 maxVersion, str cluster, str nodeId, str addr, str expectedPeerId,
 *              u64 incarnation, bytes auth
 *   HelloAck = u8 status, u8 version, str nodeId, u64 incarnation, str reason, bytes auth
 *
 * `incarnation` is a random number a transport picks once at start: a peer that dials with a new incarnation
 * has restarted, so any connection we still hold to it is dead even if TCP has not noticed yet.
 */
import { MAX_STRING_BYTES } from './common.js';
import { protocolError, Reader } from './reader.js';
import { stringSize, Writer } from './writer.js';

/** Frame type numbers of the control frames (message types are 1..11). */
export const HELLO_TYPE = 0x41;
export const HELLO_ACK_TYPE = 0x42;
/**
 * Authentication frames exchanged before Hello when the cluster has a secret (see src/security/raft-auth.ts):
 * the dialer's AuthInit (its nonce) and the acceptor's AuthChallenge (its nonce and proof).
 */
export const AUTH_INIT_TYPE = 0x43;
export const AUTH_CHALLENGE_TYPE = 0x44;

/** Whether a frame payload is one of the authentication frames. */
export function isAuthFrame(payload: Uint8Array): boolean {
  return payload.length >= 2 && (payload[1] === AUTH_INIT_TYPE || payload[1] === AUTH_CHALLENGE_TYPE);
}

/** Largest authentication payload either side may send. */
export const MAX_AUTH_BYTES = 64 * 1024;

export interface Hello {
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly clusterName: string;
  readonly nodeId: string;
  /** Where the sender can be dialled (informational: the engine's configuration is authoritative). */
  readonly addr: string;
  /** The node id the dialer expects to reach at this address; empty when unknown. */
  readonly expectedPeerId: string;
  readonly incarnation: number;
  /**
   * The dialer's proof of membership: with a cluster secret, an HMAC over both sides' nonces from the
   * AuthInit/AuthChallenge exchange that precedes this Hello (src/security/raft-auth.ts); empty otherwise. The
   * acceptor checks it (TcpTransport's `auth` option) and refuses with HelloStatus.AuthFailed.
   */
  readonly auth: Uint8Array;
}

export enum HelloStatus {
  Ok = 0,
  /** Both sides dialled; the other connection is kept (see TcpTransport for the rule). */
  Duplicate = 1,
  ClusterMismatch = 2,
  VersionUnsupported = 3,
  /** The acceptor is not the node the dialer expected (or the dialer claims the acceptor's own id). */
  WrongNode = 4,
  AuthFailed = 5,
  ShuttingDown = 6,
}

const STATUSES: readonly HelloStatus[] = [
  HelloStatus.Ok,
  HelloStatus.Duplicate,
  HelloStatus.ClusterMismatch,
  HelloStatus.VersionUnsupported,
  HelloStatus.WrongNode,
  HelloStatus.AuthFailed,
  HelloStatus.ShuttingDown,
];

export interface HelloAck {
  readonly status: HelloStatus;
  /** The protocol version both sides use from now on (when status is Ok). */
  readonly version: number;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly reason: string;
  /** Unused, empty (the acceptor proves itself in AuthChallenge, before the Hello). */
  readonly auth: Uint8Array;
}

/** Encodes a control frame including its u32 length prefix. */
function frame(version: number, type: number, bodySize: number, write: (w: Writer) => void): Buffer {
  const buf = Buffer.allocUnsafe(4 + 2 + bodySize);
  buf.writeUInt32BE(2 + bodySize, 0);
  const w = new Writer(buf, 4);
  w.u8(version);
  w.u8(type);
  write(w);
  w.finish('control frame');
  return buf;
}

export function encodeHello(h: Hello, frameVersion: number): Buffer {
  const size =
    2 +
    stringSize(h.clusterName) +
    stringSize(h.nodeId) +
    stringSize(h.addr) +
    stringSize(h.expectedPeerId) +
    8 +
    4 +
    h.auth.byteLength;
  return frame(frameVersion, HELLO_TYPE, size, (w) => {
    w.u8(h.minVersion);
    w.u8(h.maxVersion);
    w.string(h.clusterName, MAX_STRING_BYTES, 'cluster name');
    w.string(h.nodeId, MAX_STRING_BYTES, 'node id');
    w.string(h.addr, MAX_STRING_BYTES, 'addr');
    w.string(h.expectedPeerId, MAX_STRING_BYTES, 'expected peer id');
    w.u64(h.incarnation, 'incarnation');
    w.bytes(h.auth, MAX_AUTH_BYTES, 'auth');
  });
}

export function encodeHelloAck(a: HelloAck, frameVersion: number): Buffer {
  const size = 2 + stringSize(a.nodeId) + 8 + stringSize(a.reason) + 4 + a.auth.byteLength;
  return frame(frameVersion, HELLO_ACK_TYPE, size, (w) => {
    w.u8(a.status);
    w.u8(a.version);
    w.string(a.nodeId, MAX_STRING_BYTES, 'node id');
    w.u64(a.incarnation, 'incarnation');
    w.string(a.reason, MAX_STRING_BYTES, 'reason');
    w.bytes(a.auth, MAX_AUTH_BYTES, 'auth');
  });
}

/** Reads the version and type bytes of a control frame, checking the type. */
function open(payload: Uint8Array, type: number, what: string): Reader {
  const r = new Reader(payload);
  r.u8('frame version');
  const t = r.u8('frame type');
  if (t !== type) throw protocolError(`expected ${what} (type ${type}), got frame type ${t}`);
  return r;
}

/** Decodes a Hello frame payload (without the length prefix). Its frame version byte is not checked here. */
export function decodeHello(payload: Uint8Array): Hello {
  const r = open(payload, HELLO_TYPE, 'Hello');
  const minVersion = r.u8('min version');
  const maxVersion = r.u8('max version');
  if (minVersion > maxVersion) throw protocolError(`version range ${minVersion}..${maxVersion} is empty`);
  const clusterName = r.string(MAX_STRING_BYTES, 'cluster name');
  const nodeId = r.string(MAX_STRING_BYTES, 'node id');
  const addr = r.string(MAX_STRING_BYTES, 'addr');
  const expectedPeerId = r.string(MAX_STRING_BYTES, 'expected peer id');
  const incarnation = r.u64('incarnation');
  const auth = r.bytes(MAX_AUTH_BYTES, 'auth');
  r.finish('Hello');
  return { minVersion, maxVersion, clusterName, nodeId, addr, expectedPeerId, incarnation, auth };
}

export function decodeHelloAck(payload: Uint8Array): HelloAck {
  const r = open(payload, HELLO_ACK_TYPE, 'HelloAck');
  const code = r.u8('status');
  const status = STATUSES[code];
  if (status === undefined) throw protocolError(`unknown HelloAck status ${code}`);
  const version = r.u8('version');
  const nodeId = r.string(MAX_STRING_BYTES, 'node id');
  const incarnation = r.u64('incarnation');
  const reason = r.string(MAX_STRING_BYTES, 'reason');
  const auth = r.bytes(MAX_AUTH_BYTES, 'auth');
  r.finish('HelloAck');
  return { status, version, nodeId, incarnation, reason, auth };
}
