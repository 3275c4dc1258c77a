/**
 * What the KV server processes print, one JSON object per line, turned into typed records; the same hook event
 * arriving from every node counted once; and a one-line description of each event for the live view.
 *
 * The lines (the KV server's contract): `ready`, `event` (a hook event with its fields in `data`), `moved` (a
 * partition's keys copied to this node), `dropped` (a partition's keys deleted here). Anything else, or a line
 * missing a field, is `other` and ignored: the view must never crash on a line it does not understand.
 */
import type { JsonLine } from './processes.js';

export const HOOK_EVENTS = [
  'partitionChange',
  'nodeJoin',
  'nodeLeave',
  'nodeRejoin',
  'rebalanceStart',
  'rebalanceComplete',
  'clusterHealthChange',
] as const;

export type HookEventName = (typeof HOOK_EVENTS)[number];

export type NodeLine =
  | {
      readonly kind: 'ready';
      readonly nodeId: string;
      readonly httpAddr: string;
      readonly kvAddr: string;
      /** Both ports speak HTTPS (a secure cluster). */
      readonly tls?: true;
    }
  | {
      readonly kind: 'event';
      readonly nodeId: string;
      readonly event: HookEventName;
      readonly data: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'moved';
      readonly nodeId: string;
      readonly partitionId: string;
      readonly keys: number;
      readonly from: string;
    }
  | { readonly kind: 'dropped'; readonly nodeId: string; readonly partitionId: string; readonly keys: number }
  | { readonly kind: 'other'; readonly type: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const count = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
const isHookEvent = (v: unknown): v is HookEventName => (HOOK_EVENTS as readonly unknown[]).includes(v);

/** A typed record of one JSON line; `nodeId` is the process's when the line does not say. */
export function classifyLine(line: JsonLine, nodeId: string): NodeLine {
  const type = str(line['type']) ?? '';
  const node = str(line['nodeId']) ?? nodeId;
  switch (type) {
    case 'ready': {
      const httpAddr = str(line['httpAddr']);
      const kvAddr = str(line['kvAddr']);
      if (httpAddr !== undefined && kvAddr !== undefined) {
        return { kind: 'ready', nodeId: node, httpAddr, kvAddr, ...(line['tls'] === true ? { tls: true } : {}) };
      }
      break;
    }
    case 'event': {
      const event = line['event'];
      const data = line['data'];
      if (isHookEvent(event) && typeof data === 'object' && data !== null && !Array.isArray(data)) {
        return { kind: 'event', nodeId: node, event, data: data as Record<string, unknown> };
      }
      break;
    }
    case 'moved': {
      const partitionId = str(line['partitionId']);
      const keys = count(line['keys']);
      if (partitionId !== undefined && keys !== undefined) {
        return { kind: 'moved', nodeId: node, partitionId, keys, from: nodeRef(line['from']) ?? '?' };
      }
      break;
    }
    case 'dropped': {
      const partitionId = str(line['partitionId']);
      const keys = count(line['keys']);
      if (partitionId !== undefined && keys !== undefined) return { kind: 'dropped', nodeId: node, partitionId, keys };
      break;
    }
  }
  return { kind: 'other', type };
}

/** A node named by id, or a node record (`{id, ...}`) as hook events carry them. */
export function nodeRef(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) return str((v as Record<string, unknown>)['id']);
  return undefined;
}

