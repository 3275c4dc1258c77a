/**
 * Membership safety, checked directly rather than through its consequences (two leaders in a term, divergent
 * commits), which random faults rarely produce even when the rule is broken.
 *
 *   membership-rule    When a leader's own configuration entry (an entry of a term it leads) changes the voters of
 *                      the configuration entry before it in its log, (a) the two voter sets differ by at most one
 *                      member, and (b) that previous configuration entry was already committed on the leader when
 *                      the new one was appended. Changes that keep the voters (adding or removing a non-voter) are
 *                      exempt, as in the engine (docs/CLUSTER.md, "One membership change at a time"); so is an
 *                      entry a leader inherited from an earlier term: it is not its own.
 *   membership-commit  A membership call (addMember, promote, demote, removeMember) that resolved had its
 *                      configuration committed on the node that answered: some configuration in force in that
 *                      node's log at an index between its commit index when the call was made and its commit index
 *                      when the call resolved has the change. (The window, not "the configuration at the commit
 *                      index": a non-voter removed and re-added in one burst may commit together, and a call
 *                      answered at once because its change was already committed is in force at the start.)
 *
 * What the harness observes: each node's status after every event (role, term, commit and last index), every
 * entry as it lands in a node's page-cache log view (with its data), and the calls themselves (SimCluster wraps
 * every incarnation). The engine hands entries to its LogStore after appending them in memory, sometimes several
 * events later, so an entry's landing is matched with the status observed right after the event that appended
 * it: a leader's last index only grows while it leads, so that is the first observation in its term whose last
 * index reaches the entry. Whatever cannot be established (an entry compacted away, a crash before the check) is
 * skipped and counted: a skipped check can hide a violation, never invent one.
 */
import type { RaftStatus } from '../../src/raft/api.js';
import { decodeConfiguration, sameVoters, voterIds } from '../../src/raft/core/config.js';
import type { MembershipChange } from '../../src/raft/core/types.js';
import { type Configuration, type Entry, EntryType, type NodeId } from '../../src/raft/types.js';
import type { LogImage } from './log-image.js';

export type MembershipViolation = 'membership-rule' | 'membership-commit';

export interface MembershipEnv {
  /** The page-cache view of a running node's log. */
  volatileLog(node: NodeId): LogImage | undefined;
  /** The newest snapshot visible to a running node: its index and the configuration in force there. */
  snapshot?(node: NodeId): { readonly index: number; readonly config: Configuration } | undefined;
  /** True when the node has no storage write in flight (its store then agrees with the engine's view). */
  quiet(node: NodeId): boolean;
}

/** How many checks ran and how many could not be established (see the module comment). */
export interface MembershipStats {
  /** Own configuration entries that changed the voters, checked against (a) and (b). */
  voterChanges: number;
  /** Own configuration entries that kept the voters (exempt). */
  exemptChanges: number;
  /** Own configuration entries whose previous configuration could not be found (compacted away). */
  unknownChanges: number;
  /** Resolved membership calls checked against the committed log. */
  resolvedCalls: number;
  /** Resolved calls that could not be checked (their window was compacted away, or the node went down). */
  uncheckedCalls: number;
}

interface Mark {
  readonly last: number;
  readonly commit: number;
}

interface Waiting {
  readonly index: number;
  readonly prevIndex: number;
  readonly what: string;
}

interface ResolvedCall {
  readonly change: MembershipChange;
  readonly lo: number;
  readonly hi: number;
}

interface Track {
  readonly inc: number;
  /** The term this incarnation was last observed leading (0: never). */
  leaderTerm: number;
  /** While leading `leaderTerm`: (last index, commit index) after each event that grew the log, oldest first. */
  marks: Mark[];
  /** Own voter changes that landed in the store before the observation of the event that appended them. */
  waiting: Waiting[];
  /** Resolved calls waiting until the node's store agrees with the engine. */
  calls: ResolvedCall[];
}

const MAX_MARKS = 10_000;

export class MembershipChecker {
  readonly stats: MembershipStats = {
    voterChanges: 0,
    exemptChanges: 0,
    unknownChanges: 0,
    resolvedCalls: 0,
    uncheckedCalls: 0,
  };
  /** Who led each term (node and incarnation), from status polling. */
  private readonly leaders = new Map<number, { node: NodeId; inc: number }>();
  private readonly tracks = new Map<NodeId, Track>();
  /** Configuration entries (index:term) already checked: an entry is judged once, when its leader stores it. */
  private readonly checked = new Set<string>();

  constructor(
    private readonly env: MembershipEnv,
    private readonly fail: (kind: MembershipViolation, message: string) => void,
  ) {}

