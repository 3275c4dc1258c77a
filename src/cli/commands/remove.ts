/** `clusterkit remove <nodeId>`: take a node out of the cluster (an operator's decision). */
import { parseArgs } from 'node:util';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from '../connection.js';
import { connect, positionals, segment } from '../remote.js';
import { parseData } from '../wire.js';

const help = `Usage: clusterkit remove <nodeId> [options]

Removes a member from the cluster (reason "removed_by_admin"): its partitions go to the others in the same commit,
and it leaves the Raft configuration. Use it for a node that is gone for good; a node that shuts down with
SIGTERM leaves by itself. A removed node that is still running stays out; restarted, it joins again.

${CONNECTION_HELP}

Examples:
  clusterkit remove node-3
  clusterkit remove node-3 --addr 10.0.0.12:8080 --json

Exit code 4 when the node is not a member.

${EXIT_CODES_HELP}`;

export const removeCommand: Command = {
  name: 'remove',
  summary: 'remove a node from the cluster',
  help,
  async run(argv, out) {
    const { values, positionals: rest } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS },
    });
    positionals('remove', rest, ['<nodeId>']);
    const nodeId = rest[0]!;
    const client = connect(values, out);
    const data = parseData(await client.sendJson('DELETE', `/nodes/${segment(nodeId)}`));
    const result = {
      node_id: nodeId,
      node_count: Number(data['node_count'] ?? 0),
      table_version: Number(data['table_version'] ?? 0),
    };
    out.result(
      result,
      () => `removed ${nodeId}: ${result.node_count} nodes left, partition table version ${result.table_version}`,
    );
    return ExitCode.Ok;
  },
};
