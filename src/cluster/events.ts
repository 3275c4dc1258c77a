/**
 * From the replicated state's events to what hooks receive.
 *
 * The state machine reports a replica promoted to primary as `partitionPromote` (it already holds the data) and
 * a node gaining a copy as `partitionChange`. The Go original told both through OnPartitionChange, and
 * applications written for it (filter on `copyToNode == me`, copy from `copyFromNodes`) expect that. So a
 * promotion is also delivered as a `partitionChange` with `needsCopy: false`; a real copy has `needsCopy: true`.
 * `copyFromNodes` is never empty while any holder of the data survives: for a promotion it lists the other
 * members that held the partition before the change.
 */
import type {
  ClusterEvent,
  NodeRecord,
  PartitionPromoteEvent,
  PartitionChangeEvent as StatePartitionChangeEvent,
} from './state/index.js';

/** The state's PartitionChangeEvent, plus whether `copyToNode` must fetch the data or already holds it. */
export interface PartitionChangeEvent extends StatePartitionChangeEvent {
  /** False for a replica promoted to primary (it already has the data); true when it gains a new copy. */
  readonly needsCopy: boolean;
}

export type PublicEvent = Exclude<ClusterEvent, StatePartitionChangeEvent> | PartitionChangeEvent;

/**
 * The events to emit for one applied command, in order. `nodeOf` resolves member records (after the command),
 * `ownersAfter` gives a partition's owners in the new table.
 */
export function toPublicEvents(
  batch: readonly ClusterEvent[],
  nodeOf: (id: string) => NodeRecord | undefined,
  ownersAfter: (partitionIndex: number) => readonly string[],
): PublicEvent[] {
  // Per partition: nodes gaining a copy and present nodes dropping one in this command.
  const gaining = new Map<number, Set<string>>();
  const dropping = new Map<number, string[]>();
  for (const e of batch) {
    if (e.type === 'partitionChange') {
      let s = gaining.get(e.partitionIndex);
      if (s === undefined) gaining.set(e.partitionIndex, (s = new Set()));
      s.add(e.copyToNode.id);
    } else if (e.type === 'partitionDrop') {
      const list = dropping.get(e.partitionIndex) ?? [];
      list.push(e.node.id);
      dropping.set(e.partitionIndex, list);
    }
  }
  const out: PublicEvent[] = [];
  for (const e of batch) {
    if (e.type === 'partitionChange') {
      out.push(Object.freeze({ ...e, needsCopy: true }));
    } else if (e.type === 'partitionPromote') {
      out.push(e);
      out.push(promotionAsChange(e, gaining, dropping, nodeOf, ownersAfter));
    } else {
      out.push(e);
    }
  }
  return out;
}

function promotionAsChange(
  e: PartitionPromoteEvent,
  gaining: ReadonlyMap<number, ReadonlySet<string>>,
  dropping: ReadonlyMap<number, readonly string[]>,
  nodeOf: (id: string) => NodeRecord | undefined,
  ownersAfter: (partitionIndex: number) => readonly string[],
): PartitionChangeEvent {
  const newcomers = gaining.get(e.partitionIndex) ?? new Set<string>();
  // Holders before the change that are still members: old primary first when present, then the other owners
  // that already had it, then owners being dropped (they keep their copy until the application deletes it).
  const ids: string[] = [];
  const add = (id: string | null): void => {
    if (id !== null && id !== e.node.id && !newcomers.has(id) && !ids.includes(id)) ids.push(id);
  };
  add(e.oldPrimary);
  for (const id of ownersAfter(e.partitionIndex)) add(id);
  for (const id of dropping.get(e.partitionIndex) ?? []) add(id);
  const copyFromNodes: NodeRecord[] = [];
  for (const id of ids) {
    const n = nodeOf(id);
    if (n !== undefined) copyFromNodes.push(n);
  }
  return Object.freeze({
    type: 'partitionChange',
    index: e.index,
    timestamp: e.timestamp,
    partitionId: e.partitionId,
    partitionIndex: e.partitionIndex,
    copyFromNodes: Object.freeze(copyFromNodes),
    copyToNode: e.node,
    isPrimary: true,
    oldPrimary: e.oldPrimary,
    newPrimary: e.newPrimary,
    changeReason: e.changeReason,
    epoch: e.epoch,
    tableVersion: e.tableVersion,
    needsCopy: false,
  });
}
