/**
 * `clusterkit status`: the cluster on one screen, as the node asked sees it: every node with its Raft role, health,
 * address and the partitions it holds; the term, the partition-table version and the cluster's health verdict.
 */
import { parseArgs } from 'node:util';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from '../connection.js';
import { connect, positionals } from '../remote.js';
import { renderStatus, statusSummary } from '../render.js';
import { parseCluster, parseHealth } from '../wire.js';

const help = `Usage: clusterkit status [options]

The cluster at a glance, as the node at --addr sees it: each node's role (leader, voter, non-voter), health,
address, and the primaries and replicas it holds; the Raft term, the partition-table version, and the cluster's
health (healthy, degraded, critical) with the reasons.

Options:
  --consistent            wait until the node has applied everything committed before answering

${CONNECTION_HELP}

Examples:
  clusterkit status
  clusterkit status --addr 10.0.0.12:8080
  clusterkit status --json | jq '.nodes[] | select(.health != "healthy") | .id'

${EXIT_CODES_HELP}`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'the cluster on one screen: nodes, roles, health, partitions held',
  help,
  async run(argv, out) {
    const { values, positionals: rest } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, consistent: { type: 'boolean' } },
    });
    positionals('status', rest, []);
    const client = connect(values, out);
    const query = values.consistent === true ? '?consistent=true' : '';
    const [clusterBody, healthBody] = await Promise.all([
      client.getJson(`/cluster${query}`),
      client.getJson('/health/detailed'),
    ]);
    const summary = statusSummary(parseCluster(clusterBody), parseHealth(healthBody), client.base.host);
    out.result(summary, () => renderStatus(summary, out.paint));
    return ExitCode.Ok;
  },
};
