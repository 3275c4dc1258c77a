/**
 * What only the Raft leader does, on a short periodic tick:
 *
 * 1. after winning an election, a `rebalance` (reason `leader_change`) so that placement work a previous leader
 *    could not finish is redone (a rebalance that moves nothing changes nothing);
 * 2. liveness (liveness.ts): a dead member is removed (state `nodeLeave`, reason `health_check_failure`, with
 *    when it was last seen; then Raft removal), its partitions reassigned in the same command;
 * 3. Raft configuration follows the cluster state: members missing from Raft are added as non-voters, Raft
 *    members that left the state are removed;
 * 4. voters: up to `maxVoters` healthy members vote, the others are non-voters; when a voter goes, a healthy,
 *    caught-up non-voter is promoted, so quorum survives churn;
 * 5. the cluster health record (health.ts) is rewritten when the set of unhealthy members changes.
 *
 * One action per tick at most, each finishing before the next starts, so the duties never pile up work behind a
 * slow commit. A failed action is logged and retried on a later tick. Everything is level-triggered (compares the
 * desired with the actual state), so a new leader simply picks up where the old one stopped.
 */
import type { RaftStatus } from '../raft/api.js';
import type { Clock, Scheduler, TimerHandle } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';
import { decodeHealthRecord, encodeHealthRecord, HEALTH_KEY, sameIds } from './health.js';
import { LivenessTracker, NOT_IN_RAFT, RECONNECT_CEILING_MS } from './liveness.js';
import type { ResolvedHealthCheck } from './options.js';
import type { RaftMembership } from './raft-membership.js';
import type { ApplyOk, ClusterCommand, ClusterStateView } from './state/index.js';

export interface DutyHost {
  readonly nodeId: string;
  readonly state: ClusterStateView;
  raftStatus(): RaftStatus | null;
  propose(command: ClusterCommand): Promise<ApplyOk>;
  readonly membership: RaftMembership;
  readonly pendingJoins: ReadonlySet<string>;
  readonly health: ResolvedHealthCheck;
  /** The cluster's maxVoters (replicated), or the node's option before bootstrap. */
  maxVoters(): number;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly wallClock: () => number;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  /** The Raft engine's tick, ms (the resolution of its contact ages); default: ClusterKit's, half the heartbeat. */
  readonly raftTickMs?: number;
}

/** How long a Raft member absent from the state (and not known to have left) is kept before removal, ms. */
const ORPHAN_GRACE_MS = 5000;
/** Entries a non-voter may lag behind the leader's log and still be promoted (below the engine's own limit). */
const PROMOTE_LAG = 64;
/** How long an outage counts for a restarted node's offline time, ms. */
const OUTAGE_MEMORY_MS = 10 * 60_000;
/**
 * The shortest wait before an evaluation brought forward for a removal, ms: the engine's contact ages move in
 * whole ticks, so a silence just short of the threshold may need another look a few ms later.
 */
const MIN_DEADLINE_DELAY_MS = 5;

export class LeaderDuties {
  readonly #host: DutyHost;
  readonly tracker: LivenessTracker;
  readonly #periodMs: number;
  #timer: TimerHandle | null = null;
  #stopped = false;
  #leading = false;
  #leaderSince = 0;
  #busy = false;
  #needRebalance = false;
  /** The leader's last log index when its leadership began (its no-op is at or below it). */
  #leaderFromIndex = 0;
  #retryAt = 0;
  #failures = 0;
  #expeditedAt = Number.NEGATIVE_INFINITY;
  readonly #orphanSince = new Map<string, number>();
  /** Orphan voters whose removal waits for the quorum (logged once each). */
  readonly #heldRemovals = new Set<string>();
  /** Removals done by this leader (tests and metrics). */
  removals = 0;

