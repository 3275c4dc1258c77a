/**
 * The invariant checkers. They observe everything the harness sees (roles and terms, every message sent, every
 * entry that lands in a log view, every hard-state save, every applied command, every acknowledged proposal and
 * each node's status after every event) and record a Violation the moment a safety property breaks.
 *
 * Safety (checked continuously):
 *   election-safety     at most one leader per term (from status polling and from who sends leader-only messages)
 *   log-matching        same (index, term) in any two logs, durable or not => same prefix (prefix hashes)
 *   leader-completeness a new leader of term T holds every entry committed in a term < T
 *   committed-stable    an index, once committed, never holds a different entry
 *   state-machine       every node applies the same command at each index (hash chain over applied commands)
 *   commit-monotonic    commit and applied indexes never go back within an incarnation; applied <= commit
 *   durability          a vote is durable before it is granted; entries are durable before they are acknowledged;
 *                       a leader's commit index is durable on a quorum of its configuration (a snapshot "done" is
 *                       not checked: it only ever covers entries the leader had already committed)
 *   vote-safety         a node never changes its vote within a term, and its durable term never goes back
 *   acked-proposal      a resolved propose() names the index where its command was applied, on that node
 *   exactly-once        a command (each propose() call has a unique one) is applied at one index only
 *   membership          only voters campaign
 *   membership-rule     a leader's own voter change differs from the configuration before it by one voter, and was
 *                       appended only once that configuration had committed (membership-checker.ts)
 *   membership-commit   a resolved membership call's configuration is in force in the answering node's committed
 *                       log (membership-checker.ts)
 *   linearizability     a read() that resolved saw every entry committed before it began (checked in workload.ts)
 *   contract            the engine used the storage/transport/timer contracts as specified
 *   budget              the run exceeded its event, virtual-time or wall-clock bound (stuck or running away)
 */

import type { RaftStatus } from '../../src/raft/api.js';
import {
  type Configuration,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type Snapshot,
} from '../../src/raft/types.js';
import { chainCommand, EMPTY_PREFIX } from './hash.js';
import type { LogImage } from './log-image.js';
import { MembershipChecker } from './membership-checker.js';

export type ViolationKind =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'committed-stable'
  | 'state-machine'
  | 'commit-monotonic'
  | 'durability'
  | 'vote-safety'
  | 'acked-proposal'
  | 'exactly-once'
  | 'membership'
  | 'membership-rule'
  | 'membership-commit'
  | 'linearizability'
  | 'contract'
  | 'liveness'
  | 'budget'
  | 'crash';

export interface Violation {
  readonly kind: ViolationKind;
  readonly time: number;
  readonly message: string;
}

/** What the checker can read about a node's durable state (from its simulated disk). */
export interface DurableView {
  readonly log: LogImage;
  readonly hard: HardState;
  readonly snapshots: readonly Snapshot[];
}

interface CommitRecord {
  readonly index: number;
  readonly hash: number;
  /** An upper bound on the term in which the entry was committed (the observer's term). */
  readonly bound: number;
}

interface NodeTrack {
  inc: number;
  commit: number;
  applied: number;
  leaderTerm: number;
  /** The configuration at the previous observation (a change may be appended in the same event as a commit). */
  config: Configuration | null;
  /** Checks that read the node's log, waiting until its store agrees with the engine (see CheckerEnv.quiet). */
  deferred: { index: number; run: (hash: number) => void }[];
}

export interface CheckerEnv {
  now(): number;
  durable(node: NodeId): DurableView | undefined;
  volatileLog(node: NodeId): LogImage | undefined;
  /**
   * True when the node has no storage write in flight. Only then is its LogStore known to agree with the engine's
   * own view of its log: the engine keeps entries it has not handed to the store yet in memory (and they may
   * replace a stale suffix the store still holds), and an installed snapshot replaces the log before the store
   * is compacted.
   */
  quiet(node: NodeId): boolean;
  /** The newest snapshot visible to a running node (for the membership checks on a compacted log). */
  snapshot?(node: NodeId): { readonly index: number; readonly config: Configuration } | undefined;
}

