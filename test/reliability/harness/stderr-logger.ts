/** A pino-compatible logger writing info and above as lines on stderr (the harness keeps them in a log file). */
import type { Logger } from '../../../src/util/logger.js';

export function stderrLogger(bindings: Record<string, unknown>): Logger {
  const write =
    (level: string) =>
    (obj: object, msg?: string): void => {
      process.stderr.write(
        `${new Date().toISOString()} ${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...obj })}\n`,
      );
    };
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (b) => stderrLogger({ ...bindings, ...b }),
  };
}
