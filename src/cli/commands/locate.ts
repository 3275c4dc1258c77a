/**
 * `clusterkit locate <key>`: which partition owns a key and, given the cluster's nodes, which nodes hold it.
 *
 * Works offline: the answer is a pure function of the key, the partition count and (for owners) the node list, the
 * same function every ClusterKit node and every Go client computes.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../errors.js';
import {
  computePlacement,
  DEFAULT_PARTITION_COUNT,
  DEFAULT_REPLICATION_FACTOR,
  type Member,
  type PlacementStrategy,
  partitionForKey,
  partitionId,
} from '../../partitioning/index.js';
import { type Command, ExitCode } from '../command.js';
import { table } from '../output.js';

const help = `Usage: clusterkit locate <key> [options]

Prints the partition that owns <key>: md5(utf8(key)), first 4 bytes big-endian, modulo the partition count, exactly
as the Go original and its clients compute it. With --nodes, also the partition's primary and replicas as the
placement would assign them to those nodes.

Options:
  --partitions <n>          partition count of the cluster (default ${DEFAULT_PARTITION_COUNT})
  --nodes <a,b,c>           node ids (optionally id@zone) to compute the owners on
  --replication-factor <n>  copies per partition, primary included (default ${DEFAULT_REPLICATION_FACTOR})
  --strategy <s>            balanced (default) or rendezvous (the Go original's placement)
  --json                    machine-readable output

Examples:
  clusterkit locate user:123
  clusterkit locate user:123 --partitions 16
  clusterkit locate user:123 --nodes node-1,node-2,node-3,node-4 --replication-factor 3
  clusterkit locate user:123 --nodes a@eu-1,b@eu-2,c@eu-3 --json`;

interface LocateResult {
  key: string;
  partition: string;
  index: number;
  partition_count: number;
  primary?: string | null;
  replicas?: string[];
  epoch?: number;
}

function intOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw))
    throw new InvalidArgumentError(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function parseMembers(raw: string): Member[] {
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (ids.length === 0) throw new InvalidArgumentError('--nodes needs at least one node id');
  return ids.map((entry) => {
    const at = entry.lastIndexOf('@');
    return at > 0 ? { id: entry.slice(0, at), zone: entry.slice(at + 1) } : { id: entry };
  });
}

export const locateCommand: Command = {
  name: 'locate',
  summary: 'show the partition (and, with --nodes, the owners) of a key',
  help,
  run(argv, out) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        partitions: { type: 'string' },
        nodes: { type: 'string' },
        'replication-factor': { type: 'string' },
        strategy: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) {
      throw new InvalidArgumentError(
        `locate takes exactly one key, got ${positionals.length}; see 'clusterkit locate --help'`,
      );
    }
    const key = positionals[0]!;
    const partitionCount = intOption('partitions', values.partitions, DEFAULT_PARTITION_COUNT);
    const index = partitionForKey(key, partitionCount);
    const result: LocateResult = {
      key,
      partition: partitionId(index),
      index,
      partition_count: partitionCount,
    };
    if (values.nodes !== undefined) {
      const strategy = (values.strategy ?? 'balanced') as PlacementStrategy;
      const rf = intOption('replication-factor', values['replication-factor'], DEFAULT_REPLICATION_FACTOR);
      const placed = computePlacement({
        members: parseMembers(values.nodes),
        partitionCount,
        replicationFactor: rf,
        strategy,
      });
      const p = placed.partition(index);
      result.primary = p.primary ?? null;
      result.replicas = [...p.replicas];
      result.epoch = p.epoch;
    } else if (values.strategy !== undefined || values['replication-factor'] !== undefined) {
      throw new InvalidArgumentError('--strategy and --replication-factor need --nodes');
    }
    out.result(result, () => {
      const rows: string[][] = [
        ['key', key],
        ['partition', `${partitionId(index)} (of ${partitionCount})`],
      ];
      if (result.replicas !== undefined) {
        rows.push(['primary', result.primary ?? '(none)']);
        rows.push(['replicas', result.replicas.join(', ') || '(none)']);
      }
      return table(rows);
    });
    return ExitCode.Ok;
  },
};
