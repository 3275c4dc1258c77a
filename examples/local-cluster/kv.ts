/**
 * The driver's KV client: PUT and GET through any node (the server-side example routes each request to the
 * partition's primary), spread over the running nodes, retried on another node when a node does not answer or
 * answers 5xx (a node may be dying or just restarted), with a bounded number of requests in flight.
 */
import { type ClientSecurity, schemeOf } from '../kv/secure.js';
import { describeFailure, requestJson } from './http.js';

export type ReadOutcome =
  | { readonly kind: 'ok'; readonly value: string; readonly node: string | undefined }
  | { readonly kind: 'missing' }
  | { readonly kind: 'error'; readonly message: string };

export interface KvClientOptions {
  /** KV addresses of the nodes to use now (re-read before each attempt). */
  readonly targets: () => readonly string[];
  readonly attempts?: number;
  readonly timeoutMs?: number;
  /** On a secure cluster: https with its CA (the KV port serves the node's certificate). */
  readonly security?: ClientSecurity | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KvClient {
  readonly #targets: () => readonly string[];
  readonly #attempts: number;
  readonly #timeoutMs: number;
  readonly #security: ClientSecurity | undefined;

  constructor(options: KvClientOptions) {
    this.#security = options.security;
    this.#targets = options.targets;
    this.#attempts = options.attempts ?? 6;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Writes `value` under `key` through node `spread % nodes`; throws after every attempt failed. */
  async put(key: string, value: string, spread: number): Promise<void> {
    let last = '';
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      const addr = this.#pick(spread + attempt);
      try {
        const res = await requestJson('PUT', this.#url(addr, key), { value }, this.#timeoutMs, this.#security);
        if (res.status === 200) return;
        last = describeFailure(`PUT ${key} via ${addr}`, res);
        if (res.status < 500) break; // the request itself is wrong: another node will not help
      } catch (err) {
        last = describeFailure(`PUT ${key} via ${addr}`, err instanceof Error ? err : new Error(String(err)));
      }
      await sleep(50 * 2 ** attempt);
    }
    throw new Error(last);
  }

  /** Reads `key` through node `spread % nodes`; a 404 is an answer (missing), not a failure to retry. */
  async get(key: string, spread: number): Promise<ReadOutcome> {
    let last = '';
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      const addr = this.#pick(spread + attempt);
      try {
        const res = await requestJson('GET', this.#url(addr, key), undefined, this.#timeoutMs, this.#security);
        if (res.status === 404) return { kind: 'missing' };
        const body = res.body as { value?: unknown; node?: unknown } | undefined;
        if (res.status === 200 && typeof body?.value === 'string') {
          return { kind: 'ok', value: body.value, node: typeof body.node === 'string' ? body.node : undefined };
        }
        last = describeFailure(`GET ${key} via ${addr}`, res);
      } catch (err) {
        last = describeFailure(`GET ${key} via ${addr}`, err instanceof Error ? err : new Error(String(err)));
      }
      await sleep(50 * 2 ** attempt);
    }
    return { kind: 'error', message: last };
  }

  #url(addr: string, key: string): string {
    return `${schemeOf(this.#security)}://${addr}/kv/${encodeURIComponent(key)}`;
  }

  #pick(i: number): string {
    const targets = this.#targets();
    if (targets.length === 0) throw new Error('no node is running');
    return targets[i % targets.length]!;
  }
}

/**
 * Runs `fn` for 0..count-1 with at most `concurrency` calls in flight; stops starting new ones after the first
 * failure (or once `signal` aborts) and rethrows that failure once the running ones finished.
 */
export async function forEachLimited(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && signal?.aborted !== true && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  if (failure !== undefined) throw failure.err;
  signal?.throwIfAborted();
}
