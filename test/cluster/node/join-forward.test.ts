/**
 * A join sent to a follower is forwarded to the leader by the follower itself (one hop) and the leader's answer is
 * relayed: a joiner that does not follow redirects (a Go original client, or one that cannot reach the leader's
 * advertised address) still gets in. Proven on in-process nodes with raw HTTP clients that never follow a redirect,
 * in an open cluster, with a cluster secret (the joiner's signature must survive the hop), and with a secret and
 * TLS (the follower must speak https to the leader); plus the coordinator's fallbacks with a fake forwarder.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalPki } from '../../../examples/kv/pki.js';
import type { ClusterKit } from '../../../src/cluster/index.js';
import { type HttpResponse, JoinCoordinator, type JoinForwarder } from '../../../src/cluster/join.js';
import { ClusterStateMachine } from '../../../src/cluster/state/index.js';
import { JOIN_FORWARDED_BY_HEADER, type JoinOutcome, type JoinRequest } from '../../../src/http/api.js';
import { signRequest } from '../../../src/security/http-auth.js';
import { ClusterSecret } from '../../../src/security/secret.js';
import { silentLogger } from '../../../src/util/logger.js';
import { TestNodes } from './helpers.js';

const SECRET = 'a cluster secret of more than 16 bytes';

interface Res {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: unknown;
}

/** One POST /join; Node's http client never follows redirects, so a 307 is what the test sees. */
function postJoin(
  addr: string,
  body: unknown,
  headers: Record<string, string> = {},
  tls?: { readonly ca: Buffer },
): Promise<Res> {
  const data = Buffer.from(JSON.stringify(body));
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const options: https.RequestOptions = {
    host,
    port,
    method: 'POST',
    path: '/join',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': String(data.length), ...headers },
    ...(tls === undefined ? {} : { ca: tls.ca }),
  };
  return new Promise((resolve, reject) => {
    const req = (tls === undefined ? http.request : https.request)(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          json: text === '' ? undefined : JSON.parse(text),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** The headers signing `body` as a join by `nodeId` (what a ClusterKit joiner sends). */
function signed(nodeId: string, body: unknown): Record<string, string> {
  const data = Buffer.from(JSON.stringify(body));
  return signRequest(
    ClusterSecret.fromString(SECRET),
    nodeId,
    'POST',
    '/join',
    data,
    randomBytes(16).toString('hex'),
    Date.now(),
  );
}

/** A port nothing listens on (briefly bound to port 0, then released): the fake joiner's advertised address. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function leaderAndFollower(nodes: readonly ClusterKit[]): { leader: ClusterKit; follower: ClusterKit } {
  const leader = nodes.find((n) => n.getMetrics().isLeader);
  const follower = nodes.find((n) => !n.getMetrics().isLeader);
  if (leader === undefined || follower === undefined) throw new Error('expected one leader and one follower');
  return { leader, follower };
}

function memberIds(ck: ClusterKit): string[] {
  return ck.getCluster().nodes.map((n) => n.id);
}

describe('a join sent to a follower', () => {
  let t: TestNodes | undefined;
  let pki: LocalPki | undefined;
  afterEach(async () => {
    await t?.destroy();
    pki?.destroy();
    t = undefined;
    pki = undefined;
  });

  it('is forwarded to the leader and admitted, without the joiner following a redirect (Go-shaped join)', async () => {
    t = new TestNodes();
    const { leader, follower } = leaderAndFollower(await t.cluster(2));
    const port = await freePort();
    // The Go original's shape: `ip: ":port"` takes its host from the request's source address, which the leader
    // must learn from the follower (it sees the follower's address, not the joiner's).
    const res = await postJoin(follower.address, { node: { id: 'go-9', ip: `:${port}` } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, data: { node_id: 'go-9', node_count: 3, join: 'new' } });
    expect(memberIds(leader)).toContain('go-9');
    expect(leader.getCluster().nodes.find((n) => n.id === 'go-9')?.httpAddr).toBe(`127.0.0.1:${port}`);
  });

  it('is not forwarded again when it was already forwarded: a second follower redirects it', async () => {
    t = new TestNodes();
    const { leader, follower } = leaderAndFollower(await t.cluster(2));
    const port = await freePort();
    const res = await postJoin(
      follower.address,
      { node: { id: 'hop-2', http_addr: `127.0.0.1:${port}` } },
      { [JOIN_FORWARDED_BY_HEADER]: 'some-node' },
    );
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`http://${leader.address}/join`);
    expect(memberIds(leader)).not.toContain('hop-2');
  });

  it('with a cluster secret: the joiner signature travels through the follower and the leader accepts it', async () => {
    t = new TestNodes();
    const { leader, follower } = leaderAndFollower(await t.cluster(2, { clusterSecret: SECRET }));
    const port = await freePort();
    const body = { node: { id: 'signed-3', http_addr: `127.0.0.1:${port}` } };

    // Unsigned, and signed by another id than the one claimed: the follower refuses before forwarding anything.
    expect((await postJoin(follower.address, body)).status).toBe(401);
    expect((await postJoin(follower.address, body, signed('someone-else', body))).status).toBe(403);

    const res = await postJoin(follower.address, body, signed('signed-3', body));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ data: { node_id: 'signed-3', join: 'new' } });
    expect(memberIds(leader)).toContain('signed-3');
  });

  it('with a cluster secret and TLS: the follower forwards over https, the signature still verifies', async () => {
    pki = new LocalPki();
    const caFile = pki.ca('ca');
    const tlsOf = (id: string) => ({ tls: { ...pki!.cert('ca', id), caFile } });
    t = new TestNodes();
    const first = await t.start('node-1', { clusterSecret: SECRET, ...tlsOf('node-1') });
    await t.start('node-2', { clusterSecret: SECRET, ...tlsOf('node-2'), joinAddr: first.address });
    const { leader, follower } = leaderAndFollower(t.nodes);
    const port = await freePort();
    const body = { node: { id: 'tls-4', http_addr: `127.0.0.1:${port}` } };
    const res = await postJoin(follower.address, body, signed('tls-4', body), { ca: pki.read(caFile) });
    expect(res.status).toBe(200);
    expect(memberIds(leader)).toContain('tls-4');
  });
});

describe('JoinCoordinator on a follower', () => {
  const leader = { id: 'n1', httpAddr: '10.0.0.1:8080', term: 3 };
  const request: JoinRequest = {
    node: { id: 'n9', name: 'n9', httpAddr: '10.0.0.9:8080', raftAddr: '10.0.0.9:8080' },
    remoteAddress: '10.0.0.9',
    relay: { target: '/join', body: Buffer.from('{"node":{"id":"n9"}}'), credentials: { authorization: 'Bearer t' } },
  };

  function follower(forward: JoinForwarder | undefined): JoinCoordinator {
    return new JoinCoordinator({
      state: new ClusterStateMachine().state,
      propose: () => Promise.reject(new Error('a follower proposes nothing')),
      ensureRaftMember: () => Promise.reject(new Error('unexpected')),
      removeRaftMember: () => Promise.reject(new Error('unexpected')),
      isLeader: () => false,
      redirect: (): JoinOutcome => ({ kind: 'redirect', leader }),
      isReachable: () => true,
      lastSeenBeforeOutage: () => 0,
      pendingJoins: new Set(),
      forward,
      wallClock: () => 0,
      logger: silentLogger,
    });
  }

  it('relays the leader answer: status, JSON body and the headers a joiner acts on', async () => {
    const calls: unknown[] = [];
    const answer: HttpResponse = {
      status: 503,
      headers: { 'retry-after': '1', 'content-length': '42' },
      body: { error: { code: 'ERR_UNAVAILABLE' } },
    };
    const c = follower((addr, relay, remote) => {
      calls.push([addr, relay, remote]);
      return Promise.resolve(answer);
    });
    expect(await c.handle(request)).toEqual({
      kind: 'relayed',
      via: leader.httpAddr,
      status: 503,
      body: answer.body,
      headers: { 'retry-after': '1' },
    });
    expect(calls).toEqual([[leader.httpAddr, request.relay, '10.0.0.9']]);
  });

  it('redirects when the request cannot be relayed, or the leader cannot be reached or answers garbage', async () => {
    let forwards = 0;
    const unused = follower(() => {
      forwards++;
      return Promise.reject(new Error('unexpected'));
    });
    const { relay: _relay, ...notRelayable } = request;
    expect(await unused.handle(notRelayable)).toEqual({ kind: 'redirect', leader });
    expect(forwards).toBe(0);

    const down = follower(() => Promise.reject(new Error('connect ECONNREFUSED')));
    expect(await down.handle(request)).toEqual({ kind: 'redirect', leader });
    const garbage = follower(() => Promise.resolve({ status: 200, headers: {}, body: 'plain text' }));
    expect(await garbage.handle(request)).toEqual({ kind: 'redirect', leader });
    expect(await follower(undefined).handle(request)).toEqual({ kind: 'redirect', leader });
  });
});
