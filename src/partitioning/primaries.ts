/**
 * Choosing each partition's primary among its owners (after copy assignment).
 *
 * Bounds: a node holding c_i copies (of S = P·RF' in all) is primary of between
 *   low_i = min(floor(c_i / RF'), floor(P·w_i / W))   and   high_i = min(ceil(c_i / RF'), ceil(P·w_i / W))
 * partitions. When the tighter high_i admits no complete choice (only possible with unequal weights or zone-forced
 * loads) it is loosened to ceil(c_i / RF'). Both always admit a solution: giving each owner of each partition 1/RF'
 * of its primary role is a fractional solution with node i at c_i / RF', inside [low_i, ceil(c_i / RF')], and the
 * bipartite degree-constrained polytope is integral. With equal weights (and no zone forcing a node above
 * ceil(P·RF'/N) copies) this gives every node floor(P/N) or ceil(P/N) primaries.
 *
 * Preferences, in order: keep the previous primary; else promote an owner that already had a copy (the one furthest
 * below its lower bound, then the best-ranked previous replica); only a partition none of whose owners had a copy gets
 * a primary without data. What the greedy passes leave is placed by augmenting paths (moving the primary role of
 * another partition to one of its other owners) in three phases: only along "had a copy" edges, then along any edge,
 * then with loosened caps. Each phase first tries the length-1 and length-2 paths with amortized per-node cursors,
 * then breadth-first search with dead-node pruning (so a phase costs about O(P·RF') even when, as after a join, a
 * quarter of all partitions need a new primary). Finally nodes below low_i take primary roles over from nodes above
 * theirs (direct take-overs, then shortest chains; "had a copy" edges first). A node that just joined holds only new
 * copies, so the primaries it must take for balance come with the copy: the diff shows them as copyTo + newPrimary,
 * and the epoch bump fences the old primary.
 */
import { ClusterKitError } from '../errors.js';
import { type Assignment, NEW_RANK } from './assign.js';
import { affinity } from './members.js';

const EPS = 1e-9;

export function choosePrimaries(a: Assignment, weights: Float64Array, seeds: Int32Array): Int32Array {
  return new PrimaryChooser(a, weights, seeds).run();
}

class PrimaryChooser {
  private readonly a: Assignment;
  private readonly seeds: Int32Array;
  readonly primary: Int32Array;
  private readonly pc: Int32Array;
  private readonly loose: Int32Array;
  private readonly tight: Int32Array;
  private readonly low: Int32Array;
  /** Partitions each node owns (fixed during primary selection). */
  private readonly ownedBy: number[][];
  /**
   * Partitions each node is primary of, possibly with stale entries (checked against `primary` on use): appending
   * on every change is cheaper than removing.
   */
  private readonly byNode: number[][];
  /** A fixed pseudo-random partition order, so that no index range is systematically favoured. */
  private readonly order: number[];
  // Search scratch, stamped so that it never needs clearing. `dead` marks nodes a failed search of the current
  // phase visited: in a bipartite (b-)matching, a node in the search tree of a failed augmentation can never be on
  // an augmenting path again while the phase only augments, so later searches of that phase skip it.
  private stamp = 0;
  private phase = 0;
  private readonly seen: Int32Array;
  private readonly dead: Int32Array;
  private readonly partSeen: Int32Array;
  private readonly via: Int32Array;
  private readonly taker: Int32Array;
  /** Per node, how far shortPath has scanned its byNode list in the current phase (see shortPath). */
  private readonly cursor: Int32Array;
  private cursorPhase = -1;

  constructor(a: Assignment, weights: Float64Array, seeds: Int32Array) {
    const { P, R, n, owners, count, load } = a;
    this.a = a;
    this.seeds = seeds;
    this.primary = new Int32Array(P).fill(-1);
    this.pc = new Int32Array(n);
    this.loose = new Int32Array(n);
    this.tight = new Int32Array(n);
    this.low = new Int32Array(n);
    let totalWeight = 0;
    for (let i = 0; i < n; i++) totalWeight += weights[i]!;
    for (let i = 0; i < n; i++) {
      const fair = (P * weights[i]!) / totalWeight;
      this.loose[i] = R === 0 ? 0 : Math.ceil(load[i]! / R);
      this.tight[i] = Math.min(this.loose[i]!, Math.ceil(fair - EPS));
      this.low[i] = R === 0 ? 0 : Math.min(Math.floor(load[i]! / R), Math.floor(fair + EPS));
    }
    this.ownedBy = Array.from({ length: n }, () => []);
    this.byNode = Array.from({ length: n }, () => []);
    for (let p = 0; p < P; p++) for (let k = 0; k < count[p]!; k++) this.ownedBy[owners[p * R + k]!]!.push(p);
    const orderKey = new Float64Array(P);
    for (let p = 0; p < P; p++) orderKey[p] = affinity(p, 0x5bd1e995) * 65536 + p;
    this.order = Array.from(orderKey.sort(), (key) => key % 65536);
    this.seen = new Int32Array(n);
    this.dead = new Int32Array(n);
    this.partSeen = new Int32Array(P);
    this.via = new Int32Array(n);
    this.taker = new Int32Array(n);
    this.cursor = new Int32Array(n);
  }

