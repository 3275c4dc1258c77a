/**
 * Bounded request body reading. A body is never buffered beyond its limit: a declared Content-Length over the
 * limit is refused before reading a byte, and a body that grows past it (chunked, or lying about its length) is
 * refused as soon as it does; both answer 413 and close the connection, so the rest is never read. A body that
 * does not arrive within the timeout answers 408 and closes the connection too.
 */
import type { IncomingMessage } from 'node:http';
import type { Scheduler } from '../util/io.js';
import { badRequest, HttpError, payloadTooLarge } from './errors.js';

/** The client went away before sending the whole body; there is nobody to answer. */
export class ClientGoneError extends HttpError {
  constructor() {
    super(400, 'ERR_INVALID_ARGUMENT', 'the client closed the connection before sending the whole request body', {
      close: true,
    });
    this.name = 'ClientGoneError';
  }
}

export interface BodyLimits {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly scheduler: Scheduler;
  /** Sends `100 Continue` (see awaitingContinue); called only once the body is actually wanted. */
  readonly sendContinue?: () => void;
}

/**
 * Requests with `Expect: 100-continue` that have not been told to continue yet. createHttpServer handles
 * 'checkContinue' itself and puts requests here, so a client announcing a body that is over the limit, or that
 * the route does not want, gets its final answer without ever sending the body.
 */
export const awaitingContinue = new WeakSet<IncomingMessage>();

/** Reads the whole body, at most `limits.maxBytes` bytes. Rejects with an HttpError (413, 408) or ClientGoneError. */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    return Promise.reject(
      payloadTooLarge(`request body of ${declared} bytes is over the limit of ${limits.maxBytes} bytes`),
    );
  }
  // `complete` only says the parser saw the whole message: its bytes may still wait in the stream's buffer.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(new ClientGoneError());
  if (awaitingContinue.delete(req)) limits.sendContinue?.();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
      if (error === null) {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
        return;
      }
      // Stop pulling bytes off the socket: the reply closes the connection.
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limits.maxBytes) {
        chunks.length = 0;
        finish(payloadTooLarge(`request body is over the limit of ${limits.maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    const onClose = (): void => finish(new ClientGoneError());
    const onError = (): void => finish(new ClientGoneError());
    const timer = limits.scheduler.setTimeout(() => {
      finish(
        new HttpError(408, 'ERR_REQUEST_TIMEOUT', `the request body did not arrive within ${limits.timeoutMs} ms`, {
          close: true,
        }),
      );
    }, limits.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
  });
}

/** The media type of a Content-Type value, lower-cased, without parameters; undefined when absent or empty. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return t === '' ? undefined : t;
}

export function isJsonMediaType(type: string | undefined): boolean {
  return type === 'application/json' || (type !== undefined && /^application\/[a-z0-9.+-]*\+json$/.test(type));
}

/** Throws 415 unless the request's Content-Type is absent or JSON (curl's default form type is refused). */
export function requireJsonContentType(req: IncomingMessage): void {
  const type = mediaType(req.headers['content-type']);
  if (type !== undefined && !isJsonMediaType(type)) {
    throw new HttpError(
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `expected Content-Type application/json, got ${JSON.stringify(type)}`,
      { close: true },
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses a JSON body. `required: false` lets an empty body stand for `undefined`. Throws 400 on anything else. */
export function parseJson(body: Buffer, required: boolean): unknown {
  if (body.length === 0) {
    if (required) throw badRequest('the request body is empty; expected a JSON object');
    return undefined;
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badRequest('the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`malformed JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