  private track(node: NodeId, inc: number): Track {
    let t = this.tracks.get(node);
    if (t === undefined || t.inc !== inc) {
      t = { inc, leaderTerm: 0, marks: [], waiting: [], calls: [] };
      this.tracks.set(node, t);
    }
    return t;
  }

  /** Status polling, after every event that may have changed the node. */
  observe(node: NodeId, inc: number, st: RaftStatus): void {
    const t = this.track(node, inc);
    if (st.role === 'leader') {
      if (t.leaderTerm !== st.term) {
        t.leaderTerm = st.term;
        t.marks = [];
        // The first claim stands; two leaders in one term are election-safety's to report.
        if (!this.leaders.has(st.term)) this.leaders.set(st.term, { node, inc });
      }
      const last = t.marks.at(-1);
      if (last === undefined || st.lastIndex > last.last) {
        t.marks.push({ last: st.lastIndex, commit: st.commitIndex });
        // Marks are consumed as the entries land; a leader whose store stopped taking writes keeps the newest.
        if (t.marks.length > MAX_MARKS) t.marks.splice(0, t.marks.length - MAX_MARKS / 2);
      }
    }
    if (t.waiting.length > 0) {
      // This observation follows the event that appended them: its commit index bounds the one at the append.
      for (const w of t.waiting) this.judge(w, st.commitIndex);
      t.waiting = [];
    }
    if (t.calls.length > 0) this.checkCalls(node, t);
  }

  /** An entry landed in `node`'s page-cache log view (incarnation `inc`). */
  onEntry(node: NodeId, inc: number, e: Entry): void {
    const lead = this.leaders.get(e.term);
    if (lead === undefined || lead.node !== node || lead.inc !== inc) return;
    const t = this.tracks.get(node);
    if (t === undefined || t.inc !== inc || t.leaderTerm !== e.term) return;
    // Entries land in index order: marks below this index can no longer match a later entry.
    let drop = 0;
    while (drop < t.marks.length && (t.marks[drop] as Mark).last < e.index) drop++;
    if (drop > 0) t.marks.splice(0, drop);
    if (e.type !== EntryType.Config) return;
    const key = `${e.index}:${e.term}`;
    if (this.checked.has(key)) return;
    this.checked.add(key);
    const log = this.env.volatileLog(node);
    const config = decodeOrUndefined(e);
    if (log === undefined || config === undefined) {
      this.stats.unknownChanges++;
      return;
    }
    const prev = configBefore(log, this.env.snapshot?.(node), e.index);
    if (prev === undefined) {
      this.stats.unknownChanges++;
      return;
    }
    if (sameVoters(prev.config, config)) {
      this.stats.exemptChanges++;
      return;
    }
    this.stats.voterChanges++;
    const what =
      `${node} (leader of t${e.term}) appended a configuration at ${e.index} changing the voters from ` +
      `${voters(prev.config)} (entry ${prev.index ?? `at or before ${log.base}`}) to ${voters(config)}`;
    const changed = symmetricDifference(voterIds(prev.config), voterIds(config));
    if (changed.length > 1) {
      this.fail('membership-rule', `${what}: ${changed.length} voters changed at once (${changed.join(', ')})`);
    }
    // An entry compacted away was applied, hence committed, before the compaction; but the compaction may come
    // after the append, so (b) cannot be judged for it.
    if (prev.index === null) return;
    const mark = t.marks[0];
    const w: Waiting = { index: e.index, prevIndex: prev.index, what };
    if (mark !== undefined && mark.last >= e.index) this.judge(w, mark.commit);
    else t.waiting.push(w);
  }

  private judge(w: Waiting, commit: number): void {
    if (w.prevIndex > commit) {
      this.fail(
        'membership-rule',
        `${w.what} while the previous configuration entry was not committed (commit index ${commit})`,
      );
    }
  }

  /**
   * A membership call on `node` resolved successfully. `lo` is the node's commit index when the call was made, `hi`
   * its commit index when it resolved.
   */
  onResolved(node: NodeId, inc: number, change: MembershipChange, lo: number, hi: number): void {
    const t = this.track(node, inc);
    t.calls.push({ change, lo, hi });
    this.checkCalls(node, t);
  }

  /** The node went down: calls it resolved can no longer be checked against its log. */
  onDown(node: NodeId, inc: number): void {
    const t = this.tracks.get(node);
    if (t === undefined || t.inc !== inc) return;
    this.stats.uncheckedCalls += t.calls.length;
    t.calls = [];
  }

