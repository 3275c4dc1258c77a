import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHelloAck, encodeHelloAck, HelloStatus } from '../../../src/raft/transport/codec/handshake.js';
import { encodeFrame } from '../../../src/raft/transport/codec/index.js';
import { RAFT_PREAMBLE } from '../../../src/raft/transport/frame.js';
import { EntryType, type Message, MessageType } from '../../../src/raft/types.js';
import { RawPeer, TestNode, until } from './harness.js';

const nodes: TestNode[] = [];
const raws: RawPeer[] = [];
const servers: net.Server[] = [];

async function start(id: string, extra = {}): Promise<TestNode> {
  const n = await new TestNode(id, extra).start();
  nodes.push(n);
  return n;
}

async function raw(port: number): Promise<RawPeer> {
  const r = await RawPeer.connect(port);
  raws.push(r);
  return r;
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.transport.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const timeoutNow = (from: string, to: string, term: number): Message => ({
  type: MessageType.TimeoutNow,
  from,
  to,
  term,
});

/** a → b traffic still flows: sends one more message and waits for it. */
async function stillServing(a: TestNode, b: TestNode, term: number): Promise<void> {
  a.transport.send(b.addr, timeoutNow(a.id, b.id, term));
  await until(() => b.inbox.some((m) => m.term === term), `message ${term} after the fault`);
}

describe('TcpTransport under hostile input', () => {
  it('drops only the offending connection for an oversize prefix, garbage, a bad handshake or a bad frame', async () => {
    const a = await start('a', { maxFrameBytes: 1024 });
    const b = await start('b');
    await stillServing(a, b, 1);
    await stillServing(b, a, 2);

    const cases: [string, (r: RawPeer) => void][] = [
      [
        'oversize length prefix',
        (r) => {
          r.hello({ nodeId: 'x1' });
          r.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
        },
      ],
      ['not the preamble', (r) => r.write(Buffer.from('hello there, this is not raft'))],
      [
        'preamble then garbage',
        (r) => r.write(Buffer.concat([RAFT_PREAMBLE, Buffer.from([0, 0, 0, 5, 9, 9, 9, 9, 9])])),
      ],
      [
        'unknown message type after the handshake',
        (r) => {
          r.hello({ nodeId: 'x2' });
          r.write(Buffer.from([0, 0, 0, 3, 1, 99, 0]));
        },
      ],
      [
        'truncated message after the handshake',
        (r) => {
          r.hello({ nodeId: 'x3' });
          const f = encodeFrame(timeoutNow('x3', 'a', 1));
          const cut = f.subarray(0, f.length - 3);
          cut.writeUInt32BE(cut.length - 4, 0);
          r.write(cut);
        },
      ],
    ];
    for (const [name, act] of cases) {
      const r = await raw(a.port);
      act(r);
      await r.closed;
      expect(r.isClosed, name).toBe(true);
    }
    expect(a.transport.stats().decodeErrors).toBe(4); // the non-preamble one never reaches the transport
    expect(a.errors.every((e) => e instanceof Error)).toBe(true);
    await stillServing(a, b, 3);
    await stillServing(b, a, 4);
    expect(a.transport.stats().peers.find((p) => p.id === 'b')?.connection).toBe('outbound');
  });

  it('survives random byte streams after a valid handshake (property, real sockets)', async () => {
    const a = await start('a', { maxFrameBytes: 4096 });
    const b = await start('b');
    await stillServing(a, b, 1);
    let i = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 6 }),
        async (chunks) => {
          const r = await raw(a.port);
          r.hello({ nodeId: `fuzz-${i++}` });
          for (const c of chunks) r.write(c);
          r.socket.end();
          await r.closed;
        },
      ),
      { numRuns: 25, seed: 42 },
    );
    await stillServing(a, b, 2);
    await stillServing(b, a, 3);
    // Peers known only from their own handshakes are forgotten once their connections close.
    await until(() => a.transport.stats().peers.length === 1, 'fuzz peers forgotten');
  });

  it.each([
    ['another cluster', { clusterName: 'other' }, HelloStatus.ClusterMismatch],
    ['an unsupported version', { minVersion: 2, maxVersion: 3 }, HelloStatus.VersionUnsupported],
    ["the acceptor's own id", { nodeId: 'a' }, HelloStatus.WrongNode],
    ['a different expected node', { expectedPeerId: 'zz' }, HelloStatus.WrongNode],
  ])('refuses a handshake from %s with a status, then closes', async (_name, hello, status) => {
    const a = await start('a');
    const r = await raw(a.port);
    r.hello(hello);
    await r.closed;
    expect(r.frames).toHaveLength(1);
    expect(decodeHelloAck(r.frames[0]!).status).toBe(status);
    expect(a.transport.stats().handshakeRejections).toBe(1);
    expect(a.errors).toHaveLength(1);
  });

  it('closes a connection that sends no handshake in time', async () => {
    const a = await start('a', { handshakeTimeoutMs: 50 });
    const r = await raw(a.port);
    r.write(RAFT_PREAMBLE);
    await r.closed;
    expect(a.errors.some((e) => e.message.includes('no handshake'))).toBe(true);
  });

  it('drops messages whose sender is not the connected peer, or addressed to another node', async () => {
    const a = await start('a');
    const r = await raw(a.port);
    r.hello({ nodeId: 'x' });
    r.write(encodeFrame(timeoutNow('spoofed', 'a', 1)));
    r.write(encodeFrame(timeoutNow('x', 'not-a', 2)));
    r.write(encodeFrame(timeoutNow('x', 'a', 3)));
    await until(() => a.inbox.length === 1, 'the valid message');
    expect(a.inbox[0]!.term).toBe(3);
    expect(a.transport.stats().misrouted).toBe(2);
  });

  it('lets a restarted peer (new incarnation) replace a connection that looks open, but refuses a duplicate', async () => {
    const a = await start('a');
    const first = await raw(a.port);
    first.hello({ nodeId: 'z', incarnation: 1 });
    await until(() => first.frames.length === 1, 'first ack');
    expect(decodeHelloAck(first.frames[0]!).status).toBe(HelloStatus.Ok);

    // Same incarnation dialling again while its connection is open ("z" > "a": a keeps the one it has).
    const dup = await raw(a.port);
    dup.hello({ nodeId: 'z', incarnation: 1 });
    await dup.closed;
    expect(decodeHelloAck(dup.frames[0]!).status).toBe(HelloStatus.Duplicate);
    expect(first.isClosed).toBe(false);

    // A new incarnation: z restarted, so the old connection is dead and gets replaced.
    const restarted = await raw(a.port);
    restarted.hello({ nodeId: 'z', incarnation: 2 });
    await first.closed;
    expect(decodeHelloAck(restarted.frames[0]!).status).toBe(HelloStatus.Ok);
    a.transport.send('127.0.0.1:1', timeoutNow('a', 'z', 7));
    await until(() => restarted.frames.length === 2, 'message on the new connection');
  });
});

