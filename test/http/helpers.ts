/**
 * Test plumbing: a ClusterKit HTTP server on 127.0.0.1:0 around a FakeNode, a small HTTP client (node:http, one
 * connection per request, any method and body), and raw-socket helpers for the slow and oversized client tests.
 */
import http from 'node:http';
import net from 'node:net';
import { createHttpServer, type HttpServerOptions } from '../../src/http/server.js';
import { FakeNode, type FakeOptions } from './fake.js';

export interface Running<F extends FakeNode = FakeNode> {
  readonly fake: F;
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

export function startServer(options: HttpServerOptions = {}, fakeOptions: FakeOptions = {}): Promise<Running> {
  return startServerWith(options, new FakeNode(fakeOptions));
}

/** The HTTP server on an ephemeral loopback port, in front of `fake`. */
export async function startServerWith<F extends FakeNode>(options: HttpServerOptions, fake: F): Promise<Running<F>> {
  const server = createHttpServer(fake, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    fake,
    server,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  readonly json: any;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

export function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            if (text !== '' && (res.headers['content-type'] ?? '').startsWith('application/json')) {
              json = JSON.parse(text);
            }
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

export const get = (port: number, path: string, headers: Record<string, string> = {}): Promise<Response> =>
  request(port, 'GET', path, { headers });

export function sendJson(port: number, method: string, path: string, value: unknown): Promise<Response> {
  return request(port, method, path, {
    headers: { 'content-type': 'application/json' },
    body: typeof value === 'string' ? value : JSON.stringify(value),
  });
}

/** A raw TCP connection: what it received, and when it closed. */
export interface RawConnection {
  readonly socket: net.Socket;
  received(): string;
  /** Bytes this side has written that the kernel accepted. */
  readonly closed: Promise<void>;
  /** Resolves once the received text contains `needle`. */
  waitFor(needle: string): Promise<string>;
}

export function connectRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const waiters: { needle: string; resolve: (s: string) => void }[] = [];
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      for (const w of [...waiters]) {
        if (data.includes(w.needle)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(data);
        }
      }
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined); // a reset by the server is an expected outcome here; 'close' follows
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        waitFor: (needle) =>
          data.includes(needle) ? Promise.resolve(data) : new Promise((r) => waiters.push({ needle, resolve: r })),
      }),
    );
    socket.once('error', reject);
  });
}

/** The JSON body of a raw HTTP/1.1 response text. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary response JSON, read by property path
export function rawJsonBody(text: string): any {
  const at = text.indexOf('\r\n\r\n');
  return JSON.parse(text.slice(at + 4));
}