  private set(p: number, node: number): void {
    const former = this.primary[p]!;
    if (former >= 0) this.pc[former]!--;
    this.primary[p] = node;
    this.pc[node]!++;
    this.byNode[node]!.push(p);
  }

  /** A fresh phase id for dead-node marking (0 = no marking). */
  private newPhase(): number {
    return ++this.phase;
  }

  private hadCopy(p: number): boolean {
    const { R, rank, count } = this.a;
    for (let k = 0; k < count[p]!; k++) if (rank[p * R + k] !== NEW_RANK) return true;
    return false;
  }

  /** Rank of node i's copy of p (NEW_RANK if it had none, −1 if it is not an owner). */
  private rankOf(p: number, i: number): number {
    const { R, owners, rank, count } = this.a;
    for (let k = 0; k < count[p]!; k++) if (owners[p * R + k] === i) return rank[p * R + k]!;
    return -1;
  }

  run(): Int32Array {
    const { R, n, owners, rank, count } = this.a;
    const { primary, pc, tight, low, loose } = this;
    if (R === 0 || n === 0) return primary;
    // 1. Keep the previous primary.
    for (const p of this.order) {
      for (let k = 0; k < count[p]!; k++) {
        const i = owners[p * R + k]!;
        if (rank[p * R + k] === 0 && pc[i]! < tight[i]!) this.set(p, i);
      }
    }
    // 2. Promote an owner that had a copy (or, if none had, any owner), within the caps.
    for (const p of this.order) {
      if (primary[p] !== -1 || count[p] === 0) continue;
      const restricted = this.hadCopy(p);
      let best = -1;
      let bestKey = Infinity;
      for (let k = 0; k < count[p]!; k++) {
        const i = owners[p * R + k]!;
        if (pc[i]! >= tight[i]! || (restricted && rank[p * R + k] === NEW_RANK)) continue;
        // The owner furthest below its lower bound first (fewer roles to shuffle in step 4), then the best-ranked
        // previous replica, then affinity.
        const key =
          (pc[i]! - low[i]! + this.a.P) * 2 ** 42 +
          (restricted ? rank[p * R + k]! : 0) * 2 ** 36 +
          (4294967295 - affinity(p, this.seeds[i]!));
        if (key < bestKey) {
          bestKey = key;
          best = i;
        }
      }
      if (best >= 0) this.set(p, best);
    }
    // 3. Augmenting paths for what is left, in phases: "had a copy" edges within the tight caps; any edge within the
    // tight caps; any edge within the loose caps (always succeeds).
    const left = (): number[] => this.order.filter((p) => primary[p] === -1 && count[p]! > 0);
    const restrictedSearch = this.newPhase();
    for (const p of left()) if (!this.shortPath(p, tight, true)) this.augment(p, tight, true, restrictedSearch);
    const tightSearch = this.newPhase();
    for (const p of left()) if (!this.shortPath(p, tight, false)) this.augment(p, tight, false, tightSearch);
    this.newPhase(); // resets shortPath's cursors; no dead-node pruning in this last phase, which must succeed
    for (const p of left()) {
      if (!this.shortPath(p, loose, false) && !this.augment(p, loose, false, 0)) {
        throw new ClusterKitError('ERR_INTERNAL', `placement could not choose a primary for partition ${p}`);
      }
    }
    // 4. Nodes below their lower bound: direct take-overs, then chains; "had a copy" edges first.
    const below = (): number[] => Array.from({ length: n }, (_, u) => u).filter((u) => pc[u]! < low[u]!);
    for (const u of below()) this.raiseDirect(u, true);
    const restrictedPhase = this.newPhase();
    for (const u of below()) {
      while (pc[u]! < low[u]!) if (!this.raiseChain(u, true, restrictedPhase)) break;
    }
    for (const u of below()) this.raiseDirect(u, false);
    for (const u of below()) {
      while (pc[u]! < low[u]!) {
        if (!this.raiseChain(u, false, 0)) {
          throw new ClusterKitError('ERR_INTERNAL', `placement could not raise the primaries of node ${u}`);
        }
      }
    }
    return primary;
  }

