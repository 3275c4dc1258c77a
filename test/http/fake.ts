/**
 * A fake NodeApi: an in-memory cluster with simple, predictable semantics (round-robin placement), failure
 * injection, and a `fingerprint()` of everything a request could change, so tests can assert that refused requests
 * changed nothing.
 */
import { ClusterKitError, NotLeaderError } from '../../src/errors.js';
import type {
  CallOptions,
  ClusterView,
  ConsensusStatus,
  CustomDataItem,
  DeleteCustomDataOutcome,
  DeleteCustomDataRequest,
  HealthInfo,
  JoinOutcome,
  JoinRequest,
  LeaderInfo,
  NodeApi,
  NodeInfo,
  RebalanceOutcome,
  RebalanceRequest,
  RemoveNodeOutcome,
  RemoveNodeRequest,
  SelfInfo,
  SetCustomDataOutcome,
  SetCustomDataRequest,
} from '../../src/http/api.js';
import { PartitionTable } from '../../src/partitioning/index.js';

export function member(id: string, port: number, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    name: `Server-${id.replace(/^node-/, '')}`,
    httpAddr: `127.0.0.1:${port}`,
    raftAddr: `127.0.0.1:${port}`,
    weight: 1,
    services: {},
    raftRole: 'voter',
    healthy: true,
    joinedAt: 1_700_000_000_000,
    ...extra,
  };
}

/** Round-robin placement: partition i's primary is ids[i mod n], then the next RF−1 nodes. */
export function roundRobin(
  ids: readonly string[],
  partitionCount: number,
  rf: number,
  version: number,
): PartitionTable {
  const sorted = [...ids].sort();
  const owners = Math.min(rf, sorted.length);
  const partitions = Array.from({ length: partitionCount }, (_, i) => {
    if (sorted.length === 0) return { primary: undefined, replicas: [], epoch: 0 };
    const list = Array.from({ length: owners }, (_, k) => sorted[(i + k) % sorted.length]!);
    return { primary: list[0], replicas: list.slice(1), epoch: 1 };
  });
  return PartitionTable.of({ version, partitionCount, replicationFactor: rf, partitions });
}

interface Entry {
  value: Uint8Array;
  revision: number;
  updatedAt: number;
}

export interface FakeOptions {
  readonly withLeave?: boolean;
}

export class FakeNode implements NodeApi {
  selfInfo: SelfInfo = { id: 'node-1', name: 'Server-1', httpAddr: '127.0.0.1:8081' };
  clusterId: string | undefined = 'cluster-uuid-1';
  config = { clusterName: 'test-cluster', partitionCount: 8, replicationFactor: 2 };
  nodes: NodeInfo[] = [
    member('node-1', 8081, { raftRole: 'leader', services: { kv: ':9081' }, zone: 'a' }),
    member('node-2', 8082, { zone: 'b' }),
    member('node-3', 8083, { healthy: null }),
  ];
  table: PartitionTable | undefined = roundRobin(['node-1', 'node-2', 'node-3'], 8, 2, 3);
  revision = 10;
  leaderInfo: LeaderInfo | null = {
    id: 'node-1',
    name: 'Server-1',
    httpAddr: '127.0.0.1:8081',
    raftAddr: '127.0.0.1:8081',
    term: 4,
    electedAt: 1_700_000_100_000,
  };
  /** When false, mutating calls answer as a follower: join redirects, others throw NotLeaderError. */
  isLeader = true;
  healthInfo: HealthInfo = {
    live: true,
    status: 'healthy',
    uptimeMs: 62_500,
    lastSyncAt: 1_700_000_200_000,
    checks: [{ name: 'raft', ok: true }],
  };
  raftRunning = true;
  metrics = '# HELP ck_up Up.\n# TYPE ck_up gauge\nck_up 1\n';
  readonly custom = new Map<string, Entry>();
  /** When set, every method throws it. */
  failWith: Error | undefined;
  /** When set, asynchronous methods never settle. */
  hang = false;
  readonly calls: string[] = [];
  barriers = 0;
  leave?: (options: CallOptions) => Promise<void>;
  left = false;

  constructor(options: FakeOptions = {}) {
    if (options.withLeave === true) {
      this.leave = (o) =>
        this.run('leave', o, () => {
          this.left = true;
          this.revision++;
        });
    }
  }

  /** Back to the initial state (failure injection and recorded calls included). */
  reset(): void {
    // A fresh fake's data fields; its own `leave` (bound to it) is not copied, this one's stays.
    const { leave: _ignored, ...fresh } = new FakeNode();
    Object.assign(this, fresh);
  }

  /** Everything a request could change. */
  fingerprint(): string {
    return JSON.stringify({
      nodes: this.nodes,
      table: this.table?.toJSON(),
      revision: this.revision,
      custom: [...this.custom.entries()].map(([k, e]) => [k, Buffer.from(e.value).toString('hex'), e.revision]),
      left: this.left,
    });
  }

