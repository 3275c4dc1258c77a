/**
 * How many copies each node should hold: weighted shares with caps ("water-filling"), then integer bounds.
 *
 * There are S = P·RF' copies. A node can hold at most one copy of each partition (at most P), and when zones are
 * enforced a zone can also hold at most one copy of each partition (at most P). The real share of node i is
 *   r_i = λ·w_i          for nodes in zones that are not full and that are not full themselves,
 *   r_i = P              for a full node (λ·w_i would exceed P),
 *   r_i = P·w_i / W_z    for a node of a full zone z (the zone's P copies split by weight),
 * with λ chosen so that Σ r_i = S. With no cap binding this is simply r_i = S·w_i / W. Placement then keeps every
 * node's count within [floor(r_i), ceil(r_i)] (exactly r_i when it is an integer).
 */

/** Values within this distance of an integer are that integer (floating-point noise in λ·w_i). */
const EPS = 1e-9;

export interface Shares {
  /** Real share r_i per node. */
  readonly share: Float64Array;
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

/**
 * @param weights per node, > 0
 * @param groups hard group per node (its zone when zones are enforced, else the node itself), 0..groupCount-1
 * @param partitions P (the cap per node and per group)
 * @param slots S = P·RF' (≤ P·groupCount)
 */
export function computeShares(
  weights: Float64Array,
  groups: Int32Array,
  groupCount: number,
  partitions: number,
  slots: number,
): Shares {
  const n = weights.length;
  const share = new Float64Array(n);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  if (n === 0) return { share, lo, hi };
  const nodeFull = new Uint8Array(n);
  const groupFull = new Uint8Array(groupCount);
  const groupWeight = new Float64Array(groupCount);
  for (let i = 0; i < n; i++) groupWeight[groups[i]!]! += weights[i]!;

  // Iterate: compute λ over what is not yet full, mark what λ overfills, repeat. λ only grows from one round to the
  // next (each newly full node or zone took less than λ would have given it), so anything marked full stays full,
  // and this ends after at most n + groupCount rounds.
  let lambda: number;
  for (;;) {
    let fixed = 0;
    let freeWeight = 0;
    for (let g = 0; g < groupCount; g++) if (groupFull[g] === 1) fixed += partitions;
    for (let i = 0; i < n; i++) {
      if (groupFull[groups[i]!] === 1) continue;
      if (nodeFull[i] === 1) fixed += partitions;
      else freeWeight += weights[i]!;
    }
    lambda = freeWeight > 0 ? (slots - fixed) / freeWeight : 0;
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (nodeFull[i] === 0 && groupFull[groups[i]!] === 0 && lambda * weights[i]! > partitions + EPS) {
        nodeFull[i] = 1;
        changed = true;
      }
    }
    if (!changed) {
      const groupTotal = new Float64Array(groupCount);
      for (let i = 0; i < n; i++) {
        const g = groups[i]!;
        if (groupFull[g] === 0) groupTotal[g]! += nodeFull[i] === 1 ? partitions : lambda * weights[i]!;
      }
      for (let g = 0; g < groupCount; g++) {
        if (groupFull[g] === 0 && groupTotal[g]! > partitions + EPS) {
          groupFull[g] = 1;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }

  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    let r: number;
    if (groupFull[g] === 1) r = (partitions * weights[i]!) / groupWeight[g]!;
    else if (nodeFull[i] === 1) r = partitions;
    else r = lambda * weights[i]!;
    r = Math.min(r, partitions);
    const near = Math.round(r);
    if (Math.abs(r - near) < EPS) r = near;
    share[i] = r;
    lo[i] = Math.floor(r);
    hi[i] = Math.ceil(r);
  }
  return { share, lo, hi };
}
