/**
 * Validation of RaftOptions and their translation into the core's tick-based configuration. Anything nonsensical
 * is an InvalidArgumentError at construction time, never a surprise at run time.
 */
import { InvalidArgumentError } from '../../errors.js';
import { assertInteger, assertNonEmptyString } from '../../util/assert.js';
import type { RaftOptions } from '../api.js';
import { configurationProblem, findMember } from './config.js';
import type { CoreConfig } from './types.js';

export interface ResolvedOptions {
  readonly core: CoreConfig;
  readonly tickMs: number;
  readonly proposeTimeoutMs: number;
}

const MIB = 1024 * 1024;

function assertHasMethods(name: string, value: unknown, methods: readonly string[]): void {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(`${name} is required`);
  for (const m of methods) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function') {
      throw new InvalidArgumentError(`${name} must have a ${m}() method`);
    }
  }
}

function positiveMs(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds in (0, ${max}], got ${String(value)}`);
  }
  return value;
}

function optInt(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  assertInteger(name, v, min, max);
  return v;
}

function optBool(name: string, value: boolean | undefined, dflt: boolean): boolean {
  const v = value ?? dflt;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean`);
  return v;
}

export function resolveOptions<R>(options: RaftOptions<R>): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options are required');
  assertNonEmptyString('id', options.id);
  assertNonEmptyString('addr', options.addr, 1024);
  assertHasMethods('logStore', options.logStore, ['firstIndex', 'lastIndex', 'term', 'entries', 'append', 'compact']);
  assertHasMethods('stableStore', options.stableStore, ['load', 'save']);
  assertHasMethods('snapshotStore', options.snapshotStore, ['latest', 'save']);
  assertHasMethods('transport', options.transport, ['send', 'onMessage', 'onDrain']);
  assertHasMethods('stateMachine', options.stateMachine, ['apply', 'snapshot', 'restore']);
  assertHasMethods('clock', options.clock, ['now']);
  assertHasMethods('scheduler', options.scheduler, ['setTimeout']);
  assertHasMethods('random', options.random, ['next']);

  const t = options.timings ?? {};
  const tickMs = positiveMs('timings.tickMs', t.tickMs ?? 10, 60_000);
  const electionMs = positiveMs('timings.electionMs', t.electionMs ?? 300, 3_600_000);
  const heartbeatMs = positiveMs('timings.heartbeatMs', t.heartbeatMs ?? 50, 3_600_000);
  if (heartbeatMs >= electionMs) {
    throw new InvalidArgumentError(`timings.heartbeatMs (${heartbeatMs}) must be less than electionMs (${electionMs})`);
  }
  if (heartbeatMs < tickMs) {
    throw new InvalidArgumentError(`timings.heartbeatMs (${heartbeatMs}) must be at least tickMs (${tickMs})`);
  }
  const electionTicks = Math.round(electionMs / tickMs);
  const heartbeatTicks = Math.max(1, Math.round(heartbeatMs / tickMs));
  if (electionTicks < 2 || heartbeatTicks >= electionTicks) {
    throw new InvalidArgumentError(
      `timings must give at least 2 ticks per election timeout and fewer heartbeat ticks than election ticks ` +
        `(tickMs ${tickMs}, heartbeatMs ${heartbeatMs}, electionMs ${electionMs})`,
    );
  }

  const checkQuorum = optBool('checkQuorum', options.checkQuorum, true);
  const leaseReads = optBool('leaseReads', options.leaseReads, false);
  if (leaseReads && !checkQuorum) {
    throw new InvalidArgumentError('leaseReads needs checkQuorum: a leader must step down before its lease can lapse');
  }
  const maxEntriesPerMessage = optInt('maxEntriesPerMessage', options.maxEntriesPerMessage, 256, 1, 65_536);
  const maxBytesPerMessage = optInt('maxBytesPerMessage', options.maxBytesPerMessage, MIB, 1, 256 * MIB);
  const maxInflightMessages = optInt('maxInflightMessages', options.maxInflightMessages, 16, 1, 4096);
  const maxInflightBytes = optInt(
    'maxInflightBytes',
    options.maxInflightBytes,
    Math.min(maxInflightMessages * maxBytesPerMessage, 64 * MIB),
    1,
    Number.MAX_SAFE_INTEGER,
  );

  if (options.bootstrap !== undefined) {
    const problem = configurationProblem(options.bootstrap);
    if (problem !== null) throw new InvalidArgumentError(`bootstrap configuration is invalid: ${problem}`);
    if (findMember(options.bootstrap, options.id) === undefined) {
      throw new InvalidArgumentError(`bootstrap configuration must include this node (${options.id})`);
    }
  }

  const core: CoreConfig = {
    id: options.id,
    addr: options.addr,
    electionTicks,
    heartbeatTicks,
    preVote: optBool('preVote', options.preVote, true),
    checkQuorum,
    leaseReads,
    maxEntriesPerMessage,
    maxBytesPerMessage,
    maxInflightMessages,
    maxInflightBytes,
    maxUncommittedEntries: optInt(
      'maxUncommittedEntries',
      options.maxUncommittedEntries,
      Math.max(256, 4 * maxInflightMessages * maxEntriesPerMessage),
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    snapshotChunkBytes: optInt('snapshotChunkBytes', options.snapshotChunkBytes, 512 * 1024, 1, 64 * MIB),
    snapshotThreshold: optInt('snapshotThreshold', options.snapshotThreshold, 8192, 1, Number.MAX_SAFE_INTEGER),
    snapshotTrailing: optInt('snapshotTrailing', options.snapshotTrailing, 1024, 0, Number.MAX_SAFE_INTEGER),
    promoteLag: maxEntriesPerMessage,
    random: options.random,
  };
  const proposeTimeoutMs = positiveMs('proposeTimeoutMs', options.proposeTimeoutMs ?? 5000, 24 * 3_600_000);
  return { core, tickMs, proposeTimeoutMs };
}
