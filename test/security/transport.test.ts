/**
 * Raft transport security, in one process with real sockets: the secret handshake, TLS on the shared port,
 * client certificates naming node ids, plaintext refusal, pre-handshake frame limits and certificate reload.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalPki } from '../../examples/kv/pki.js';
import { createHttpServer } from '../../src/http/server.js';
import { decodeHelloAck, HelloStatus } from '../../src/raft/transport/codec/handshake.js';
import { listenShared, type SharedListener } from '../../src/raft/transport/listener.js';
import type { TcpTransportOptions } from '../../src/raft/transport/options.js';
import { type Message, MessageType } from '../../src/raft/types.js';
import { HttpAuth } from '../../src/security/http-auth.js';
import { resolveSecurity, type TlsOptions } from '../../src/security/options.js';
import { RaftAuth } from '../../src/security/raft-auth.js';
import { ClusterSecret } from '../../src/security/secret.js';
import { TlsMaterial } from '../../src/security/tls.js';
import { FakeNode } from '../http/fake.js';
import { CLUSTER, RawPeer, TestNode, until } from '../raft/transport/harness.js';

const SECRET = 'correct horse battery staple 42';
const cleanups: (() => unknown)[] = [];
let pki: LocalPki;
let caFile: string;

beforeAll(() => {
  pki = new LocalPki();
  caFile = pki.ca('cluster-ca');
  pki.ca('foreign-ca');
});
afterAll(() => pki.destroy());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function auth(secret: string | undefined, certAuth = false): RaftAuth {
  return new RaftAuth({
    secret: secret === undefined ? undefined : ClusterSecret.fromString(secret),
    clusterName: CLUSTER,
    certAuth,
  });
}

interface Started {
  readonly node: TestNode;
  readonly listener: SharedListener;
  readonly material: TlsMaterial | undefined;
}

/** A transport on a shared listener (with an HTTP server answering "ok"), optionally over TLS. */
async function start(id: string, extra: Partial<TcpTransportOptions>, tlsOptions?: TlsOptions): Promise<Started> {
  const material =
    tlsOptions === undefined ? undefined : await TlsMaterial.load(resolveSecurity({ tls: tlsOptions }).tls!, 2000);
  const node = new TestNode(id, {
    ...extra,
    ...(material === undefined ? {} : { tls: { clientContext: () => material.clientContext } }),
  });
  const transport = node.create();
  const server = http.createServer((_req, res) => res.end(`ok from ${id}`));
  const listener = await listenShared({
    host: '127.0.0.1',
    port: 0,
    raft: transport,
    http: server,
    scheduler: node.scheduler,
    sniffTimeoutMs: 2000,
    ...(material === undefined ? {} : { tls: material.server }),
  });
  node.port = listener.port;
  transport.setAdvertiseAddr(node.addr);
  cleanups.push(async () => {
    server.closeAllConnections();
    await Promise.all([transport.close(), listener.close()]);
  });
  return { node, listener, material };
}

const vote = (from: string, to: string, term: number): Message => ({
  type: MessageType.RequestVote,
  from,
  to,
  fromAddr: '127.0.0.1:1',
  term,
  lastIndex: 0,
  lastTerm: 0,
  preVote: false,
  transfer: false,
});

async function exchange(a: TestNode, b: TestNode, term: number): Promise<void> {
  a.transport.send(b.addr, vote(a.id, b.id, term));
  await until(() => b.inbox.some((m) => m.term === term), `${a.id} → ${b.id}`, 10_000);
  b.transport.send(a.addr, vote(b.id, a.id, term + 1));
  await until(() => a.inbox.some((m) => m.term === term + 1), `${b.id} → ${a.id}`, 10_000);
}

/**
 * Sends from `intruder` to `target` until `failing` (the side that detects the problem) counts a failed handshake,
 * then checks that nothing was delivered and no connection is open.
 */
async function refused(intruder: TestNode, target: TestNode, failing: TestNode): Promise<void> {
  intruder.transport.send(target.addr, vote(intruder.id, target.id, 999));
  const who = failing;
  await until(
    () => who.transport.stats().handshakeRejections + who.transport.stats().decodeErrors > 0,
    'the handshake to fail',
    10_000,
  );
  expect(target.inbox.filter((m) => m.from === intruder.id)).toEqual([]);
  expect(target.transport.stats().peers.find((p) => p.id === intruder.id)?.connection ?? null).toBeNull();
}