  private checkCalls(node: NodeId, t: Track): void {
    if (!this.env.quiet(node)) return;
    const log = this.env.volatileLog(node);
    const calls = t.calls;
    t.calls = [];
    if (log === undefined) {
      this.stats.uncheckedCalls += calls.length;
      return;
    }
    const snap = this.env.snapshot?.(node);
    for (const c of calls) {
      const found = configsInWindow(log, snap, c.lo, c.hi);
      if (found.configs.some((cfg) => hasChange(cfg, c.change))) {
        this.stats.resolvedCalls++;
      } else if (!found.complete) {
        this.stats.uncheckedCalls++;
      } else {
        this.stats.resolvedCalls++;
        this.fail(
          'membership-commit',
          `${node} resolved ${describeChange(c.change)} but no configuration in force in its log between its commit ` +
            `indexes at the call (${c.lo}) and at the answer (${c.hi}) has it (${found.configs.map(members).join(' then ')})`,
        );
      }
    }
  }
}

function decodeOrUndefined(e: Entry): Configuration | undefined {
  try {
    return decodeConfiguration(e.data);
  } catch {
    // A malformed configuration entry is ignored by the engine too; nothing to judge.
    return undefined;
  }
}

/**
 * The configuration in force at `index` in `log` (the newest configuration entry at or before it), with its
 * index; `index: null` when it comes from the snapshot behind the log. Undefined when it cannot be established.
 */
export function configAt(
  log: LogImage,
  snap: { readonly index: number; readonly config: Configuration } | undefined,
  index: number,
): { config: Configuration; index: number | null } | undefined {
  if (index < log.base || index > log.lastIndex()) return undefined;
  for (let i = index; i > log.base; i--) {
    const e = log.entry(i);
    if (e?.type === EntryType.Config) {
      const config = decodeOrUndefined(e);
      return config === undefined ? undefined : { config, index: i };
    }
  }
  if (log.base === 0) return undefined;
  // The configuration at the compaction point is the snapshot's, provided no configuration entry lies between
  // the two (a snapshot is never behind the log's start: the log is compacted only up to a snapshot).
  if (snap === undefined || snap.index < log.base || snap.index > log.lastIndex()) return undefined;
  for (let i = log.base + 1; i <= snap.index; i++) if (log.entry(i)?.type === EntryType.Config) return undefined;
  return { config: snap.config, index: null };
}

/** The configuration in force just before `index` (what a leader appending there had as its latest). */
function configBefore(
  log: LogImage,
  snap: { readonly index: number; readonly config: Configuration } | undefined,
  index: number,
): { config: Configuration; index: number | null } | undefined {
  return index - 1 < log.base ? undefined : configAt(log, snap, index - 1);
}

/**
 * Configurations in force at some index in [lo, hi] of `log`, and whether they are all of them (the log may have
 * been compacted past `lo`, or the configuration at `lo` may be unknown). Incomplete lists still hold only
 * configurations that really were in force in the window.
 */
export function configsInWindow(
  log: LogImage,
  snap: { readonly index: number; readonly config: Configuration } | undefined,
  lo: number,
  hi: number,
): { configs: Configuration[]; complete: boolean } {
  const configs: Configuration[] = [];
  const start = Math.max(lo, log.base);
  const first = start <= hi ? configAt(log, snap, start) : undefined;
  if (first !== undefined) configs.push(first.config);
  if (snap !== undefined && snap.index >= lo && snap.index <= hi) configs.push(snap.config);
  for (let i = start + 1; i <= Math.min(hi, log.lastIndex()); i++) {
    const e = log.entry(i);
    if (e?.type !== EntryType.Config) continue;
    const config = decodeOrUndefined(e);
    if (config !== undefined) configs.push(config);
  }
  return { configs, complete: first !== undefined && start === lo && hi <= log.lastIndex() };
}

/** Whether `config` has the change in force. */
export function hasChange(config: Configuration, change: MembershipChange): boolean {
  const m = config.members.find((x) => x.id === change.id);
  switch (change.kind) {
    case 'add':
      return m !== undefined && m.voter === change.voter && m.addr === change.addr;
    case 'promote':
      return m?.voter === true;
    case 'demote':
      return m !== undefined && !m.voter;
    case 'remove':
      return m === undefined;
  }
}

export function describeChange(change: MembershipChange): string {
  switch (change.kind) {
    case 'add':
      return `add ${change.id}${change.voter ? ' (voter)' : ' (non-voter)'}`;
    default:
      return `${change.kind} ${change.id}`;
  }
}

function symmetricDifference(a: readonly NodeId[], b: readonly NodeId[]): NodeId[] {
  return [
    ...a.filter((x) => !b.includes(x)).map((x) => `-${x}`),
    ...b.filter((x) => !a.includes(x)).map((x) => `+${x}`),
  ];
}

function voters(config: Configuration): string {
  return `{${voterIds(config).join(',')}}`;
}

function members(config: Configuration): string {
  return `[${config.members.map((m) => `${m.id}${m.voter ? '' : '(nv)'}`).join(',')}]`;
}
