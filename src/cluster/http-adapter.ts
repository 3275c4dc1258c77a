/**
 * The NodeApi (src/http/api.ts) of a ClusterKit node: what the HTTP layer serves. It is a thin mapping onto the
 * node runtime and the public ClusterKit methods; every returned object is frozen or a copy.
 */
import { ClusterKitError, InvalidArgumentError } from '../errors.js';
import type {
  CallOptions,
  ClusterView,
  ConsensusStatus,
  CustomDataItem,
  DeleteCustomDataOutcome,
  DeleteCustomDataRequest,
  EventFeed,
  HealthCheckResult,
  HealthInfo,
  JoinOutcome,
  JoinRequest,
  LeaderInfo,
  NodeApi,
  NodeInfo,
  NodeRaftRole,
  RebalanceOutcome,
  RebalanceRequest,
  RemoveNodeOutcome,
  RemoveNodeRequest,
  SelfInfo,
  SetCustomDataOutcome,
  SetCustomDataRequest,
} from '../http/api.js';
import type { ClusterKit } from './clusterkit.js';
import type { NodeCore } from './core.js';
import { RESERVED_KEY_PREFIX } from './health.js';

/** Writes whose full committed result the HTTP API needs (ClusterKit's public methods return less). */
export interface AdapterWrites {
  setCustomData(key: string, value: Uint8Array): Promise<{ revision: number; existed: boolean }>;
}

export class HttpAdapter implements NodeApi {
  readonly #ck: ClusterKit;
  readonly #core: NodeCore;
  readonly #writes: AdapterWrites;
  #viewCache: { revision: number; raftKey: string; health: string; view: ClusterView } | undefined;

  constructor(ck: ClusterKit, core: NodeCore, writes: AdapterWrites) {
    this.#ck = ck;
    this.#core = core;
    this.#writes = writes;
  }

