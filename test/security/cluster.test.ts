/**
 * A secured cluster of real processes: a cluster secret, TLS on every node's single port (client certificates
 * requested), an admin token and a read token. Proves, end to end:
 * - the nodes form the cluster over TLS (Raft and the join both go through the TLS-only port);
 * - a node with a wrong secret cannot join; Raft frames from outsiders (no secret, a wrong secret, no TLS) are
 *   refused and the leader keeps its term;
 * - an id cannot be taken over, not even with the secret: a certificate that names another node, or a live holder;
 * - HTTP access levels over https: 401 without credentials, 403 with a read token on admin routes, and nothing
 *   changes; plain http is told to use https;
 * - the certificate reloads without a restart: new connections see the new one, the cluster keeps working.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPki } from '../../examples/kv/pki.js';
import { DEFAULT_CLUSTER_NAME } from '../../src/cluster/options.js';
import { TcpTransport } from '../../src/raft/transport/tcp.js';
import { type Message, MessageType } from '../../src/raft/types.js';
import { resolveSecurity, type SecurityOptions } from '../../src/security/options.js';
import { RaftAuth } from '../../src/security/raft-auth.js';
import { ClusterSecret } from '../../src/security/secret.js';
import { TlsMaterial } from '../../src/security/tls.js';
import { type NodeProc, ProcCluster } from '../cluster/node/harness.js';

const SECRET = 'a cluster secret of more than 16 bytes';
const ADMIN = 'admin-token-for-the-security-test';
const READ = 'read-token-for-the-security-test';

let pki: LocalPki;
let caFile: string;
const cluster = new ProcCluster();
/** Processes claiming ids that exist in `cluster` need a harness of their own. */
const intruders = new ProcCluster();
const transports: TcpTransport[] = [];

function security(cn: string, extra: Partial<SecurityOptions> = {}, ca = 'cluster-ca'): SecurityOptions {
  return {
    clusterSecret: SECRET,
    tls: { ...pki.cert(ca, cn, `${cn}-${ca}`), caFile, clientCerts: 'request' },
    adminToken: ADMIN,
    readToken: READ,
    ...extra,
  };
}

