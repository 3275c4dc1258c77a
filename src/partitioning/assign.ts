/**
 * Copy assignment: which nodes hold a copy of each partition (primaries are chosen afterwards, in primaries.ts).
 *
 * State: P partitions × R slots (R = RF'), each slot holding a node index, filled compactly from the left. Every
 * node i must end with a count in [lo_i, hi_i] (shares.ts); a partition's owners are distinct nodes in distinct
 * groups (a group is the node's zone when zones are enforced, else the node itself).
 *
 * The steps, each keeping as many existing copies as it can, because every new copy is data an application must move:
 *   1. keep every previous owner that is still a member (in rank order, up to R, one per group);
 *   2. nodes above hi_i drop their excess, replica copies first, and preferably where the partition has no vacancy
 *      yet (so one receiver can take all vacancies);
 *   3. fill vacancies, first only into nodes below lo_i, then into nodes below hi_i; a greedy pass gives each vacancy
 *      to the allowed node with the most room, then augmenting paths that only re-route copies created in this call
 *      (free: no extra movement) place what the greedy pass could not; as a last resort, augmenting paths through
 *      kept copies (each such step is one extra move);
 *   4. nodes still below lo_i take a copy over from a node above lo_i (direct transfer, else a shortest chain).
 * Augmenting paths are breadth-first (shortest), so extra movement, when some is unavoidable, is minimal per step.
 */
import { ClusterKitError } from '../errors.js';
import { affinity } from './members.js';

/** Rank given to copies created by this computation (they sort after every kept copy). */
export const NEW_RANK = 0x7fffffff;

export interface AssignInput {
  readonly partitions: number;
  /** RF' = min(RF, N). */
  readonly slotsPerPartition: number;
  readonly groups: Int32Array;
  readonly seeds: Int32Array;
  readonly share: Float64Array;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** Previous owners per partition as node indices, primary first (non-members already removed); may be empty. */
  readonly previous: readonly (readonly number[])[];
}

export class Assignment {
  readonly P: number;
  readonly R: number;
  readonly n: number;
  /** Node index per slot (p·R + k), valid for k < count[p]. */
  readonly owners: Int32Array;
  /** Rank of the copy in the previous table (0 = was primary), or NEW_RANK for a copy created now. */
  readonly rank: Int32Array;
  readonly count: Int32Array;
  readonly load: Int32Array;
  private readonly input: AssignInput;
  // Breadth-first search scratch, stamped so that it never needs clearing.
  private stamp = 0;
  private readonly nodeSeen: Int32Array;
  private readonly partSeen: Int32Array;
  private readonly parentPart: Int32Array;
  private readonly parentNode: Int32Array;

  constructor(input: AssignInput) {
    this.input = input;
    this.P = input.partitions;
    this.R = input.slotsPerPartition;
    this.n = input.groups.length;
    this.owners = new Int32Array(this.P * this.R);
    this.rank = new Int32Array(this.P * this.R);
    this.count = new Int32Array(this.P);
    this.load = new Int32Array(this.n);
    this.nodeSeen = new Int32Array(this.n);
    this.partSeen = new Int32Array(this.P);
    this.parentPart = new Int32Array(this.n);
    this.parentNode = new Int32Array(this.n);
  }

  /** Runs steps 1–4. */
  run(): void {
    if (this.R === 0) return;
    this.keepPrevious();
    this.dropExcess();
    this.fill(this.input.lo, false);
    this.fill(this.input.hi, true);
    this.raiseToLowerBounds();
  }

  /** True if node i may join partition p in place of `released` (−1: into a free slot). */
  private conflicts(p: number, i: number, released: number): boolean {
    const groups = this.input.groups;
    const g = groups[i]!;
    const base = p * this.R;
    const c = this.count[p]!;
    for (let k = 0; k < c; k++) {
      const o = this.owners[base + k]!;
      if (o !== released && groups[o] === g) return true;
    }
    return false;
  }

