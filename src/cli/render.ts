/**
 * What `status`, `partitions` and `locate` print: a JSON summary for scripts, and one screen of text for people.
 * Pure functions of the node's answers (no I/O), so the formatting is tested on its own.
 */
import { table } from './output.js';
import type { WireCluster, WireHealth, WireNode, WirePartition } from './wire.js';

/** Colours a word for a terminal; the identity when output is not a colour terminal. */
export type Paint = (style: 'green' | 'yellow' | 'red' | 'bold' | 'dim', text: string) => string;
const plain: Paint = (_style, text) => text;

export type RoleName = 'leader' | 'voter' | 'non-voter' | 'none' | 'unknown';

export interface StatusNode {
  readonly id: string;
  readonly name: string;
  readonly role: RoleName;
  /** healthy | unhealthy | unknown (health checks disabled or not run yet). */
  readonly health: 'healthy' | 'unhealthy' | 'unknown';
  readonly addr: string;
  readonly zone: string | null;
  readonly primaries: number;
  readonly replicas: number;
}

export interface StatusSummary {
  readonly cluster: {
    readonly id: string;
    readonly name: string;
    readonly formed: boolean;
    readonly health: string;
    readonly health_reasons: readonly string[];
    readonly term: number;
    readonly table_version: number;
    readonly revision: number;
    readonly leader: { readonly id: string; readonly addr: string } | null;
    readonly partition_count: number;
    readonly replication_factor: number;
    readonly placement: string | null;
    /** Partitions with no primary (none in a healthy cluster). */
    readonly unowned_partitions: number;
  };
  /** The node that answered (its view may lag the leader by a commit). */
  readonly answered_by: { readonly node_id: string; readonly addr: string };
  readonly nodes: readonly StatusNode[];
}

function roleName(raftRole: string): RoleName {
  switch (raftRole) {
    case 'leader':
    case 'voter':
    case 'none':
      return raftRole;
    case 'nonvoter':
      return 'non-voter';
    default:
      return 'unknown';
  }
}

/** Primaries and replicas held, per node id. */
export function ownership(partitions: readonly WirePartition[]): Map<string, { primaries: number; replicas: number }> {
  const out = new Map<string, { primaries: number; replicas: number }>();
  const entry = (id: string): { primaries: number; replicas: number } => {
    let e = out.get(id);
    if (e === undefined) {
      e = { primaries: 0, replicas: 0 };
      out.set(id, e);
    }
    return e;
  };
  for (const p of partitions) {
    if (p.primary !== '') entry(p.primary).primaries++;
    for (const r of p.replicas) entry(r).replicas++;
  }
  return out;
}

export function statusSummary(cluster: WireCluster, health: WireHealth, answeredBy: string): StatusSummary {
  const owned = ownership(cluster.partitions);
  const nodes = cluster.nodes.map(
    (n: WireNode): StatusNode => ({
      id: n.id,
      name: n.name,
      role: roleName(n.raftRole),
      health: n.healthy === null ? 'unknown' : n.healthy ? 'healthy' : 'unhealthy',
      addr: n.httpAddr,
      zone: n.zone ?? null,
      primaries: owned.get(n.id)?.primaries ?? 0,
      replicas: owned.get(n.id)?.replicas ?? 0,
    }),
  );
  return {
    cluster: {
      id: cluster.id,
      name: cluster.name,
      formed: cluster.formed,
      health: health.status,
      health_reasons: health.reasons,
      term: cluster.term,
      table_version: cluster.tableVersion,
      revision: cluster.revision,
      leader: cluster.leader,
      partition_count: cluster.partitionCount,
      replication_factor: cluster.replicationFactor,
      placement: cluster.placement ?? null,
      unowned_partitions: cluster.partitions.filter((p) => p.primary === '').length,
    },
    answered_by: { node_id: health.nodeId, addr: answeredBy },
    nodes,
  };
}

const HEALTH_STYLE: Readonly<Record<string, 'green' | 'yellow' | 'red'>> = {
  healthy: 'green',
  degraded: 'yellow',
  starting: 'yellow',
  critical: 'red',
  stopping: 'red',
  unhealthy: 'red',
};

