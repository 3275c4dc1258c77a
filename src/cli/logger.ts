/**
 * The agent's logger: pino, JSON lines on stdout. Kept apart from agent.ts so that runAgent itself does not load
 * pino (an embedding harness brings its own logger, or none).
 */
import { pino } from 'pino';
import type { Logger } from '../util/logger.js';
import type { LogLevel } from './agent-config.js';

/** JSON lines on stdout, level names instead of numbers, ISO times. Synchronous, so nothing is lost at exit. */
export function agentLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 1, sync: true }),
  );
}
