/**
 * Terminal output for the CLI: JSON for scripts, plain aligned text for people, colour only on a TTY that wants it.
 */
import { styleText } from 'node:util';

export interface Output {
  readonly json: boolean;
  /** Prints a result: `value` as JSON with --json, otherwise the human text. */
  result(value: unknown, human: () => string): void;
  /** One-line error on stderr. */
  error(message: string): void;
}

type Style = Parameters<typeof styleText>[0];

export function colour(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  // Node 20's styleText ignores NO_COLOR and TTY-ness by itself.
  const wants = typeof stream.hasColors === 'function' && stream.hasColors() && process.env.NO_COLOR === undefined;
  return wants ? styleText(style, text) : text;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
    error(message) {
      process.stderr.write(`${colour('red', 'error:', process.stderr)} ${message}\n`);
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
