/**
 * The kv-sync client: it routes by itself and writes with a quorum.
 *
 * - Routing: the partition table and the nodes' `kv` addresses come from `GET /cluster` (routing.ts), keys hash
 *   exactly as ClusterKit does, and the table is refreshed when a node answers from a newer one.
 * - Write: stamped with a version from the client's clock and sent to every owner of the key's partition at once;
 *   it succeeds when a majority of the owners acknowledge (2 of 3 with RF 3; the Go original hard-coded 2
 *   whatever the replication factor). Otherwise the client refreshes its table and tries again until its deadline.
 *   The owners outside the majority are not forgotten: the client keeps delivering the write to them in the
 *   background (as long as they own the key), so every owner ends up with it; `flush()` waits for that.
 * - Read: asked of every owner; as soon as a majority answers, the highest version among the answers wins (a
 *   majority read overlaps every majority write, so an acknowledged write is never missed).
 */
import { type ClientFactory, type KvClient, OPERATION_DEADLINE_MS, withRetries } from '../kv/client.js';
import { HttpClient, type HttpResult, sleep } from '../kv/http.js';
import { majority } from '../kv/modes.js';
import { RoutingTable } from '../kv/routing.js';
import type { ClientSecurity } from '../kv/secure.js';
import { VersionClock } from '../kv/store.js';

interface Asked {
  /** The replies that passed, once `need` of them did (or every owner answered). */
  readonly quorum: Promise<HttpResult[]>;
  /** Every owner's reply, in owner order (undefined: unreachable). */
  readonly all: Promise<(HttpResult | undefined)[]>;
}

export class QuorumClient implements KvClient {
  readonly #http: HttpClient;
  readonly #table: RoutingTable;
  readonly #clock = new VersionClock();
  readonly #background = new Set<Promise<void>>();
  #retries = 0;
  #lateDeliveries = 0;
  #undelivered = 0;
  #closed = false;

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
    return {
      retries: this.#retries,
      tableRefreshes: this.#table.refreshes,
      lateDeliveries: this.#lateDeliveries,
      undelivered: this.#undelivered,
    };
  }

  /** Resolves once every write has reached every owner it could (the background deliveries are done). */
  async flush(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  close(): void {
    this.#closed = true;
    this.#http.close();
  }

  put(key: string, value: string): Promise<void> {
    return withRetries(
      `quorum write of ${key}`,
      async () => {
        const route = this.#table.route(key);
        const version = this.#clock.next();
        const path = `/kv/${encodeURIComponent(key)}`;
        const body = { value, version };
        const need = majority(route.owners.length);
        const asked = this.#ask(
          route.owners,
          need,
          (r) => r.status === 200,
          (addr) => this.#http.request(addr, 'PUT', path, body),
        );
        const acks = await asked.quorum;
        if (acks.length < need) return undefined;
        this.#completeInBackground(key, route.owners, body, asked.all);
        return true;
      },
      () => this.#retry(),
    ).then(() => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    const result = await withRetries(
      `quorum read of ${key}`,
      async () => {
        const route = this.#table.route(key);
        const path = `/kv/${encodeURIComponent(key)}`;
        const need = majority(route.owners.length);
        // 200 (a value) and 404 (no value, maybe a deletion's version) are both answers; anything else is not.
        const valid = await this.#ask(
          route.owners,
          need,
          (r) => r.status === 200 || r.status === 404,
          (addr) => this.#http.request(addr, 'GET', path),
        ).quorum;
        if (valid.length < need) return undefined;
        let best: { value: string | null; version: number } = { value: null, version: 0 };
        for (const r of valid) {
          const b = r.body as { value?: unknown; version?: unknown; error?: { version?: unknown } };
          const version = Number(r.status === 200 ? b.version : (b.error?.version ?? 0)) || 0;
          if (version > best.version) best = { value: r.status === 200 ? String(b.value) : null, version };
        }
        return { value: best.value };
      },
      () => this.#retry(),
    );
    return result.value ?? undefined;
  }

  /**
   * Sends to every owner at once. `quorum` resolves as soon as `need` replies pass `ok` (a dead or still-copying
   * owner must not slow a quorum down), or once every owner has answered or failed.
   */
  #ask(
    owners: readonly string[],
    need: number,
    ok: (r: HttpResult) => boolean,
    send: (addr: string) => Promise<HttpResult>,
  ): Asked {
    let resolveQuorum: (v: HttpResult[]) => void = () => undefined;
    const quorum = new Promise<HttpResult[]>((resolve) => {
      resolveQuorum = resolve;
    });
    const good: HttpResult[] = [];
    let pending = owners.length;
    const settle = (r: HttpResult | undefined): HttpResult | undefined => {
      pending--;
      if (r !== undefined && ok(r)) good.push(r);
      if (good.length === need || pending === 0) resolveQuorum([...good]);
      return r;
    };
    const all = Promise.all(
      owners.map((id) => {
        const addr = this.#table.kvAddress(id);
        if (addr === undefined) return Promise.resolve(settle(undefined));
        return send(addr).then(
          (r) => {
            this.#table.observe(r.headers['x-kv-table-version']);
            return settle(r);
          },
          // Unreachable: counted as a missing answer.
          () => settle(undefined),
        );
      }),
    );
    return { quorum, all };
  }

  /** Delivers an acknowledged write to the owners that did not acknowledge it, retrying while they own the key. */
  #completeInBackground(
    key: string,
    owners: readonly string[],
    body: { value: string; version: number },
    all: Promise<(HttpResult | undefined)[]>,
  ): void {
    const task = all.then(async (replies) => {
      const missing = owners.filter((_, i) => replies[i]?.status !== 200);
      await Promise.all(missing.map((id) => this.#deliver(key, id, body)));
    });
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }

  async #deliver(key: string, owner: string, body: { value: string; version: number }): Promise<void> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    let delay = 50;
    while (!this.#closed && Date.now() < deadline) {
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
      let stillOwner: boolean;
      try {
        stillOwner = this.#table.route(key).owners.includes(owner);
      } catch {
        continue; // no table for a moment
      }
      // No longer an owner: the new owner copies the partition from the others, which have the write.
      if (!stillOwner) return;
      const addr = this.#table.kvAddress(owner);
      if (addr === undefined) continue;
      try {
        const r = await this.#http.request(addr, 'PUT', `/kv/${encodeURIComponent(key)}`, body);
        this.#table.observe(r.headers['x-kv-table-version']);
        if (r.status === 200) {
          this.#lateDeliveries++;
          return;
        }
      } catch {
        // Unreachable: tried again after the back-off, until it is no longer an owner or the deadline passes.
      }
    }
    // Still an owner and never reached: it lacks this write (quorum reads still return it), and it is counted.
    this.#undelivered++;
  }

  async #retry(): Promise<void> {
    this.#retries++;
    // If no node answers the refresh either, the next attempt fails the same way and the deadline reports it.
    await this.#table.refresh().catch(() => undefined);
  }
}

export const createClient: ClientFactory = (seeds, security) => new QuorumClient(seeds.httpAddrs(), security).connect();
