/**
 * The reconnect back-off starts over when it has nothing left to say: when a peer's address changes (it
 * restarted elsewhere) and when the peer dials us (it is evidently back). The back-offs here are minutes long, so
 * a message that waited for one would never arrive within the test: every delivery below happens only because
 * the transport dials (or uses the peer's connection) at once.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHelloAck, HelloStatus } from '../../../src/raft/transport/codec/handshake.js';
import { decodeMessage } from '../../../src/raft/transport/codec/index.js';
import { type Message, MessageType } from '../../../src/raft/types.js';
import { RawPeer, TestNode, until } from './harness.js';

const nodes: TestNode[] = [];
const raws: RawPeer[] = [];
const servers: { server: net.Server; sockets: Set<net.Socket> }[] = [];

/** Retries after 60–120 s: far beyond any wait in these tests. */
const SLOW_BACKOFF = { reconnectBaseMs: 120_000, reconnectMaxMs: 240_000, handshakeTimeoutMs: 120_000 };

async function start(id: string, extra = {}): Promise<TestNode> {
  const n = await new TestNode(id, extra).start();
  nodes.push(n);
  return n;
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers (a dial to it stays in its handshake). */
async function silentServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.resume(); // reads (and ignores) the Hello, and so sees the other side close
  });
  servers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** An address where nothing listens (a port just released). */
async function deadAddr(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.transport.close()));
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

const msg = (term: number): Message => ({ type: MessageType.TimeoutNow, from: 'a', to: 'b', term });

const peerB = (a: TestNode) => a.transport.stats().peers.find((p) => p.id === 'b');

describe('TcpTransport reconnect back-off', () => {
  it('reconnect(peer) dials a peer that is back at the same address at once', async () => {
    const a = await start('a', SLOW_BACKOFF);
    const addr = await deadAddr();
    a.transport.send(addr, msg(1));
    await until(() => (peerB(a)?.failures ?? 0) >= 1, 'a failed dial while b is down');
    // b restarts at the same address; nothing tells the transport but the caller (ClusterKit admitting its join).
    const b = new TestNode('b');
    nodes.push(b);
    await b.start(Number(addr.split(':')[1]));
    a.transport.reconnect('b');
    await until(() => b.inbox.length === 1, 'the queued message, without waiting out the back-off', 20_000);
    expect(peerB(a)).toMatchObject({ connection: 'outbound', failures: 0, queuedFrames: 0 });
    a.transport.reconnect('nobody'); // an unknown peer is ignored
  });

  it('dials a peer at its new address at once, whatever back-off its old address earned', async () => {
    const a = await start('a', SLOW_BACKOFF);
    // b is down: the dial fails and the next one is minutes away.
    a.transport.send(await deadAddr(), msg(1));
    await until(() => (peerB(a)?.failures ?? 0) >= 1, 'a failed dial to the old address');
    expect(peerB(a)).toMatchObject({ connection: null, dialing: false, queuedFrames: 1 });

    // b is back elsewhere (a restart on a new port): the next message names the new address.
    const b = await start('b');
    a.transport.send(b.addr, msg(2));
    await until(() => b.inbox.length === 2, 'the queued and the new message at the new address', 20_000);
    expect(b.inbox.map((m) => m.term)).toEqual([1, 2]);
    expect(peerB(a)).toMatchObject({ addr: b.addr, connection: 'outbound', failures: 0, queuedFrames: 0 });
  });

  it('drops a dial still in flight to the old address and dials the new one', async () => {
    const a = await start('a', SLOW_BACKOFF);
    // A dial that connects but never completes its handshake (a host that vanished mid-dial behaves alike).
    const stuck = `127.0.0.1:${await silentServer()}`;
    a.transport.send(stuck, msg(1));
    await until(() => servers[0]!.sockets.size === 1, 'the dial to the old address connected');
    expect(peerB(a)).toMatchObject({ dialing: true, connection: null });

    const b = await start('b');
    a.transport.send(b.addr, msg(2));
    await until(() => b.inbox.length === 2, 'both messages at the new address', 20_000);
    expect(b.inbox.map((m) => m.term)).toEqual([1, 2]);
    // The stale dial was abandoned, not counted as a failure of the new address.
    await until(() => servers[0]!.sockets.size === 0, 'the stale dial closed');
    expect(peerB(a)).toMatchObject({ connection: 'outbound', dialing: false, failures: 0 });
    expect(a.transport.stats().openConnections).toBe(1);
  });

  it('starts the back-off over when the peer dials us, and sends what waited over its connection at once', async () => {
    const a = await start('a', SLOW_BACKOFF);
    a.transport.send(await deadAddr(), msg(1));
    await until(() => (peerB(a)?.failures ?? 0) >= 1, 'a failed dial');

    // b restarted (somewhere a has not heard of yet) and dials a: its Hello alone shows it is back.
    const raw = await RawPeer.connect(a.port);
    raws.push(raw);
    raw.hello({ nodeId: 'b', addr: '127.0.0.1:9', incarnation: 42 });
    await until(() => raw.frames.length >= 2, 'the HelloAck and the queued message', 20_000);
    expect(decodeHelloAck(raw.frames[0]!).status).toBe(HelloStatus.Ok);
    expect(decodeMessage(raw.frames[1]!)).toMatchObject({ type: MessageType.TimeoutNow, term: 1 });
    // Before b sent any message: the failures at its old address no longer count.
    expect(peerB(a)).toMatchObject({ connection: 'inbound', failures: 0, queuedFrames: 0 });
  });
});
