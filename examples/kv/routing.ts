/**
 * Client-side routing for the kv-sync and kv-async clients: the partition table and the `kv` service addresses
 * from a node's `GET /cluster`, and keys hashed exactly as ClusterKit does (the exported `partitionIdForKey`,
 * after checking that the node's `hash_config` describes that very function).
 *
 * Staying current: every KV reply carries `x-kv-table-version`; when a node answers from a newer table than the
 * client's (or says it does not own a key, or cannot be reached), the client refreshes. The refresh sends
 * `If-None-Match` with the last ETag, so an unchanged table costs a 304. The seed list follows the membership, so
 * losing the node the client first talked to does not strand it.
 *
 * On a secure cluster the HttpClient given carries the cluster's CA and the read token (`GET /cluster` is a read
 * endpoint: 401 without it, which the refresh reports like any other failure).
 */
import { ClusterKitError, partitionIdForKey } from '../../src/index.js';
import type { HttpClient } from './http.js';

export interface Route {
  readonly partition: string;
  readonly primary: string;
  /** Primary first, then the replicas. */
  readonly owners: readonly string[];
}

interface ClusterBody {
  readonly cluster: {
    readonly nodes: readonly { id: string; ip: string; services?: Record<string, string> }[];
    readonly table_version: number;
    readonly partition_map: { readonly partitions: Record<string, { primary_node: string; replica_nodes: string[] }> };
  };
  readonly hash_config: { algorithm: string; encoding: string; modulo: number; format: string };
}

/** The hash_config this client can reproduce: ClusterKit's (and the Go original's) key hashing. */
const SUPPORTED_HASH = { algorithm: 'md5', encoding: 'big_endian_uint32', format: 'partition-%d' };

export class RoutingTable {
  #seeds: string[];
  #etag: string | undefined;
  #modulo = 0;
  #version = 0;
  #partitions = new Map<string, Route>();
  #addresses = new Map<string, string>();
  #refreshing: Promise<void> | null = null;
  refreshes = 0;

  constructor(
    private readonly http: HttpClient,
    seeds: readonly string[],
  ) {
    if (seeds.length === 0) throw new ClusterKitError('ERR_INVALID_ARGUMENT', 'at least one seed address is needed');
    this.#seeds = [...seeds];
  }

  get tableVersion(): number {
    return this.#version;
  }

  route(key: string): Route {
    if (this.#modulo === 0) throw new ClusterKitError('ERR_UNAVAILABLE', 'no partition table yet', { retriable: true });
    const id = partitionIdForKey(key, this.#modulo);
    const r = this.#partitions.get(id);
    if (r === undefined || r.primary === '') {
      throw new ClusterKitError('ERR_UNAVAILABLE', `${id} has no owner`, { retriable: true });
    }
    return r;
  }

  kvAddress(nodeId: string): string | undefined {
    return this.#addresses.get(nodeId);
  }

  /** Called with each reply's `x-kv-table-version`: refreshes (in the background) when the node's table is newer. */
  observe(header: string | string[] | undefined): void {
    const v = Number(Array.isArray(header) ? header[0] : header);
    if (Number.isFinite(v) && v > this.#version) {
      this.refresh().catch(() => {
        // A failed background refresh is retried by the next observation or the next failing request.
      });
    }
  }

  /** Fetches the table (once at a time; concurrent callers share the request). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    let lastError: unknown;
    for (const seed of [...this.#seeds]) {
      try {
        const headers: Record<string, string> = this.#etag === undefined ? {} : { 'if-none-match': this.#etag };
        const r = await this.http.request(seed, 'GET', '/cluster', undefined, { headers, timeoutMs: 3000 });
        if (r.status === 304) return;
        if (r.status !== 200) {
          lastError = new Error(`GET /cluster on ${seed}: HTTP ${r.status}`);
          continue;
        }
        this.#load(r.body as ClusterBody);
        const etag = r.headers.etag;
        this.#etag = typeof etag === 'string' ? etag : undefined;
        this.refreshes++;
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw new ClusterKitError('ERR_UNAVAILABLE', `no seed answered GET /cluster: ${String(lastError)}`, {
      retriable: true,
      cause: lastError,
    });
  }

  #load(body: ClusterBody): void {
    const h = body.hash_config;
    if (
      h.algorithm !== SUPPORTED_HASH.algorithm ||
      h.encoding !== SUPPORTED_HASH.encoding ||
      h.format !== SUPPORTED_HASH.format
    ) {
      throw new ClusterKitError('ERR_PROTOCOL', `unsupported hash_config ${JSON.stringify(h)}`);
    }
    const c = body.cluster;
    // An older table than the one we have (a lagging node): keep ours.
    if (c.table_version < this.#version) return;
    const partitions = new Map<string, Route>();
    for (const [id, p] of Object.entries(c.partition_map.partitions)) {
      partitions.set(id, {
        partition: id,
        primary: p.primary_node,
        owners: p.primary_node === '' ? [] : [p.primary_node, ...p.replica_nodes],
      });
    }
    const addresses = new Map<string, string>();
    for (const n of c.nodes) {
      const kv = n.services?.['kv'];
      if (kv === undefined) continue;
      // A Go-style ":port" service address is on the node's own host.
      addresses.set(n.id, kv.startsWith(':') ? `${n.ip.slice(0, n.ip.lastIndexOf(':'))}${kv}` : kv);
    }
    this.#modulo = h.modulo;
    this.#version = c.table_version;
    this.#partitions = partitions;
    this.#addresses = addresses;
    // Seeds follow the membership (the current ones first), so the client survives the loss of its first seed.
    const members = c.nodes.map((n) => n.ip);
    this.#seeds = [...new Set([...members, ...this.#seeds])];
  }
}
