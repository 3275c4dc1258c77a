import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenShared, type SharedListener } from '../../../src/raft/transport/listener.js';
import { type Message, MessageType } from '../../../src/raft/types.js';
import { RawPeer, settleHandles, TestNode, tcpHandles, until } from './harness.js';
import { normalize, sampleMessages } from './messages.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node whose Raft transport and HTTP API share one port. */
async function sharedNode(id: string, sniffTimeoutMs = 10_000) {
  const node = new TestNode(id);
  const transport = node.create();
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${id} says hello to ${req.method} ${req.url}`);
  });
  const listener = await listenShared({
    host: '127.0.0.1',
    port: 0,
    http: server,
    raft: transport,
    sniffTimeoutMs,
    scheduler: node.scheduler,
  });
  node.port = listener.port;
  transport.setAdvertiseAddr(node.addr);
  cleanups.push(async () => {
    server.closeAllConnections();
    await Promise.all([transport.close(), listener.close()]);
  });
  return { node, server, listener };
}

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('SharedListener', () => {
  it('serves HTTP and Raft on the same port at the same time', async () => {
    const { node: a, listener } = await sharedNode('a');
    const { node: b } = await sharedNode('b');
    expect(listener.port).toBeGreaterThan(0);
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(async () => agent.destroy());

    const rounds = 20;
    const sent: Message[] = [];
    const gets: Promise<{ status: number; body: string }>[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const m of sampleMessages('b', 'a')) {
        const msg = { ...m, term: i } as Message;
        sent.push(msg);
        b.transport.send(a.addr, msg);
      }
      gets.push(get(a.port, `/v1/status?i=${i}`, agent));
    }
    const responses = await Promise.all(gets);
    expect(responses.map((r) => r.status)).toEqual(new Array(rounds).fill(200));
    expect(responses[7]!.body).toBe('a says hello to GET /v1/status?i=7');
    await until(() => a.inbox.length === sent.length, 'raft messages');
    expect(a.inbox.map(normalize)).toEqual(sent.map(normalize));

    // And back over the same connection; HTTP still answers afterwards on its keep-alive socket.
    a.transport.send(b.addr, { type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 1 });
    await until(() => b.inbox.length === 1, 'reply');
    expect((await get(a.port, '/again', agent)).body).toBe('a says hello to GET /again');
    expect(a.transport.stats().openConnections).toBe(1);
    expect(listener.stats()).toMatchObject({ raftConnections: 1, timeouts: 0, refused: 0 });
    expect(listener.stats().httpConnections).toBeGreaterThanOrEqual(1);
  });

  it('passes requests whose first bytes resemble the preamble (CONNECT, "C…") to HTTP', async () => {
    const { node: a } = await sharedNode('a');
    const socket = net.connect({ host: '127.0.0.1', port: a.port });
    cleanups.push(async () => socket.destroy());
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    await new Promise((res) => socket.once('connect', res));
    // Dribble the bytes one at a time so the listener must wait before deciding.
    for (const ch of 'CK') {
      socket.write(ch);
      await new Promise((res) => setTimeout(res, 5));
    }
    socket.write('X /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => reply.includes('\r\n\r\n'), 'an HTTP response');
    expect(reply).toMatch(/^HTTP\/1\.1 \d{3}/);
  });

  it('closes connections that send nothing within the sniff timeout', async () => {
    const { node: a, listener } = await sharedNode('a', 50);
    const r = await RawPeer.connect(a.port);
    await r.closed;
    expect(listener.stats().timeouts).toBe(1);
  });

  it('refuses non-Raft connections when there is no HTTP server (Raft-only port)', async () => {
    const a = await new TestNode('a').start();
    cleanups.push(() => a.transport.close());
    const r = await RawPeer.connect(a.port);
    r.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await r.closed;
    expect(r.frames).toHaveLength(0);
  });

  it('reports a port that cannot be bound as ERR_TRANSPORT', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const t = new TestNode('a').create();
    await expect(listenShared({ host: '127.0.0.1', port, raft: t })).rejects.toMatchObject({ code: 'ERR_TRANSPORT' });
    await t.close();
  });

  it('leaves no handle open after transport, HTTP connections and listener are closed', async () => {
    await settleHandles();
    const before = tcpHandles();
    let listener: SharedListener | undefined;
    {
      const s = await sharedNode('a');
      listener = s.listener;
      const { node: b } = await sharedNode('b');
      b.transport.send(s.node.addr, { type: MessageType.TimeoutNow, from: 'b', to: 'a', term: 1 });
      await until(() => s.node.inbox.length === 1, 'message');
      const agent = new http.Agent({ keepAlive: true });
      await get(s.node.port, '/', agent);
      agent.destroy();
    }
    for (const c of cleanups.splice(0).reverse()) await c();
    expect(listener.stats().raftConnections).toBe(1);
    expect(tcpHandles()).toBe(before);
  });
});
