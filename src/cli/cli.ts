/**
 * The `clusterkit` command line. Sub-commands live in ./commands, one module each; this file only dispatches,
 * prints help and version, and turns errors into one-line messages and exit codes (command.ts).
 */
import { type Command, EXIT_CODES_HELP, ExitCode, exitCodeFor } from './command.js';
import { agentCommand } from './commands/agent.js';
import { dataCommand } from './commands/data.js';
import { locateCommand } from './commands/locate.js';
import { partitionsCommand } from './commands/partitions.js';
import { rebalanceCommand } from './commands/rebalance.js';
import { removeCommand } from './commands/remove.js';
import { statusCommand } from './commands/status.js';
import { type CliIo, createOutput, type Output, processIo } from './output.js';
import { packageVersion } from './version.js';

export const commands: readonly Command[] = [
  agentCommand,
  statusCommand,
  partitionsCommand,
  locateCommand,
  rebalanceCommand,
  removeCommand,
  dataCommand,
];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'clusterkit — cluster coordination for Node.js: where does each key live?',
    '',
    'Usage: clusterkit <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Common options:',
    '  --addr <host:port>  the node to ask, any member (default 127.0.0.1:8080; env CLUSTERKIT_ADDR)',
    '  --token, --tls, --ca, --cert, --key, --timeout: see clusterkit <command> --help',
    '  --json              print machine-readable JSON',
    '  --help, -h          show help (also: clusterkit <command> --help)',
    '  --version           print the version',
    '',
    'Examples:',
    '  clusterkit agent --node-id node-1 --http-addr 127.0.0.1:8080',
    '  clusterkit agent --node-id node-2 --http-addr 127.0.0.1:8081 --join-addr 127.0.0.1:8080',
    '  clusterkit status',
    '  clusterkit locate user:123 --addr 127.0.0.1:8081',
    '  clusterkit data set feature-x on && clusterkit data get feature-x',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const out = createOutput(argv.includes('--json'), io);
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    if (first === 'help' && rest[0] !== undefined && topic === undefined) {
      out.error(`unknown command ${JSON.stringify(rest[0])}; run 'clusterkit --help' for the list`);
      return ExitCode.Usage;
    }
    io.stdout.write(`${topic?.help ?? mainHelp()}\n`);
    return ExitCode.Ok;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  const command = commands.find((c) => c.name === first);
  if (command === undefined) {
    out.error(`unknown command ${JSON.stringify(first)}; run 'clusterkit --help' for the list`);
    return ExitCode.Usage;
  }
  // Options after `--` are arguments (a key may be "--help").
  const dashdash = rest.indexOf('--');
  const options = dashdash < 0 ? rest : rest.slice(0, dashdash);
  if (options.includes('--help') || options.includes('-h')) {
    io.stdout.write(`${command.help}\n`);
    return ExitCode.Ok;
  }
  try {
    return await command.run(rest, out);
  } catch (error) {
    return reportError(error, out);
  }
}

function reportError(error: unknown, out: Output): number {
  out.error(error instanceof Error ? error.message : String(error));
  return exitCodeFor(error);
}
