/**
 * Terminal output for the CLI: JSON for scripts, plain aligned text for people, colour only on a TTY that wants it.
 * Everything a command reads from or writes to its surroundings goes through `CliIo`, so tests run commands
 * in-process with captured output and their own environment.
 */
import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import type { Paint } from './render.js';

export interface CliIo {
  readonly stdout: { write(data: string | Uint8Array): unknown };
  readonly stderr: { write(data: string | Uint8Array): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => Buffer;
  /** Whether stdout wants colour (a colour terminal, NO_COLOR unset). */
  readonly colour: boolean;
}

export interface Output {
  readonly json: boolean;
  readonly io: CliIo;
  /** Prints a result: `value` as JSON with --json, otherwise the human text. */
  result(value: unknown, human: () => string): void;
  /** One-line error on stderr. */
  error(message: string): void;
  /** Colours a word when stdout is a colour terminal. */
  readonly paint: Paint;
}

type Style = Parameters<typeof styleText>[0];

function wantsColour(stream: NodeJS.WriteStream): boolean {
  // Node 20's styleText ignores NO_COLOR and TTY-ness by itself.
  return typeof stream.hasColors === 'function' && stream.hasColors() && process.env['NO_COLOR'] === undefined;
}

export function colour(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return wantsColour(stream) ? styleText(style, text) : text;
}

/** The real process: stdout, stderr, the environment and the file system. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readFile: (path) => readFileSync(path),
    colour: wantsColour(process.stdout),
  };
}

export function createOutput(json: boolean, io: CliIo = processIo()): Output {
  const paint: Paint = (style, text) => (io.colour ? styleText(style, text) : text);
  return {
    json,
    io,
    paint,
    result(value, human) {
      if (json) {
        io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
        return;
      }
      // An empty result (no keys) prints nothing rather than an empty line a script would read as an item.
      const text = human();
      if (text !== '') io.stdout.write(`${text}\n`);
    },
    error(message) {
      // One line, whatever the message holds.
      const line = message.replace(/\s*\n\s*/g, ' ');
      io.stderr.write(`error: ${line}\n`);
    },
  };
}

/** Formats rows as left-aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
