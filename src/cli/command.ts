import { ClusterKitError } from '../errors.js';
import type { Output } from './output.js';

/** One CLI sub-command. `run` returns the process exit code. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full --help text: usage, options and examples. */
  readonly help: string;
  run(argv: readonly string[], out: Output): Promise<number> | number;
}

/** Exit codes scripts can rely on (documented in `clusterkit --help` and docs/CLI.md). */
export const ExitCode = {
  Ok: 0,
  /** The command ran but failed: refused by the cluster, no leader, a server error, an unexpected answer. */
  Failure: 1,
  /** The command line was wrong (unknown command or option, bad value), or the node refused a value as invalid. */
  Usage: 2,
  /** The node could not be reached: connection refused, unknown host, TLS failure, no answer in time. */
  Unreachable: 3,
  /** What was asked for does not exist: a custom data key, a node. */
  NotFound: 4,
  /** A conditional write lost: the key changed since the revision given (--if-revision, --create-only). */
  Conflict: 5,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the operation failed (refused by the cluster, no leader, server error)
  2  bad command line, or a value the node refused as invalid
  3  node unreachable (connection refused, unknown host, TLS failure, timeout)
  4  not found (custom data key, node)
  5  conflict: a conditional write lost (--if-revision, --create-only)`;

/** The exit code for an error a command threw. */
export function exitCodeFor(error: unknown): number {
  const explicit = (error as { exitCode?: unknown } | null)?.exitCode;
  if (typeof explicit === 'number') return explicit;
  if (error instanceof ClusterKitError) {
    switch (error.code) {
      case 'ERR_INVALID_ARGUMENT':
        return ExitCode.Usage;
      case 'ERR_NOT_FOUND':
        return ExitCode.NotFound;
      case 'ERR_CONFLICT':
        return ExitCode.Conflict;
      case 'ERR_TRANSPORT':
        return ExitCode.Unreachable;
      default:
        return ExitCode.Failure;
    }
  }
  // parseArgs throws TypeErrors with codes such as ERR_PARSE_ARGS_UNKNOWN_OPTION for a bad command line.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return ExitCode.Usage;
  return ExitCode.Failure;
}
