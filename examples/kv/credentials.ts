/**
 * Throwaway credentials for a local secure cluster (the scenarios' and `npm start`'s `--secure`): a cluster CA, one
 * certificate per node naming its node id (CN and DNS SAN) and 127.0.0.1 (IP SAN, the address every node and client
 * dials here), a random cluster secret, an admin token and a read token. The certificates are made with `openssl`
 * by pki.ts (which the security tests use too) and copied into `dir`, a directory of the run's own temp
 * directory, so they disappear with it. Nothing here is fit for production: see docs/SECURITY.md for that.
 *
 * `nodeEnv(id)` is what a node process is started with (the variables examples/kv/secure.ts reads); `client(...)`
 * is how the runner itself, or an example's client, talks to the nodes.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalPki } from './pki.js';
import type { ClientSecurity } from './secure.js';

const CA = 'cluster-ca';

export class LocalCredentials {
  readonly clusterSecret = randomBytes(32).toString('base64');
  readonly adminToken = randomBytes(24).toString('hex');
  readonly readToken = randomBytes(24).toString('hex');
  readonly caFile: string;
  readonly #ca: Buffer;

  /** Makes the CA and a certificate for each of `nodeIds` into `dir` (created if needed). */
  constructor(
    readonly dir: string,
    nodeIds: readonly string[],
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pki = new LocalPki();
    try {
      copyFileSync(pki.ca(CA), join(dir, `${CA}.pem`));
      for (const id of nodeIds) {
        const c = pki.cert(CA, id);
        copyFileSync(c.certFile, this.certFile(id));
        copyFileSync(c.keyFile, this.keyFile(id));
      }
    } finally {
      // The CA's private key goes with it: nobody can issue another certificate for this cluster.
      pki.destroy();
    }
    this.caFile = join(dir, `${CA}.pem`);
    this.#ca = readFileSync(this.caFile);
  }

  certFile(nodeId: string): string {
    return join(this.dir, `${nodeId}.pem`);
  }

  keyFile(nodeId: string): string {
    return join(this.dir, `${nodeId}.key`);
  }

  /** The environment of node `nodeId` (examples/kv/secure.ts). */
  nodeEnv(nodeId: string): Record<string, string> {
    return {
      CLUSTER_SECRET: this.clusterSecret,
      TLS_CERT: this.certFile(nodeId),
      TLS_KEY: this.keyFile(nodeId),
      TLS_CA: this.caFile,
      // Nodes present their certificates to each other, and ClusterKit checks that each names the node id it
      // claims; clients without one (the runner, the examples' clients) authenticate with a token instead.
      TLS_CLIENT_CERTS: 'request',
      ADMIN_TOKEN: this.adminToken,
      READ_TOKEN: this.readToken,
    };
  }

  /** An https client trusting the cluster CA, with the read or admin token (or none). */
  client(token: 'read' | 'admin' | 'none'): ClientSecurity {
    const t = token === 'read' ? this.readToken : token === 'admin' ? this.adminToken : undefined;
    return { tls: { ca: this.#ca }, ...(t === undefined ? {} : { token: t }) };
  }
}
