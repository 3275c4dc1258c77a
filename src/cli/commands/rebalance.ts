/** `clusterkit rebalance`: recompute placement for the current members (through the leader). */
import { parseArgs } from 'node:util';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from '../connection.js';
import { connect, positionals } from '../remote.js';
import { parseData } from '../wire.js';

const help = `Usage: clusterkit rebalance [options]

Recomputes the placement of every partition for the current members and commits the new table through Raft
(any node may be asked; the request is forwarded to the leader). Nothing moves when the placement already matches
the members. Applications learn about moved partitions through their onPartitionChange hooks.

Options:
  --reason <text>         recorded in the rebalance events (default "manual")

${CONNECTION_HELP}

Examples:
  clusterkit rebalance
  clusterkit rebalance --reason "added capacity in zone b" --addr 10.0.0.12:8080

${EXIT_CODES_HELP}`;

export const rebalanceCommand: Command = {
  name: 'rebalance',
  summary: 'recompute placement for the current members',
  help,
  async run(argv, out) {
    const { values, positionals: rest } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, reason: { type: 'string' } },
    });
    positionals('rebalance', rest, []);
    const client = connect(values, out);
    const data = parseData(
      await client.sendJson('POST', '/rebalance', values.reason === undefined ? undefined : { reason: values.reason }),
    );
    const result = { changed: data['changed'] === true, table_version: Number(data['table_version'] ?? 0) };
    out.result(result, () =>
      result.changed
        ? `rebalance committed: partition table version ${result.table_version}`
        : `nothing moved: placement already matches the members (table version ${result.table_version})`,
    );
    return ExitCode.Ok;
  },
};
