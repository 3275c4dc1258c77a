/**
 * ClusterKit: the class applications use. It tells them WHERE data goes (key → partition → nodes) and WHEN it
 * moves (hooks), on a cluster kept consistent by ClusterKit's own Raft.
 *
 *   const ck = new ClusterKit({ nodeId: 'node-1', httpAddr: '127.0.0.1:8080' });
 *   await ck.start();                         // bootstraps (no joinAddr, empty dataDir) or joins
 *   const p = ck.getPartition('user:123');    // { id, primaryNode, replicaNodes, epoch }
 *   if (ck.isPrimary(p)) { ... }
 *
 * Reads (getPartition, getCluster, getCustomData, ...) are local and synchronous: they answer from this node's
 * copy of the replicated state, which may lag the leader by a commit. `sync()` (Raft ReadIndex) makes the next
 * local read linearizable. Writes (custom data, rebalances, removals) go through Raft from any node.
 *
 * Everything returned is frozen or a copy. Hooks run asynchronously (at most `hookConcurrency` at once), in
 * commit order, once per transition per node; a hook may call any method here.
 */
import { ClusterKitError, InvalidArgumentError, ShuttingDownError } from '../errors.js';
import type { NodeApi } from '../http/api.js';
import type { PartitionAssignment, PartitionTable } from '../partitioning/index.js';
import type { TlsReloadResult } from '../security/node-security.js';
import { describe } from '../util/assert.js';
import { NodeCore } from './core.js';
import { RESERVED_KEY_PREFIX } from './health.js';
import type { Hook } from './hooks.js';
import { HttpAdapter } from './http-adapter.js';
import type { PostJson } from './join.js';
import { type ClusterKitOptions, resolveOptions } from './options.js';
import { ANY_REVISION, MAX_CUSTOM_KEY_LENGTH, MAX_CUSTOM_VALUE_BYTES, type NodeRecord } from './state/index.js';
import type {
  ClusterInfo,
  ClusterKitEventName,
  ClusterKitEvents,
  HealthStatus,
  Metrics,
  Node,
  Partition,
  RebalanceCompleteHook,
  ServiceNode,
} from './types.js';

const encoder = new TextEncoder();

const RAFT_STATE: Record<string, string> = {
  leader: 'Leader',
  follower: 'Follower',
  candidate: 'Candidate',
  'pre-candidate': 'Candidate',
};

function toPartition(p: PartitionAssignment, tableVersion: number): Partition {
  return Object.freeze({
    id: p.id,
    index: p.index,
    primaryNode: p.primary ?? '',
    replicaNodes: p.replicas,
    epoch: p.epoch,
    tableVersion,
  });
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key cannot be empty');
  if (key.length > MAX_CUSTOM_KEY_LENGTH) {
    throw new InvalidArgumentError(`key is longer than ${MAX_CUSTOM_KEY_LENGTH} characters`);
  }
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    throw new InvalidArgumentError(`keys starting with ${JSON.stringify(RESERVED_KEY_PREFIX)} are reserved`);
  }
}

function toBytes(value: unknown): Uint8Array {
  const bytes =
    typeof value === 'string' ? encoder.encode(value) : value instanceof Uint8Array ? value.slice() : undefined;
  if (bytes === undefined)
    throw new InvalidArgumentError(`value must be a Uint8Array or a string, got ${describe(value)}`);
  if (bytes.length > MAX_CUSTOM_VALUE_BYTES) {
    throw new InvalidArgumentError(`value too large (max 1MB, got ${bytes.length} bytes)`);
  }
  return bytes;
}

/** @internal Test seams; not part of the public API. */
export interface ClusterKitInternals {
  /** Join transport override (tests). */
  readonly post?: PostJson;
}

export class ClusterKit {
  readonly #core: NodeCore;
  readonly #api: HttpAdapter;
  #started = false;
  #leaving: Promise<void> | null = null;
  #clusterCache: { revision: number; leader: string | null; info: ClusterInfo } | undefined;
  #partitionCache: { table: PartitionTable; list: readonly Partition[] } | undefined;
  #requests = 0;
  #requestErrors = 0;