describe('the cluster secret on Raft connections', () => {
  it('lets nodes with the same secret talk, and a dialer sends nothing but a nonce before the acceptor proves itself', async () => {
    const { node: a } = await start('a', { auth: auth(SECRET) });
    const { node: b } = await start('b', { auth: auth(SECRET) });
    await exchange(a, b, 1);

    // A listener that never answers: all a dialer with a secret sends is the preamble and a 33-byte AuthInit.
    const seen: Buffer[] = [];
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => {
      sockets.push(s);
      s.on('data', (d: Buffer) => seen.push(d));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => silent.close(r));
    });
    const port = (silent.address() as net.AddressInfo).port;
    a.transport.send(`127.0.0.1:${port}`, vote('a', 'z', 5));
    await until(() => Buffer.concat(seen).length >= 4 + 4 + 2 + 33, 'the AuthInit');
    const bytes = Buffer.concat(seen);
    expect(bytes.length).toBe(4 + 4 + 2 + 33);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    // No Hello yet: neither the cluster name nor the node id has been disclosed to an unproven acceptor.
    expect(bytes.includes(Buffer.from(CLUSTER))).toBe(false);
  });

  it('rotates the secret without downtime: [old, new] and [new, old] talk both ways, as do [new, old] and new', async () => {
    const NEW = 'the next secret, 32 characters!!';
    const rotating = (...list: string[]): RaftAuth =>
      new RaftAuth({ secret: ClusterSecret.fromStrings(list[0]!, ...list.slice(1)), clusterName: CLUSTER });
    const { node: first } = await start('a', { auth: rotating(SECRET, NEW) }); // step 1: proves old, accepts new
    const { node: second } = await start('b', { auth: rotating(NEW, SECRET) }); // step 2: proves new, accepts old
    const { node: done } = await start('c', { auth: auth(NEW) }); // step 3: new only
    const { node: stale } = await start('d', { auth: auth(SECRET) }); // never moved past the old secret
    await exchange(first, second, 1);
    await exchange(second, first, 11);
    await exchange(second, done, 21);
    await exchange(done, second, 31);
    await exchange(stale, first, 41); // an old-only node still talks to step 1 and 2 nodes
    // Old-only and new-only cannot: the rotation must not skip the middle steps.
    await refused(stale, done, stale);
  });

  it('refuses a node with another secret, both ways, and delivers none of its messages', async () => {
    const { node: a } = await start('a', { auth: auth(SECRET) });
    const { node: c } = await start('c', { auth: auth('another secret of 32 characters!') });
    await refused(c, a, c); // c dials: a's proof does not verify at c, which hangs up before sending its Hello
    await refused(a, c, a); // a dials: c's proof does not verify at a
    expect(a.errors.some((e) => /could not prove it knows the cluster secret/.test(e.message))).toBe(true);
    expect(c.inbox).toEqual([]);
  });

  it('refuses a node without a secret with AuthFailed, and tells a node with one that we have none', async () => {
    const { node: a } = await start('a', { auth: auth(SECRET) });
    const { node: open } = await start('open', {});
    await refused(open, a, a);
    expect(a.errors.some((e) => /requires proof of the cluster secret/.test(e.message))).toBe(true);
    await until(() => open.errors.some((e) => /AuthFailed/.test(e.message)), 'the refusal to reach the dialer');
    await refused(a, open, open);
    await until(() => a.errors.some((e) => /has no cluster secret/.test(e.message)), 'the refusal to reach a');
  });

  it('answers a forged Hello with AuthFailed, and drops a pre-handshake frame over 128 KiB at once', async () => {
    const { node: a } = await start('a', { auth: auth(SECRET) });
    const forger = await RawPeer.connect(a.port);
    cleanups.push(() => forger.destroy());
    forger.hello({ nodeId: 'x', auth: new Uint8Array(32).fill(7) });
    await until(() => forger.frames.length > 0, 'the HelloAck');
    expect(decodeHelloAck(forger.frames[0]!).status).toBe(HelloStatus.AuthFailed);
    await forger.closed;

    const hog = await RawPeer.connect(a.port);
    cleanups.push(() => hog.destroy());
    const before = a.transport.stats().decodeErrors;
    hog.write(Buffer.concat([Buffer.from([0x43, 0x4b, 0x52, 0x01]), Buffer.from([0, 0x10, 0, 0])])); // 1 MiB claimed
    await hog.closed;
    expect(a.transport.stats().decodeErrors).toBe(before + 1);
    expect(a.inbox).toEqual([]);
  });
});

