/**
 * How a node becomes, and stays, a member of its cluster (the joiner side; the leader side is JoinCoordinator).
 *
 * Becoming a member, once per life of the node (start()):
 * - a node whose Raft configuration is only itself and whose state is empty bootstraps the cluster (a new data
 *   directory without joinAddr; or a bootstrap interrupted before its first command committed);
 * - a node that leads an existing cluster admits itself (a restarted single node, or a restarted leader);
 * - any other node asks to join: the known leader first, then the configured seeds, then every member it knows
 *   of, with back-off between rounds, until admitted, refused for good, or stopped.
 * A restart is a join like any other: the node's new incarnation tells the leader it restarted (see join.ts).
 *
 * Staying a member, while running: if the committed state says the leader removed this node for failing its
 * health checks (a long pause, a network cut), or the node has heard nothing from any peer for longer than it
 * takes to remove a dead node, it asks to be readmitted. The join is idempotent: a member that is fine gets
 * `unchanged`, a removed one rejoins. A node removed by an operator (or by leave()) stays out.
 */
import { randomUUID } from 'node:crypto';
import { ShuttingDownError } from '../errors.js';
import type { JoinRequest } from '../http/api.js';
import type { RaftStatus } from '../raft/api.js';
import { errorFields, type Logger } from '../util/logger.js';
import {
  backoffDelay,
  isJoinRefused,
  type JoinBody,
  type JoinCoordinator,
  type JoinForwarder,
  joinOnce,
  makeJoinForwarder,
  type PostJson,
} from './join.js';
import type { ResolvedOptions } from './options.js';
import type { ApplyOk, ClusterCommand, ClusterStateView, LeaveReason, NodeSpec } from './state/index.js';

export interface MemberHost {
  readonly o: ResolvedOptions;
  readonly logger: Logger;
  readonly state: ClusterStateView;
  readonly post: PostJson;
  advertiseAddr(): string;
  incarnation(): string;
  raftStatus(): RaftStatus | null;
  /** Messages received from peers so far (any kind). */
  messagesReceived(): number;
  isJoined(): boolean;
  stopping(): boolean;
  running(): boolean;
  coordinator(): JoinCoordinator | null;
  propose(command: ClusterCommand): Promise<ApplyOk>;
  /** Sleeps; wakes early when the node stops. */
  sleep(ms: number): Promise<void>;
  until(cond: () => boolean, timeoutMs: number): Promise<boolean>;
}

export class MembershipAgent {
  readonly #h: MemberHost;
  #received = -1;
  #receivedAt = 0;
  #probing = false;
  #removedSelf = false;
  #evicted = false;

  constructor(host: MemberHost) {
    this.#h = host;
  }

  /** This node's own record, as it announces itself. */
  spec(): NodeSpec {
    const o = this.#h.o;
    const addr = this.#h.advertiseAddr();
    return {
      id: o.nodeId,
      name: o.nodeName,
      httpAddr: addr,
      raftAddr: addr,
      incarnation: this.#h.incarnation(),
      weight: o.weight,
      services: o.services,
      ...(o.zone === undefined ? {} : { zone: o.zone }),
    };
  }

