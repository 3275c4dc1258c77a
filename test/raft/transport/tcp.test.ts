import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/raft/transport/codec/index.js';
import { type Message, MessageType } from '../../../src/raft/types.js';
import { RawPeer, settleHandles, TestNode, tcpHandles, until } from './harness.js';
import { normalize, sampleMessages } from './messages.js';

const nodes: TestNode[] = [];

async function start(id: string, extra = {}, port = 0): Promise<TestNode> {
  const n = await new TestNode(id, extra).start(port);
  nodes.push(n);
  return n;
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.transport.close()));
});

function sendAll(from: TestNode, to: TestNode): Message[] {
  const msgs = sampleMessages(from.id, to.id);
  for (const m of msgs) expect(from.transport.send(to.addr, m)).toBe(true);
  return msgs;
}

describe('TcpTransport', () => {
  it('delivers every message type both ways over one connection', async () => {
    const a = await start('a');
    const b = await start('b');
    const ab = sendAll(a, b);
    await until(() => b.inbox.length === ab.length, 'a → b');
    expect(b.inbox.map(normalize)).toEqual(ab.map(normalize));

    // b replies over the connection a opened: no dial of its own.
    const ba = sendAll(b, a);
    await until(() => a.inbox.length === ba.length, 'b → a');
    expect(a.inbox.map(normalize)).toEqual(ba.map(normalize));

    const sa = a.transport.stats();
    const sb = b.transport.stats();
    expect(sa.openConnections).toBe(1);
    expect(sb.openConnections).toBe(1);
    expect(sa.dials).toBe(1);
    expect(sb.dials).toBe(0);
    expect(sa.peers).toMatchObject([{ id: 'b', connection: 'outbound' }]);
    expect(sb.peers).toMatchObject([{ id: 'a', connection: 'inbound' }]);
    expect(sa.framesSent).toBe(ab.length);
    expect(sb.framesReceived).toBe(ab.length);
    expect(sa.framesReceived).toBe(ba.length);
    expect(sa.decodeErrors + sb.decodeErrors + sa.misrouted + sb.misrouted).toBe(0);
  });

  it('connects three nodes pairwise, one connection per pair', async () => {
    const ns = [await start('n1'), await start('n2'), await start('n3')];
    const expected = new Map<string, Message[]>(ns.map((n) => [n.id, []]));
    for (const from of ns) {
      for (const to of ns) if (from !== to) expected.get(to.id)!.push(...sendAll(from, to));
    }
    for (const n of ns) await until(() => n.inbox.length === expected.get(n.id)!.length, `inbox of ${n.id}`);
    for (const n of ns) {
      // Per sender, order is preserved; across senders it interleaves.
      for (const from of ns) {
        if (from === n) continue;
        const got = n.inbox.filter((m) => m.from === from.id).map(normalize);
        expect(got).toEqual(
          expected
            .get(n.id)!
            .filter((m) => m.from === from.id)
            .map(normalize),
        );
      }
      expect(n.transport.stats().openConnections).toBe(2);
    }
  });

  it('keeps exactly one connection when both sides dial at once (the one dialled by the lower id)', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await start(`a${round}`);
      const b = await start(`b${round}`);
      // Same tick, before either has a connection: both dial.
      const ab = sampleMessages(a.id, b.id);
      const ba = sampleMessages(b.id, a.id);
      for (let i = 0; i < ab.length; i++) {
        a.transport.send(b.addr, ab[i]!);
        b.transport.send(a.addr, ba[i]!);
      }
      await until(() => a.inbox.length === ba.length && b.inbox.length === ab.length, 'both inboxes');
      await until(
        () => a.transport.stats().openConnections === 1 && b.transport.stats().openConnections === 1,
        'one connection each',
      );
      expect(a.transport.stats().peers[0]!.connection).toBe('outbound');
      expect(b.transport.stats().peers[0]!.connection).toBe('inbound');
      expect(a.transport.stats().duplicates + b.transport.stats().duplicates).toBeGreaterThan(0);
      // Nothing queued on the refused side was lost: the queue waits for the surviving connection.
      expect(a.inbox.map(normalize)).toEqual(ba.map(normalize));
      expect(b.inbox.map(normalize)).toEqual(ab.map(normalize));
    }
  });

  it('reconnects with back-off after the peer restarts on the same port', async () => {
    const a = await start('a');
    let b = await start('b');
    const port = b.port;
    const hb = (term: number): Message => ({ ...sampleMessages('a', 'b')[0]!, term, entries: [] }) as Message;
    a.transport.send(b.addr, hb(1));
    await until(() => b.inbox.length === 1, 'first heartbeat');

    await b.transport.close();
    await until(() => a.transport.stats().peers[0]!.connection === null, 'a notices the loss');
    // While b is down, sends queue and dials fail and back off.
    for (let t = 2; t <= 4; t++) a.transport.send(`127.0.0.1:${port}`, hb(t));
    await until(() => a.transport.stats().dialFailures >= 2, 'failed redials');

    b = await start('b', {}, port);
    await until(() => b.inbox.length > 0, 'traffic after restart');
    expect(b.inbox.map((m) => m.term)).toEqual([2, 3, 4]);
    const s = a.transport.stats();
    expect(s.reconnects).toBeGreaterThanOrEqual(2);
    expect(s.disconnects).toBe(1);
    expect(s.peers[0]).toMatchObject({ id: 'b', connection: 'outbound', queuedFrames: 0 });

    // And the restarted node answers over the same connection.
    b.transport.send(a.addr, { type: MessageType.TimeoutNow, from: 'b', to: 'a', term: 5 });
    await until(() => a.inbox.length === 1, 'reply from restarted b');
    expect(b.transport.stats().dials).toBe(0);
  });

  it('refuses a connection meant for another node (address reused by a different node id)', async () => {
    const a = await start('a');
    const b = await start('b');
    // a believes "c" lives at b's address: b's handshake check refuses the connection (wrong node).
    a.transport.send(b.addr, { type: MessageType.TimeoutNow, from: 'a', to: 'c', term: 1 });
    await until(() => a.transport.stats().handshakeRejections === 1, 'refusal');
    expect(b.transport.stats().handshakeRejections).toBe(1);
    expect(b.inbox).toHaveLength(0);
    expect(a.errors.some((e) => e.message.includes('WrongNode'))).toBe(true);
  });

  it('delivers to itself without a socket', async () => {
    const a = await start('a');
    a.transport.send(a.addr, { type: MessageType.TimeoutNow, from: 'a', to: 'a', term: 1 });
    await until(() => a.inbox.length === 1, 'loopback');
    expect(a.transport.stats().dials).toBe(0);
  });

  it('closes cleanly: every socket closed, every timer cancelled, later sends dropped', async () => {
    await settleHandles();
    const before = tcpHandles();
    const a = await start('a');
    const b = await start('b');
    const c = await start('c');
    sendAll(a, b);
    sendAll(b, c);
    // A peer that is down leaves a back-off timer pending.
    a.transport.send('127.0.0.1:1', { type: MessageType.TimeoutNow, from: 'a', to: 'z', term: 1 });
    await until(() => b.inbox.length > 0 && c.inbox.length > 0 && a.transport.stats().dialFailures > 0, 'traffic');
    await Promise.all(nodes.splice(0).map((n) => n.transport.close()));
    for (const n of [a, b, c]) {
      expect(n.transport.stats().openConnections).toBe(0);
      expect(n.scheduler.pending).toBe(0);
    }
    expect(tcpHandles()).toBe(before);
    expect(a.transport.send(b.addr, sampleMessages('a', 'b')[0]!)).toBe(false);
    expect(a.transport.stats().dropped).toBeGreaterThan(0);
    await a.transport.close(); // idempotent
  });

  it('flushes a message sent right before close', async () => {
    const a = await start('a');
    const b = await start('b');
    a.transport.send(b.addr, { type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 1 });
    await until(() => b.inbox.length === 1, 'connected');
    a.transport.send(b.addr, { type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 2 });
    await a.transport.close();
    await until(() => b.inbox.length === 2, 'last message');
  });

  it('closes without waiting for the FIN of a peer that is alive but frozen, and its last message still arrives', async () => {
    // Longer than the test's own timeout: a close that waited for the peer's FIN would fail the test.
    const a = await start('a', { closeTimeoutMs: 120_000 });
    const raw = await RawPeer.connect(a.port);
    let reset = false;
    raw.socket.on('error', () => {
      reset = true;
    });
    try {
      raw.hello({ nodeId: 'b', addr: '127.0.0.1:9', incarnation: 1 });
      await until(() => raw.frames.length === 1, 'the HelloAck');
      // A frozen process: its kernel still takes bytes, its application reads none, so no FIN ever comes back.
      raw.socket.pause();
      a.transport.send('127.0.0.1:9', { type: MessageType.TimeoutNow, from: 'a', to: 'b', term: 7 });
      await a.transport.close();
      expect(raw.isClosed).toBe(false);
      raw.socket.resume(); // thawed: it reads what was sent before the close, then a clean end
      await raw.closed;
      expect(raw.frames.slice(1).map((f) => decodeMessage(f))).toMatchObject([
        { type: MessageType.TimeoutNow, term: 7 },
      ]);
      expect(reset).toBe(false);
    } finally {
      raw.destroy();
    }
  });
});