  /** Validates the options (throws InvalidArgumentError); starts nothing. */
  constructor(options: ClusterKitOptions, internals: ClusterKitInternals = {}) {
    this.#core = new NodeCore(resolveOptions(options), internals.post === undefined ? {} : { post: internals.post });
    this.#api = new HttpAdapter(this, this.#core, { setCustomData: (key, value) => this.#setCustomData(key, value) });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------------------------

  /**
   * Opens the data directory, listens, and becomes a member: bootstraps a new cluster (no joinAddr and an empty
   * data directory), joins through joinAddr (retrying with back-off until it succeeds or stop() is called), or
   * rejoins after a restart. Resolves once the node is a member and knows the partition table. Rejects, with
   * everything closed again, when the cluster refuses the node (ERR_CONFLICT, ERR_MEMBERSHIP) or on stop().
   */
  async start(): Promise<void> {
    if (this.#started) throw new InvalidArgumentError('start() may only be called once');
    this.#started = true;
    await this.#core.start(this.#api);
  }

  /**
   * Re-reads the TLS certificate, key and CA files (the `tls` option) and uses them for every connection made from
   * now on, HTTP and Raft, accepted and dialled; open connections keep theirs. Rejects with ERR_INVALID_ARGUMENT,
   * changing nothing, when the new files are unusable (a key that does not match its certificate) or when the node
   * has no TLS (or is not started). An agent typically calls it on SIGHUP; `tls.watchIntervalMs` reloads by itself.
   */
  reloadTls(): Promise<TlsReloadResult> {
    return this.#core.security.reloadTls();
  }

  /** Stops this node without leaving: the cluster sees it as failed (and removes it after the health checks). */
  stop(): Promise<void> {
    return this.#core.stop();
  }

  /**
   * Leaves the cluster gracefully, then stops: hands leadership over if it leads, proposes its own removal
   * (reason `graceful_shutdown`; its partitions go to the others in the same commit) and waits for it, then
   * waits briefly for the leader to drop it from Raft.
   */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    const core = this.#core;
    try {
      if (core.phase !== 'running') return;
      core.phase = 'leaving';
      const raft = core.raft!;
      const self = core.o.nodeId;
      const others = core.state.nodes().filter((n) => n.id !== self);
      if (others.length > 0 && core.state.hasNode(self)) {
        if (raft.status().role === 'leader') await this.#handOverLeadership(others.map((n) => n.id));
        const at = core.o.wallClock();
        await this.#track(
          'leave',
          core.propose({
            type: 'nodeLeave',
            at,
            nodeId: self,
            reason: 'graceful_shutdown',
            incarnation: core.incarnation,
            lastSeenAt: at,
          }),
        );
        if (raft.status().role === 'leader') {
          // Still leading (the hand-over failed): remove itself; the engine steps down once that commits.
          await core.membership?.remove(self).catch((err: unknown) => {
            core.logger.warn({ err: String(err) }, 'could not remove itself from raft; the next leader will');
          });
        }
        // The leader drops a departed node from Raft at once and keeps replicating to it until it has learned that
        // its removal committed. So: done when the configuration says so, or (the leader gone, say) when the
        // leader has gone quiet for a few heartbeats (bounded: a stopping node is dropped by the leader anyway).
        const quietMs = 3 * (core.o.raft.heartbeatMs ?? 100);
        let received = raft.counters().messagesReceived;
        let lastAt = core.o.clock.now();
        await core.waitUntil(() => {
          if (!raft.status().config.members.some((m) => m.id === self)) return true;
          const now = core.o.clock.now();
          const r = raft.counters().messagesReceived;
          if (r !== received) {
            received = r;
            lastAt = now;
          }
          return now - lastAt >= quietMs;
        }, 3000);
      }
    } finally {
      await core.stop();
    }
  }