  constructor(host: DutyHost) {
    this.#host = host;
    const h = host.health;
    this.#periodMs = Math.max(20, Math.min(250, Math.floor(h.interval / 3)));
    this.tracker = new LivenessTracker({
      unhealthyAfterMs: h.timeout,
      deadAfterMs: Math.max(h.interval * h.failureThreshold, h.timeout),
      firstContactMs: RECONNECT_CEILING_MS + 2 * host.heartbeatMs,
      contactSlackMs: host.raftTickMs ?? Math.max(10, Math.min(25, Math.floor(host.heartbeatMs / 2))),
      gapMs: Math.max(3 * host.heartbeatMs, 100),
      stallHoldMs: Math.max(200, 4 * host.heartbeatMs),
      periodMs: this.#periodMs,
    });
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Monotonic → wall-clock ms. */
  toWall(mono: number): number {
    return this.#host.wallClock() - (this.#host.clock.now() - mono);
  }

  /** Whether this leader hears from `id` now (false when not leading or not tracked). */
  isReachable(id: string): boolean {
    if (id === this.#host.nodeId) return true;
    return this.#leading && this.tracker.get(id)?.healthy === true;
  }

  /** Wall-clock ms `id` was last heard from before its latest outage; now when no outage was seen. */
  lastSeenBeforeOutage(id: string): number {
    const mono = this.tracker.lastSeenBeforeOutage(id, OUTAGE_MEMORY_MS);
    return mono === undefined ? this.#host.wallClock() : Math.floor(this.toWall(mono));
  }

  #schedule(delayMs = this.#nextDelay()): void {
    if (this.#stopped) return;
    this.#timer?.cancel();
    this.#timer = this.#host.scheduler.setTimeout(() => this.#tick(), delayMs);
  }

  /**
   * The regular period, or less when a member's silence will reach the removal threshold before then (or a hold
   * ends): evaluating only every period (a third of the interval, up to 250 ms) made removals land anywhere up to
   * a period after the threshold, which was most of what a removal took beyond interval × threshold.
   */
  #nextDelay(): number {
    if (!this.#leading || !this.#host.health.enabled) return this.#periodMs;
    const due = this.tracker.msUntilDecision(this.#host.clock.now());
    if (due === undefined || due >= this.#periodMs) return this.#periodMs;
    // +1: a timer may fire a fraction of a millisecond early.
    return Math.max(MIN_DEADLINE_DELAY_MS, Math.ceil(due) + 1);
  }

  #tick(): void {
    this.#timer = null;
    try {
      this.#evaluate();
    } catch (err) {
      this.#host.logger.error({ ...errorFields(err) }, 'leader duties failed');
    }
    this.#schedule();
  }

  #evaluate(): void {
    const h = this.#host;
    const st = h.raftStatus();
    const now = h.clock.now();
    if (st === null || st.role !== 'leader') {
      if (this.#leading) {
        this.#leading = false;
        this.tracker.reset();
        this.#orphanSince.clear();
      }
      return;
    }
    if (!this.#leading) {
      this.#leading = true;
      this.#leaderSince = now;
      this.#needRebalance = true;
      this.#leaderFromIndex = st.lastIndex;
      this.#retryAt = 0;
      this.#failures = 0;
      this.tracker.reset();
    }
    const progress = new Map(st.progress.map((p) => [p.id, p.lastContactMs]));
    const contacts = new Map<string, number>();
    const incarnations = new Map<string, string>();
    const inRaft = new Set(st.config.members.map((m) => m.id));
    // A member not in the Raft configuration yet (its addition is queued or being retried) cannot answer the
    // leader: it is only timed from when it is added.
    for (const n of h.state.nodes()) {
      if (n.id === h.nodeId) continue;
      contacts.set(n.id, inRaft.has(n.id) ? (progress.get(n.id) ?? -1) : NOT_IN_RAFT);
      incarnations.set(n.id, n.incarnation);
    }
    // Raft members outside the state (leaving, or joining elsewhere) are tracked too: their removal depends on it.
    for (const m of st.config.members)
      if (m.id !== h.nodeId && !contacts.has(m.id)) contacts.set(m.id, progress.get(m.id) ?? -1);
    this.tracker.update(now, contacts, incarnations);
    if (!h.state.bootstrapped || this.#busy || now < this.#retryAt) return;
    this.#busy = true;
    void this.#act(st, now)
      .then(
        () => {
          this.#failures = 0;
        },
        (err: unknown) => {
          this.#failures++;
          // Back off a little on repeated failures (lost leadership, slow commits) instead of hammering.
          this.#retryAt = h.clock.now() + Math.min(2000, 50 * 2 ** Math.min(this.#failures, 6));
          h.logger.warn({ ...errorFields(err) }, 'leader duty failed; will retry');
        },
      )
      .finally(() => {
        this.#busy = false;
        if (this.#leading && h.health.enabled && this.#removalDue()) this.#expedite();
      });
  }

  async #act(st: RaftStatus, now: number): Promise<void> {
    const h = this.#host;
    if (this.#needRebalance) {
      // A new leader re-places the partitions once. Not when it bootstrapped the cluster itself during this
      // leadership (the bootstrap command came after its no-op): that placement is brand new, and a rebalance
      // would only cost every node of a forming cluster another commit and another placement.
      if (!(h.state.lastIndex > this.#leaderFromIndex && h.state.table?.version === 1)) {
        await h.propose({ type: 'rebalance', at: h.wallClock(), reason: 'leader_change', requestedBy: h.nodeId });
      }
      this.#needRebalance = false;
      return;
    }
    if (h.health.enabled && (await this.#removeDead())) return;
    if (h.membership.busy) return;
    if (await this.#reconcile(st, now)) return;
    if (await this.#balanceVoters(st)) return;
    if (h.health.enabled && now - this.#leaderSince >= h.health.timeout) await this.#publishHealth();
  }

  /** Whether a member of the state is dead now (by the last evaluation). */
  #removalDue(): boolean {
    const h = this.#host;
    return h.state
      .nodes()
      .some((n) => n.id !== h.nodeId && !h.pendingJoins.has(n.id) && this.tracker.get(n.id)?.dead === true);
  }

  /**
   * Evaluates again at once: a member found dead while another action ran is removed now, not a period later.
   * At most once a period, so that a removal the guards hold back cannot make the duties run back to back.
   */
  #expedite(): void {
    const now = this.#host.clock.now();
    if (now - this.#expeditedAt < this.#periodMs) return;
    this.#expeditedAt = now;
    this.#schedule(0);
  }

  /** Removes one dead member; true when it did something. */
  async #removeDead(): Promise<boolean> {
    const h = this.#host;
    if (this.tracker.holding) return false;
    const others = h.state.nodes().filter((n) => n.id !== h.nodeId);
    const dead = others
      .filter((n) => !h.pendingJoins.has(n.id))
      .map((n) => ({ node: n, live: this.tracker.get(n.id) }))
      .filter((x) => x.live?.dead === true)
      .sort((a, b) => b.live!.silenceMs - a.live!.silenceMs);
    const victim = dead[0];
    if (victim === undefined) return false;
    if (others.length >= 3 && dead.length * 2 > others.length) {
      // Most of the cluster looking dead at once says more about this leader than about them: wait (and log).
      h.logger.warn(
        { dead: dead.map((d) => d.node.id), members: others.length + 1 },
        'more than half of the other members look dead at once; not removing any (a leader-side problem is likelier)',
      );
      return false;
    }
    const id = victim.node.id;
    const lastContact = this.tracker.lastContactAt(id) ?? h.clock.now();
    const unhealthySince = this.tracker.unhealthySince(id) ?? lastContact;
    const at = h.wallClock();
    h.logger.warn({ node: id, silentMs: victim.live!.silenceMs }, 'removing a dead node');
    await h.propose({
      type: 'nodeLeave',
      at,
      nodeId: id,
      reason: 'health_check_failure',
      incarnation: victim.node.incarnation,
      lastSeenAt: Math.min(at, Math.floor(this.toWall(lastContact))),
      triggeredAt: Math.min(at, Math.floor(this.toWall(unhealthySince))),
    });
    this.removals++;
    if (inRaftConfig(h, id)) await h.membership.remove(id, () => isGone(h, id));
    return true;
  }

  /** Makes the Raft configuration follow the state; true when it changed something. */
  async #reconcile(st: RaftStatus, now: number): Promise<boolean> {
    const h = this.#host;
    const members = st.config.members;
    for (const m of members) {
      if (m.id === h.nodeId || h.state.hasNode(m.id) || h.pendingJoins.has(m.id)) {
        this.#orphanSince.delete(m.id);
        continue;
      }
      const since = this.#orphanSince.get(m.id) ?? now;
      this.#orphanSince.set(m.id, since);
      // A node that left is dropped from Raft at once: the engine keeps replicating to a removed member until it
      // has learned that its removal (and so its departure before it) committed. A member that is in neither the
      // state nor the departed records gets a grace period (it may be a join in flight elsewhere).
      const departed = h.state.departedNode(m.id) !== undefined;
      const grace = departed ? 0 : ORPHAN_GRACE_MS;
      if (now - since >= grace) {
        if (m.voter && !this.#keepsQuorum(members, m.id)) {
          // A voter that is out of the state only for a moment (a restart between the departure of its old life
          // and its rejoin) must not be removed while another voter is dead: the voters left would be mostly dead,
          // and no leader could ever commit again (found by the reliability harness, voter-removal.test.ts). The
          // dead voter goes first, through the health checks.
          if (!this.#heldRemovals.has(m.id)) {
            this.#heldRemovals.add(m.id);
            h.logger.info(
              { node: m.id },
              'not removing a raft voter yet: the reachable voters left would be a minority',
            );
          }
          continue;
        }
        this.#heldRemovals.delete(m.id);
        h.logger.info({ node: m.id }, 'removing a raft member that is not in the cluster state');
        await h.membership.remove(m.id, () => isGone(h, m.id));
        this.#orphanSince.delete(m.id);
        return true;
      }
    }
    for (const n of h.state.nodes()) {
      if (n.id === h.nodeId || h.pendingJoins.has(n.id)) continue;
      const m = members.find((x) => x.id === n.id);
      if (m === undefined || m.addr !== n.raftAddr) {
        h.logger.info({ node: n.id, addr: n.raftAddr }, 'adding a cluster member to raft');
        await h.membership.ensureMember(n.id, n.raftAddr);
        return true;
      }
    }
    return false;
  }

  /** Whether the voters this leader hears from stay a majority of the voters once `id` is removed. */
  #keepsQuorum(members: RaftStatus['config']['members'], id: string): boolean {
    const voters = members.filter((x) => x.voter && x.id !== id);
    // Heard from and not silent since: a member never heard from (in its grace period) does not count.
    const heard = (v: string): boolean =>
      v === this.#host.nodeId || (this.#leading && this.tracker.get(v)?.everHeard === true && this.isReachable(v));
    const live = voters.filter((x) => heard(x.id)).length;
    return live * 2 > voters.length;
  }

  /** Promotes or demotes one member toward min(maxVoters, members) voters; true when it did something. */
  async #balanceVoters(st: RaftStatus): Promise<boolean> {
    const h = this.#host;
    const members = st.config.members;
    const voters = members.filter((m) => m.voter);
    const max = h.maxVoters();
    const desired = Math.min(max, members.length);
    // Promotions are not held back by joins in flight: until enough members vote, losing one of the few voters
    // loses the quorum.
    if (voters.length < desired) {
      // Join order: the longest-standing healthy members vote first.
      for (const n of h.state.nodes()) {
        const m = members.find((x) => x.id === n.id);
        if (m === undefined || m.voter || h.pendingJoins.has(n.id)) continue;
        const live = this.tracker.get(n.id);
        if (live === undefined || !live.healthy || !live.everHeard) continue;
        // Only a caught-up non-voter: promoting one that lags would hold the (single) configuration change slot
        // until it catches up, delaying joins.
        const match = st.progress.find((p) => p.id === n.id)?.matchIndex ?? 0;
        if (match + PROMOTE_LAG < st.lastIndex) continue;
        h.logger.info({ node: n.id, voters: voters.length, max }, 'promoting a non-voter');
        await h.membership.promote(n.id);
        return true;
      }
      return false;
    }
    if (voters.length > max) {
      const order = h.state.nodes().map((n) => n.id);
      const newest = voters
        .filter((v) => v.id !== h.nodeId)
        .sort((a, b) => order.indexOf(b.id) - order.indexOf(a.id))[0];
      if (newest === undefined) return false;
      h.logger.info({ node: newest.id, voters: voters.length, max }, 'demoting a voter');
      await h.membership.demote(newest.id);
      return true;
    }
    return false;
  }

  /** Writes the health record when the set of unhealthy members changed. */
  async #publishHealth(): Promise<void> {
    const h = this.#host;
    const unhealthy = h.state
      .nodes()
      .filter((n) => n.id !== h.nodeId && this.tracker.get(n.id)?.healthy === false)
      .map((n) => n.id)
      .sort();
    const current = decodeHealthRecord(h.state.getCustomData(HEALTH_KEY)?.value);
    if (current !== undefined && sameIds(current.unhealthy, unhealthy)) return;
    if (current === undefined && unhealthy.length === 0) return;
    const at = h.wallClock();
    await h.propose({
      type: 'setCustomData',
      at,
      key: HEALTH_KEY,
      value: encodeHealthRecord({ unhealthy, by: h.nodeId, at }),
    });
  }
}

function inRaftConfig(h: DutyHost, id: string): boolean {
  return h.raftStatus()?.config.members.some((m) => m.id === id) === true;
}

/** Still out of the cluster: not in the state and not joining (a removal queued behind others asks again). */
function isGone(h: DutyHost, id: string): boolean {
  return !h.state.hasNode(id) && !h.pendingJoins.has(id);
}
