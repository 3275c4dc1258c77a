/**
 * `createHttpServer(api, options)`: an `http.Server` running the ClusterKit handler with timeouts a server exposed
 * to a network needs (the Go original had none).
 *
 * Node enforces `headersTimeout` and `requestTimeout` only for servers that called `listen()` itself: its periodic
 * connection check starts on 'listening'. A ClusterKit node usually does not listen with this server: the shared
 * listener (src/raft/transport/listener.ts) hands it sockets with `emit('connection')`. So the server also guards
 * every connection itself, on the injected Scheduler: a connection must deliver complete request headers within
 * `headersTimeoutMs` of opening (or of its previous response finishing, plus the keep-alive time), else it gets a
 * 408 and is closed. Request bodies are bounded in time by the handler (`bodyTimeoutMs`), NodeApi calls by
 * `operationTimeoutMs`, so every stage of a request has a deadline.
 *
 * Malformed requests (bad syntax, unknown methods, oversized headers) get a JSON error and the connection closed.
 */
import http from 'node:http';
import type net from 'node:net';
import { systemScheduler, type TimerHandle } from '../util/io.js';
import type { NodeApi } from './api.js';
import { awaitingContinue } from './body.js';
import { errorBody } from './errors.js';
import { createHttpHandler, type HttpHandler, type HttpHandlerOptions } from './handler.js';
import { JSON_CONTENT_TYPE } from './reply.js';

export interface HttpServerOptions extends HttpHandlerOptions {
  /** Complete request headers must arrive within this long. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** The whole request (headers and body) must arrive within this long (Node's check, when listening). Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long. Default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /** Largest request head (request line + headers), bytes. Default 16 KiB. */
  readonly maxHeaderSize?: number;
  /** How often Node checks header/request timeouts when the server listens itself. Default 1 s. */
  readonly connectionsCheckingIntervalMs?: number;
  /**
   * Most open connections when the server listens itself (net.Server.maxConnections; a ClusterKit node limits
   * connections on its shared listener instead). Default: no limit.
   */
  readonly maxConnections?: number;
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

export type ClusterKitHttpServer = http.Server & { readonly handler: HttpHandler };

interface ConnectionState {
  timer: TimerHandle | undefined;
  /** Requests on this connection whose response has not finished. */
  active: number;
  /** The client sent something unparsable after a request: close once the pending responses are out. */
  closeWhenIdle: boolean;
}

/** A complete HTTP/1.1 error response for a connection without a request in progress. */
function rawError(status: number, reason: string, code: string, message: string): string {
  const body = `${JSON.stringify(errorBody(code, message))}\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export function createHttpServer(api: NodeApi, options: HttpServerOptions = {}): ClusterKitHttpServer {
  const scheduler = options.scheduler ?? systemScheduler;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeoutMs = Math.max(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, headersTimeoutMs);
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const handler = createHttpHandler(api, options);
  const server = http.createServer(
    {
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: options.connectionsCheckingIntervalMs ?? 1000,
      noDelay: true,
      // The handler answers a missing Host with a JSON 400 itself.
      requireHostHeader: false,
    },
    handler,
  );
  server.keepAliveTimeout = keepAliveTimeoutMs;
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;

  const states = new WeakMap<net.Socket, ConnectionState>();
  const closeWith = (socket: net.Socket, response: string): void => {
    // Give the response a moment to leave, then drop the connection whatever the client does.
    const fallback = scheduler.setTimeout(() => socket.destroy(), 1000);
    socket.end(response, () => {
      fallback.cancel();
      socket.destroy();
    });
  };
  const arm = (socket: net.Socket, state: ConnectionState, ms: number): void => {
    state.timer?.cancel();
    state.timer = scheduler.setTimeout(() => {
      state.timer = undefined;
      if (socket.destroyed || state.active > 0) return;
      closeWith(
        socket,
        rawError(
          408,
          'Request Timeout',
          'ERR_REQUEST_TIMEOUT',
          `no complete request headers within ${headersTimeoutMs} ms`,
        ),
      );
    }, ms);
  };

  server.on('connection', (socket: net.Socket) => {
    const state: ConnectionState = { timer: undefined, active: 0, closeWhenIdle: false };
    states.set(socket, state);
    arm(socket, state, headersTimeoutMs);
    socket.once('close', () => state.timer?.cancel());
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const state = states.get(socket);
    if (state === undefined) return;
    state.active++;
    state.timer?.cancel();
    state.timer = undefined;
    res.once('close', () => {
      state.active--;
      if (state.active === 0 && state.closeWhenIdle) {
        closeWith(socket, '');
        return;
      }
      // The next request on a kept-alive connection gets the same headers deadline, after the idle allowance.
      if (state.active === 0 && !socket.destroyed) arm(socket, state, keepAliveTimeoutMs + headersTimeoutMs);
    });
  });

  // Without this listener Node answers `100 Continue` before the handler runs, inviting bodies nobody wants.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    awaitingContinue.add(req);
    server.emit('request', req, res);
  });

  server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => {
    const state = states.get(socket);
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (state !== undefined && state.active > 0) {
      // Garbage after a request (e.g. a body sent without a length): answer that request, then close.
      state.closeWhenIdle = true;
      return;
    }
    state?.timer?.cancel();
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      closeWith(
        socket,
        rawError(431, 'Request Header Fields Too Large', 'ERR_INVALID_ARGUMENT', 'request headers too large'),
      );
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      closeWith(socket, rawError(408, 'Request Timeout', 'ERR_REQUEST_TIMEOUT', 'the request did not arrive in time'));
    } else {
      const detail = err.code === undefined ? '' : ` (${err.code})`;
      closeWith(socket, rawError(400, 'Bad Request', 'ERR_INVALID_ARGUMENT', `malformed HTTP request${detail}`));
    }
  });

  return Object.assign(server, { handler });
}