  private check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }

  private run<T>(name: string, _options: CallOptions, run: () => T): Promise<T> {
    this.check();
    this.calls.push(name);
    if (this.hang) return new Promise<T>(() => undefined);
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.leaderInfo?.id, this.leaderInfo?.raftAddr));
    return Promise.resolve(run());
  }

  private retable(): void {
    const next = roundRobin(
      this.nodes.map((n) => n.id),
      this.config.partitionCount,
      this.config.replicationFactor,
      (this.table?.version ?? 0) + 1,
    );
    if (this.table === undefined || !next.sameAssignment(this.table)) this.table = next;
  }

  self(): SelfInfo {
    this.check();
    return { ...this.selfInfo };
  }

  clusterView(): ClusterView {
    this.check();
    return {
      clusterId: this.clusterId,
      config: { ...this.config },
      nodes: this.nodes.map((n) => ({ ...n, services: { ...n.services } })),
      table: this.table,
      revision: this.revision,
    };
  }

  consensus(): ConsensusStatus | null {
    this.check();
    if (!this.raftRunning) return null;
    return {
      id: 'node-1',
      role: this.isLeader ? 'leader' : 'follower',
      term: 4,
      leaderId: this.leaderInfo?.id ?? null,
      leaderAddr: this.leaderInfo?.raftAddr ?? null,
      commitIndex: 41,
      appliedIndex: 40,
      lastIndex: 42,
      lastTerm: 4,
      firstIndex: 1,
      snapshotIndex: 0,
      config: {
        members: [
          { id: 'node-1', addr: '127.0.0.1:8081', voter: true },
          { id: 'node-2', addr: '127.0.0.1:8082', voter: true },
          { id: 'node-3', addr: '127.0.0.1:8083', voter: false },
        ],
      },
      progress: this.isLeader
        ? [
            {
              id: 'node-2',
              voter: true,
              matchIndex: 42,
              nextIndex: 43,
              lastContactMs: 12,
              inflight: 0,
              snapshotting: false,
            },
            {
              id: 'node-3',
              voter: false,
              matchIndex: 30,
              nextIndex: 31,
              lastContactMs: 40,
              inflight: 2,
              snapshotting: false,
            },
          ]
        : [],
    };
  }

  leader(): LeaderInfo | null {
    this.check();
    return this.leaderInfo === null ? null : { ...this.leaderInfo };
  }

  health(): HealthInfo {
    this.check();
    return { ...this.healthInfo };
  }

  metricsText(): string {
    this.check();
    return this.metrics;
  }

  readBarrier(options: CallOptions): Promise<void> {
    return this.run('readBarrier', options, () => {
      this.barriers++;
    });
  }

  join(request: JoinRequest, options: CallOptions): Promise<JoinOutcome> {
    this.check();
    if (!this.isLeader) {
      this.calls.push('join');
      return Promise.resolve({ kind: 'redirect', leader: this.leaderInfo });
    }
    return this.run('join', options, (): JoinOutcome => {
      const n = request.node;
      const existing = this.nodes.findIndex((m) => m.id === n.id);
      const record = member(n.id, 0, {
        name: n.name,
        httpAddr: n.httpAddr,
        raftAddr: n.raftAddr,
        zone: n.zone,
        weight: n.weight ?? 1,
        services: n.services ?? {},
        raftRole: 'voter',
      });
      if (existing >= 0) {
        if (n.incarnation === 'other-process') {
          throw new ClusterKitError('ERR_CONFLICT', `node id ${n.id} is held by another incarnation`);
        }
        this.nodes[existing] = record;
      } else this.nodes.push(record);
      this.revision++;
      this.retable();
      return {
        kind: 'joined',
        nodeId: n.id,
        clusterId: this.clusterId ?? '',
        nodeCount: this.nodes.length,
        join: existing >= 0 ? 'rejoin' : 'new',
        tableVersion: this.table?.version ?? 0,
      };
    });
  }

  rebalance(_request: RebalanceRequest, options: CallOptions): Promise<RebalanceOutcome> {
    return this.run('rebalance', options, () => {
      const before = this.table;
      this.retable();
      const changed = this.table !== before;
      if (changed) this.revision++;
      return { changed, tableVersion: this.table?.version ?? 0 };
    });
  }

  removeNode(request: RemoveNodeRequest, options: CallOptions): Promise<RemoveNodeOutcome> {
    return this.run('removeNode', options, () => {
      const i = this.nodes.findIndex((n) => n.id === request.nodeId);
      if (i < 0) throw new ClusterKitError('ERR_NOT_FOUND', `node ${request.nodeId} is not a member`);
      this.nodes.splice(i, 1);
      this.revision++;
      this.retable();
      return { nodeCount: this.nodes.length, tableVersion: this.table?.version ?? 0 };
    });
  }

  customDataKeys(): readonly string[] {
    this.check();
    return [...this.custom.keys()].sort();
  }

  getCustomData(key: string): CustomDataItem | undefined {
    this.check();
    const e = this.custom.get(key);
    return e === undefined
      ? undefined
      : { key, value: Uint8Array.from(e.value), revision: e.revision, updatedAt: e.updatedAt };
  }

  setCustomData(request: SetCustomDataRequest, options: CallOptions): Promise<SetCustomDataOutcome> {
    return this.run('setCustomData', options, () => {
      const current = this.custom.get(request.key);
      if (!revisionHolds(request.expectedRevision, current?.revision ?? 0)) {
        throw new ClusterKitError('ERR_CONFLICT', 'revision mismatch');
      }
      this.revision++;
      this.custom.set(request.key, {
        value: Uint8Array.from(request.value),
        revision: this.revision,
        updatedAt: 1_700_000_300_000,
      });
      return { revision: this.revision, created: current === undefined };
    });
  }

  deleteCustomData(request: DeleteCustomDataRequest, options: CallOptions): Promise<DeleteCustomDataOutcome> {
    return this.run('deleteCustomData', options, () => {
      const current = this.custom.get(request.key);
      if (!revisionHolds(request.expectedRevision, current?.revision ?? 0)) {
        throw new ClusterKitError('ERR_CONFLICT', 'revision mismatch');
      }
      if (current !== undefined) {
        this.custom.delete(request.key);
        this.revision++;
      }
      return { existed: current !== undefined };
    });
  }
}

/** The state machine's compare-and-set rule: undefined = unconditional, -1 = present, else that revision (0 = absent). */
function revisionHolds(expected: number | undefined, current: number): boolean {
  if (expected === undefined) return true;
  return expected === -1 ? current > 0 : current === expected;
}