  self(): SelfInfo {
    const o = this.#core.o;
    return { id: o.nodeId, name: o.nodeName, httpAddr: this.#core.advertiseAddr };
  }

  clusterView(): ClusterView {
    const core = this.#core;
    const s = core.state;
    const st = core.raftStatus();
    const members = st?.config.members ?? [];
    const raftKey = `${st?.leaderId ?? ''}|${members.map((m) => `${m.id}:${m.voter ? 1 : 0}`).join(',')}`;
    const unhealthy = core.unhealthyIds();
    const health = [...unhealthy].join(',');
    const cached = this.#viewCache;
    if (cached?.revision === s.revision && cached.raftKey === raftKey && cached.health === health) return cached.view;
    const enabled = core.o.healthCheck.enabled;
    const nodes: NodeInfo[] = s.nodes().map((n) => {
      const m = members.find((x) => x.id === n.id);
      const raftRole: NodeRaftRole =
        m === undefined ? 'none' : st?.leaderId === n.id ? 'leader' : m.voter ? 'voter' : 'nonvoter';
      return Object.freeze({
        id: n.id,
        name: n.name,
        httpAddr: n.httpAddr,
        raftAddr: n.raftAddr,
        zone: n.zone,
        weight: n.weight,
        services: n.services,
        raftRole,
        healthy: enabled ? !unhealthy.has(n.id) : null,
        joinedAt: n.joinedAt,
      });
    });
    const c = s.config;
    const o = core.o;
    const view: ClusterView = Object.freeze({
      clusterId: s.clusterId,
      config: Object.freeze(
        c === undefined
          ? {
              clusterName: o.clusterName,
              partitionCount: o.partitionCount,
              replicationFactor: o.replicationFactor,
              maxVoters: o.maxVoters,
              placement: o.placement,
            }
          : {
              clusterName: c.clusterName,
              partitionCount: c.partitionCount,
              replicationFactor: c.replicationFactor,
              maxVoters: c.maxVoters,
              placement: c.placement,
            },
      ),
      nodes: Object.freeze(nodes),
      table: s.table,
      revision: s.revision,
    });
    this.#viewCache = { revision: s.revision, raftKey, health, view };
    return view;
  }

  consensus(): ConsensusStatus | null {
    return this.#core.raftStatus();
  }

  leader(): LeaderInfo | null {
    return this.#core.leaderInfo();
  }

  health(): HealthInfo {
    const core = this.#core;
    const live = !core.stopping && core.fatalError === undefined;
    const uptimeMs = core.o.clock.now() - core.createdAt;
    if (core.phase === 'new' || core.phase === 'starting') {
      return { live, status: 'starting', uptimeMs, lastSyncAt: core.lastSyncAt, checks: this.#checks() };
    }
    if (!live || core.phase === 'leaving') {
      return { live, status: 'stopping', uptimeMs, lastSyncAt: core.lastSyncAt, checks: this.#checks() };
    }
    return {
      live,
      status: core.assessHealth().status,
      uptimeMs,
      lastSyncAt: core.lastSyncAt,
      checks: this.#checks(),
    };
  }

  #checks(): HealthCheckResult[] {
    const core = this.#core;
    const st = core.raftStatus();
    const h = core.assessHealth();
    return [
      {
        name: 'raft',
        ok: st?.leaderId != null,
        message: st?.leaderId == null ? 'no leader known' : `leader ${st.leaderId}, term ${st.term}`,
      },
      {
        name: 'membership',
        ok: core.isJoined(),
        message: core.isJoined() ? 'member of the cluster' : 'not a member yet',
      },
      { name: 'cluster', ok: h.status === 'healthy', message: h.reasons.join('; ') || 'every node healthy' },
    ];
  }

  metricsText(): string {
    return this.#core.metrics.registry.render();
  }

  async readBarrier(options: CallOptions): Promise<void> {
    await this.#ck.sync({ timeoutMs: options.timeoutMs });
  }

  join(request: JoinRequest, _options: CallOptions): Promise<JoinOutcome> {
    return this.#core.join(request);
  }

  async rebalance(request: RebalanceRequest, _options: CallOptions): Promise<RebalanceOutcome> {
    return this.#ck.rebalancePartitions(request.reason);
  }

  removeNode(request: RemoveNodeRequest, _options: CallOptions): Promise<RemoveNodeOutcome> {
    return this.#ck.removeNode(request.nodeId);
  }

  leave(_options: CallOptions): Promise<void> {
    // Answer first, then go: the response must leave before the listener closes.
    const core = this.#core;
    if (core.phase !== 'running') {
      return Promise.reject(new ClusterKitError('ERR_UNAVAILABLE', 'the node is not running', { retriable: false }));
    }
    core.o.scheduler.setTimeout(() => {
      this.#ck.leave().catch((err: unknown) => core.logger.error({ err: String(err) }, 'leave failed'));
    }, 10);
    return Promise.resolve();
  }

  events(): EventFeed {
    return this.#core.eventLog;
  }

  customDataKeys(): readonly string[] {
    return this.#core.userKeys();
  }

  getCustomData(key: string): CustomDataItem | undefined {
    if (key.startsWith(RESERVED_KEY_PREFIX)) return undefined;
    const e = this.#core.state.getCustomData(key);
    return e === undefined ? undefined : { key, value: e.value, revision: e.revision, updatedAt: e.updatedAt };
  }

  async setCustomData(request: SetCustomDataRequest, _options: CallOptions): Promise<SetCustomDataOutcome> {
    if (request.expectedRevision !== undefined) {
      const revision = await this.#ck.compareAndSetCustomData(request.key, request.expectedRevision, request.value);
      return { revision, created: request.expectedRevision === 0 };
    }
    // `created` comes from the committed command: this node's own copy of the state may lag the leader, and a
    // guess made from it before the write told clients "created" for keys that existed (found by the reliability
    // harness: test/reliability/stale-answers.test.ts).
    const { revision, existed } = await this.#writes.setCustomData(request.key, request.value);
    return { revision, created: !existed };
  }

  async deleteCustomData(request: DeleteCustomDataRequest, _options: CallOptions): Promise<DeleteCustomDataOutcome> {
    if (request.key.startsWith(RESERVED_KEY_PREFIX)) throw new InvalidArgumentError('reserved key');
    if (request.expectedRevision !== undefined) {
      if (request.expectedRevision === 0) {
        // "Delete only if absent" is decided by the committed state, not this node's possibly stale copy.
        await this.#ck.compareAndSetCustomData(request.key, 0, null);
        return { existed: false };
      }
      await this.#ck.compareAndSetCustomData(request.key, request.expectedRevision, null);
      return { existed: true };
    }
    return { existed: await this.#ck.deleteCustomData(request.key) };
  }
}