describe('TcpTransport back-pressure', () => {
  const bigAppend = (term: number, size: number): Message => ({
    type: MessageType.AppendEntries,
    from: 'a',
    to: 'p',
    term,
    prevIndex: 0,
    prevTerm: 0,
    commit: 0,
    round: 0,
    entries: [{ index: 1, term, type: EntryType.Command, data: new Uint8Array(size) }],
  });

  it('returns false once the socket buffer passes the mark, and fires onDrain when it empties', async () => {
    // A peer that completes the handshake and then stops reading.
    let peer: RawPeer | undefined;
    const server = net.createServer((s) => {
      peer = RawPeer.wrap(s);
      raws.push(peer);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;

    const a = await start('a', { highWaterMarkBytes: 256 * 1024 });
    a.transport.send(`127.0.0.1:${port}`, timeoutNow('a', 'p', 0));
    await until(() => peer !== undefined && peer.frames.length === 1, 'hello');
    peer!.socket.pause();
    peer!.write(
      encodeHelloAck(
        { status: HelloStatus.Ok, version: 1, nodeId: 'p', incarnation: 5, reason: '', auth: new Uint8Array(0) },
        1,
      ),
    );
    await until(() => a.transport.stats().peers[0]?.connection === 'outbound', 'handshake');

    let sent = 0;
    while (a.transport.send(`127.0.0.1:${port}`, bigAppend(1, 64 * 1024))) {
      sent++;
      if (sent > 10_000) throw new Error('never congested');
      // Let the kernel take what it will, so only real congestion stops the loop.
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const s = a.transport.stats().peers[0]!;
    expect(s.congested).toBe(true);
    expect(s.pendingBytes).toBeGreaterThanOrEqual(256 * 1024);
    // Still congested: further sends keep returning false (but are queued, not lost).
    expect(a.transport.send(`127.0.0.1:${port}`, timeoutNow('a', 'p', 2))).toBe(false);
    expect(a.drains).toEqual([]);

    peer!.socket.resume();
    await until(() => a.drains.length === 1, 'onDrain');
    expect(a.drains).toEqual(['p']);
    expect(a.transport.send(`127.0.0.1:${port}`, timeoutNow('a', 'p', 3))).toBe(true);
  });

  it('bounds the queue of a peer that is down, dropping the oldest, and drains when it comes up', async () => {
    // Reserve a port, then free it: the peer is "down" at a known address.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));

    const a = await start('a', { maxQueueFrames: 4, highWaterMarkBytes: 3000 });
    const results: boolean[] = [];
    for (let t = 1; t <= 10; t++) results.push(a.transport.send(`127.0.0.1:${port}`, bigAppend(t, 1000)));
    // Each frame is a little over 1000 bytes: the third one crosses the 3000-byte mark.
    expect(results).toEqual([true, true, false, false, false, false, false, false, false, false]);
    const s = a.transport.stats();
    expect(s.dropped).toBe(6);
    expect(s.peers[0]).toMatchObject({ queuedFrames: 4, congested: true });

    const p = await new TestNode('p').start(port);
    nodes.push(p);
    await until(() => p.inbox.length === 4, 'the queued messages');
    expect(p.inbox.map((m) => m.term)).toEqual([7, 8, 9, 10]); // the newest survive
    await until(() => a.drains.length === 1, 'onDrain after reconnect');
  });
});
