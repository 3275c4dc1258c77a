/**
 * Asynchronous replication (the kv-async example): the primary acknowledges a write as soon as it has stored it,
 * and this queue carries the write to the replicas in the background, in batches, one queue per replica.
 *
 * A batch that fails is retried with back-off for as long as the replica still owns the partition in this node's
 * table; once it does not (it left, or the partition moved), its entries are discarded: the new owner copies the
 * partition through the data movement instead. `backlog()` is what the scenario waits on before it counts keys.
 */
import type { ClusterKit } from '../../src/index.js';
import { kvAddressOf } from './discovery.js';
import { type HttpClient, sleep } from './http.js';
import type { EmitLine } from './mover.js';
import type { Entry } from './store.js';

interface Item {
  readonly partition: number;
  readonly key: string;
  readonly entry: Entry;
}

const BATCH = 256;

export class AsyncReplicator {
  readonly #queues = new Map<string, Item[]>();
  readonly #pumping = new Set<string>();
  #stopped = false;

  constructor(
    private readonly ck: ClusterKit,
    private readonly http: HttpClient,
    private readonly emit: EmitLine,
  ) {}

  enqueue(targets: readonly string[], partition: number, key: string, entry: Entry): void {
    for (const t of targets) {
      let q = this.#queues.get(t);
      if (q === undefined) this.#queues.set(t, (q = []));
      q.push({ partition, key, entry });
      if (!this.#pumping.has(t)) {
        this.#pumping.add(t);
        void this.#pump(t).catch((err: unknown) => {
          this.emit({ type: 'log', level: 'error', msg: `replication to ${t} failed`, err: String(err) });
        });
      }
    }
  }

  /** Writes not yet acknowledged by their replica. */
  backlog(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  stop(): void {
    this.#stopped = true;
    this.#queues.clear();
  }

  async #pump(target: string): Promise<void> {
    let delay = 50;
    try {
      for (;;) {
        const q = this.#queues.get(target);
        if (this.#stopped || q === undefined || q.length === 0) return;
        const batch = q.splice(0, BATCH);
        const retry = await this.#send(target, batch);
        const keep = retry.filter((item) => this.#stillOwner(target, item.partition));
        if (keep.length === 0) {
          delay = 50;
          continue;
        }
        this.#queues.get(target)?.unshift(...keep);
        await sleep(delay);
        delay = Math.min(delay * 2, 1000);
      }
    } finally {
      this.#pumping.delete(target);
      if (this.#queues.get(target)?.length === 0) this.#queues.delete(target);
    }
  }

  /** Sends one batch; returns the items to try again. */
  async #send(target: string, batch: readonly Item[]): Promise<readonly Item[]> {
    const addr = kvAddressOf(this.ck, target);
    if (addr === undefined) return batch;
    try {
      const r = await this.http.request(addr, 'POST', '/internal/apply', {
        entries: batch.map((i) => ({
          partition: i.partition,
          key: i.key,
          value: i.entry.value,
          version: i.entry.version,
        })),
      });
      const results = (r.body as { results?: unknown } | undefined)?.results;
      if (r.status !== 200 || !Array.isArray(results)) return batch;
      // 'not_owner': the replica's table may lag ours; retried while we still think it owns the partition.
      return batch.filter((_, i) => results[i] === 'not_owner');
    } catch {
      return batch;
    }
  }

  #stillOwner(target: string, partition: number): boolean {
    try {
      const p = this.ck.listPartitions()[partition];
      return p !== undefined && (p.primaryNode === target || p.replicaNodes.includes(target));
    } catch {
      return false;
    }
  }
}