  private slotOf(p: number, i: number): number {
    const base = p * this.R;
    const c = this.count[p]!;
    for (let k = 0; k < c; k++) if (this.owners[base + k] === i) return base + k;
    return -1;
  }

  private add(p: number, i: number, rank: number): void {
    const s = p * this.R + this.count[p]!;
    this.owners[s] = i;
    this.rank[s] = rank;
    this.count[p]!++;
    this.load[i]!++;
  }

  /** Removes the copy in slot s of partition p, keeping the slots compact. */
  private removeSlot(p: number, s: number): void {
    const last = p * this.R + this.count[p]! - 1;
    this.load[this.owners[s]!]!--;
    this.owners[s] = this.owners[last]!;
    this.rank[s] = this.rank[last]!;
    this.count[p]!--;
  }

  private replaceSlot(s: number, i: number): void {
    this.load[this.owners[s]!]!--;
    this.owners[s] = i;
    this.rank[s] = NEW_RANK;
    this.load[i]!++;
  }

  /** Step 1. */
  private keepPrevious(): void {
    const prev = this.input.previous;
    for (let p = 0; p < this.P; p++) {
      const list = prev[p];
      if (list === undefined) continue;
      for (let r = 0; r < list.length && this.count[p]! < this.R; r++) {
        const i = list[r]!;
        if (!this.conflicts(p, i, -1)) this.add(p, i, r);
      }
    }
  }

  /** Step 2. */
  private dropExcess(): void {
    const { hi, seeds } = this.input;
    const { owners, rank, count, load, R } = this;
    // Nodes above their cap, and for each the partitions it holds (one pass over all slots).
    const held = new Map<number, number[]>();
    for (let i = 0; i < this.n; i++) if (load[i]! > hi[i]!) held.set(i, []);
    if (held.size === 0) return;
    for (let p = 0; p < this.P; p++) {
      for (let k = 0; k < count[p]!; k++) held.get(owners[p * R + k]!)?.push(p);
    }
    for (const [i, parts] of held) {
      // Lower key = dropped first: replica copies before the primary copy, partitions that are still complete
      // before those that already have a vacancy, then the partitions this node is least attached to. A node's own
      // drops never change the keys of its other partitions, so one sort suffices.
      const keyed = parts.map((p) => {
        const primary = rank[this.slotOf(p, i)] === 0 ? 2 : 0;
        const vacant = count[p]! < R ? 1 : 0;
        return { p, key: (primary + vacant) * 4294967296 + affinity(p, seeds[i]!) };
      });
      keyed.sort((x, y) => x.key - y.key || x.p - y.p);
      const excess = load[i]! - hi[i]!;
      for (let k = 0; k < excess; k++) {
        const p = keyed[k]!.p;
        this.removeSlot(p, this.slotOf(p, i));
      }
    }
  }