  /**
   * The common short augmenting paths, in amortized constant time: an owner of p0 below its cap takes it; or an
   * owner a at its cap takes it and hands one of its primaries q to another owner of q below its cap. Within one
   * phase caps are fixed and counts only grow, so a partition of a's list without such an owner never gets one: a
   * per-node cursor skips it for good. Returns false when neither exists (a longer path may; see augment).
   */
  private shortPath(p0: number, cap: Int32Array, restricted: boolean): boolean {
    const { R, owners, rank, count } = this.a;
    const { primary, pc, cursor } = this;
    if (this.cursorPhase !== this.phase) {
      cursor.fill(0);
      this.cursorPhase = this.phase;
    }
    const allowed = (p: number, k: number, anyCopy: boolean): boolean => !anyCopy || rank[p * R + k] !== NEW_RANK;
    const copy0 = restricted && this.hadCopy(p0);
    for (let k = 0; k < count[p0]!; k++) {
      const j = owners[p0 * R + k]!;
      if (allowed(p0, k, copy0) && pc[j]! < cap[j]!) {
        this.set(p0, j);
        return true;
      }
    }
    for (let k = 0; k < count[p0]!; k++) {
      if (!allowed(p0, k, copy0)) continue;
      const a = owners[p0 * R + k]!;
      const list = this.byNode[a]!;
      for (; cursor[a]! < list.length; cursor[a]!++) {
        const q = list[cursor[a]!]!;
        if (primary[q] !== a) continue;
        const copyQ = restricted && this.hadCopy(q);
        for (let m = 0; m < count[q]!; m++) {
          const b = owners[q * R + m]!;
          if (b === a || !allowed(q, m, copyQ) || pc[b]! >= cap[b]!) continue;
          this.set(q, b);
          this.set(p0, a);
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Breadth-first: p0 needs a primary; an owner j of p0 below its cap takes it, or j (at its cap) takes it and gives
   * up one of its own primaries q to another owner of q, and so on. With `restricted`, a partition that has owners
   * who had a copy only hands its primary role to one of them. `phase` ≠ 0 enables dead-node pruning.
   */
  private augment(p0: number, cap: Int32Array, restricted: boolean, phase: number): boolean {
    const { R, owners, rank, count } = this.a;
    const { primary, pc, seen, dead, partSeen, via } = this;
    const stamp = ++this.stamp;
    const visited: number[] = [];
    const queue: number[] = [p0];
    partSeen[p0] = stamp;
    for (let head = 0; head < queue.length; head++) {
      const p = queue[head]!;
      const base = p * R;
      // Owners that had a copy first (pass 0), then the others (pass 1), unless restricted to copies.
      const passes = restricted && this.hadCopy(p) ? 1 : 2;
      for (let pass = 0; pass < passes; pass++) {
        for (let k = 0; k < count[p]!; k++) {
          if ((rank[base + k] === NEW_RANK) !== (pass === 1)) continue;
          const j = owners[base + k]!;
          if (seen[j] === stamp || j === primary[p] || (phase !== 0 && dead[j] === phase)) continue;
          seen[j] = stamp;
          visited.push(j);
          via[j] = p;
          if (pc[j]! < cap[j]!) {
            // j takes p; p's former primary (if p is not p0) takes the partition it was reached through; and so on.
            for (let node = j; node >= 0; ) {
              const q = via[node]!;
              const former = primary[q]!;
              this.set(q, node);
              node = former;
            }
            return true;
          }
          for (const q of this.byNode[j]!) {
            if (primary[q] !== j || partSeen[q] === stamp) continue;
            partSeen[q] = stamp;
            queue.push(q);
          }
        }
      }
    }
    if (phase !== 0) for (const j of visited) dead[j] = phase;
    return false;
  }

  /** u takes primary roles of partitions it owns from their primaries while those stay at or above their floor. */
  private raiseDirect(u: number, restricted: boolean): void {
    const { primary, pc, low } = this;
    for (const p of this.ownedBy[u]!) {
      if (pc[u]! >= low[u]!) return;
      const holder = primary[p]!;
      if (holder === u || holder < 0 || pc[holder]! <= low[holder]!) continue;
      if (restricted && this.rankOf(p, u) === NEW_RANK) continue;
      this.set(p, u);
    }
  }

  /**
   * Breadth-first: u takes the primary role of a partition it owns from that partition's primary a; if a is above
   * its floor that is all, else a takes another partition's primary role, and so on. `phase` ≠ 0 enables dead-node
   * pruning (as in augment).
   */
  private raiseChain(u: number, restricted: boolean, phase: number): boolean {
    const { primary, pc, low, seen, dead, partSeen, via, taker } = this;
    if (phase !== 0 && dead[u] === phase) return false;
    const stamp = ++this.stamp;
    const queue: number[] = [u];
    seen[u] = stamp;
    for (let head = 0; head < queue.length; head++) {
      const x = queue[head]!;
      for (const p of this.ownedBy[x]!) {
        const holder = primary[p]!;
        if (holder < 0 || seen[holder] === stamp || partSeen[p] === stamp) continue;
        if (phase !== 0 && dead[holder] === phase) continue;
        if (restricted && this.rankOf(p, x) === NEW_RANK) continue;
        partSeen[p] = stamp;
        seen[holder] = stamp;
        via[holder] = p;
        taker[holder] = x;
        if (pc[holder]! > low[holder]!) {
          for (let y = holder; y !== u; y = taker[y]!) this.set(via[y]!, taker[y]!);
          return true;
        }
        queue.push(holder);
      }
    }
    if (phase !== 0) for (const x of queue) dead[x] = phase;
    return false;
  }
}
