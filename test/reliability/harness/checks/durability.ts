/**
 * Durability: every write the cluster acknowledged is still there, with its value, after the faults (crashes of
 * a minority, kill -9 of every node at once and a restart). Writes of unknown outcome may or may not be there;
 * a write that never reached a node must not be.
 */
import type { DurableWrite } from '../workload.js';

export interface DurabilityReport {
  readonly acked: number;
  readonly unknown: number;
  readonly lost: string[];
  /** Present with another value than the one written (impossible for write-once keys unless corrupted). */
  readonly wrong: string[];
  /** Present although the write never reached any node. */
  readonly phantom: string[];
}

/** @param read the value now stored under each key, undefined when absent */
export function checkDurability(
  writes: readonly DurableWrite[],
  read: ReadonlyMap<string, string | undefined>,
): DurabilityReport {
  const lost: string[] = [];
  const wrong: string[] = [];
  const phantom: string[] = [];
  let acked = 0;
  let unknown = 0;
  for (const w of writes) {
    const v = read.get(w.key);
    if (w.status === 'acked') {
      acked++;
      if (v === undefined) lost.push(w.key);
      else if (v !== w.value) wrong.push(`${w.key}: wrote ${w.value}, read ${v}`);
    } else if (w.status === 'unknown') {
      unknown++;
      if (v !== undefined && v !== w.value) wrong.push(`${w.key}: wrote ${w.value}, read ${v}`);
    } else if (v !== undefined) {
      phantom.push(w.key);
    }
  }
  return { acked, unknown, lost, wrong, phantom };
}