  /** Step 3 with the given caps; `mustComplete` means every vacancy must be filled when this returns. */
  private fill(cap: Int32Array, mustComplete: boolean): void {
    const { groups } = this.input;
    const { owners, count, load, R } = this;
    // Nodes bucketed by room (cap − load), so that each vacancy goes to an allowed node with the most room in O(1)
    // typical time. Giving each copy to the emptiest node keeps every node's room similar, so the last vacancies
    // rarely find only nodes that are already in their partition. Within a bucket the search starts at a position
    // derived from the partition, which spreads partitions over nodes.
    let top = 0;
    for (let i = 0; i < this.n; i++) top = Math.max(top, cap[i]! - load[i]!);
    const buckets: number[][] = Array.from({ length: top + 1 }, () => []);
    const pos = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const r = cap[i]! - load[i]!;
      if (r > 0) {
        pos[i] = buckets[r]!.length;
        buckets[r]!.push(i);
      }
    }
    for (let p = 0; p < this.P && top > 0; p++) {
      const base = p * R;
      while (count[p]! < R) {
        let chosen = -1;
        let from = 0;
        for (let r = top; r > 0 && chosen < 0; r--) {
          const b = buckets[r]!;
          const len = b.length;
          if (len === 0) continue;
          const start = affinity(p, r) % len;
          for (let k = 0; k < len; k++) {
            const i = b[(start + k) % len]!;
            const g = groups[i]!;
            let clash = false;
            for (let q = 0; q < count[p]!; q++) {
              if (groups[owners[base + q]!] === g) {
                clash = true;
                break;
              }
            }
            if (!clash) {
              chosen = i;
              from = r;
              break;
            }
          }
        }
        if (chosen < 0) break;
        this.add(p, chosen, NEW_RANK);
        // Move the chosen node one bucket down (swap-remove from its bucket).
        const b = buckets[from]!;
        const last = b.pop()!;
        if (last !== chosen) {
          b[pos[chosen]!] = last;
          pos[last] = pos[chosen]!;
        }
        if (from > 1) {
          pos[chosen] = buckets[from - 1]!.length;
          buckets[from - 1]!.push(chosen);
        }
        while (top > 0 && buckets[top]!.length === 0) top--;
      }
    }
    // Vacancies the greedy pass could not place (or did not reach because no node had room left).
    for (let p = 0; p < this.P; p++) {
      while (this.count[p]! < this.R) {
        // Without any node below its cap no path can end; skip the (otherwise exhaustive) search.
        if (!this.hasRoom(cap)) {
          if (!mustComplete) return;
          throw new ClusterKitError('ERR_INTERNAL', 'placement caps leave no room for every copy');
        }
        if (this.augmentFill(p, cap, true)) continue;
        if (!mustComplete) break;
        if (this.augmentFill(p, cap, false)) continue;
        throw new ClusterKitError('ERR_INTERNAL', `placement could not fill partition ${p}: no augmenting path`);
      }
    }
  }

  private hasRoom(cap: Int32Array): boolean {
    for (let i = 0; i < this.n; i++) if (this.load[i]! < cap[i]!) return true;
    return false;
  }

  /**
   * Breadth-first augmenting path for one vacancy of p0: some node j joins p0; if j is at its cap it releases one of
   * its copies (only copies created in this call when `newOnly`), whose partition is then joined by another node,
   * and so on until a node with room is reached. Returns false if there is no such path.
   */
  private augmentFill(p0: number, cap: Int32Array, newOnly: boolean): boolean {
    const stamp = ++this.stamp;
    const groups = this.input.groups;
    // (partition, group) pairs already expanded after the partition's first expansion: later expansions of the same
    // partition may only swap within the released node's group, which keeps a path touching p twice valid.
    const seenPairs = new Set<number>();
    const queue: number[] = [];
    const expand = (p: number, released: number): number => {
      const first = this.partSeen[p] !== stamp;
      if (first) this.partSeen[p] = stamp;
      if (released >= 0) {
        const key = p * this.n + groups[released]!;
        if (!first && seenPairs.has(key)) return -1;
        seenPairs.add(key);
      } else if (!first) return -1;
      for (let j = 0; j < this.n; j++) {
        if (this.nodeSeen[j] === stamp) continue;
        if (!first && groups[j] !== groups[released]!) continue;
        if (this.conflicts(p, j, released)) continue;
        this.nodeSeen[j] = stamp;
        this.parentPart[j] = p;
        this.parentNode[j] = released;
        if (this.load[j]! < cap[j]!) return j;
        queue.push(j);
      }
      return -1;
    };
    let end = expand(p0, -1);
    for (let head = 0; end < 0 && head < queue.length; head++) {
      const a = queue[head]!;
      for (let q = 0; q < this.P && end < 0; q++) {
        const s = this.slotOf(q, a);
        if (s < 0 || (newOnly && this.rank[s] !== NEW_RANK)) continue;
        end = expand(q, a);
      }
    }
    if (end < 0) return false;
    // Walk back from the node with room: each node takes the place of the one that released a copy for it.
    for (let j = end; ; ) {
      const p = this.parentPart[j]!;
      const released = this.parentNode[j]!;
      if (released < 0) {
        this.add(p, j, NEW_RANK);
        return true;
      }
      this.replaceSlot(this.slotOf(p, released), j);
      j = released;
    }
  }

  /** Step 4. */
  private raiseToLowerBounds(): void {
    const lo = this.input.lo;
    for (let u = 0; u < this.n; u++) {
      if (this.load[u]! >= lo[u]!) continue;
      this.transferDirect(u);
      while (this.load[u]! < lo[u]!) {
        if (this.transferChain(u)) continue;
        throw new ClusterKitError('ERR_INTERNAL', `placement could not raise node ${u} to its lower bound`);
      }
    }
  }

  /**
   * Node u takes over copies, one move each, from nodes above their lower bound, until it reaches its own. Prefers
   * replica copies (primaries stay put), then the donors most above their share, then u's affinity.
   */
  private transferDirect(u: number): void {
    const { lo, share, seeds } = this.input;
    const candidates: { slot: number; key: number }[] = [];
    for (let p = 0; p < this.P; p++) {
      if (this.slotOf(p, u) >= 0) continue;
      const base = p * this.R;
      for (let k = 0; k < this.count[p]!; k++) {
        const a = this.owners[base + k]!;
        if (this.load[a]! <= lo[a]! || this.conflicts(p, u, a)) continue;
        const notPrimary = this.rank[base + k] === 0 ? 0 : 1;
        const above = Math.max(0, Math.min(63, Math.floor((this.load[a]! - share[a]!) * 4) + 32));
        candidates.push({ slot: base + k, key: notPrimary * 2 ** 40 + above * 2 ** 33 + affinity(p, seeds[u]!) });
      }
    }
    candidates.sort((x, y) => y.key - x.key || x.slot - y.slot);
    for (const { slot } of candidates) {
      if (this.load[u]! >= lo[u]!) return;
      // Earlier transfers may have put u into this partition or brought the donor down to its bound.
      const p = Math.floor(slot / this.R);
      const a = this.owners[slot]!;
      if (slot - p * this.R >= this.count[p]! || this.load[a]! <= lo[a]! || this.slotOf(p, u) >= 0) continue;
      if (this.conflicts(p, u, a)) continue;
      this.replaceSlot(slot, u);
    }
  }

  /**
   * Breadth-first chain: u takes a's copy of p, a takes b's copy of q, … until a node above its lower bound gives
   * one up. Same rule as augmentFill for partitions touched twice.
   */
  private transferChain(u: number): boolean {
    const stamp = ++this.stamp;
    const { lo, groups } = this.input;
    const seenPairs = new Set<number>();
    const queue: number[] = [u];
    this.nodeSeen[u] = stamp;
    for (let head = 0; head < queue.length; head++) {
      const x = queue[head]!;
      for (let p = 0; p < this.P; p++) {
        const base = p * this.R;
        const c = this.count[p]!;
        const first = this.partSeen[p] !== stamp;
        for (let k = 0; k < c; k++) {
          const a = this.owners[base + k]!;
          if (this.nodeSeen[a] === stamp) continue;
          if (!first && groups[x] !== groups[a]) continue;
          if (this.conflicts(p, x, a)) continue;
          const key = p * this.n + groups[a]!;
          if (seenPairs.has(key)) continue;
          seenPairs.add(key);
          this.partSeen[p] = stamp;
          this.nodeSeen[a] = stamp;
          this.parentPart[a] = p;
          this.parentNode[a] = x;
          if (this.load[a]! > lo[a]!) {
            // a gives up its copy of p to x, x gives up the copy it was reached through, … back to u.
            for (let y = a; y !== u; ) {
              const q = this.parentPart[y]!;
              const taker = this.parentNode[y]!;
              this.replaceSlot(this.slotOf(q, y), taker);
              y = taker;
            }
            return true;
          }
          queue.push(a);
        }
      }
    }
    return false;
  }
}
