/**
 * Proof of membership on Raft connections (TcpTransport's `auth` option).
 *
 * With a cluster secret, a mutual challenge-response bound to the connection; the secret never travels:
 *
 *   dialer → acceptor   preamble CKR\x01, AuthInit      = [scheme 1][Nd: 32 random bytes]
 *   acceptor → dialer   AuthChallenge                   = [Na: 32 random bytes][Ma]
 *   dialer → acceptor   Hello with auth = Md
 *   acceptor → dialer   HelloAck
 *
 *   K  = HKDF-SHA256(secret, info "clusterkit/raft-handshake")
 *   B  = TLS exporter (32 bytes, label EXPORTER-clusterkit-raft) when the connection is TLS, else empty
 *   Ma = HMAC(K, "acceptor", cluster, Nd, Na, B)
 *   Md = HMAC(K, "dialer", cluster, Nd, Na, B, dialer node id)
 *
 * The acceptor proves itself first, so a dialer never sends its Hello (or any Raft traffic) to an impostor. Fresh
 * nonces on both sides make every proof good for one connection only (no replay), and B ties it to the TLS session
 * (a relay between two TLS sessions fails). Without TLS the stream after the handshake is not protected: an active
 * attacker on the path could still hijack it (docs/SECURITY.md).
 *
 * With client certificates (tls.clientCerts 'request' or 'require'), a verified certificate must name the node id
 * the Hello claims (CN or a DNS/URI SAN); without a secret, such a certificate is required.
 *
 * Nonces come from the system CSPRNG, deliberately not from the injected (seedable) Random.
 */
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { ClusterKitError } from '../errors.js';
import { AUTH_CHALLENGE_TYPE, AUTH_INIT_TYPE } from '../raft/transport/codec/handshake.js';
import type { AuthConnection, RaftAuthenticator } from '../raft/transport/options.js';
import { type ClusterSecret, mac, safeEqual } from './secret.js';
import { verifiedCertNames } from './tls.js';

const SCHEME = 1;
const NONCE_BYTES = 32;
const MAC_BYTES = 32;
const FRAME_VERSION = 1;
const EXPORTER_LABEL = 'EXPORTER-clusterkit-raft';
const CONTEXT = Buffer.from('clusterkit raft handshake v1');

interface State {
  readonly nd: Buffer;
  na: Buffer | undefined;
}

export interface RaftAuthOptions {
  readonly secret?: ClusterSecret | undefined;
  readonly clusterName: string;
  /** Client certificates authenticate nodes (tls.clientCerts is not 'none'). */
  readonly certAuth?: boolean;
}

function frame(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + 2 + body.length);
  out.writeUInt32BE(2 + body.length, 0);
  out[4] = FRAME_VERSION;
  out[5] = type;
  body.copy(out, 6);
  return out;
}

function body(payload: Uint8Array, type: number, size: number, what: string): Buffer {
  if (payload.length !== 2 + size || payload[1] !== type) {
    throw new ClusterKitError('ERR_PROTOCOL', `malformed ${what} frame`);
  }
  return Buffer.from(payload.buffer, payload.byteOffset + 2, size);
}

/** Keying material both ends of a TLS session derive alike; empty for plain TCP. */
function channelBinding(socket: unknown): Buffer {
  if (socket instanceof tls.TLSSocket && socket.encrypted)
    return socket.exportKeyingMaterial(32, EXPORTER_LABEL, CONTEXT);
  return Buffer.alloc(0);
}

export class RaftAuth implements RaftAuthenticator {
  /** The key to prove with, then the others accepted during a secret rotation. */
  readonly #keys: readonly Buffer[];
  readonly #cluster: string;
  readonly #certAuth: boolean;
  readonly #states = new WeakMap<AuthConnection, State>();

  constructor(options: RaftAuthOptions) {
    this.#keys = options.secret?.keys('raft-handshake') ?? [];
    this.#cluster = options.clusterName;
    this.#certAuth = options.certAuth ?? false;
  }

  get hasSecret(): boolean {
    return this.#keys.length > 0;
  }

  dialerStart(conn: AuthConnection): Buffer | null {
    if (!this.hasSecret) return null;
    const nd = randomBytes(NONCE_BYTES);
    this.#states.set(conn, { nd, na: undefined });
    return frame(AUTH_INIT_TYPE, Buffer.concat([Buffer.from([SCHEME]), nd]));
  }

  dialerProof(conn: AuthConnection, payload: Uint8Array, nodeId: string): Uint8Array {
    const st = this.#states.get(conn);
    if (!this.hasSecret || st === undefined || st.na !== undefined) {
      throw new ClusterKitError('ERR_PROTOCOL', 'unexpected authentication challenge');
    }
    const b = body(payload, AUTH_CHALLENGE_TYPE, NONCE_BYTES + MAC_BYTES, 'AuthChallenge');
    const na = Buffer.from(b.subarray(0, NONCE_BYTES));
    const binding = channelBinding(conn.socket);
    // The acceptor proved itself with one of our secrets; we answer with the same one, which it surely accepts.
    const key = this.#keys.find((k) =>
      safeEqual(mac(k, 'acceptor', this.#cluster, st.nd, na, binding), b.subarray(NONCE_BYTES)),
    );
    if (key === undefined) {
      throw new ClusterKitError(
        'ERR_PROTOCOL',
        'the peer could not prove it knows the cluster secret (a different secret, or not a member)',
      );
    }
    st.na = na;
    return mac(key, 'dialer', this.#cluster, st.nd, na, binding, nodeId);
  }

  checkAccepted(conn: AuthConnection): void {
    if (this.hasSecret && this.#states.get(conn)?.na === undefined) {
      throw new ClusterKitError('ERR_PROTOCOL', 'the peer accepted us without proving it knows the cluster secret');
    }
  }

  acceptorChallenge(conn: AuthConnection, payload: Uint8Array): Buffer {
    const key = this.#keys[0];
    if (key === undefined || this.#states.has(conn)) {
      throw new ClusterKitError('ERR_PROTOCOL', 'unexpected AuthInit');
    }
    const b = body(payload, AUTH_INIT_TYPE, 1 + NONCE_BYTES, 'AuthInit');
    if (b[0] !== SCHEME) throw new ClusterKitError('ERR_PROTOCOL', `unsupported authentication scheme ${b[0]}`);
    const nd = Buffer.from(b.subarray(1));
    const na = randomBytes(NONCE_BYTES);
    this.#states.set(conn, { nd, na });
    const ma = mac(key, 'acceptor', this.#cluster, nd, na, channelBinding(conn.socket));
    return frame(AUTH_CHALLENGE_TYPE, Buffer.concat([na, ma]));
  }

  acceptorVerify(conn: AuthConnection, hello: { readonly nodeId: string; readonly auth: Uint8Array }): string | null {
    const names = this.#certAuth ? verifiedCertNames(conn.socket) : [];
    if (names.length > 0 && !names.includes(hello.nodeId)) {
      return `the client certificate does not name node "${hello.nodeId}"`;
    }
    if (this.hasSecret) {
      const st = this.#states.get(conn);
      const na = st?.na;
      if (st === undefined || na === undefined)
        return 'this cluster requires proof of the cluster secret; none was offered';
      const binding = channelBinding(conn.socket);
      const proven = this.#keys.some((k) =>
        safeEqual(mac(k, 'dialer', this.#cluster, st.nd, na, binding, hello.nodeId), hello.auth),
      );
      return proven ? null : 'authentication failed';
    }
    if (this.#certAuth && names.length === 0) return 'a client certificate signed by the cluster CA is required';
    return null;
  }
}
