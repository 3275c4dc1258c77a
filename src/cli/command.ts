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

/** Exit codes scripts can rely on. */
export const ExitCode = {
  Ok: 0,
  /** The command ran but failed (node unreachable, not found, refused). */
  Failure: 1,
  /** The command line was wrong (unknown command or option, bad value). */
  Usage: 2,
} as const;
