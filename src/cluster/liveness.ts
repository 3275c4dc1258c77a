/**
 * The leader's view of who is alive, from Raft replication alone: every follower answers the leader's
 * AppendEntries (heartbeats every few tens of ms), and the engine reports, per follower, how long ago the last
 * answer came (`FollowerProgress.lastContactMs`). No extra probes, no all-to-all polling.
 *
 * The Go original's health-check settings keep their meaning:
 * - a member silent for more than `timeout` is unhealthy (the original's probe timeout);
 * - a member silent for `interval × failureThreshold` (the original's "failed `failureThreshold` consecutive checks
 *   `interval` apart") is dead, and the leader removes it.
 *
 * Guards against removing a live node by mistake:
 * - a member the leader has never heard from (just added, or this leader is new) is timed from when the leader
 *   started tracking it, so forming clusters and new leaders give everyone the full grace period, plus
 *   `firstContactMs`: the time the leader's transport may need before it can reach a process at all (see below);
 * - a member restarted as a new process (a new incarnation: its restart was admitted, or it rejoined) is tracked
 *   anew from that moment. Its admission proved it alive, and everything the engine knows about it still
 *   describes the old process: the leader keeps the Raft progress of a member re-added soon after its removal, and
 *   a member that kept its place never lost it, so `lastContactMs` goes on counting from before the crash until
 *   the new process first answers. Measured from there, a node restarted just before its removal was found dead a
 *   moment after its rejoin and removed a second time;
 * - only an answer received after tracking (re)started counts as hearing from a member (`everHeard`, which voter
 *   promotion requires); an older one is the previous process's, or a previous leadership's;
 * - a member not in the Raft configuration yet (`NOT_IN_RAFT`) cannot answer: its clock starts over until it is;
 * - when the leader's own process was stalled (its periodic evaluation ran late), silence measured across the stall
 *   says nothing about the followers: decisions wait until replication has had a moment to catch up.
 *
 * When: the leader evaluates every period (a third of the interval, at most 250 ms) and, besides, at the moment
 * the next member would reach its threshold (`msUntilDecision`), so a dead member is removed when its silence
 * reaches the threshold, not up to a period later. The engine's contact ages count whole ticks and may overstate
 * a silence by up to one tick; `contactSlackMs` (one tick) keeps the removal from coming before the threshold.
 *
 * Why `firstContactMs`: a restarted process is reached only when the leader's transport dials it again (or it
 * dials the leader), and the transport's reconnect back-off, grown while the old process was down, can reach its
 * ceiling (2 s by default): longer than short health settings allow (300 ms × 3). The transport starts the
 * back-off over when the process dials the leader, comes back at a new address, or has its join admitted
 * (TcpTransport.reconnect), so a restarted process is normally reached at once; firstContactMs still allows for
 * the ceiling, for a process that is back before anything told the transport so. The failure checks count from
 * when the leader could first check: a process never heard from is removed after firstContactMs + deadAfterMs;
 * one the leader has heard from, after deadAfterMs of silence as always.
 */

/** The value of `contacts` for a member that is not in the Raft configuration yet: it cannot answer the leader. */
export const NOT_IN_RAFT = -2;

/**
 * The Raft transport's longest reconnect back-off (TcpTransportOptions.reconnectMaxMs, whose default ClusterKit
 * keeps), ms: the longest a leader may wait before it dials a restarted member again.
 */
export const RECONNECT_CEILING_MS = 2000;

export interface LivenessConfig {
  /** Silence after which a member is unhealthy, ms. */
  readonly unhealthyAfterMs: number;
  /** Silence after which a member is dead, ms. */
  readonly deadAfterMs: number;
  /**
   * How much the engine's contact ages may overstate the real silence, ms: its clock counts whole ticks, so an
   * answer received just before a tick is reported up to one tick older than it is. A member is dead once its
   * reported silence reaches deadAfterMs plus this, so that no member is removed before deadAfterMs of real
   * silence. Default 0.
   */
  readonly contactSlackMs?: number;
  /**
   * How long the leader may need before it can reach a (re)started process at all, ms: a member never heard from
   * (since tracking started or restarted) is dead after firstContactMs + deadAfterMs. Default 0.
   */
  readonly firstContactMs?: number;
  /** Silence that counts as an outage for rejoin bookkeeping, ms. */
  readonly gapMs: number;
  /** After a stall of the leader's own loop, how long decisions wait, ms. */
  readonly stallHoldMs: number;
  /** The expected time between two `update` calls, ms (a much later call means this process stalled). */
  readonly periodMs: number;
}

interface Tracked {
  /** Monotonic ms when tracking started or restarted (baseline for a member never heard from since). */
  since: number;
  /** The member's incarnation as last reported (undefined: not reported yet). */
  incarnation: string | undefined;
  /** Monotonic ms of the last contact (or the baseline). */
  contactAt: number;
  everHeard: boolean;
  /** Start (last contact) of the current outage, if the member is silent beyond gapMs. */
  outageFrom: number | undefined;
  /** The last outage that ended. */
  lastOutage: { readonly from: number; readonly to: number } | undefined;
  /** Monotonic ms it became unhealthy. */
  unhealthySince: number | undefined;
}

export interface MemberLiveness {
  readonly id: string;
  /** ms since the last contact (or since tracking started). */
  readonly silenceMs: number;
  readonly healthy: boolean;
  readonly dead: boolean;
  readonly everHeard: boolean;
}