/** Left-aligned columns, except the ones listed in `right`. Colour is applied after padding. */
function columns(
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
  paint?: (row: number, col: number, cell: string) => string,
): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row, r) =>
      row
        .map((cell, i) => {
          const padded = right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
          return paint === undefined ? padded : paint(r, i, padded);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderStatus(s: StatusSummary, paint: Paint = plain): string {
  const c = s.cluster;
  const healthWord = paint(HEALTH_STYLE[c.health] ?? 'yellow', c.health.toUpperCase());
  const lines: string[] = [];
  lines.push(
    `${paint('bold', `Cluster ${c.name}`)}  health ${healthWord}  term ${c.term}  table v${c.table_version}  revision ${c.revision}`,
  );
  const leader =
    c.leader === null ? paint('red', 'no leader known') : `leader ${c.leader.id} (${c.leader.addr || '?'})`;
  const placement = c.placement === null ? '' : ` (${c.placement})`;
  lines.push(
    `${c.partition_count} partitions × ${c.replication_factor} copies${placement}  ${leader}  ${s.nodes.length} node${s.nodes.length === 1 ? '' : 's'}`,
  );
  if (!c.formed) lines.push(paint('yellow', 'the cluster is not formed yet'));
  for (const reason of c.health_reasons) lines.push(`${paint(HEALTH_STYLE[c.health] ?? 'yellow', '!')} ${reason}`);
  if (c.unowned_partitions > 0) {
    lines.push(`${paint('red', '!')} ${c.unowned_partitions} partitions have no primary`);
  }
  lines.push('');
  const rows = [
    ['NODE', 'ROLE', 'HEALTH', 'ADDRESS', 'ZONE', 'PRIMARIES', 'REPLICAS'],
    ...s.nodes.map((n) => [n.id, n.role, n.health, n.addr, n.zone ?? '-', String(n.primaries), String(n.replicas)]),
  ];
  lines.push(
    columns(rows, new Set([5, 6]), (r, col, cell) => {
      if (r === 0) return paint('dim', cell);
      if (col === 2) return paint(HEALTH_STYLE[cell.trim()] ?? 'yellow', cell);
      return cell;
    }),
  );
  lines.push('');
  lines.push(
    paint(
      'dim',
      `answered by ${s.answered_by.node_id} at ${s.answered_by.addr} (its view may lag the leader by a commit)`,
    ),
  );
  return lines.join('\n');
}

export interface PartitionsSummary {
  readonly table_version: number;
  readonly partition_count: number;
  readonly replication_factor: number;
  readonly node: string | null;
  readonly partitions: readonly {
    readonly id: string;
    readonly index: number;
    readonly primary: string | null;
    readonly replicas: readonly string[];
    readonly epoch: number;
    /** With --node: that node's role for this partition. */
    readonly role?: 'primary' | 'replica';
  }[];
}

export function partitionsSummary(
  list: { partitions: readonly WirePartition[]; version: number; partitionCount: number; replicationFactor: number },
  node: string | undefined,
): PartitionsSummary {
  const rows = list.partitions
    .filter((p) => node === undefined || p.primary === node || p.replicas.includes(node))
    .map((p) => ({
      id: p.id,
      index: p.index,
      primary: p.primary === '' ? null : p.primary,
      replicas: [...p.replicas],
      epoch: p.epoch,
      ...(node === undefined ? {} : { role: p.primary === node ? ('primary' as const) : ('replica' as const) }),
    }));
  return {
    table_version: list.version,
    partition_count: list.partitionCount,
    replication_factor: list.replicationFactor,
    node: node ?? null,
    partitions: rows,
  };
}

export function renderPartitions(s: PartitionsSummary): string {
  const head =
    s.node === null
      ? `${s.partition_count} partitions, replication factor ${s.replication_factor}, table version ${s.table_version}`
      : `${s.node} holds ${s.partitions.filter((p) => p.role === 'primary').length} primaries and ${
          s.partitions.filter((p) => p.role === 'replica').length
        } replicas of ${s.partition_count} partitions (table version ${s.table_version})`;
  const header = ['PARTITION', 'PRIMARY', 'REPLICAS', 'EPOCH', ...(s.node === null ? [] : ['ROLE'])];
  const rows = s.partitions.map((p) => [
    p.id,
    p.primary ?? '(none)',
    p.replicas.join(', ') || '-',
    String(p.epoch),
    ...(p.role === undefined ? [] : [p.role]),
  ]);
  return `${head}\n\n${table([header, ...rows])}`;
}

export interface LocateOnline {
  readonly key: string;
  readonly partition: string;
  readonly index: number;
  readonly partition_count: number;
  readonly primary: string | null;
  readonly replicas: readonly string[];
  readonly epoch: number;
  readonly table_version: number;
  /** Node id → its HTTP address, for the owners. */
  readonly addresses: Readonly<Record<string, string>>;
}

export function renderLocate(r: LocateOnline): string {
  const withAddr = (id: string): string => (r.addresses[id] === undefined ? id : `${id} (${r.addresses[id]})`);
  return table([
    ['key', r.key],
    ['partition', `${r.partition} (of ${r.partition_count})`],
    ['primary', r.primary === null ? '(none)' : withAddr(r.primary)],
    ['replicas', r.replicas.map(withAddr).join(', ') || '(none)'],
    ['epoch', String(r.epoch)],
    ['table', `version ${r.table_version}`],
  ]);
}
