/**
 * The kv-async client: primary-first. It routes by itself (routing.ts, as kv-sync) and sends each write to the
 * key's primary only; the primary acknowledges once it has stored the write and replicates it to the replicas in
 * the background. Reads go to the primary and, if it cannot be reached, to the replicas (which may lag by the
 * replication delay: that is the trade this example makes for one-round-trip writes).
 *
 * The Go original's client replicated from the client in a fire-and-forget goroutine, so a client that exited
 * early lost the replication; here the primary owns it, and retries it until the replica has it or no longer
 * owns the partition.
 */
import { type ClientFactory, type KvClient, withRetries } from '../kv/client.js';
import { HttpClient, type HttpResult } from '../kv/http.js';
import { RoutingTable } from '../kv/routing.js';
import type { ClientSecurity } from '../kv/secure.js';

export class PrimaryFirstClient implements KvClient {
  readonly #http: HttpClient;
  readonly #table: RoutingTable;
  #retries = 0;

  /**
   * `seeds`: ClusterKit addresses to read `GET /cluster` from; `security`: https with the cluster's CA and the read
   * token (sent to the KV ports too, where it is simply not needed).
   */
  constructor(seeds: readonly string[], security?: ClientSecurity) {
    this.#http = new HttpClient({ timeoutMs: 3000, security });
    this.#table = new RoutingTable(this.#http, seeds);
  }

  async connect(): Promise<this> {
    await this.#table.refresh();
    return this;
  }

  counters(): Readonly<Record<string, number>> {
    return { retries: this.#retries, tableRefreshes: this.#table.refreshes };
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
        const route = this.#table.route(key);
        const r = await this.#send(route.primary, 'PUT', key, { value });
        return r?.status === 200 ? true : undefined;
      },
      () => this.#retry(),
    ).then(() => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    const result = await withRetries(
      `read of ${key}`,
      async () => {
        const route = this.#table.route(key);
        let answered = false;
        for (const id of route.owners) {
          const r = await this.#send(id, 'GET', key);
          if (r?.status === 200) return { value: String((r.body as { value?: unknown }).value) };
          // The primary's "not found" is the answer; a replica's may only mean replication has not reached it.
          if (r?.status === 404 && id === route.primary) return { value: undefined };
          if (r?.status === 404) answered = true;
        }
        return answered ? { value: undefined } : undefined;
      },
      () => this.#retry(),
    );
    return result.value;
  }

  async #send(nodeId: string, method: string, key: string, body?: unknown): Promise<HttpResult | undefined> {
    const addr = this.#table.kvAddress(nodeId);
    if (addr === undefined) return undefined;
    try {
      const r = await this.#http.request(addr, method, `/kv/${encodeURIComponent(key)}`, body);
      this.#table.observe(r.headers['x-kv-table-version']);
      return r;
    } catch {
      return undefined; // unreachable: the caller tries another owner or retries after a refresh
    }
  }

  async #retry(): Promise<void> {
    this.#retries++;
    // If no node answers the refresh either, the next attempt fails the same way and the deadline reports it.
    await this.#table.refresh().catch(() => undefined);
  }
}

export const createClient: ClientFactory = (seeds, security) =>
  new PrimaryFirstClient(seeds.httpAddrs(), security).connect();
