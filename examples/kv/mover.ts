/**
 * Data movement driven by ClusterKit's hooks: the part the Go original's examples never got to work.
 *
 * - `partitionChange` naming this node (`copyToNode`): it now owns the partition. With `needsCopy` it fetches the
 *   partition from the nodes in `copyFromNodes` (the old primary first), reached at their `kv` service address,
 *   and merges every complete copy it gets (versions make merging safe; with quorum writes no single old owner is
 *   guaranteed to have every write, the union of them is). Without `needsCopy` (a replica promoted to primary) it
 *   already has the data. An empty `copyFromNodes` is a brand-new partition: nothing to fetch.
 * - `partitionDrop` naming this node: it no longer owns the partition. It keeps serving its copy to the new owners
 *   (it is in their `copyFromNodes`) and deletes it once every current owner reports a complete copy.
 * - `nodeRejoin` naming this node: whatever it still holds is from before it left and may be stale; it clears
 *   everything, and the partition changes of the same commit (delivered after the rejoin) tell it what to fetch.
 *
 * A reconciliation pass, once the table has been stable for a tick and every hook has run, compares what this node
 * holds with what the table says it owns, and starts any copy or drop an event did not (for example when the
 * command that admitted this node reached it inside a Raft snapshot, which carries a state but no events).
 *
 * Hooks only start background tasks and return, so ClusterKit's hook queue never waits on a network copy.
 */
import type {
  ClusterKit,
  NodeRejoinEvent,
  Partition,
  PartitionChangeEvent,
  PartitionDropEvent,
} from '../../src/index.js';
import { kvAddressOf } from './discovery.js';
import { type HttpClient, sleep } from './http.js';
import type { KvStore, VersionClock, WireEntry } from './store.js';
import { isValidVersion } from './store.js';

export type EmitLine = (line: Record<string, unknown>) => void;

export interface MoverOptions {
  readonly ck: ClusterKit;
  readonly store: KvStore;
  readonly clock: VersionClock;
  readonly http: HttpClient;
  readonly emit: EmitLine;
  /** How long a copy keeps trying before it settles for what it could get. Default 30 s. */
  readonly copyDeadlineMs?: number;
  /** Period of the reconciliation pass. Default 1 s. */
  readonly reconcileMs?: number;
}

/** What a node answers to `GET /internal/partition/:index`. */
export interface PartitionDump {
  readonly partition: string;
  /** The node holds data for the partition. */
  readonly held: boolean;
  /** That data is complete: it owns the partition and finished its copy, or it did until it lost ownership. */
  readonly complete: boolean;
  readonly entries: readonly WireEntry[];
}

export class DataMover {
  readonly #o: MoverOptions;
  readonly #me: string;
  /** Owned partitions whose data is complete. */
  readonly #ready = new Set<number>();
  /** Partitions no longer owned, still held, that were complete when ownership ended (valid copy sources). */
  readonly #retiring = new Set<number>();
  /** Running copy and drop tasks: partition → the generation that owns the task (a newer one supersedes it). */
  readonly #copying = new Map<number, number>();
  readonly #dropping = new Map<number, number>();
  readonly #waiters = new Map<number, (() => void)[]>();
  #gen = 0;
  #timer: NodeJS.Timeout | null = null;
  #stableVersion = -1;
  #reconciling = false;
  #stopped = false;

  constructor(options: MoverOptions) {
    this.#o = options;
    this.#me = options.ck.getMyNodeId();
  }