export class Checker {
  readonly violations: Violation[] = [];
  /** Also flag a command applied at two indexes (a propose() executed twice). */
  exactlyOnce = true;
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly senderOfTerm = new Map<number, NodeId>();
  private readonly prefix = new Map<string, number>();
  private readonly cmdAt = new Map<number, string>();
  private readonly smHashAt = new Map<number, number>();
  private readonly indexOfCmd = new Map<string, number>();
  private readonly committedHash = new Map<number, number>();
  private readonly commits: CommitRecord[] = [];
  private readonly tracks = new Map<NodeId, NodeTrack>();
  private readonly seen = new Set<string>();
  maxCommitted = 0;
  acked = 0;
  maxAckedIndex = 0;
  /** membership-rule and membership-commit; fed by SimCluster (entries as they land, resolved calls). */
  readonly membership: MembershipChecker;

  constructor(private readonly env: CheckerEnv) {
    this.membership = new MembershipChecker(env, (kind, message) => this.fail(kind, message));
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  fail(kind: ViolationKind, message: string): void {
    // Report each distinct problem once: a broken invariant tends to re-fire on every later event.
    const key = `${kind}:${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.violations.push({ kind, time: this.env.now(), message });
  }

  // --- logs ---------------------------------------------------------------------------------------------------

  /** An entry landed in some log view with the given prefix hash. */
  onEntry(node: NodeId, view: string, index: number, term: number, hash: number | null): void {
    if (hash === null) return;
    const key = `${index}:${term}`;
    const known = this.prefix.get(key);
    if (known === undefined) this.prefix.set(key, hash);
    else if (known !== hash) {
      this.fail('log-matching', `${node} (${view}) holds a different log up to ${index}/t${term} than another node`);
    }
  }

  lookupPrefix(index: number, term: number): number | undefined {
    if (index === 0) return EMPTY_PREFIX;
    return this.prefix.get(`${index}:${term}`);
  }

  // --- hard state ---------------------------------------------------------------------------------------------

  onHardState(node: NodeId, prev: HardState, next: HardState): void {
    if (next.term < prev.term) this.fail('vote-safety', `${node} saved term ${next.term} after ${prev.term}`);
    if (next.term === prev.term && prev.votedFor !== null && next.votedFor !== prev.votedFor) {
      this.fail(
        'vote-safety',
        `${node} changed its vote in term ${next.term} from ${prev.votedFor} to ${next.votedFor}`,
      );
    }
  }

  // --- messages -----------------------------------------------------------------------------------------------

  onSend(msg: Message, senderStatus: () => RaftStatus | undefined): void {
    switch (msg.type) {
      case MessageType.AppendEntries:
      case MessageType.InstallSnapshot:
      case MessageType.TimeoutNow:
        this.claimLeader(this.senderOfTerm, msg.term, msg.from, 'sent leader messages');
        break;
      case MessageType.RequestVote: {
        const st = senderStatus();
        if (st !== undefined && !isVoter(st.config, msg.from)) {
          this.fail('membership', `${msg.from} campaigned (t${msg.term}${msg.preVote ? ' pre' : ''}) as a non-voter`);
        }
        break;
      }
      case MessageType.RequestVoteResponse:
        if (msg.granted && !msg.preVote) this.checkVoteDurable(msg.from, msg.to, msg.term);
        break;
      case MessageType.AppendEntriesResponse:
        if (msg.success) this.checkEntriesDurable(msg.from, msg.matchIndex, 'acknowledged');
        break;
      default:
        break;
    }
  }

  private claimLeader(map: Map<number, NodeId>, term: number, node: NodeId, how: string): void {
    const prev = map.get(term);
    if (prev === undefined) map.set(term, node);
    else if (prev !== node) this.fail('election-safety', `${prev} and ${node} both ${how} in term ${term}`);
  }

  private checkVoteDurable(voter: NodeId, candidate: NodeId, term: number): void {
    const d = this.env.durable(voter);
    if (d === undefined) return;
    if (d.hard.term < term || (d.hard.term === term && d.hard.votedFor !== candidate)) {
      this.fail(
        'durability',
        `${voter} granted its t${term} vote to ${candidate} before saving it (durable: t${d.hard.term} v=${d.hard.votedFor})`,
      );
    }
  }

  /** True when `node`'s disk durably holds its current log up to `index` (or a snapshot covering it). */
  durablyHolds(node: NodeId, index: number, hash: number | null | undefined): boolean {
    const d = this.env.durable(node);
    if (d === undefined) return false;
    const snapIndex = d.snapshots.at(-1)?.meta.index ?? 0;
    if (index <= d.log.base || index <= snapIndex) return true;
    if (index > d.log.lastIndex()) return false;
    const dh = d.log.hashAt(index);
    return hash === undefined || hash === null || dh === null || dh === hash;
  }

  private checkEntriesDurable(node: NodeId, index: number, what: string): void {
    const vol = this.env.volatileLog(node);
    if (index === 0 || vol === undefined) return;
    if (!this.durablyHolds(node, index, vol.hashAt(index))) {
      this.fail('durability', `${node} ${what} entries up to ${index} before they were durable`);
    }
  }

  // --- state machine and clients --------------------------------------------------------------------------------

  /** A node's state machine applied `command` at `index`; `hash` is its chain hash afterwards. */
  onApply(node: NodeId, index: number, command: string, prevIndex: number, hash: number): void {
    if (index <= prevIndex) this.fail('state-machine', `${node} applied index ${index} after ${prevIndex}`);
    const known = this.cmdAt.get(index);
    if (known === undefined) {
      this.cmdAt.set(index, command);
      this.smHashAt.set(index, hash);
    } else if (known !== command) {
      this.fail('state-machine', `${node} applied ${command} at ${index} where another node applied ${known}`);
    } else if (this.smHashAt.get(index) !== hash) {
      this.fail('state-machine', `${node} reached ${index} with a different applied history (a skipped command)`);
    }
    const at = this.indexOfCmd.get(command);
    if (at === undefined) this.indexOfCmd.set(command, index);
    else if (at !== index && this.exactlyOnce) {
      this.fail('exactly-once', `${command} applied at both ${at} and ${index}`);
    }
  }

  /** A node restored a state-machine snapshot whose last command is `index` with chain hash `hash`. */
  onRestore(node: NodeId, index: number, hash: number): void {
    if (index === 0) return;
    const known = this.smHashAt.get(index);
    if (known !== undefined && known !== hash) {
      this.fail('state-machine', `${node} restored a snapshot at ${index} whose state differs from what was applied`);
    }
  }

  /** A propose() on `node` resolved with `result`. */
  onAck(node: NodeId, command: string, result: { index: number; command: string; node: NodeId }): void {
    this.acked++;
    if (result.command !== command || result.node !== node) {
      this.fail('acked-proposal', `${node} resolved ${command} with the result of ${result.command} on ${result.node}`);
    }
    const applied = this.cmdAt.get(result.index);
    if (applied !== command) {
      this.fail(
        'acked-proposal',
        `${command} acknowledged at ${result.index} where ${applied ?? 'nothing'} is applied`,
      );
    }
    if (result.index > this.maxAckedIndex) this.maxAckedIndex = result.index;
  }

  commandAt(index: number): string | undefined {
    return this.cmdAt.get(index);
  }

  indexOf(command: string): number | undefined {
    return this.indexOfCmd.get(command);
  }

  // --- per-event status polling -------------------------------------------------------------------------------

  /** Called after every event for every node that event may have changed. */
  observe(node: NodeId, inc: number, st: RaftStatus): void {
    let t = this.tracks.get(node);
    if (t === undefined || t.inc !== inc) {
      t = { inc, commit: st.commitIndex, applied: st.appliedIndex, leaderTerm: 0, config: null, deferred: [] };
      this.tracks.set(node, t);
    }
    if (t.deferred.length > 0) this.runDeferred(node, t);
    if (st.commitIndex < t.commit)
      this.fail('commit-monotonic', `${node} commit went from ${t.commit} to ${st.commitIndex}`);
    if (st.appliedIndex < t.applied) {
      this.fail('commit-monotonic', `${node} applied went from ${t.applied} to ${st.appliedIndex}`);
    }
    if (st.commitIndex > st.lastIndex) {
      this.fail('commit-monotonic', `${node} commit index ${st.commitIndex} is beyond its last index ${st.lastIndex}`);
    }
    if (st.appliedIndex > st.commitIndex) {
      this.fail('commit-monotonic', `${node} applied ${st.appliedIndex} beyond its commit index ${st.commitIndex}`);
    }
    if (st.role === 'leader' && t.leaderTerm !== st.term) {
      t.leaderTerm = st.term;
      this.claimLeader(this.leaderOfTerm, st.term, node, 'were leader');
      this.checkLeaderCompleteness(node, st, t);
    }
    if (st.commitIndex > t.commit) this.onCommit(node, st, t);
    t.commit = Math.max(t.commit, st.commitIndex);
    t.applied = Math.max(t.applied, st.appliedIndex);
    t.config = st.config;
    this.membership.observe(node, inc, st);
  }

  /** Runs `check` with the prefix hash at `index` in `node`'s log, now or once its store agrees with the engine. */
  private withHash(node: NodeId, t: NodeTrack, index: number, check: (hash: number) => void): void {
    t.deferred.push({ index, run: check });
    this.runDeferred(node, t);
  }

  private runDeferred(node: NodeId, t: NodeTrack): void {
    if (!this.env.quiet(node)) {
      // Keep the queue bounded: a node whose disk never goes idle has problems other checks report.
      if (t.deferred.length > 1000) t.deferred.splice(0, t.deferred.length - 1000);
      return;
    }
    const log = this.env.volatileLog(node);
    const waiting = t.deferred;
    t.deferred = [];
    if (log === undefined) return;
    for (const d of waiting) {
      const h = log.hashAt(d.index);
      // Unknown (compacted away, or a log restored from a snapshot no one saw the entry of): nothing to compare.
      if (h !== null && h !== undefined) d.run(h);
    }
  }

  private onCommit(node: NodeId, st: RaftStatus, t: NodeTrack): void {
    const c = st.commitIndex;
    const term = st.term;
    // Committed means durable on a quorum of the leader's latest configuration. The event that advanced the
    // commit index may also have appended a configuration change, so the previous one is accepted too.
    const voterSets =
      st.role === 'leader'
        ? [st.config, t.config ?? st.config].map((cfg) => cfg.members.filter((m) => m.voter).map((m) => m.id))
        : null;
    if (c > this.maxCommitted) this.maxCommitted = c;
    this.withHash(node, t, c, (hash) => {
      const known = this.committedHash.get(c);
      if (known === undefined) this.committedHash.set(c, hash);
      else if (known !== hash) {
        const log = this.env.volatileLog(node);
        this.fail(
          'committed-stable',
          `${node} committed a different entry at ${c} (its store holds [${log?.firstIndex()}, ${log?.lastIndex()}] term ${log?.term(c) ?? `base ${log?.baseTerm}`})`,
        );
      }
      this.commits.push({ index: c, hash, bound: term });
      if (voterSets === null) return;
      const quorate = (voters: NodeId[]): boolean =>
        voters.filter((v) => this.durablyHolds(v, c, hash)).length * 2 > voters.length;
      if (!voterSets.some(quorate)) {
        const voters = voterSets[0] ?? [];
        const holders = voters.filter((v) => this.durablyHolds(v, c, hash));
        this.fail(
          'durability',
          `${node} (t${term}) committed ${c} but only ${holders.join(',') || 'nobody'} of ${voters.join(',')} hold it durably`,
        );
      }
    });
  }

  private checkLeaderCompleteness(node: NodeId, st: RaftStatus, t: NodeTrack): void {
    const term = st.term;
    let best: CommitRecord | undefined;
    for (const r of this.commits) if (r.bound < term && (best === undefined || r.index > best.index)) best = r;
    if (best === undefined) return;
    const log = this.env.volatileLog(node);
    if (log === undefined || best.index <= log.base) return;
    const want = best;
    if (st.lastIndex < want.index) {
      this.fail(
        'leader-completeness',
        `${node} became leader of t${term} with a log ending at ${st.lastIndex}, before committed entry ${want.index}`,
      );
      return;
    }
    this.withHash(node, t, want.index, (h) => {
      if (h !== want.hash) {
        this.fail('leader-completeness', `${node} became leader of t${term} without committed entry ${want.index}`);
      }
    });
  }
}

export function isVoter(config: Configuration, id: NodeId): boolean {
  return config.members.some((m) => m.id === id && m.voter);
}

/** Chain hash of a state machine after applying `command` at `index`. */
export const nextSmHash = chainCommand;
