/**
 * Resource limits against misbehaving clients, over raw sockets: oversized bodies are refused without being read,
 * slow clients are cut off, malformed requests get JSON errors. Timeouts are short here; every wait is on an
 * observable event (a response, a closed socket), never a sleep.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.js';
import { listenShared, type SharedListener } from '../../src/raft/transport/listener.js';
import { FakeNode } from './fake.js';
import { connectRaw, type Running, rawJsonBody, startServer } from './helpers.js';

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('oversized bodies', () => {
  it('a declared Content-Length over the limit is refused with 413 before any of the body is read', async () => {
    running = await startServer();
    const before = running.fake.fingerprint();
    const c = await connectRaw(running.port);
    // Announces 100 MiB, sends none of it.
    c.socket.write('PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n');
    const text = await c.waitFor('\r\n\r\n{');
    await c.closed;
    expect(text.startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(running.fake.fingerprint()).toBe(before);
  });

  it('a chunked body that grows past the limit is refused as soon as it does, though it never ends', async () => {
    running = await startServer({ maxValueBytes: 1000 });
    const before = running.fake.fingerprint();
    const c = await connectRaw(running.port);
    c.socket.write('PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 4; i++) c.socket.write(`400\r\n${'a'.repeat(0x400)}\r\n`);
    // No terminating zero-length chunk: the request is never complete, yet it is answered and cut off.
    const text = await c.waitFor('\r\n\r\n{');
    await c.closed;
    expect(text.startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.message).toMatch(/over the limit of 1000 bytes/);
    expect(running.fake.fingerprint()).toBe(before);
  });

  it('closing with input still arriving does not reset the connection before the client has read the answer', async () => {
    // Closing a socket that receives more input makes the kernel answer with RST, which discards the response on
    // the client if it has not read it yet. Here the body arrives after the 413, and the client reads last.
    running = await startServer({ maxValueBytes: 64 });
    const serverSocket = new Promise<import('node:net').Socket>((resolve) => {
      running!.server.once('connection', resolve);
    });
    const c = await connectRaw(running.port);
    c.socket.pause();
    c.socket.write('PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    const socket = await serverSocket;
    if (!socket.writableFinished) await new Promise((resolve) => socket.once('finish', resolve));
    c.socket.write('a'.repeat(100_000));
    if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
    c.socket.resume();
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
  });

  it('a body on a route that reads none is not drained: the connection is closed after the answer', async () => {
    running = await startServer();
    const c = await connectRaw(running.port);
    c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\nabc');
    const text = await c.waitFor('\r\n\r\n{');
    await c.closed;
    expect(text.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(text.toLowerCase()).toContain('connection: close');
  });
});

describe('Expect: 100-continue', () => {
  it('an announced body over the limit is refused without inviting it', async () => {
    running = await startServer();
    const c = await connectRaw(running.port);
    c.socket.write(
      'PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\nExpect: 100-continue\r\n\r\n',
    );
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 413 ')).toBe(true);
    expect(c.received()).not.toContain('100 Continue');
  });

  it('a wanted body is invited once the handler reads it', async () => {
    running = await startServer();
    const c = await connectRaw(running.port);
    c.socket.write('PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
    await c.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write('abc');
    const text = await c.waitFor('"success":true');
    expect(text).toContain('HTTP/1.1 201 ');
    expect(Buffer.from(running.fake.custom.get('k')!.value).toString()).toBe('abc');
    c.socket.destroy();
  });

  it('a route that wants no body answers without inviting it, and closes', async () => {
    running = await startServer();
    const c = await connectRaw(running.port);
    c.socket.write('DELETE /nodes/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 404 ')).toBe(true);
  });
});

describe('slow clients', () => {
  it('headers that never complete get a 408 and the connection closed', async () => {
    running = await startServer({ headersTimeoutMs: 150, connectionsCheckingIntervalMs: 50 });
    const c = await connectRaw(running.port);
    c.socket.write('GET /cluster HTTP/1.1\r\nHost: x\r\n');
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 408 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_REQUEST_TIMEOUT');
  });

  it('a body that stops arriving gets a 408 and the connection closed, and changes nothing', async () => {
    running = await startServer({ bodyTimeoutMs: 150 });
    const before = running.fake.fingerprint();
    const c = await connectRaw(running.port);
    c.socket.write('PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 408 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_REQUEST_TIMEOUT');
    expect(running.fake.fingerprint()).toBe(before);
  });

  it('after a kept-alive response, a stalled next request is cut off too', async () => {
    running = await startServer({
      headersTimeoutMs: 150,
      keepAliveTimeoutMs: 100,
      connectionsCheckingIntervalMs: 60_000,
    });
    const c = await connectRaw(running.port);
    c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor('"success":true');
    c.socket.write('GET /health HTTP/1.1\r\nHo');
    await c.closed;
    expect(c.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(1);
  });

  it('connections handed over by the shared Raft/HTTP listener (no listen() of its own) are guarded as well', async () => {
    // Node only enforces headersTimeout for servers that listen themselves; the node's HTTP server does not.
    const server = createHttpServer(new FakeNode(), { headersTimeoutMs: 150 });
    let listener: SharedListener | undefined;
    try {
      listener = await listenShared({
        host: '127.0.0.1',
        port: 0,
        http: server,
        raft: { handleConnection: (socket) => socket.destroy() },
      });
      const ok = await connectRaw(listener.port);
      ok.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await ok.closed;
      expect(ok.received().startsWith('HTTP/1.1 200 ')).toBe(true);
      const slow = await connectRaw(listener.port);
      slow.socket.write('GET /cluster HTTP/1.1\r\nHost: x\r\n');
      await slow.closed;
      expect(slow.received().startsWith('HTTP/1.1 408 ')).toBe(true);
    } finally {
      server.closeAllConnections();
      await listener?.close();
    }
  });
});

describe('malformed requests', () => {
  it('oversized headers get 431 JSON', async () => {
    running = await startServer({ maxHeaderSize: 4096 });
    const c = await connectRaw(running.port);
    c.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_INVALID_ARGUMENT');
  });

  it.each([
    ['garbage', 'BLAH\r\n\r\n'],
    ['unknown method', 'FROB /health HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['bad Content-Length', 'PUT /custom-data/k HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'],
    ['no Host header', 'GET /health HTTP/1.1\r\n\r\n'],
  ])('%s gets 400 JSON and the connection closed', async (_name, raw) => {
    running = await startServer();
    const c = await connectRaw(running.port);
    c.socket.write(raw);
    await c.closed;
    expect(c.received().startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(rawJsonBody(c.received()).error.code).toBe('ERR_INVALID_ARGUMENT');
  });
});