  /** Registers the hooks (before `ck.start()`, so no event is missed). */
  attach(): void {
    const ck = this.#o.ck;
    ck.onNodeRejoin((e) => this.#onRejoin(e));
    ck.onPartitionChange((e) => this.#onChange(e));
    ck.onPartitionDrop((e) => this.#onDrop(e));
  }

  /** Starts the periodic reconciliation (after `ck.start()`). */
  startReconciling(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#reconcile(), this.#o.reconcileMs ?? 1000);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#copying.clear();
    this.#dropping.clear();
  }

  isReady(partition: number): boolean {
    return this.#ready.has(partition);
  }

  /** Resolves true once the partition's data is complete here, false after `timeoutMs`. */
  waitReady(partition: number, timeoutMs: number): Promise<boolean> {
    if (this.#ready.has(partition)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = this.#waiters.get(partition) ?? [];
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const l = this.#waiters.get(partition);
        if (l !== undefined)
          this.#waiters.set(
            partition,
            l.filter((w) => w !== wake),
          );
        resolve(this.#ready.has(partition));
      }, timeoutMs);
      list.push(wake);
      this.#waiters.set(partition, list);
    });
  }

  /** The partition as this node holds it, for a new owner copying it. */
  dump(partition: number): PartitionDump {
    const held = this.#o.store.has(partition);
    return {
      partition: `partition-${partition}`,
      held,
      complete: held && (this.#ready.has(partition) || this.#retiring.has(partition)),
      entries: this.#o.store.entries(partition),
    };
  }

  /** Owned partitions not complete yet, and held partitions not owned any more (waiting to be dropped). */
  progress(): { syncing: number; pendingDrops: number } {
    const owned = this.#owned();
    let syncing = 0;
    for (const p of owned) if (!this.#ready.has(p)) syncing++;
    let pendingDrops = 0;
    for (const p of this.#o.store.partitions()) if (!owned.has(p)) pendingDrops++;
    return { syncing, pendingDrops };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Hooks
  // ---------------------------------------------------------------------------------------------------------------

  #onRejoin(e: NodeRejoinEvent): void {
    if (e.node.id !== this.#me) return;
    const keys = this.#o.store.liveKeys();
    this.#o.store.clear();
    this.#ready.clear();
    this.#retiring.clear();
    this.#copying.clear();
    this.#dropping.clear();
    this.#gen++;
    this.#o.emit({ type: 'cleared', nodeId: this.#me, keys, offlineMs: e.offlineDuration, at: Date.now() });
  }

  #onChange(e: PartitionChangeEvent): void {
    if (e.copyToNode.id !== this.#me || this.#stopped) return;
    const p = e.partitionIndex;
    // Owned again: a pending drop is void.
    this.#dropping.delete(p);
    this.#retiring.delete(p);
    if (!e.needsCopy && this.#ready.has(p)) return; // promoted: the data is already here
    const sources = e.copyFromNodes.map((n) => n.id).filter((id) => id !== this.#me);
    if (sources.length === 0) {
      // A brand-new partition (or every previous holder is gone): start it empty.
      this.#copying.delete(p);
      this.#o.store.ensure(p);
      this.#markReady(p);
      return;
    }
    this.#startCopy(p, e.partitionId, sources);
  }

  #onDrop(e: PartitionDropEvent): void {
    if (e.node.id !== this.#me || this.#stopped) return;
    const p = e.partitionIndex;
    this.#copying.delete(p);
    if (this.#ready.delete(p)) this.#retiring.add(p);
    this.#startDrop(p, e.partitionId);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Copy
  // ---------------------------------------------------------------------------------------------------------------

  #startCopy(p: number, pid: string, sources: readonly string[]): void {
    this.#ready.delete(p);
    const gen = ++this.#gen;
    this.#copying.set(p, gen);
    void this.#copy(p, pid, sources, gen).catch((err: unknown) => {
      this.#o.emit({ type: 'log', level: 'error', nodeId: this.#me, msg: `copy of ${pid} failed`, err: String(err) });
    });
  }

  async #copy(p: number, pid: string, sources: readonly string[], gen: number): Promise<void> {
    const deadline = Date.now() + (this.#o.copyDeadlineMs ?? 30_000);
    let delay = 50;
    let partial: { from: string; dumps: PartitionDump[] } | undefined;
    for (;;) {
      if (this.#copying.get(p) !== gen) return;
      // The event's sources first; the current other owners as a fallback (they may have completed a copy since).
      const ids = [...new Set([...sources, ...this.#ownersOf(p)])].filter((id) => id !== this.#me);
      const answers = await Promise.all(ids.map((id) => this.#fetch(id, p)));
      if (this.#copying.get(p) !== gen) return;
      const complete: { from: string; dump: PartitionDump }[] = [];
      for (const [i, dump] of answers.entries()) {
        if (dump?.complete === true) complete.push({ from: ids[i]!, dump });
        else if (dump?.held === true && partial === undefined) partial = { from: ids[i]!, dumps: [dump] };
      }
      if (complete.length > 0) {
        this.#finishCopy(
          p,
          pid,
          complete[0]!.from,
          complete.map((c) => c.from),
          complete.map((c) => c.dump),
        );
        return;
      }
      if (Date.now() >= deadline) {
        // Nobody has a complete copy: keep what the best holder had rather than nothing, and say so.
        this.#o.emit({
          type: 'log',
          level: 'warn',
          nodeId: this.#me,
          msg: `no complete copy of ${pid} found in time; ${partial === undefined ? 'starting it empty' : `taking the partial copy of ${partial.from}`}`,
        });
        this.#finishCopy(
          p,
          pid,
          partial?.from ?? null,
          partial === undefined ? [] : [partial.from],
          partial?.dumps ?? [],
        );
        return;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }

  async #fetch(nodeId: string, p: number): Promise<PartitionDump | undefined> {
    const addr = kvAddressOf(this.#o.ck, nodeId);
    if (addr === undefined) return undefined;
    try {
      const r = await this.#o.http.request(addr, 'GET', `/internal/partition/${p}`, undefined, { timeoutMs: 10_000 });
      return r.status === 200 ? parseDump(r.body) : undefined;
    } catch {
      // Unreachable or too slow: another source, or the next round, will do.
      return undefined;
    }
  }

  #finishCopy(
    p: number,
    pid: string,
    from: string | null,
    sources: readonly string[],
    dumps: readonly PartitionDump[],
  ): void {
    const { store, clock } = this.#o;
    store.ensure(p);
    const keys = new Set<string>();
    for (const d of dumps) {
      store.merge(p, d.entries);
      for (const [key, value, version] of d.entries) {
        clock.observe(version);
        if (value !== null) keys.add(key);
      }
    }
    this.#copying.delete(p);
    this.#markReady(p);
    if (from !== null) {
      this.#o.emit({
        type: 'moved',
        nodeId: this.#me,
        partitionId: pid,
        keys: keys.size,
        from,
        sources,
        at: Date.now(),
      });
    }
  }

  #markReady(p: number): void {
    this.#ready.add(p);
    const waiters = this.#waiters.get(p);
    this.#waiters.delete(p);
    for (const w of waiters ?? []) w();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Drop
  // ---------------------------------------------------------------------------------------------------------------

  #startDrop(p: number, pid: string): void {
    const gen = ++this.#gen;
    this.#dropping.set(p, gen);
    void this.#drop(p, pid, gen).catch((err: unknown) => {
      this.#o.emit({ type: 'log', level: 'error', nodeId: this.#me, msg: `drop of ${pid} failed`, err: String(err) });
    });
  }

  async #drop(p: number, pid: string, gen: number): Promise<void> {
    const started = Date.now();
    let warned = false;
    let delay = 100;
    for (;;) {
      if (this.#dropping.get(p) !== gen) return;
      const owners = this.#ownersOf(p);
      if (owners.includes(this.#me)) {
        // Owned again (the partition change that says so restarts the copy).
        this.#dropping.delete(p);
        return;
      }
      if (owners.length > 0 && (await this.#allComplete(owners, p))) {
        if (this.#dropping.get(p) !== gen) return;
        const keys = this.#o.store.drop(p);
        this.#retiring.delete(p);
        this.#dropping.delete(p);
        this.#o.emit({ type: 'dropped', nodeId: this.#me, partitionId: pid, keys, at: Date.now() });
        return;
      }
      if (!warned && Date.now() - started > 30_000) {
        warned = true;
        this.#o.emit({
          type: 'log',
          level: 'warn',
          nodeId: this.#me,
          msg: `still holding ${pid}: its owners (${owners.join(', ')}) have not all confirmed a complete copy`,
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }

  async #allComplete(owners: readonly string[], p: number): Promise<boolean> {
    const answers = await Promise.all(
      owners.map(async (id) => {
        const addr = kvAddressOf(this.#o.ck, id);
        if (addr === undefined) return false;
        try {
          const r = await this.#o.http.request(addr, 'GET', `/internal/ready/${p}`, undefined, { timeoutMs: 3000 });
          return r.status === 200 && (r.body as { ready?: unknown } | undefined)?.ready === true;
        } catch {
          return false;
        }
      }),
    );
    return answers.every(Boolean);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reconciliation
  // ---------------------------------------------------------------------------------------------------------------

  async #reconcile(): Promise<void> {
    if (this.#reconciling || this.#stopped) return;
    this.#reconciling = true;
    try {
      const ck = this.#o.ck;
      const version = ck.getCluster().tableVersion;
      // Act only on a table that has not changed for a whole tick, once every hook for it has run: the events
      // are the normal path, this only catches what they missed.
      if (version === 0 || version !== this.#stableVersion) {
        this.#stableVersion = version;
        return;
      }
      await ck.hooksIdle();
      if (ck.getCluster().tableVersion !== version || this.#stopped) return;
      const owned = this.#owned();
      for (const p of owned) {
        if (this.#ready.has(p) || this.#copying.has(p)) continue;
        const others = this.#ownersOf(p).filter((id) => id !== this.#me);
        if (others.length === 0 && !this.#o.store.has(p)) {
          this.#o.store.ensure(p);
          this.#markReady(p);
        } else {
          this.#startCopy(p, `partition-${p}`, others);
        }
      }
      for (const p of new Set([...this.#o.store.partitions(), ...this.#retiring])) {
        if (!owned.has(p) && !this.#dropping.has(p)) this.#startDrop(p, `partition-${p}`);
      }
    } catch (err) {
      this.#o.emit({ type: 'log', level: 'warn', nodeId: this.#me, msg: 'reconciliation failed', err: String(err) });
    } finally {
      this.#reconciling = false;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Table lookups
  // ---------------------------------------------------------------------------------------------------------------

  #partitions(): readonly Partition[] {
    try {
      return this.#o.ck.listPartitions();
    } catch {
      return []; // no table yet
    }
  }

  #ownersOf(p: number): string[] {
    const part = this.#partitions()[p];
    if (part === undefined || part.primaryNode === '') return [];
    return [part.primaryNode, ...part.replicaNodes];
  }

  #owned(): Set<number> {
    const out = new Set<number>();
    for (const part of this.#partitions()) {
      if (part.primaryNode === this.#me || part.replicaNodes.includes(this.#me)) out.add(part.index);
    }
    return out;
  }
}

function parseDump(body: unknown): PartitionDump | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b['held'] !== 'boolean' || typeof b['complete'] !== 'boolean' || !Array.isArray(b['entries'])) {
    return undefined;
  }
  const entries: WireEntry[] = [];
  for (const e of b['entries'] as unknown[]) {
    if (!Array.isArray(e) || e.length !== 3) return undefined;
    const [key, value, version] = e as unknown[];
    if (typeof key !== 'string' || (value !== null && typeof value !== 'string') || !isValidVersion(version)) {
      return undefined;
    }
    entries.push([key, value, version]);
  }
  return { partition: String(b['partition']), held: b['held'], complete: b['complete'], entries };
}
