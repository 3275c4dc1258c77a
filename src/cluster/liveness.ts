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
 *   started tracking it, so forming clusters and new leaders give everyone the full grace period;
 * - when the leader's own process was stalled (its periodic evaluation ran late), silence measured across the stall
 *   says nothing about the followers: decisions wait until replication has had a moment to catch up.
 */

export interface LivenessConfig {
  /** Silence after which a member is unhealthy, ms. */
  readonly unhealthyAfterMs: number;
  /** Silence after which a member is dead, ms. */
  readonly deadAfterMs: number;
  /** Silence that counts as an outage for rejoin bookkeeping, ms. */
  readonly gapMs: number;
  /** After a stall of the leader's own loop, how long decisions wait, ms. */
  readonly stallHoldMs: number;
  /** The expected time between two `update` calls, ms (a much later call means this process stalled). */
  readonly periodMs: number;
}

interface Tracked {
  /** Monotonic ms when tracking started (baseline for a member never heard from). */
  readonly since: number;
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
   * node) to `lastContactMs` (-1 when never heard from).
   */
  update(now: number, contacts: ReadonlyMap<string, number>): void {
    if (this.#lastUpdate !== undefined && now - this.#lastUpdate > 2 * this.#cfg.periodMs + 100) {
      this.#holdUntil = now + this.#cfg.stallHoldMs;
    }
    this.#lastUpdate = now;
    this.#now = now;
    for (const id of [...this.#members.keys()]) if (!contacts.has(id)) this.#members.delete(id);
    for (const [id, lastContactMs] of contacts) {
      let t = this.#members.get(id);
      if (t === undefined) {
        t = {
          since: now,
          contactAt: now,
          everHeard: false,
          outageFrom: undefined,
          lastOutage: undefined,
          unhealthySince: undefined,
        };
        this.#members.set(id, t);
      }
      if (lastContactMs >= 0) {
        t.contactAt = Math.max(t.contactAt, now - lastContactMs);
        t.everHeard = true;
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
      dead: !this.holding && silenceMs >= this.#cfg.deadAfterMs,
      everHeard: t.everHeard,
    };
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
