/**
 * Events: the hooks every node fires, read from what each life of each node reported (HookEvent lists).
 *
 * ClusterKit derives events from committed commands, identically on every node, each tagged with the Raft index
 * of its command (src/cluster/state/events.ts), and a node reports each transition once, from its admission on,
 * never again after a restart. The checks:
 *
 *   once         no node reports the same event twice, in one life or across its lives;
 *   agree        two nodes that report events of one index report the same events (same partitions, same
 *                targets, same reasons, epochs and versions);
 *   complete     among survivors the run never disturbed (never killed, paused, cut off or disk-faulted), each
 *                reports every membership and partition event any other reports after both were admitted;
 *   coherent     each rebalance reports one partitionChange per copy its rebalanceStart announced (needsCopy)
 *                and one per promotion (no copy), then one rebalanceComplete; on an undisturbed survivor, the membership events of each node
 *                alternate (a leave, then a join or rejoin, ...).
 *
 * `expectCycle` adds the targeted check of the events scenario: for a node killed until removed and then
 * restarted, every survivor reported exactly one nodeLeave and one nodeRejoin for it, with their partition changes.
 */
import type { HookEvent } from '../launcher.js';

export interface LifeEvents {
  readonly node: string;
  readonly life: number;
  readonly events: readonly HookEvent[];
  /** The life ended (a kill -9, a leave): hooks still queued then never ran, so its last events may be missing. */
  readonly truncated: boolean;
}

export interface NormalEvent {
  readonly name: string;
  readonly index: number;
  /** The node (membership events, promotions, drops) or partition the event is about. */
  readonly subject: string;
  readonly partition: string;
  readonly copyTo: string;
  readonly detail: string;
  /** partitionChange: whether copyTo must fetch the data (false: a replica promoted, it has it). */
  readonly needsCopy: boolean;
  readonly seq: number;
}

type Rec = Record<string, unknown>;

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function idOf(v: unknown): string {
  return typeof v === 'object' && v !== null ? str((v as Rec)['id']) : '';
}

export function normalize(e: HookEvent): NormalEvent {
  const ev = e.event;
  const index = typeof ev['index'] === 'number' ? ev['index'] : -1;
  const partition = str(ev['partitionId']);
  const subject = idOf(ev['node']);
  const copyTo = idOf(ev['copyToNode']);
  const detail = [
    str(ev['reason']),
    str(ev['changeReason']),
    str(ev['trigger']),
    str(ev['epoch']),
    str(ev['tableVersion']),
    str(ev['copies']),
    str(ev['newPrimary']),
  ].join('/');
  return { name: e.name, index, subject, partition, copyTo, detail, needsCopy: ev['needsCopy'] === true, seq: e.seq };
}

function identity(e: NormalEvent): string {
  return `${e.name}|${e.index}|${e.subject}|${e.partition}|${e.copyTo}`;
}

export interface EventsReport {
  readonly violations: string[];
  /** Events read, over every life of every node. */
  readonly events: number;
  /** Distinct indexes with events. */
  readonly transitions: number;
}

const MEMBERSHIP = new Set(['nodeJoin', 'nodeRejoin', 'nodeLeave']);

/**
 * @param lives every life of every node
 * @param undisturbed ids of nodes the run never disturbed and that are members at the end
 */
