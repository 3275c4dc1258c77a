/**
 * A leader's world on virtual time, for testing LeaderDuties without sockets, disks or sleeps: a fake clock and
 * scheduler, a fake Raft (its configuration and each follower's contact under the test's control, every change
 * recorded) and the real cluster state machine applying what is proposed. n1 is the leader.
 */
import { type DutyHost, LeaderDuties } from '../../../src/cluster/leader-duties.js';
import { DEFAULT_HEALTH_CHECK, type ResolvedHealthCheck } from '../../../src/cluster/options.js';
import { RaftMembership } from '../../../src/cluster/raft-membership.js';
import {
  type ApplyOk,
  type ClusterCommand,
  ClusterStateMachine,
  encodeCommand,
  refusalToError,
} from '../../../src/cluster/state/index.js';
import type { Raft, RaftStatus } from '../../../src/raft/api.js';
import type { Member } from '../../../src/raft/types.js';
import type { Scheduler } from '../../../src/util/io.js';
import { silentLogger } from '../../../src/util/logger.js';

/** Dead after 900 ms of silence. */
export const HEALTH: ResolvedHealthCheck = {
  ...DEFAULT_HEALTH_CHECK,
  interval: 300,
  timeout: 600,
  failureThreshold: 3,
};

export class LeaderWorld {
  now = 0;
  index = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  readonly sm = new ClusterStateMachine();
  /** Time of the last answer from each follower (undefined: never). */
  readonly lastAnswer = new Map<string, number>();
  /** Every Raft membership change asked for, in order: 'add n2', 'promote n2', 'remove n3', ... */
  readonly changes: string[] = [];
  /** The voters after every membership change. */
  readonly configs: string[][] = [];
  /** How long a command of each type takes to commit, ms of virtual time (default: at once). */
  readonly commitMs = new Map<ClusterCommand['type'], number>();
  /** When each command was applied: [type, virtual time]. */
  readonly applied: [ClusterCommand['type'], number][] = [];

  readonly scheduler: Scheduler = {
    setTimeout: (fn, ms) => {
      const t = { at: this.now + ms, fn, cancelled: false };
      this.timers.push(t);
      return {
        cancel: () => {
          t.cancelled = true;
        },
      };
    },
  };

  constructor(public members: Member[] = [{ id: 'n1', addr: 'h:1', voter: true }]) {}

  propose = (cmd: ClusterCommand): Promise<ApplyOk> => {
    const apply = (): Promise<ApplyOk> => {
      const r = this.sm.apply(encodeCommand(cmd), ++this.index);
      this.applied.push([cmd.type, this.now]);
      return r.ok ? Promise.resolve(r) : Promise.reject(refusalToError(r));
    };
    const delay = this.commitMs.get(cmd.type) ?? 0;
    if (delay === 0) return apply();
    return new Promise((resolve, reject) => {
      this.scheduler.setTimeout(() => {
        apply().then(resolve, reject);
      }, delay);
    });
  };

  /** Milliseconds since `id` last answered, -1 if never: from `lastAnswer` unless a test says otherwise. */
  contactMs = (id: string): number => {
    const at = this.lastAnswer.get(id);
    return at === undefined ? -1 : this.now - at;
  };

  status(): RaftStatus {
    return {
      id: 'n1',
      role: 'leader',
      term: 2,
      leaderId: 'n1',
      leaderAddr: 'h:1',
      commitIndex: this.index,
      appliedIndex: this.index,
      lastIndex: this.index,
      lastTerm: 2,
      firstIndex: 1,
      snapshotIndex: 0,
      config: { members: this.members.map((m) => ({ ...m })) },
      progress: this.members
        .filter((m) => m.id !== 'n1')
        .map((m) => ({
          id: m.id,
          voter: m.voter,
          matchIndex: this.index,
          nextIndex: this.index + 1,
          lastContactMs: this.contactMs(m.id),
          inflight: 0,
          snapshotting: false,
        })),
    };
  }

  raft(): Raft {
    const change = (what: string, fn: () => void): Promise<void> => {
      this.changes.push(what);
      fn();
      this.configs.push(this.members.filter((m) => m.voter).map((m) => m.id));
      return Promise.resolve();
    };
    return {
      status: () => this.status(),
      addMember: (id: string, addr: string) => change(`add ${id}`, () => this.members.push({ id, addr, voter: false })),
      removeMember: (id: string) =>
        change(`remove ${id}`, () => (this.members = this.members.filter((m) => m.id !== id))),
      promote: (id: string) => change(`promote ${id}`, () => this.setVoter(id, true)),
      demote: (id: string) => change(`demote ${id}`, () => this.setVoter(id, false)),
    } as unknown as Raft;
  }

  setVoter(id: string, voter: boolean): void {
    this.members = this.members.map((m) => (m.id === id ? { ...m, voter } : m));
  }

  /** Advances virtual time in steps, firing timers and letting promises settle. */
  async advance(ms: number, step = 10): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      const due = this.timers.filter((t) => !t.cancelled && t.at <= this.now);
      this.timers = this.timers.filter((t) => !due.includes(t));
      for (const t of due) t.fn();
      for (let k = 0; k < 20; k++) await Promise.resolve();
    }
  }

  /** Followers in `alive` answered just now. */
  answering(alive: readonly string[]): void {
    for (const id of alive) this.lastAnswer.set(id, this.now);
  }

  duties(maxVoters = 5, health: ResolvedHealthCheck = HEALTH): LeaderDuties {
    const host: DutyHost = {
      nodeId: 'n1',
      state: this.sm.state,
      raftStatus: () => this.status(),
      propose: this.propose,
      membership: new RaftMembership(() => this.raft(), this.scheduler, silentLogger, 1000),
      pendingJoins: new Set(),
      health,
      maxVoters: () => maxVoters,
      clock: { now: () => this.now },
      scheduler: this.scheduler,
      wallClock: () => 1_700_000_000_000 + this.now,
      logger: silentLogger,
      heartbeatMs: 50,
    };
    return new LeaderDuties(host);
  }
}
