/**
 * The kv-server-side client: it knows nothing about partitions. It sends each request to any node (round-robin
 * over the KV addresses it was given) and the node routes it; if that node cannot be reached or answers 5xx, the
 * next node is tried, until the operation's deadline.
 */
import { ClusterKitError } from '../../src/index.js';
import { type ClientFactory, type KvClient, withRetries } from '../kv/client.js';
import { HttpClient, type HttpResult } from '../kv/http.js';
import type { ClientSecurity } from '../kv/secure.js';

export class AnyNodeClient implements KvClient {
  readonly #http: HttpClient;
  #next = 0;
  #retries = 0;

  /**
   * `addresses` returns the KV addresses to use (called per request, so it can follow restarts); `security`: https
   * with the cluster's CA (the KV port's certificate is the node's).
   */
  constructor(
    private readonly addresses: () => readonly string[],
    security?: ClientSecurity,
  ) {
    this.#http = new HttpClient({ timeoutMs: 10_000, security });
  }

  counters(): Readonly<Record<string, number>> {
    return { retries: this.#retries };
  }

  /** Nothing runs in the background here. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#http.close();
  }

  put(key: string, value: string): Promise<void> {
    return withRetries(
      `write of ${key}`,
      async () => {
        const r = await this.#send('PUT', key, { value });
        if (r?.status === 200) return true;
        if (r !== undefined && r.status >= 400 && r.status < 500) throw rejected(r);
        return undefined;
      },
      () => {
        this.#retries++;
      },
    ).then(() => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    const result = await withRetries(
      `read of ${key}`,
      async () => {
        const r = await this.#send('GET', key);
        if (r?.status === 200) return { value: String((r.body as { value?: unknown }).value) };
        if (r?.status === 404) return { value: undefined };
        if (r !== undefined && r.status >= 400 && r.status < 500) throw rejected(r);
        return undefined;
      },
      () => {
        this.#retries++;
      },
    );
    return result.value;
  }

  async #send(method: string, key: string, body?: unknown): Promise<HttpResult | undefined> {
    const addrs = this.addresses();
    if (addrs.length === 0) return undefined;
    const addr = addrs[this.#next++ % addrs.length]!;
    try {
      return await this.#http.request(addr, method, `/kv/${encodeURIComponent(key)}`, body);
    } catch {
      return undefined; // unreachable: the next attempt goes to the next node
    }
  }
}

function rejected(r: HttpResult): ClusterKitError {
  return new ClusterKitError(
    'ERR_INVALID_ARGUMENT',
    `the node refused the request: HTTP ${r.status} ${JSON.stringify(r.body)}`,
  );
}

export const createClient: ClientFactory = (seeds, security) =>
  Promise.resolve(new AnyNodeClient(() => seeds.kvAddrs(), security));
