/**
 * `clusterkit locate <key>`: which partition owns a key, and which nodes hold it.
 *
 * Two modes. Against a running cluster (`--addr`, or any connection option, or CLUSTERKIT_ADDR): the node's
 * partition table says the partition's primary, replicas and epoch, with their addresses; the partition is
 * computed here with the hash configuration the node publishes. Offline (no connection settings, or
 * `--partitions` / `--nodes`): a pure function of the key, the partition count and (for owners) a node list, the
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
import { RequestError } from '../client.js';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from '../connection.js';
import { type Output, table } from '../output.js';
import { connect, positionals } from '../remote.js';
import { type LocateOnline, renderLocate } from '../render.js';
import { parseCluster } from '../wire.js';

const help = `Usage: clusterkit locate <key> [options]

Prints the partition that owns <key> and the nodes that hold it.

With --addr (or any connection option, or CLUSTERKIT_ADDR set), asks a running node: the partition's primary,
replicas and epoch from its partition table, with their addresses. Without, it works offline: md5(utf8(key)), first
4 bytes big-endian, modulo the partition count, exactly as the Go original and its clients compute it; with
--nodes, also the owners the placement would assign on those nodes.

Offline options:
  --partitions <n>          partition count of the cluster (default ${DEFAULT_PARTITION_COUNT})
  --nodes <a,b,c>           node ids (optionally id@zone) to compute the owners on
  --replication-factor <n>  copies per partition, primary included (default ${DEFAULT_REPLICATION_FACTOR})
  --strategy <s>            balanced (default) or rendezvous (the Go original's placement)

Online options:
  --consistent              wait until the node has applied everything committed before answering

${CONNECTION_HELP}

Examples:
  clusterkit locate user:123 --addr 127.0.0.1:8080
  clusterkit locate user:123
  clusterkit locate user:123 --partitions 16
  clusterkit locate user:123 --nodes node-1,node-2,node-3,node-4 --replication-factor 3
  clusterkit locate user:123 --nodes a@eu-1,b@eu-2,c@eu-3 --json

${EXIT_CODES_HELP}`;

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

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      partitions: { type: 'string' },
      nodes: { type: 'string' },
      'replication-factor': { type: 'string' },
      strategy: { type: 'string' },
      consistent: { type: 'boolean' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

const CONNECTION_FLAGS = ['addr', 'token', 'tls', 'ca', 'cert', 'key', 'timeout'] as const;
const OFFLINE_FLAGS = ['partitions', 'nodes', 'replication-factor', 'strategy'] as const;

function isOnline(values: Values, out: Output): boolean {
  const connection = CONNECTION_FLAGS.filter((f) => values[f] !== undefined);
  const offline = OFFLINE_FLAGS.filter((f) => values[f] !== undefined);
  if (connection.length > 0 && offline.length > 0) {
    throw new InvalidArgumentError(
      `--${offline[0]} is for offline use and --${connection[0]} asks a node; give one or the other`,
    );
  }
  if (connection.length > 0) return true;
  if (offline.length > 0) return false;
  const envAddr = out.io.env['CLUSTERKIT_ADDR'];
  return envAddr !== undefined && envAddr !== '';
}

async function online(key: string, values: Values, out: Output): Promise<number> {
  const client = connect(values, out);
  const cluster = parseCluster(await client.getJson(`/cluster${values.consistent === true ? '?consistent=true' : ''}`));
  if (cluster.hash.algorithm !== 'md5' || cluster.hash.encoding !== 'big_endian_uint32') {
    throw new RequestError(
      'ERR_PROTOCOL',
      `the node hashes keys with ${cluster.hash.algorithm}/${cluster.hash.encoding}, which this CLI does not know`,
      { exitCode: ExitCode.Failure },
    );
  }
  if (!cluster.formed || cluster.partitions.length === 0) {
    throw new RequestError('ERR_UNAVAILABLE', 'the node has no partition table yet (the cluster is not formed)', {
      exitCode: ExitCode.Failure,
      retriable: true,
    });
  }
  const index = partitionForKey(key, cluster.hash.modulo);
  const p = cluster.partitions.find((x) => x.index === index);
  if (p === undefined) {
    throw new RequestError('ERR_PROTOCOL', `the node's partition table has no partition ${index}`, {
      exitCode: ExitCode.Failure,
    });
  }
  const addresses: Record<string, string> = {};
  for (const id of [p.primary, ...p.replicas]) {
    const node = cluster.nodes.find((n) => n.id === id);
    if (node !== undefined) {
      Object.defineProperty(addresses, id, {
        value: node.httpAddr,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  const result: LocateOnline = {
    key,
    partition: p.id,
    index,
    partition_count: cluster.hash.modulo,
    primary: p.primary === '' ? null : p.primary,
    replicas: [...p.replicas],
    epoch: p.epoch,
    table_version: cluster.tableVersion,
    addresses,
  };
  out.result(result, () => renderLocate(result));
  return ExitCode.Ok;
}

function offline(key: string, values: Values, out: Output): number {
  if (values.consistent === true) throw new InvalidArgumentError('--consistent needs a node to ask (--addr)');
  const partitionCount = intOption('partitions', values.partitions, DEFAULT_PARTITION_COUNT);
  const index = partitionForKey(key, partitionCount);
  const result: LocateResult = { key, partition: partitionId(index), index, partition_count: partitionCount };
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
}

export const locateCommand: Command = {
  name: 'locate',
  summary: 'the partition of a key, its primary, replicas and epoch',
  help,
  async run(argv, out) {
    const { values, positionals: rest } = parse(argv);
    if (rest.length !== 1) {
      throw new InvalidArgumentError(
        `locate takes exactly one key, got ${rest.length}; see 'clusterkit locate --help'`,
      );
    }
    positionals('locate', rest, ['<key>']);
    const key = rest[0]!;
    return isOnline(values, out) ? online(key, values, out) : offline(key, values, out);
  },
};
