/**
 * Ownership: at no moment may two nodes both act as primary of the same partition at the same epoch, and one
 * table version must mean one table everywhere. Fed with samples of the tables the nodes report (GET /cluster on
 * every node, a few times a second), it checks two functions over every sample ever taken, whatever the time:
 *
 *   (partition, epoch) → primary         a second primary at an epoch is a split brain on that partition
 *   table version      → the whole table  two tables under one version: nodes disagree on what the version says
 *
 * Being time-independent these are stronger than comparing simultaneous samples: a node that is primary at epoch
 * e now and another that was primary at e a second ago are caught too. `converged` checks the end state: every
 * node reports the same members and the same table version.
 */

export interface PartitionSample {
  readonly id: string;
  readonly primary: string;
  readonly replicas: readonly string[];
  readonly epoch: number;
}

export interface TableSample {
  readonly node: string;
  /** Wall-clock ms of the answer. */
  readonly at: number;
  readonly version: number;
  readonly members: readonly string[];
  readonly partitions: readonly PartitionSample[];
}

export interface OwnershipViolation {
  readonly kind: 'two-primaries' | 'version-mismatch';
  readonly message: string;
}

interface Seen {
  readonly value: string;
  readonly node: string;
  readonly at: number;
}

export class OwnershipChecker {
  readonly violations: OwnershipViolation[] = [];
  samples = 0;
  readonly #primaryAt = new Map<string, Seen>();
  readonly #tableAt = new Map<number, Seen>();
  /** Most violations kept (one split brain repeats in every later sample). */
  static readonly MAX_VIOLATIONS = 20;

  add(s: TableSample): void {
    this.samples++;
    if (s.version === 0) return;
    for (const p of s.partitions) {
      if (p.primary === '') continue;
      const key = `${p.id}@${p.epoch}`;
      const prev = this.#primaryAt.get(key);
      if (prev === undefined) this.#primaryAt.set(key, { value: p.primary, node: s.node, at: s.at });
      else if (prev.value !== p.primary) {
        this.#violate(
          'two-primaries',
          `partition ${p.id} epoch ${p.epoch}: ${s.node} reports primary ${p.primary} at ${iso(s.at)}, ` +
            `${prev.node} reported primary ${prev.value} at ${iso(prev.at)}`,
        );
      }
    }
    const digest = tableDigest(s.partitions);
    const prev = this.#tableAt.get(s.version);
    if (prev === undefined) this.#tableAt.set(s.version, { value: digest, node: s.node, at: s.at });
    else if (prev.value !== digest) {
      this.#violate(
        'version-mismatch',
        `table version ${s.version}: ${s.node} at ${iso(s.at)} and ${prev.node} at ${iso(prev.at)} report different tables`,
      );
    }
  }

  #violate(kind: OwnershipViolation['kind'], message: string): void {
    if (this.violations.length < OwnershipChecker.MAX_VIOLATIONS) this.violations.push({ kind, message });
  }

  /** (partition, epoch) pairs seen. */
  get epochsSeen(): number {
    return this.#primaryAt.size;
  }

  get versionsSeen(): number {
    return this.#tableAt.size;
  }
}

export function tableDigest(partitions: readonly PartitionSample[]): string {
  return partitions.map((p) => `${p.id}:${p.epoch}:${p.primary}:${p.replicas.join(',')}`).join('|');
}

/** Null when every sample agrees on members and table version; else what differs. */
export function convergence(samples: readonly TableSample[]): string | null {
  const first = samples[0];
  if (first === undefined) return 'no node answered';
  const members = [...first.members].sort().join(',');
  for (const s of samples) {
    if (s.version !== first.version)
      return `${s.node} is at table version ${s.version}, ${first.node} at ${first.version}`;
    const m = [...s.members].sort().join(',');
    if (m !== members) return `${s.node} sees members ${m}, ${first.node} sees ${members}`;
    if (tableDigest(s.partitions) !== tableDigest(first.partitions)) {
      return `${s.node} and ${first.node} report different tables at version ${s.version}`;
    }
  }
  return null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** The parts of GET /cluster this checker reads. */
export interface ClusterJson {
  readonly cluster?: {
    readonly table_version?: number;
    readonly nodes?: readonly { readonly id?: string; readonly node_id?: string }[];
    readonly partition_map?: {
      readonly partitions?: Readonly<
        Record<string, { id: string; primary_node: string; replica_nodes: readonly string[]; epoch: number }>
      >;
    };
  };
}

export function sampleFromCluster(node: string, at: number, j: ClusterJson): TableSample | undefined {
  const c = j.cluster;
  if (c === undefined || typeof c.table_version !== 'number') return undefined;
  const parts = Object.values(c.partition_map?.partitions ?? {})
    .map((p) => ({ id: p.id, primary: p.primary_node, replicas: p.replica_nodes, epoch: p.epoch }))
    .sort((a, b) => partitionIndex(a.id) - partitionIndex(b.id));
  const members = (c.nodes ?? []).map((n) => n.id ?? n.node_id ?? '?');
  return { node, at, version: c.table_version, members, partitions: parts };
}

function partitionIndex(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}