function refs(v: unknown): string[] {
  return Array.isArray(v) ? v.map(nodeRef).filter((x): x is string => x !== undefined) : [];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The fields of a hook event the driver and the view use, read defensively. */
export const ev = {
  /** The node a membership event is about. */
  node: (d: Readonly<Record<string, unknown>>): string | undefined => nodeRef(d['node']),
  index: (d: Readonly<Record<string, unknown>>): number | undefined => num(d['index']),
  reason: (d: Readonly<Record<string, unknown>>): string => str(d['reason']) ?? str(d['leaveReason']) ?? '?',
  copyTo: (d: Readonly<Record<string, unknown>>): string | undefined => nodeRef(d['copyToNode']),
  copyFrom: (d: Readonly<Record<string, unknown>>): string[] => refs(d['copyFromNodes']),
  /** False only for a replica promoted to primary (it has the data already). */
  needsCopy: (d: Readonly<Record<string, unknown>>): boolean => d['needsCopy'] !== false,
  partitionId: (d: Readonly<Record<string, unknown>>): string | undefined => str(d['partitionId']),
  tableVersion: (d: Readonly<Record<string, unknown>>): number | undefined => num(d['tableVersion']),
  toVersion: (d: Readonly<Record<string, unknown>>): number | undefined => num(d['toVersion']),
  triggerNode: (d: Readonly<Record<string, unknown>>): string | undefined => str(d['triggerNodeId']),
  unhealthy: (d: Readonly<Record<string, unknown>>): string[] => strings(d['unhealthyNodeIds']),
};

/**
 * The identity of an event across nodes. Events from committed commands carry the Raft index of the command:
 * every node derives the same ones. clusterHealthChange is computed by each node on its own (from replicated
 * data), so its identity is its content plus how many times this node reported that content before.
 */
export function eventKey(line: Extract<NodeLine, { kind: 'event' }>, occurrence: (key: string) => number): string {
  const d = line.data;
  const index = ev.index(d);
  switch (line.event) {
    case 'partitionChange':
      return `partitionChange@${index ?? '?'}:${ev.partitionId(d) ?? '?'}:${ev.copyTo(d) ?? '?'}`;
    case 'clusterHealthChange': {
      const base = `clusterHealthChange:${str(d['previousStatus']) ?? ''}>${str(d['status']) ?? ''}:${ev.unhealthy(d).join(',')}`;
      return `${base}#${occurrence(`${line.nodeId}|${base}`)}`;
    }
    default:
      return index === undefined
        ? `${line.event}:${line.nodeId}:${occurrence(`${line.nodeId}|${line.event}`)}`
        : `${line.event}@${index}`;
  }
}

export interface EventCount {
  readonly kind: string;
  /** Different events (the same event from every node counts once). */
  distinct: number;
  /** Lines received (one per node that reported it). */
  deliveries: number;
}

/** Counts events by kind, each distinct event once, and tells whether a line is the first sighting. */
export class EventTracker {
  readonly #seen = new Set<string>();
  readonly #occurrences = new Map<string, number>();
  readonly #counts = new Map<string, EventCount>();

  /** Records `line`; returns true when it is the first time this event (or move, or drop) is seen. */
  add(line: NodeLine): boolean {
    if (line.kind === 'ready' || line.kind === 'other') return false;
    let key: string | undefined;
    let kind: string;
    if (line.kind === 'event') {
      kind = line.event;
      key = eventKey(line, (k) => {
        const n = (this.#occurrences.get(k) ?? 0) + 1;
        this.#occurrences.set(k, n);
        return n;
      });
    } else {
      // A move or a drop is one node's own action: never a duplicate.
      kind = line.kind;
    }
    const c = this.#counts.get(kind) ?? { kind, distinct: 0, deliveries: 0 };
    this.#counts.set(kind, c);
    c.deliveries++;
    if (key !== undefined && this.#seen.has(key)) return false;
    if (key !== undefined) this.#seen.add(key);
    c.distinct++;
    return true;
  }

  /** Counts by kind, hook events first in the contract's order, then moves and drops. */
  counts(): EventCount[] {
    const order: readonly string[] = [...HOOK_EVENTS, 'moved', 'dropped'];
    return [...this.#counts.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  }
}

/** One line for the live view; undefined for the events it does not print one by one (partition changes). */
export function describeEvent(line: Extract<NodeLine, { kind: 'event' }>): string | undefined {
  const d = line.data;
  const size = num(d['clusterSize']);
  const nodes = size === undefined ? '' : ` → ${size} node${size === 1 ? '' : 's'}`;
  switch (line.event) {
    case 'nodeJoin':
      return `${ev.node(d) ?? '?'} joined${d['isBootstrap'] === true ? ' (bootstrap)' : ''}${nodes}`;
    case 'nodeLeave': {
      const owned = strings(d['partitionsOwned']).length;
      const replica = strings(d['partitionsReplica']).length;
      return `${ev.node(d) ?? '?'} left (${ev.reason(d)}): held ${owned} primaries, ${replica} replicas${nodes}`;
    }
    case 'nodeRejoin': {
      const off = num(d['offlineDuration']);
      const before = strings(d['partitionsBeforeLeave']).length;
      return `${ev.node(d) ?? '?'} rejoined after ${off === undefined ? '?' : `${(off / 1000).toFixed(1)} s`} offline (held ${before} partitions before)${nodes}`;
    }
    case 'rebalanceStart': {
      const trigger = str(d['trigger']) ?? '?';
      const who = ev.triggerNode(d);
      const from = num(d['fromVersion']);
      const to = ev.toVersion(d);
      return (
        `rebalance v${from ?? '?'} → v${to ?? '?'} (${trigger}${who === undefined ? '' : ` ${who}`}): ` +
        `${num(d['partitionsToMove']) ?? '?'} partitions change, ${num(d['copies']) ?? '?'} copies, ` +
        `${num(d['primaryChanges']) ?? '?'} new primaries`
      );
    }
    case 'rebalanceComplete':
      return `rebalance to v${ev.tableVersion(d) ?? '?'} decided ${num(d['duration']) ?? '?'} ms after its cause: ${num(d['partitionsMoved']) ?? '?'} partitions moved`;
    case 'clusterHealthChange': {
      const bad = ev.unhealthy(d);
      return `cluster ${str(d['previousStatus']) ?? '?'} → ${str(d['status']) ?? '?'}${bad.length === 0 ? '' : `: unhealthy ${bad.join(', ')}`}`;
    }
    case 'partitionChange':
      return undefined;
  }
}
