/** `clusterkit partitions`: the partition table, every partition with its primary, replicas and epoch. */
import { parseArgs } from 'node:util';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from '../connection.js';
import { connect, positionals } from '../remote.js';
import { partitionsSummary, renderPartitions } from '../render.js';
import { parsePartitions } from '../wire.js';

const help = `Usage: clusterkit partitions [options]

The partition table in force on the node at --addr: each partition's primary, replicas and epoch (the epoch
increases each time the primary changes).

Options:
  --node <id>             only the partitions this node holds, with its role in each
  --consistent            wait until the node has applied everything committed before answering

${CONNECTION_HELP}

Examples:
  clusterkit partitions
  clusterkit partitions --node node-2
  clusterkit partitions --json | jq '[.partitions[] | select(.primary == null)] | length'

${EXIT_CODES_HELP}`;

export const partitionsCommand: Command = {
  name: 'partitions',
  summary: 'the partition table: primary, replicas and epoch of each partition',
  help,
  async run(argv, out) {
    const { values, positionals: rest } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, node: { type: 'string' }, consistent: { type: 'boolean' } },
    });
    positionals('partitions', rest, []);
    const client = connect(values, out);
    const body = await client.getJson(`/partitions${values.consistent === true ? '?consistent=true' : ''}`);
    const summary = partitionsSummary(parsePartitions(body), values.node);
    out.result(summary, () => renderPartitions(summary));
    return ExitCode.Ok;
  },
};
