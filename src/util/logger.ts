/**
 * The logger ClusterKit writes to. A pino logger satisfies it as is; the default discards everything, so a library
 * user who passes nothing gets no output.
 */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => undefined;

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** Turns an unknown thrown value into something a structured log can carry. */
export function errorFields(error: unknown): { err: { message: string; code?: string; stack?: string } } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      err: {
        message: error.message,
        ...(typeof code === 'string' ? { code } : {}),
        ...(error.stack === undefined ? {} : { stack: error.stack }),
      },
    };
  }
  return { err: { message: String(error) } };
}