export class LivenessTracker {
  readonly #cfg: LivenessConfig;
  readonly #members = new Map<string, Tracked>();
  #lastUpdate: number | undefined;
  #holdUntil = 0;
  #now = 0;

  constructor(config: LivenessConfig) {
    this.#cfg = config;
  }

  /** Forgets everything (leadership lost or gained: a new leader starts from scratch). */
  reset(): void {
    this.#members.clear();
    this.#lastUpdate = undefined;
    this.#holdUntil = 0;
  }

  /**
   * Records the engine's view at monotonic time `now`: `contacts` maps each tracked member (every member but this
   * node) to `lastContactMs` (-1 when never heard from, NOT_IN_RAFT when it cannot be reached yet);
   * `incarnations` gives the incarnation of those that are cluster members (a Raft member outside the cluster
   * state has none): a change means a new process, tracked anew from `now`.
   */
  update(now: number, contacts: ReadonlyMap<string, number>, incarnations?: ReadonlyMap<string, string>): void {
    if (this.#lastUpdate !== undefined && now - this.#lastUpdate > 2 * this.#cfg.periodMs + 100) {
      this.#holdUntil = now + this.#cfg.stallHoldMs;
    }
    this.#lastUpdate = now;
    this.#now = now;
    for (const id of [...this.#members.keys()]) if (!contacts.has(id)) this.#members.delete(id);
    for (const [id, lastContactMs] of contacts) {
      const incarnation = incarnations?.get(id);
      let t = this.#members.get(id);
      if (t === undefined) {
        t = {
          since: now,
          incarnation,
          contactAt: now,
          everHeard: false,
          outageFrom: undefined,
          lastOutage: undefined,
          unhealthySince: undefined,
        };
        this.#members.set(id, t);
      }
      const restarted = incarnation !== undefined && t.incarnation !== undefined && incarnation !== t.incarnation;
      if (incarnation !== undefined) t.incarnation = incarnation;
      if (restarted || lastContactMs === NOT_IN_RAFT) {
        t.since = now;
        t.contactAt = now;
        t.everHeard = false;
      } else if (lastContactMs >= 0) {
        const at = now - lastContactMs;
        t.contactAt = Math.max(t.contactAt, at);
        if (at >= t.since) t.everHeard = true;
      }
      const silence = now - t.contactAt;
      if (silence > this.#cfg.gapMs) {
        t.outageFrom ??= t.contactAt;
      } else if (t.outageFrom !== undefined) {
        t.lastOutage = { from: t.outageFrom, to: now };
        t.outageFrom = undefined;
      }
      if (silence > this.#cfg.unhealthyAfterMs) t.unhealthySince ??= t.contactAt + this.#cfg.unhealthyAfterMs;
      else t.unhealthySince = undefined;
    }
  }

  /** Whether decisions must wait (the leader's own process was stalled a moment ago). */
  get holding(): boolean {
    return this.#now < this.#holdUntil;
  }

  get(id: string): MemberLiveness | undefined {
    const t = this.#members.get(id);
    if (t === undefined) return undefined;
    const silenceMs = this.#now - t.contactAt;
    return {
      id,
      silenceMs,
      healthy: silenceMs <= this.#cfg.unhealthyAfterMs,
      dead: !this.holding && silenceMs >= this.#deadAfter(t),
      everHeard: t.everHeard,
    };
  }

  /**
   * Ms from `now` until a decision may change with no news from anyone: the earliest moment a tracked member
   * that is not dead yet would be (if it stays silent), or the end of a hold; undefined when there is none. The
   * leader evaluates again then rather than at its next regular tick, so a dead member is removed as soon as its
   * silence reaches the threshold instead of up to a period later.
   */
  msUntilDecision(now: number): number | undefined {
    let at = this.holding ? this.#holdUntil : Number.POSITIVE_INFINITY;
    for (const t of this.#members.values()) {
      const deadAt = t.contactAt + this.#deadAfter(t);
      // One dead already (its removal is held back, or under way) leaves nothing to wait for.
      if (deadAt > this.#now) at = Math.min(at, deadAt);
    }
    return at === Number.POSITIVE_INFINITY ? undefined : Math.max(0, at - now);
  }

  #deadAfter(t: Tracked): number {
    const c = this.#cfg;
    return c.deadAfterMs + (c.contactSlackMs ?? 0) + (t.everHeard ? 0 : (c.firstContactMs ?? 0));
  }

  all(): MemberLiveness[] {
    return [...this.#members.keys()].map((id) => this.get(id)!);
  }

  /** Monotonic ms of the last contact with `id`, or undefined when not tracked. */
  lastContactAt(id: string): number | undefined {
    return this.#members.get(id)?.contactAt;
  }

  /** Monotonic ms since which `id` is unhealthy, or undefined. */
  unhealthySince(id: string): number | undefined {
    return this.#members.get(id)?.unhealthySince;
  }

  /**
   * Monotonic ms of the last contact before `id`'s current or most recent outage (within `withinMs`), or
   * undefined when no outage was seen: what a restarted node's offline time is measured from.
   */
  lastSeenBeforeOutage(id: string, withinMs: number): number | undefined {
    const t = this.#members.get(id);
    if (t === undefined) return undefined;
    if (t.outageFrom !== undefined) return t.outageFrom;
    if (t.lastOutage !== undefined && this.#now - t.lastOutage.to <= withinMs) return t.lastOutage.from;
    return undefined;
  }
}