  /**
   * Before a leader leaves: makes sure another member votes (promoting the most caught-up one if it is the only
   * voter), then hands leadership to it. Failures are logged: leaving still works, with an election instead.
   */
  async #handOverLeadership(others: readonly string[]): Promise<void> {
    const core = this.#core;
    const raft = core.raft!;
    try {
      const st = raft.status();
      if (!st.config.members.some((m) => m.voter && m.id !== st.id)) {
        const best = st.progress.filter((p) => others.includes(p.id)).sort((a, b) => b.matchIndex - a.matchIndex)[0];
        if (best !== undefined) await core.membership?.promote(best.id);
      }
      await raft.transferLeadership(undefined, { timeoutMs: 3000 });
    } catch (err) {
      core.logger.warn({ err: String(err) }, 'handing leadership over before leaving failed; leaving anyway');
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // The seven core methods
  // ------------------------------------------------------------------------------------------------------------

  /** The partition that owns `key`. Throws ERR_UNAVAILABLE before the node knows the partition table. */
  getPartition(key: string): Partition {
    if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${describe(key)}`);
    const table = this.#table();
    return this.#partitions(table)[table.partitionIndexOf(key)]!;
  }

  /** The primary of `partition`, or undefined when it has none or the node is no longer a member. */
  getPrimary(partition: Partition): Node | undefined {
    if (partition?.primaryNode === undefined || partition.primaryNode === '') return undefined;
    return this.#core.state.node(partition.primaryNode);
  }

  /** The replicas of `partition` that are members (copies of the list; the records are frozen). */
  getReplicas(partition: Partition): Node[] {
    return this.#members(partition?.replicaNodes ?? []);
  }

  /** Primary then replicas. */
  getNodes(partition: Partition): Node[] {
    if (partition === undefined || partition === null) return [];
    return this.#members(partition.primaryNode === '' ? [] : [partition.primaryNode, ...partition.replicaNodes]);
  }

  isPrimary(partition: Partition): boolean {
    return partition?.primaryNode === this.#core.o.nodeId;
  }

  isReplica(partition: Partition): boolean {
    // Null-safe like the Go original (a nil partition is neither primary nor replica).
    return partition?.replicaNodes?.includes(this.#core.o.nodeId) ?? false;
  }

  getMyNodeId(): string {
    return this.#core.o.nodeId;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Cluster operations
  // ------------------------------------------------------------------------------------------------------------

  /** This node's view of the cluster (frozen; cached until the state or leader changes). */
  getCluster(): ClusterInfo {
    const s = this.#core.state;
    const leader = this.#core.raftStatus()?.leaderId ?? null;
    const cached = this.#clusterCache;
    if (cached?.revision === s.revision && cached.leader === leader && s.revision > 0) return cached.info;
    const table = s.table;
    const partitions: Record<string, Partition> = {};
    if (table !== undefined) for (const p of this.#partitions(table)) partitions[p.id] = p;
    const c = s.config;
    const info: ClusterInfo = Object.freeze({
      id: s.clusterId ?? '',
      name: c?.clusterName ?? this.#core.o.clusterName,
      nodes: s.nodes(),
      partitionMap: Object.freeze({ partitions: Object.freeze(partitions) }),
      config:
        c === undefined
          ? undefined
          : Object.freeze({
              clusterName: c.clusterName,
              partitionCount: c.partitionCount,
              replicationFactor: c.replicationFactor,
              maxVoters: c.maxVoters,
              placement: c.placement,
            }),
      tableVersion: table?.version ?? 0,
      revision: s.revision,
      leaderId: leader,
    });
    this.#clusterCache = { revision: s.revision, leader, info };
    return info;
  }

  /** All partitions, by index (frozen). */
  listPartitions(): readonly Partition[] {
    return this.#partitions(this.#table());
  }

  /** Partitions `nodeId` owns as primary and as replica. */
  getPartitionsForNode(nodeId: string): { primary: Partition[]; replica: Partition[] } {
    const table = this.#table();
    const all = this.#partitions(table);
    const { primaries, replicas } = table.partitionsOfNode(nodeId);
    return { primary: primaries.map((i) => all[i]!), replica: replicas.map((i) => all[i]!) };
  }

  /** Recomputes placement for the current members (a manual rebalance). */
  async rebalancePartitions(reason = 'manual'): Promise<{ changed: boolean; tableVersion: number }> {
    const core = this.#core;
    const r = await this.#track(
      'rebalance',
      core.propose({ type: 'rebalance', at: core.o.wallClock(), reason, requestedBy: core.o.nodeId }),
    );
    return { changed: r.changed, tableVersion: r.tableVersion };
  }

  /** Removes another member (reason `removed_by_admin`); its partitions go to the others. */
  async removeNode(nodeId: string): Promise<{ nodeCount: number; tableVersion: number }> {
    const core = this.#core;
    if (typeof nodeId !== 'string' || nodeId === '') throw new InvalidArgumentError('nodeId cannot be empty');
    if (!core.state.hasNode(nodeId)) {
      throw new ClusterKitError('ERR_NOT_FOUND', `node ${JSON.stringify(nodeId)} is not a member`);
    }
    const r = await this.#track(
      'remove',
      core.propose({ type: 'nodeLeave', at: core.o.wallClock(), nodeId, reason: 'removed_by_admin' }),
    );
    return { nodeCount: core.state.nodeCount, tableVersion: r.tableVersion };
  }

  getMetrics(): Metrics {
    const core = this.#core;
    const st = core.raftStatus();
    const s = core.state;
    const hooks = core.hooks.stats();
    return Object.freeze({
      nodeCount: s.nodeCount,
      partitionCount: s.table?.partitionCount ?? 0,
      requestCount: this.#requests,
      errorCount: this.#requestErrors,
      lastSync: core.lastSyncAt,
      isLeader: st?.role === 'leader',
      raftState: st === null ? 'Shutdown' : (RAFT_STATE[st.role] ?? 'Follower'),
      uptimeSeconds: Math.floor((core.o.clock.now() - core.createdAt) / 1000),
      term: st?.term ?? 0,
      commitIndex: st?.commitIndex ?? 0,
      appliedIndex: st?.appliedIndex ?? 0,
      tableVersion: s.table?.version ?? 0,
      rebalances: s.counters.rebalances,
      hookRuns: hooks.runs,
      hookErrors: hooks.errors,
      eventsEmitted: core.eventsEmitted,
    });
  }

  /** Liveness, readiness and the cluster health verdict (healthy / degraded / critical). */
  healthCheck(): HealthStatus {
    const core = this.#core;
    const st = core.raftStatus();
    const s = core.state;
    const h = core.assessHealth();
    return Object.freeze({
      healthy: h.status === 'healthy',
      status: h.status,
      live: !core.stopping && core.fatalError === undefined,
      ready: core.phase === 'running' && core.isJoined(),
      nodeId: core.o.nodeId,
      nodeName: core.o.nodeName,
      isLeader: st?.role === 'leader',
      nodeCount: s.nodeCount,
      partitionCount: s.table?.partitionCount ?? 0,
      raftState: st === null ? 'Shutdown' : (RAFT_STATE[st.role] ?? 'Follower'),
      lastSync: core.lastSyncAt,
      uptimeMs: core.o.clock.now() - core.createdAt,
      healthyNodes: h.healthyNodes,
      unhealthyNodes: h.unhealthyNodes,
      unhealthyNodeIds: h.unhealthyNodeIds,
      reasons: h.reasons,
    });
  }

  /** Healthy members offering `service`, with the address to dial (service discovery). */
  getServiceNodes(service: string): ServiceNode[] {
    const unhealthy = this.#core.unhealthyIds();
    const out: ServiceNode[] = [];
    for (const node of this.#core.state.nodes()) {
      const addr = node.services[service];
      if (addr === undefined || unhealthy.has(node.id)) continue;
      const host = node.httpAddr.slice(0, node.httpAddr.lastIndexOf(':'));
      out.push(Object.freeze({ node, address: addr.startsWith(':') ? `${host}${addr}` : addr }));
    }
    return out;
  }

  /** The HTTP API's view of this node (the object its handler is built on). */
  get httpApi(): NodeApi {
    return this.#api;
  }

  /** The advertised `host:port` of this node ('' before start). */
  get address(): string {
    return this.#core.advertiseAddr;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Custom data
  // ------------------------------------------------------------------------------------------------------------

  /** Stores `value` (at most 1 MiB) under `key`, cluster-wide; resolves with the key's new revision once applied here. */
  async setCustomData(key: string, value: Uint8Array | string): Promise<number> {
    return (await this.#setCustomData(key, value)).revision;
  }

  /** The write and what the committed command found: whether the key existed before it (not a local guess). */
  async #setCustomData(key: string, value: Uint8Array | string): Promise<{ revision: number; existed: boolean }> {
    checkKey(key);
    const core = this.#core;
    const r = await this.#track(
      'setCustomData',
      core.propose({ type: 'setCustomData', at: core.o.wallClock(), key, value: toBytes(value) }),
    );
    return { revision: r.keyRevision ?? 0, existed: r.existed ?? false };
  }

  /** A copy of the value (local read), or undefined when absent. */
  getCustomData(key: string): Uint8Array | undefined {
    checkKey(key);
    return this.#core.state.getCustomData(key)?.value;
  }

  /** The entry with its revision and update time (local read). */
  getCustomDataEntry(key: string): { value: Uint8Array; revision: number; updatedAt: number } | undefined {
    checkKey(key);
    const e = this.#core.state.getCustomData(key);
    return e === undefined ? undefined : { value: e.value, revision: e.revision, updatedAt: e.updatedAt };
  }

  /** Deletes `key` cluster-wide; resolves with whether it existed. Deleting an absent key succeeds. */
  async deleteCustomData(key: string): Promise<boolean> {
    checkKey(key);
    const core = this.#core;
    const r = await this.#track(
      'deleteCustomData',
      core.propose({ type: 'deleteCustomData', at: core.o.wallClock(), key }),
    );
    return r.existed ?? false;
  }

  /**
   * Compare-and-set: writes (or deletes, with null) only if the key's revision is `expectedRevision` (0: absent;
   * -1: present, whatever its revision).
   * Resolves with the new revision (0 after a delete); rejects with ERR_CONFLICT otherwise.
   */
  async compareAndSetCustomData(
    key: string,
    expectedRevision: number,
    value: Uint8Array | string | null,
  ): Promise<number> {
    checkKey(key);
    if (!Number.isSafeInteger(expectedRevision) || expectedRevision < ANY_REVISION) {
      throw new InvalidArgumentError(
        `expectedRevision must be an integer >= -1 (-1: the key must exist), got ${describe(expectedRevision)}`,
      );
    }
    const core = this.#core;
    const r = await this.#track(
      'casCustomData',
      core.propose({
        type: 'casCustomData',
        at: core.o.wallClock(),
        key,
        expectedRevision,
        value: value === null ? null : toBytes(value),
      }),
    );
    return r.keyRevision ?? 0;
  }

  /** Keys, sorted (local read; ClusterKit's own reserved keys are not listed). */
  listCustomDataKeys(): string[] {
    return [...this.#core.userKeys()];
  }

  /** Resolves once local reads reflect every write committed before the call (Raft ReadIndex). */
  async sync(options: { timeoutMs?: number } = {}): Promise<void> {
    const raft = this.#core.raft;
    if (raft === null || this.#core.stopping) throw new ShuttingDownError('the node is not running');
    await raft.read(options.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs });
  }

  /** A linearizable read of `key`: sync(), then the local value. */
  async getCustomDataLinearizable(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    await this.sync();
    return this.getCustomData(key);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Hooks
  // ------------------------------------------------------------------------------------------------------------

  /** Registers a hook for any event by name; returns a function that removes it. */
  on<K extends ClusterKitEventName>(event: K, hook: Hook<ClusterKitEvents[K]>): () => void {
    return this.#core.hooks.on(event, hook);
  }

  onPartitionChange(hook: Hook<ClusterKitEvents['partitionChange']>): () => void {
    return this.on('partitionChange', hook);
  }

  /** A present node no longer owns a partition: it may delete its copy (the new owners copy from it first). */
  onPartitionDrop(hook: Hook<ClusterKitEvents['partitionDrop']>): () => void {
    return this.on('partitionDrop', hook);
  }

  onNodeJoin(hook: Hook<ClusterKitEvents['nodeJoin']>): () => void {
    return this.on('nodeJoin', hook);
  }

  onNodeRejoin(hook: Hook<ClusterKitEvents['nodeRejoin']>): () => void {
    return this.on('nodeRejoin', hook);
  }

  onNodeLeave(hook: Hook<ClusterKitEvents['nodeLeave']>): () => void {
    return this.on('nodeLeave', hook);
  }

  onRebalanceStart(hook: Hook<ClusterKitEvents['rebalanceStart']>): () => void {
    return this.on('rebalanceStart', hook);
  }

  /** The Go original's signature: `(event, duration)`; the duration is also `event.duration` (ms). */
  onRebalanceComplete(hook: RebalanceCompleteHook): () => void {
    if (typeof hook !== 'function') throw new TypeError('hook for rebalanceComplete must be a function');
    return this.on('rebalanceComplete', (e) => hook(e, e.duration));
  }

  onClusterHealthChange(hook: Hook<ClusterKitEvents['clusterHealthChange']>): () => void {
    return this.on('clusterHealthChange', hook);
  }

  /**
   * Resolves once no hook is running or queued (tests, graceful shutdown of an application). From inside a hook it
   * rejects with ERR_CONFLICT: the hook would wait for itself.
   */
  hooksIdle(): Promise<void> {
    return this.#core.hooks.idle();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Internals
  // ------------------------------------------------------------------------------------------------------------

  #table(): PartitionTable {
    const t = this.#core.state.table;
    if (t === undefined) {
      throw new ClusterKitError('ERR_UNAVAILABLE', 'no partitions available: the node has not joined a cluster yet', {
        retriable: true,
      });
    }
    return t;
  }

  #partitions(table: PartitionTable): readonly Partition[] {
    if (this.#partitionCache?.table !== table) {
      this.#partitionCache = {
        table,
        list: Object.freeze(table.partitions.map((p) => toPartition(p, table.version))),
      };
    }
    return this.#partitionCache.list;
  }

  #members(ids: readonly string[]): Node[] {
    const out: NodeRecord[] = [];
    for (const id of ids) {
      const n = this.#core.state.node(id);
      if (n !== undefined) out.push(n);
    }
    return out;
  }

  /** Counts a change requested through this node (the Go original's request/error counts). */
  async #track<T>(op: string, p: Promise<T>): Promise<T> {
    this.#requests++;
    try {
      const v = await p;
      this.#core.metrics.requests.inc({ op, result: 'ok' });
      return v;
    } catch (err) {
      this.#requestErrors++;
      this.#core.metrics.requests.inc({ op, result: 'error' });
      throw err;
    }
  }
}