describe('TLS on the shared port', () => {
  it('carries Raft and HTTPS on one port, refuses plaintext Raft and tells plaintext HTTP to use https', async () => {
    const tlsA: TlsOptions = { ...pki.cert('cluster-ca', 'a'), caFile };
    const tlsB: TlsOptions = { ...pki.cert('cluster-ca', 'b'), caFile };
    const { node: a, listener } = await start('a', { auth: auth(SECRET) }, tlsA);
    const { node: b } = await start('b', { auth: auth(SECRET) }, tlsB);
    await exchange(a, b, 1);

    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: a.port, path: '/x', ca: pki.read(caFile), agent: false }, (res) => {
          let s = '';
          res.on('data', (d: Buffer) => (s += d.toString()));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    expect(body).toBe('ok from a');

    const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: a.port, path: '/x', agent: false }, (res) => {
          let s = '';
          res.on('data', (d: Buffer) => (s += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s }));
        })
        .on('error', reject);
    });
    expect(plain.status).toBe(400);
    expect(plain.body).toMatch(/TLS only/);

    // The right secret, but no TLS: refused before any handshake.
    const { node: p } = await start('p', { auth: auth(SECRET) });
    p.transport.send(a.addr, vote('p', 'a', 77));
    await until(() => listener.stats().plaintextRefused >= 2, 'the plaintext dial to be refused');
    expect(a.inbox.filter((m) => m.from === 'p')).toEqual([]);
  });

  it('with client certificates and no secret: a certificate must name the node id it speaks for', async () => {
    const mtls = (id: string, cn = id, ca = 'cluster-ca'): TlsOptions => ({
      ...pki.cert(ca, cn, `${id}-${cn}-${ca}`),
      caFile,
      clientCerts: 'require',
    });
    const { node: a, listener: aL } = await start('a', { auth: auth(undefined, true) }, mtls('a'));
    const { node: b } = await start('b', { auth: auth(undefined, true) }, mtls('b'));
    await exchange(a, b, 1);
    // c holds a genuine certificate, but for "b": it cannot speak as c... nor take b's place in a Raft handshake.
    const { node: c } = await start('c', { auth: auth(undefined, true) }, mtls('c', 'b'));
    await refused(c, a, a);
    expect(a.errors.some((e) => /does not name node "c"/.test(e.message))).toBe(true);
    // A certificate from another CA does not even get through the TLS handshake.
    const accepted = a.transport.stats().accepted;
    const { node: f } = await start('f', { auth: auth(undefined, true) }, mtls('f', 'f', 'foreign-ca'));
    f.transport.send(a.addr, vote('f', 'a', 5));
    await until(() => aL.stats().tlsFailures >= 2, 'TLS handshakes from f to fail at a', 10_000);
    expect(a.inbox.filter((m) => m.from === 'f')).toEqual([]);
    expect(a.transport.stats().accepted).toBe(accepted);
  });

  it('reloads the certificate: new connections get the new one, open ones keep working', async () => {
    const files = pki.cert('cluster-ca', 'a', 'rotating');
    const { node: a, material } = await start('a', { auth: auth(SECRET) }, { ...files, caFile });
    const { node: b } = await start('b', { auth: auth(SECRET) }, { ...pki.cert('cluster-ca', 'b'), caFile });
    await exchange(a, b, 1);
    const before = await peerFingerprint(a.port);
    expect(before).toBe(material!.fingerprint256);

    pki.cert('cluster-ca', 'a', 'rotating'); // new key and certificate in the same files
    expect(await material!.reload()).toBe(true);
    const after = await peerFingerprint(a.port);
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(pki.read(files.certFile)).fingerprint256);
    await exchange(a, b, 10); // the Raft connection opened before the reload still carries traffic

    // A broken rotation (a key that does not match) changes nothing.
    pki.breakKey(files.keyFile);
    await expect(material!.reload()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await peerFingerprint(a.port)).toBe(after);
  });
});

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: pki.read(caFile) }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

