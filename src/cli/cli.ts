/**
 * The `clusterkit` command line. Sub-commands live in ./commands, one module each; this file only dispatches,
 * prints help and version, and turns errors into one-line messages and exit codes.
 */
import { ClusterKitError } from '../errors.js';
import { type Command, ExitCode } from './command.js';
import { locateCommand } from './commands/locate.js';
import { createOutput } from './output.js';
import { packageVersion } from './version.js';

const commands: readonly Command[] = [locateCommand];

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
    'Global options:',
    '  --json      print machine-readable JSON',
    '  --help, -h  show help (also: clusterkit <command> --help)',
    '  --version   print the version',
    '',
    'Examples:',
    '  clusterkit locate user:123',
    '  clusterkit locate user:123 --nodes node-1,node-2,node-3 --json',
    '',
    'Exit codes: 0 success, 1 the command failed, 2 bad command line.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput(json);
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(`${topic?.help ?? mainHelp()}\n`);
    return ExitCode.Ok;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  const command = commands.find((c) => c.name === first);
  if (command === undefined) {
    out.error(`unknown command ${JSON.stringify(first)}; run 'clusterkit --help' for the list`);
    return ExitCode.Usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return ExitCode.Ok;
  }
  try {
    return await command.run(rest, out);
  } catch (error) {
    return reportError(error, out);
  }
}

function reportError(error: unknown, out: ReturnType<typeof createOutput>): number {
  if (error instanceof ClusterKitError) {
    out.error(error.message);
    return error.code === 'ERR_INVALID_ARGUMENT' ? ExitCode.Usage : ExitCode.Failure;
  }
  // parseArgs throws TypeErrors with codes such as ERR_PARSE_ARGS_UNKNOWN_OPTION for a bad command line.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    out.error((error as Error).message);
    return ExitCode.Usage;
  }
  out.error(error instanceof Error ? error.message : String(error));
  return ExitCode.Failure;
}
