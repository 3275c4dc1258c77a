/** The harness's link proxy: frame splitting, link rules, and a real relay that drops only the cut direction. */
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHello, HELLO_ACK_TYPE } from '../../src/raft/transport/codec/handshake.js';
import { RAFT_PREAMBLE } from '../../src/raft/transport/frame.js';
import { FrameFilter, LinkRules, NodeProxy } from './harness/proxy.js';

function frame(type: number, body: Buffer): Buffer {
  const b = Buffer.alloc(4 + 2 + body.length);
  b.writeUInt32BE(2 + body.length, 0);
  b[4] = 1;
  b[5] = type;
  body.copy(b, 6);
  return b;
}

describe('FrameFilter', () => {
  it('delivers exactly the kept frames, whole and in order, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 11 }), fc.uint8Array({ maxLength: 64 }), fc.boolean()), {
          maxLength: 30,
        }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const encoded = frames.map(([t, body]) => frame(t, Buffer.from(body)));
          const keep = new Set(frames.flatMap(([, , k], i) => (k ? [i] : [])));
          let n = 0;
          const seen: number[] = [];
          const f = new FrameFilter(() => {
            seen.push(n);
            return keep.has(n++);
          });
          const stream = Buffer.concat(encoded);
          const out: Buffer[] = [];
          for (let off = 0, k = 0; off < stream.length; k++) {
            const size = cuts[k % cuts.length]!;
            out.push(...f.push(stream.subarray(off, off + size)));
            off += size;
          }
          expect(seen).toEqual(encoded.map((_, i) => i));
          expect(Buffer.concat(out)).toEqual(Buffer.concat(encoded.filter((_, i) => keep.has(i))));
        },
      ),
    );
  });

  it('refuses an impossible length prefix', () => {
    const f = new FrameFilter(() => true);
    expect(() => f.push(Buffer.from([0, 0, 0, 1, 9]))).toThrow(/bad frame length/);
  });
});

describe('LinkRules', () => {
  it('cuts one way, both ways, between groups, and heals', () => {
    const r = new LinkRules();
    r.cutOneWay('a', 'b');
    expect([r.allows('a', 'b'), r.allows('b', 'a')]).toEqual([false, true]);
    r.split(['a'], ['c', 'd']);
    expect(r.list()).toEqual(['a>b', 'a>c', 'a>d', 'c>a', 'd>a']);
    r.heal();
    expect(r.list()).toEqual([]);
  });
});

describe('NodeProxy', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    // Newest first: a server only finishes closing once the connections to it are gone.
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('learns the dialer from its Hello and drops only the frames of a cut direction', async () => {
    // The "node" behind the proxy: records what reaches it, answers each message frame with one of its own.
    const received: Buffer[] = [];
    const server = net.createServer((s) => {
      s.on('data', (d: Buffer) => {
        received.push(d);
        if (d.includes(Buffer.from('ping'))) s.write(frame(3, Buffer.from('pong')));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const rules = new LinkRules();
    const proxy = new NodeProxy('x', rules, () => port);
    await proxy.listen();
    closers.push(() => proxy.close());

    const client = net.connect(proxy.port, '127.0.0.1');
    closers.push(async () => {
      client.destroy();
    });
    const fromNode: Buffer[] = [];
    client.on('data', (d: Buffer) => fromNode.push(d));
    const hello = encodeHello(
      {
        minVersion: 1,
        maxVersion: 1,
        clusterName: 'c',
        nodeId: 'a',
        addr: '127.0.0.1:1',
        expectedPeerId: 'x',
        incarnation: 1,
        auth: new Uint8Array(0),
      },
      1,
    );
    client.write(Buffer.concat([RAFT_PREAMBLE, hello]));
    const waitFor = async (cond: () => boolean): Promise<void> => {
      const end = Date.now() + 5000;
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor(() => Buffer.concat(received).length >= RAFT_PREAMBLE.length + hello.length);

    rules.cutOneWay('a', 'x');
    client.write(frame(1, Buffer.from('lost ping')));
    client.write(frame(HELLO_ACK_TYPE, Buffer.from('control')));
    await waitFor(() => proxy.stats.framesDropped === 1 && proxy.stats.framesForwarded === 1);
    rules.heal();
    rules.cutOneWay('x', 'a');
    client.write(frame(1, Buffer.from('ping')));
    await waitFor(() => proxy.stats.framesDropped === 2);
    const toNode = Buffer.concat(received).toString('latin1');
    expect(toNode).toContain('ping');
    expect(toNode).not.toContain('lost ping');
    expect(toNode).toContain('control');
    expect(fromNode).toEqual([]); // the answer x → a was cut
    expect(proxy.stats.framesForwarded).toBe(2);
    expect(proxy.stats.raftConnections).toBe(1);
  });

  it('passes HTTP through untouched', async () => {
    const server = net.createServer((s) => s.on('data', () => s.end('HTTP/1.1 204 No Content\r\n\r\n')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const proxy = new NodeProxy('x', new LinkRules(), () => port);
    await proxy.listen();
    closers.push(() => proxy.close());
    const r = await fetch(`http://127.0.0.1:${proxy.port}/health`);
    expect(r.status).toBe(204);
    expect(proxy.stats.httpConnections).toBe(1);
  });
});
