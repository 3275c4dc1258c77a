/**
 * One error base class for everything ClusterKit throws or rejects with.
 *
 * `code` is a stable string callers may switch on (it never changes between versions); `retriable` says whether
 * the same call may succeed if simply tried again later (a lost leader, a timeout), as opposed to a caller mistake
 * (bad input) or a broken node (corrupt storage). `instanceof` works across duplicate copies of the package because
 * it is keyed on a global symbol, not on the class identity.
 */

const BRAND = Symbol.for('clusterkit.error');

export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_NOT_LEADER'
  | 'ERR_TIMEOUT'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_STORAGE_CORRUPT'
  | 'ERR_STORAGE_IO'
  | 'ERR_PROTOCOL'
  | 'ERR_TRANSPORT'
  | 'ERR_UNAVAILABLE'
  | 'ERR_MEMBERSHIP'
  | 'ERR_INTERNAL';

export interface ClusterKitErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class ClusterKitError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: ClusterKitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterKitError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](this: abstract new (...args: never[]) => unknown, value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    // The ordinary prototype-chain check first; then, for errors from another copy of the package, the brand
    // (and, for subclasses, the class name, since a brand alone would make every ClusterKitError an instance of
    // every subclass: this method is inherited).
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
    return this === ClusterKitError || (value as { name?: unknown }).name === this.name;
  }
}

/** Bad input to an API: never retriable, and guaranteed to have changed nothing. */
export class InvalidArgumentError extends ClusterKitError {
  constructor(message: string, options: ClusterKitErrorOptions = {}) {
    super('ERR_INVALID_ARGUMENT', message, { ...options, retriable: false });
    this.name = 'InvalidArgumentError';
  }
}

/** The operation needs the Raft leader and this node is not it. Carries where the leader is, when known. */
export class NotLeaderError extends ClusterKitError {
  readonly leaderId: string | undefined;
  readonly leaderAddr: string | undefined;

  constructor(leaderId?: string, leaderAddr?: string, options: ClusterKitErrorOptions = {}) {
    super(
      'ERR_NOT_LEADER',
      leaderId === undefined ? 'not the leader, and no leader is known' : `not the leader; the leader is ${leaderId}`,
      { ...options, retriable: true },
    );
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
    this.leaderAddr = leaderAddr;
  }
}

export class TimeoutError extends ClusterKitError {
  constructor(message: string, options: ClusterKitErrorOptions = {}) {
    super('ERR_TIMEOUT', message, { ...options, retriable: true });
    this.name = 'TimeoutError';
  }
}

export class ShuttingDownError extends ClusterKitError {
  constructor(message = 'the node is shutting down', options: ClusterKitErrorOptions = {}) {
    super('ERR_SHUTTING_DOWN', message, { ...options, retriable: true });
    this.name = 'ShuttingDownError';
  }
}

/** Stored state failed validation. Names the file and byte offset so an operator can act. */
export class StorageCorruptError extends ClusterKitError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, detail: string, options: ClusterKitErrorOptions = {}) {
    super('ERR_STORAGE_CORRUPT', `corrupt data in ${file} at offset ${offset}: ${detail}`, {
      ...options,
      retriable: false,
    });
    this.name = 'StorageCorruptError';
    this.file = file;
    this.offset = offset;
  }
}