export function checkEvents(lives: readonly LifeEvents[], undisturbed: readonly string[]): EventsReport {
  const violations: string[] = [];
  const add = (m: string): void => {
    if (violations.length < 30) violations.push(m);
  };
  const byNode = new Map<string, NormalEvent[]>();
  let total = 0;
  for (const l of lives) {
    const list = byNode.get(l.node) ?? [];
    byNode.set(l.node, list);
    for (const e of l.events) {
      list.push(normalize(e));
      total++;
    }
  }
  // once
  for (const [node, list] of byNode) {
    const seen = new Set<string>();
    for (const e of list) {
      const id = identity(e);
      if (seen.has(id)) add(`once: ${node} reported ${id} twice`);
      seen.add(id);
    }
  }
  // agree: the events of an index, as each life reports them (a truncated life may miss some, never differ)
  const perIndex = new Map<number, { node: string; truncated: boolean; sigs: string[] }[]>();
  for (const l of lives) {
    const mine = new Map<number, string[]>();
    for (const e of l.events.map(normalize)) {
      const list = mine.get(e.index) ?? [];
      mine.set(e.index, list);
      list.push(`${identity(e)}|${e.detail}`);
    }
    for (const [index, sigs] of mine) {
      const entries = perIndex.get(index) ?? [];
      perIndex.set(index, entries);
      entries.push({ node: l.node, truncated: l.truncated, sigs });
    }
  }
  for (const [index, entries] of perIndex) {
    const ref = entries.find((x) => !x.truncated);
    if (ref === undefined) continue;
    const refSet = new Set(ref.sigs);
    for (const x of entries) {
      if (x === ref) continue;
      const extra = x.sigs.filter((sig) => !refSet.has(sig));
      const missing = x.truncated ? 0 : ref.sigs.length - (x.sigs.length - extra.length);
      if (extra.length > 0 || missing > 0) {
        add(
          `agree: at index ${index}, ${x.node} and ${ref.node} report different events` +
            (extra.length > 0 ? ` (${x.node} only: ${extra[0]})` : ` (${missing} missing on ${x.node})`),
        );
      }
    }
  }
  // coherent: copies announced = partitionChange events reported, when the rebalance was reported to its end
  for (const [node, list] of byNode) {
    const idx = new Map<number, NormalEvent[]>();
    for (const e of list) {
      const l = idx.get(e.index) ?? [];
      idx.set(e.index, l);
      l.push(e);
    }
    for (const [index, l] of idx) {
      const start = l.filter((e) => e.name === 'rebalanceStart');
      const complete = l.filter((e) => e.name === 'rebalanceComplete');
      if (complete.length === 0) continue; // cut short by a kill -9 while printing
      if (start.length !== 1 || complete.length !== 1) {
        add(
          `coherent: ${node} reported ${start.length} rebalanceStart and ${complete.length} rebalanceComplete at index ${index}`,
        );
        continue;
      }
      // One partitionChange per copy announced (needsCopy), and one per promotion (a replica that has the data).
      const copies = Number(start[0]!.detail.split('/')[5]);
      const changes = l.filter((e) => e.name === 'partitionChange');
      const copying = changes.filter((e) => e.needsCopy).length;
      const promotions = l.filter((e) => e.name === 'partitionPromote').length;
      if (copying !== copies || changes.length - copying !== promotions) {
        add(
          `coherent: ${node} at index ${index}: rebalanceStart announced ${copies} copies and ${promotions} promotions ` +
            `came, but ${copying} partitionChange events need a copy and ${changes.length - copying} do not`,
        );
      }
    }
  }
  // complete, and membership alternation, among undisturbed survivors
  const firstIndex = (node: string): number => Math.min(...(byNode.get(node) ?? []).map((e) => e.index));
  const from = Math.max(0, ...undisturbed.map(firstIndex));
  for (const a of undisturbed) {
    const mine = new Set((byNode.get(a) ?? []).filter((e) => e.index >= from).map(identity));
    for (const b of undisturbed) {
      if (a === b) continue;
      for (const e of byNode.get(b) ?? []) {
        if (e.index >= from && !mine.has(identity(e))) add(`complete: ${b} reported ${identity(e)}, ${a} did not`);
      }
    }
    const last = new Map<string, string>();
    for (const e of [...(byNode.get(a) ?? [])].sort((x, y) => x.seq - y.seq)) {
      if (!MEMBERSHIP.has(e.name)) continue;
      const kind = e.name === 'nodeLeave' ? 'leave' : 'in';
      if (last.get(e.subject) === kind)
        add(
          `coherent: ${a} reported two ${e.name === 'nodeLeave' ? 'leaves' : 'joins'} of ${e.subject} in a row (index ${e.index})`,
        );
      last.set(e.subject, kind);
    }
  }
  return { violations, events: total, transitions: perIndex.size };
}

/**
 * The targeted expectation: each survivor reported, for `victim`, exactly one nodeLeave (for `reason`) and,
 * after it, exactly one nodeRejoin, among the events it reported after `sinceIndex`; and a partitionChange for
 * every copy each of the two rebalances announced (checked by `coherent` above).
 */
export function expectCycle(
  lives: readonly LifeEvents[],
  survivors: readonly string[],
  victim: string,
  reason: string,
): string[] {
  const out: string[] = [];
  for (const s of survivors) {
    const list = lives.filter((l) => l.node === s).flatMap((l) => l.events.map(normalize));
    const leaves = list.filter((e) => e.name === 'nodeLeave' && e.subject === victim);
    const rejoins = list.filter((e) => e.name === 'nodeRejoin' && e.subject === victim);
    if (leaves.length !== 1) out.push(`${s} reported ${leaves.length} nodeLeave events for ${victim}, expected 1`);
    else if (!leaves[0]!.detail.startsWith(`${reason}/`)) {
      out.push(`${s}: nodeLeave of ${victim} has reason ${leaves[0]!.detail.split('/')[0]}, expected ${reason}`);
    }
    if (rejoins.length !== 1) out.push(`${s} reported ${rejoins.length} nodeRejoin events for ${victim}, expected 1`);
    if (leaves.length === 1 && rejoins.length === 1 && rejoins[0]!.index < leaves[0]!.index) {
      out.push(`${s} reported the rejoin of ${victim} before its leave`);
    }
    for (const t of [...leaves, ...rejoins]) {
      const changes = list.filter((e) => e.index === t.index && e.name === 'partitionChange').length;
      const start = list.find((e) => e.index === t.index && e.name === 'rebalanceStart');
      if (start === undefined) out.push(`${s}: no rebalanceStart with the ${t.name} of ${victim}`);
      else if (changes === 0) out.push(`${s}: no partitionChange with the ${t.name} of ${victim}`);
    }
  }
  return out;
}