interface Res {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

function call(node: NodeProc, method: string, path: string, token?: string, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: node.port,
        method,
        path,
        ca: pki.read(caFile),
        agent: false,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: pki.read(caFile) }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** A Raft transport in this process that tries to disturb the cluster: RequestVotes with a much higher term. */
async function intruderTransport(id: string, secret: string | undefined, withTls: boolean): Promise<TcpTransport> {
  const material = withTls
    ? await TlsMaterial.load(resolveSecurity({ tls: { ...pki.cert('cluster-ca', id), caFile } }).tls!, 5000)
    : undefined;
  const t = new TcpTransport({
    nodeId: id,
    clusterName: DEFAULT_CLUSTER_NAME,
    auth: new RaftAuth({
      secret: secret === undefined ? undefined : ClusterSecret.fromString(secret),
      clusterName: DEFAULT_CLUSTER_NAME,
    }),
    ...(material === undefined ? {} : { tls: { clientContext: () => material.clientContext } }),
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
  });
  t.onMessage(() => undefined);
  transports.push(t);
  return t;
}

const vote = (from: string, to: string, fromAddr: string, term: number): Message => ({
  type: MessageType.RequestVote,
  from,
  to,
  fromAddr,
  term,
  lastIndex: 1_000_000,
  lastTerm: term,
  preVote: false,
  transfer: false,
});

beforeAll(async () => {
  pki = new LocalPki();
  caFile = pki.ca('cluster-ca');
  pki.ca('foreign-ca');
  // Boot every process first (loading TypeScript is the CPU-heavy part), then start the cluster.
  await Promise.all([
    cluster.boot('n1', { security: security('n1') }),
    cluster.boot('n2', { security: security('n2') }),
    cluster.boot('x2', { security: security('x2', { clusterSecret: 'a different secret, also > 16 bytes' }) }),
    intruders.boot('n1', { security: security('x3') }), // the secret, a genuine certificate, but for "x3"
    intruders.boot('n2', { security: security('n2', {}, 'cluster-ca') }), // the secret and a certificate for n2
  ]);
  await cluster.node('n1').start();
  await cluster.node('n2').start([cluster.node('n1').addr]);
  await cluster.waitForAgreement(['n1', 'n2'], 30_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all([cluster.destroy(), intruders.destroy()]);
  pki.destroy();
});

describe('a cluster with a secret, TLS and tokens', () => {
  it('refuses to admit a node with a wrong secret, and outsiders cannot move the leader or its term', async () => {
    const n1 = cluster.node('n1');
    const before = await cluster.summaries();
    const leader = before[0]!.leaderId;
    const term = before[0]!.term;
    expect(leader).not.toBeNull();

    await expect(cluster.node('x2').start([n1.addr])).rejects.toThrow(/did not accept this node's credentials.*401/s);

    const outsiders = [
      await intruderTransport('i-nosecret', undefined, true),
      await intruderTransport('i-wrongsecret', 'not the cluster secret at all!!', true),
      await intruderTransport('i-plaintext', SECRET, false),
    ];
    const errors: string[] = [];
    for (const t of outsiders) t.onMessage(() => errors.push(`${t.nodeId} got a message`));
    // Two seconds of votes from far in the future, to every node (each at least an election timeout).
    for (let i = 0; i < 20; i++) {
      for (const t of outsiders) {
        for (const n of [cluster.node('n1'), cluster.node('n2')])
          t.send(n.addr, vote(t.nodeId, n.id, n.addr, term + 100 + i));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await cluster.summaries();
    for (const s of after) {
      expect(s.term).toBe(term);
      expect(s.leaderId).toBe(leader);
      expect([...s.nodes].sort()).toEqual(['n1', 'n2']);
    }
    expect(errors).toEqual([]);
    for (const t of outsiders) {
      const st = t.stats();
      expect(st.openConnections === 0 || st.peers.every((p) => p.connection === null)).toBe(true);
      expect(st.framesSent).toBe(0); // no Raft frame ever left: every handshake failed
    }
  });

  it('refuses an id takeover, even by a holder of the secret', async () => {
    const n1 = cluster.node('n1');
    // A genuine certificate, but for "x3", claiming to be n1.
    await expect(intruders.node('n1').start([n1.addr])).rejects.toThrow(/does not name node "n1"/);
    // The secret and a certificate for n2, while n2 is alive.
    await expect(intruders.node('n2').start([n1.addr])).rejects.toThrow(/belongs to a live member/);
    const s = await cluster.waitForAgreement(['n1', 'n2'], 10_000);
    expect(s.every((x) => x.ready)).toBe(true);
  });

  it('serves https with access levels: 401 and 403 change nothing, plain http is told to use https', async () => {
    const n1 = cluster.node('n1');
    const revision = (await n1.summary()).revision;
    expect((await call(n1, 'GET', '/health')).status).toBe(200); // liveness probes need no credentials
    expect((await call(n1, 'GET', '/cluster')).status).toBe(401);
    const view = await call(n1, 'GET', '/cluster', READ);
    expect(view.status).toBe(200);
    for (const secret of [SECRET, ADMIN, READ]) expect(view.body).not.toContain(secret);

    const unauth = await call(n1, 'POST', '/rebalance');
    expect(unauth.status).toBe(401);
    expect(unauth.headers['www-authenticate']).toBe('Bearer');
    expect((await call(n1, 'POST', '/rebalance', READ)).status).toBe(403);
    expect((await call(n1, 'PUT', '/custom-data/k', undefined, '{"value":"v"}')).status).toBe(401);
    expect((await call(n1, 'PUT', '/custom-data/k', READ, '{"value":"v"}')).status).toBe(403);
    expect((await call(n1, 'DELETE', '/nodes/n2', 'wrong-token-of-enough-length')).status).toBe(401);
    expect((await n1.summary()).revision).toBe(revision);
    expect(await n1.request('get', 'k')).toBeNull();
    expect((await cluster.summaries()).map((s) => [...s.nodes].sort())).toEqual([
      ['n1', 'n2'],
      ['n1', 'n2'],
    ]);

    const put = await call(n1, 'PUT', '/custom-data/k', ADMIN, '{"value":"v"}');
    expect(put.status).toBeLessThan(300);
    expect(await n1.request('get', 'k')).toBe('v');

    const plain = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: n1.port, path: '/health', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(plain).toBe(400);
  });

  it('reloads its certificate without a restart: new connections see it, the cluster keeps working', async () => {
    const n1 = cluster.node('n1');
    const n2 = cluster.node('n2');
    const before = await fingerprint(n1.port);
    const files = pki.cert('cluster-ca', 'n1', 'n1-cluster-ca'); // new key and certificate in n1's files
    const result = await n1.request<{ changed: boolean; fingerprint256: string }>('reloadTls');
    expect(result.changed).toBe(true);
    const after = await fingerprint(n1.port);
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(pki.read(files.certFile)).fingerprint256);
    expect(result.fingerprint256).toBe(after);
    // A write through the follower goes to the leader over Raft and is applied everywhere.
    await n2.request('set', 'after-reload', 'yes');
    await cluster.waitUntil(async () => (await n1.request('get', 'after-reload')) === 'yes', 10_000, 'the write');
    expect((await call(n1, 'GET', '/health')).status).toBe(200);
  });
});
