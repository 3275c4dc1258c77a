/**
 * The harness's HTTP client: one request, a hard deadline, and an honest account of what is known when it fails.
 * A refused connection means the request never reached the node (`sent: false`); a timeout or a reset after
 * sending means the outcome is unknown (a write may still commit later).
 */
import http from 'node:http';

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export class HttpFailure extends Error {
  constructor(
    message: string,
    /** False when the request certainly did not reach the server (connection refused). */
    readonly sent: boolean,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
}

export function request(port: number, path: string, o: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/octet-stream', 'content-length': body.length }),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => fail(err));
      },
    );
    let settled = false;
    const fail = (err: Error & { code?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(
        new HttpFailure(`${o.method ?? 'GET'} ${path} on port ${port}: ${err.message}`, err.code !== 'ECONNREFUSED'),
      );
    };
    const timer = setTimeout(() => {
      fail(new Error(`no answer within ${o.timeoutMs} ms`));
      req.destroy();
    }, o.timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

/** GET returning parsed JSON, or undefined on any failure (samplers: a missing sample is not an error). */
export async function getJson<T>(port: number, path: string, timeoutMs: number): Promise<T | undefined> {
  try {
    const r = await request(port, path, { timeoutMs });
    if (r.status !== 200) return undefined;
    return JSON.parse(r.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