describe('connection limits on the shared port', () => {
  it('closes connections beyond the pending, HTTP and total limits at once, and keeps serving the others', async () => {
    const node = new TestNode('a');
    const transport = node.create();
    const server = http.createServer((_req, res) => res.end('ok'));
    const listener = await listenShared({
      host: '127.0.0.1',
      port: 0,
      raft: transport,
      http: server,
      scheduler: node.scheduler,
      maxPendingConnections: 2,
      maxHttpConnections: 1,
      maxConnections: 4,
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await Promise.all([transport.close(), listener.close()]);
    });
    const port = listener.port;
    // Two silent connections fill the pending slots; a third is closed at once.
    const silent = [await RawPeer.connect(port), await RawPeer.connect(port)];
    for (const s of silent) cleanups.push(() => s.destroy());
    const third = await RawPeer.connect(port);
    await third.closed;
    expect(listener.stats().overLimit).toBe(1);
    for (const s of silent) s.destroy();
    await Promise.all(silent.map((s) => s.closed));

    // One HTTP connection is served; a second is closed while the first is open.
    const first = net.connect({ host: '127.0.0.1', port });
    cleanups.push(() => first.destroy());
    let reply = '';
    first.on('data', (d: Buffer) => (reply += d.toString()));
    first.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => reply.includes('ok'), 'the first HTTP reply');
    const second = net.connect({ host: '127.0.0.1', port });
    cleanups.push(() => second.destroy());
    second.on('error', () => undefined);
    second.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => second.once('close', r));
    expect(listener.stats().overLimit).toBe(2);
    expect(listener.stats().httpConnections).toBe(1);
  });
});

describe('HTTP over TLS with client certificates', () => {
  it('a certificate signed by the CA is an admin credential, and may only join under a name it carries', async () => {
    const material = await TlsMaterial.load(
      resolveSecurity({ tls: { ...pki.cert('cluster-ca', 'srv'), caFile, clientCerts: 'request' } }).tls!,
      2000,
    );
    const fake = new FakeNode();
    const hauth = new HttpAuth({
      security: resolveSecurity({ tls: { certFile: 'x', keyFile: 'y', caFile, clientCerts: 'request' } }),
      clock: { now: () => performance.now() },
      wallClock: Date.now,
      isMember: (id) => fake.nodes.some((n) => n.id === id),
    });
    const server = createHttpServer(fake, { authorize: hauth.authorize, inspectBody: hauth.inspectBody });
    const node = new TestNode('srv');
    const transport = node.create();
    const listener = await listenShared({
      host: '127.0.0.1',
      port: 0,
      raft: transport,
      http: server,
      tls: material.server,
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await Promise.all([transport.close(), listener.close()]);
    });
    const post = (path: string, body: string, client?: { certFile: string; keyFile: string }) =>
      new Promise<number>((resolve, reject) => {
        const r = https.request(
          {
            host: '127.0.0.1',
            port: listener.port,
            method: 'POST',
            path,
            agent: false,
            ca: pki.read(caFile),
            headers: { 'content-type': 'application/json' },
            ...(client === undefined ? {} : { cert: pki.read(client.certFile), key: pki.read(client.keyFile) }),
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        r.on('error', reject);
        r.end(body);
      });
    const before = fake.fingerprint();
    expect(await post('/rebalance', '{}')).toBe(401);
    expect(await post('/rebalance', '{}', pki.cert('foreign-ca', 'operator', 'operator-foreign'))).toBe(401);
    const join = (id: string) => JSON.stringify({ node: { id, http_addr: '127.0.0.1:9' } });
    const n7 = pki.cert('cluster-ca', 'node-7');
    expect(await post('/join', join('node-2'), n7)).toBe(403);
    expect(fake.fingerprint()).toBe(before);
    expect(await post('/join', join('node-7'), n7)).toBe(200);
    expect(await post('/rebalance', '{}', pki.cert('cluster-ca', 'operator'))).toBe(200);
  });
});