  /** Bootstraps, joins or announces a restart, until this life is a member (or the node stops). */
  async becomeMember(): Promise<void> {
    const h = this.#h;
    const o = h.o;
    let attempt = 0;
    let lastLog = 0;
    while (!h.isJoined()) {
      if (h.stopping()) throw new ShuttingDownError('stopped before joining the cluster');
      const st = h.raftStatus();
      if (st === null) throw new ShuttingDownError('raft stopped before the node joined the cluster');
      try {
        if (st.role === 'leader' && !h.state.bootstrapped) {
          if (st.config.members.length === 1 && st.config.members[0]!.id === o.nodeId) await this.#bootstrap();
          else await h.sleep(20);
          continue;
        }
        if (st.role === 'leader') {
          await h.coordinator()!.handle(this.#selfJoinRequest());
          continue;
        }
        const targets = this.#targets(st);
        if (targets.length === 0) {
          await h.sleep(20); // waiting for an election (a bootstrapping or restarting node)
          continue;
        }
        await joinOnce(targets, this.#body(), h.post, o.joinTimeoutMs, h.logger);
        // Admitted: the state that says so arrives through Raft replication.
        await h.until(() => h.isJoined() || h.stopping(), o.joinTimeoutMs);
        attempt = 0;
      } catch (err) {
        if (isJoinRefused(err)) throw err;
        if (h.stopping()) throw new ShuttingDownError('stopped before joining the cluster');
        const now = o.clock.now();
        if (now - lastLog > 5000) {
          lastLog = now;
          h.logger.warn({ ...errorFields(err), attempt }, 'not a member yet; retrying');
        }
        await h.sleep(backoffDelay(attempt++, o.joinBackoffMin, o.joinBackoffMax, () => o.random.next()));
      }
    }
  }

  /**
   * How this node forwards joins it receives while not the leader (with this agent's peer client, so a forward goes
   * out exactly like this node's own joins: TLS, the cluster's CA), or undefined when it cannot. With client
   * certificates, a join's proof is the joiner's TLS session with this node, which cannot be passed on, and this
   * node's own certificate (which its client presents to the leader) names another id than the joiner's: the leader
   * would refuse it with 403, which ends a join for good. Those joiners get the redirect instead.
   */
  joinForwarder(): JoinForwarder | undefined {
    const o = this.#h.o;
    const tls = o.security.tls;
    if (tls !== undefined && tls.clientCerts !== 'none') return undefined;
    return makeJoinForwarder({
      post: this.#h.post,
      nodeId: o.nodeId,
      scheduler: o.scheduler,
      // Shorter than the joiner's own wait (the same option, in a cluster configured alike), so that a leader that
      // does not answer gets the joiner this node's redirect instead of a timeout of its own.
      timeoutMs: Math.max(1, Math.floor(o.joinTimeoutMs * 0.8)),
    });
  }

  /** Told by the event path: this life was removed from the cluster, for `reason`. */
  removed(reason: LeaveReason): void {
    if (!this.#h.running()) return;
    if (reason === 'health_check_failure') {
      // Judged dead while alive: ask to be readmitted on the next watch.
      this.#removedSelf = true;
    } else {
      this.#evicted = true;
      this.#h.logger.warn({ reason }, 'this node was removed from the cluster; it stays out until restarted');
    }
  }

  /** Called periodically while running: asks to be readmitted when removed or cut off (see the file comment). */
  watch(): void {
    const h = this.#h;
    const st = h.raftStatus();
    if (!h.running() || this.#probing || this.#evicted || st === null) return;
    const o = h.o;
    const now = o.clock.now();
    const received = h.messagesReceived();
    // Contact means a leader's: two nodes the cluster removed keep sending each other vote requests, and counting
    // those kept both from ever noticing and asking back in (found by the reliability harness: membership-watch
    // test). Without a known leader, messages do not count.
    if ((received !== this.#received && st.leaderId !== null) || st.role === 'leader') {
      this.#received = received;
      this.#receivedAt = now;
    }
    const hc = o.healthCheck;
    const cutoff = Math.max(hc.interval * hc.failureThreshold, 2 * (o.raft.electionMs ?? 1000));
    const silent = now - this.#receivedAt > cutoff;
    if (!silent && !this.#removedSelf && h.isJoined()) return;
    this.#removedSelf = false;
    this.#receivedAt = now; // one probe per cutoff period at most
    this.#probing = true;
    h.logger.info({ silent, joined: h.isJoined() }, 'checking that this node is still a member');
    void this.#probe().finally(() => {
      this.#probing = false;
    });
  }

  async #probe(): Promise<void> {
    const h = this.#h;
    try {
      const st = h.raftStatus();
      if (st === null) return;
      if (st.role === 'leader') {
        if (!h.isJoined() && h.state.bootstrapped) await h.coordinator()?.handle(this.#selfJoinRequest());
        return;
      }
      await joinOnce(this.#targets(st), this.#body(), h.post, h.o.joinTimeoutMs, h.logger);
    } catch (err) {
      const level = isJoinRefused(err) ? 'error' : 'warn';
      h.logger[level]({ ...errorFields(err) }, 'membership check failed; will retry');
    }
  }

  async #bootstrap(): Promise<void> {
    const h = this.#h;
    const o = h.o;
    const result = await h.propose({
      type: 'bootstrap',
      at: o.wallClock(),
      clusterId: randomUUID(),
      config: {
        clusterName: o.clusterName,
        partitionCount: o.partitionCount,
        replicationFactor: o.replicationFactor,
        maxVoters: o.maxVoters,
        placement: o.placement,
      },
      node: this.spec(),
    });
    h.logger.info({ clusterId: h.state.clusterId, index: result.index }, 'bootstrapped a new cluster');
  }

  #selfJoinRequest(): JoinRequest {
    const o = this.#h.o;
    const clusterId = this.#h.state.clusterId;
    return {
      node: this.spec(),
      clusterName: o.clusterName,
      partitionCount: o.partitionCount,
      replicationFactor: o.replicationFactor,
      ...(clusterId === undefined ? {} : { clusterId }),
      remoteAddress: undefined,
    };
  }

  #body(): JoinBody {
    const o = this.#h.o;
    const addr = this.#h.advertiseAddr();
    const clusterId = this.#h.state.clusterId;
    return {
      node: {
        id: o.nodeId,
        name: o.nodeName,
        http_addr: addr,
        weight: o.weight,
        services: o.services,
        incarnation: this.#h.incarnation(),
        ...(o.zone === undefined ? {} : { zone: o.zone }),
      },
      raft_addr: addr,
      cluster_name: o.clusterName,
      partition_count: o.partitionCount,
      replication_factor: o.replicationFactor,
      // A node that was a member knows its cluster's id: it must never join another cluster of the same name.
      ...(clusterId === undefined ? {} : { cluster_id: clusterId }),
    };
  }

  /** The known leader first, then the configured seeds, then every member this node knows of. */
  #targets(st: RaftStatus): string[] {
    const h = this.#h;
    const self = h.advertiseAddr();
    const out: string[] = [];
    const add = (a: string | null | undefined): void => {
      if (a !== undefined && a !== null && a !== '' && a !== self && !out.includes(a)) out.push(a);
    };
    if (st.leaderId !== null && st.leaderId !== h.o.nodeId) add(h.state.node(st.leaderId)?.httpAddr ?? st.leaderAddr);
    for (const a of h.o.joinAddrs) add(a);
    for (const n of h.state.nodes()) if (n.id !== h.o.nodeId) add(n.httpAddr);
    return out;
  }
}
