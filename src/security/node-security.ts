/**
 * The security of one ClusterKit node, assembled from its options: what its Raft transport, shared listener, HTTP
 * server and join client need (NodeCore spreads these into their options), certificate reload, and the warnings
 * an insecure deployment gets at start.
 */
import { randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import type { PeerRequestOptions, PostJson } from '../cluster/join.js';
import { makePostJson } from '../cluster/join.js';
import { InvalidArgumentError } from '../errors.js';
import type { HttpServerOptions } from '../http/server.js';
import type { SharedListenerOptions } from '../raft/transport/listener.js';
import type { TcpTransportOptions } from '../raft/transport/options.js';
import type { Clock, Scheduler } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';
import { HttpAuth, signRequest } from './http-auth.js';
import { membershipSecured, type ResolvedSecurity } from './options.js';
import { RaftAuth } from './raft-auth.js';
import { TlsMaterial } from './tls.js';

export interface NodeSecurityContext {
  readonly nodeId: string;
  readonly clusterName: string;
  /** The interface the node listens on; undefined: all of them. */
  readonly listenHost: string | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly wallClock: () => number;
}

/** The outcome of a certificate reload. */
export interface TlsReloadResult {
  /** False when the files still hold the certificate in use. */
  readonly changed: boolean;
  /** SHA-256 fingerprint of the certificate now in use. */
  readonly fingerprint256: string;
}

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK.test(host);
}

export class NodeSecurity {
  readonly options: ResolvedSecurity;
  readonly #ctx: NodeSecurityContext;
  #tls: TlsMaterial | undefined;

  constructor(options: ResolvedSecurity, ctx: NodeSecurityContext) {
    this.options = options;
    this.#ctx = ctx;
  }

  /** Whether joining and Raft need proof of membership (a secret or client certificates). */
  get membershipSecured(): boolean {
    return membershipSecured(this.options);
  }

  get scheme(): 'http' | 'https' {
    return this.options.tls === undefined ? 'http' : 'https';
  }

  /** Reads the certificate files (rejects with InvalidArgumentError naming the option) and starts watching them. */
  async open(): Promise<void> {
    const t = this.options.tls;
    if (t === undefined || this.#tls !== undefined) return;
    this.#tls = await TlsMaterial.load(t, this.options.limits.handshakeTimeoutMs);
    this.#tls.watch(this.#ctx.scheduler, this.#ctx.logger);
  }

  close(): void {
    this.#tls?.stop();
  }

  /** Re-reads the certificate files; connections made from now on use them. */
  async reloadTls(): Promise<TlsReloadResult> {
    const m = this.#tls;
    if (m === undefined) throw new InvalidArgumentError('reloadTls(): this node was not started with the tls option');
    const changed = await m.reload();
    this.#ctx.logger.info({ fingerprint256: m.fingerprint256, changed }, 'TLS certificate reloaded');
    return { changed, fingerprint256: m.fingerprint256 };
  }

  transportOptions(): Pick<TcpTransportOptions, 'auth' | 'tls' | 'handshakeTimeoutMs' | 'maxFrameBytes'> {
    const o = this.options;
    const certAuth = o.tls !== undefined && o.tls.clientCerts !== 'none';
    const auth =
      o.secret !== undefined || certAuth
        ? new RaftAuth({ secret: o.secret, clusterName: this.#ctx.clusterName, certAuth })
        : undefined;
    return {
      ...(auth === undefined ? {} : { auth }),
      ...(o.tls === undefined ? {} : { tls: this.#clientTls(o.tls.verifyHostname) }),
      handshakeTimeoutMs: o.limits.handshakeTimeoutMs,
      maxFrameBytes: o.limits.maxFrameBytes,
    };
  }

  listenerOptions(): Pick<
    SharedListenerOptions,
    'tls' | 'maxConnections' | 'maxHttpConnections' | 'maxPendingConnections' | 'sniffTimeoutMs' | 'onError'
  > {
    const l = this.options.limits;
    const server: tls.Server | undefined = this.#tls?.server;
    return {
      ...(server === undefined ? {} : { tls: server }),
      maxConnections: l.maxConnections,
      maxHttpConnections: l.maxHttpConnections,
      maxPendingConnections: l.maxPendingConnections,
      sniffTimeoutMs: l.handshakeTimeoutMs,
      onError: (err) => this.#ctx.logger.debug({ ...errorFields(err) }, 'TLS handshake failed'),
    };
  }

  /** `isMember`: whether an id belongs to a current member (joins with an admin token may not claim one). */
  httpOptions(
    isMember: (nodeId: string) => boolean,
  ): Pick<
    HttpServerOptions,
    'authorize' | 'inspectBody' | 'scheme' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'bodyTimeoutMs' | 'maxJsonBytes'
  > {
    const c = this.#ctx;
    const l = this.options.limits;
    const auth = new HttpAuth({
      security: this.options,
      clock: c.clock,
      wallClock: c.wallClock,
      isMember,
      logger: c.logger,
    });
    return {
      authorize: auth.authorize,
      inspectBody: auth.inspectBody,
      scheme: this.scheme,
      headersTimeoutMs: l.headersTimeoutMs,
      requestTimeoutMs: l.requestTimeoutMs,
      bodyTimeoutMs: l.bodyTimeoutMs,
      maxJsonBytes: l.maxJsonBytes,
    };
  }

  /** How this node POSTs to other nodes (joins): https when TLS is on, signed when the cluster has a secret. */
  post(): PostJson {
    const o = this.options;
    const c = this.#ctx;
    const secret = o.secret;
    const options: PeerRequestOptions = {
      ...(o.tls === undefined ? {} : { tls: this.#clientTls(o.tls.verifyHostname) }),
      ...(secret === undefined
        ? {}
        : {
            sign: (method: string, path: string, body: Buffer) =>
              signRequest(secret, c.nodeId, method, path, body, randomBytes(16).toString('hex'), c.wallClock()),
          }),
    };
    return makePostJson(options);
  }

  /** What an operator must hear about at start (logged as warnings; the first is also a process warning). */
  warnings(addr: string): string[] {
    const o = this.options;
    if (isLoopbackHost(this.#ctx.listenHost)) return [];
    const out: string[] = [];
    if (!this.membershipSecured) {
      out.push(
        `ClusterKit node ${JSON.stringify(this.#ctx.nodeId)} listens on ${addr} (reachable from other machines) ` +
          'without a cluster secret or client certificates: anyone who can reach this port can join the cluster, ' +
          'send it Raft messages' +
          (o.adminTokens.size === 0 ? ' and call its admin endpoints' : '') +
          '. Set clusterSecret (CLUSTER_SECRET), tls and adminToken: see docs/SECURITY.md',
      );
    }
    if (o.tls === undefined) {
      out.push(
        `ClusterKit node ${JSON.stringify(this.#ctx.nodeId)} serves HTTP and Raft on ${addr} without TLS: ` +
          'cluster data and bearer tokens travel in clear. Set the tls option: see docs/SECURITY.md',
      );
    }
    return out;
  }

  #clientTls(verifyHostname: boolean): { clientContext: () => tls.SecureContext; verifyHostname: boolean } {
    return {
      clientContext: () => {
        const m = this.#tls;
        if (m === undefined) throw new InvalidArgumentError('TLS material is not loaded yet');
        return m.clientContext;
      },
      verifyHostname,
    };
  }
}
