/**
 * Secrets that must never leak: the cluster secret and the HTTP bearer tokens.
 *
 * - `ClusterSecret` keeps the secret only as HKDF-derived keys (one per purpose), in a private field. It prints as
 *   `[redacted]` through JSON.stringify, String() and util.inspect, so a logger or an error that captures an options
 *   object cannot reveal it.
 * - `TokenSet` keeps only SHA-256 digests of the tokens and compares digests in constant time, so neither the
 *   tokens nor their length leak through memory dumps or timing.
 * - `mac` is HMAC-SHA256 over length-prefixed parts: ("ab","c") and ("a","bc") can never collide.
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';
/** Shortest accepted cluster secret or token, in bytes (UTF-8): 128 bits if they are random. */
export const MIN_SECRET_BYTES = 16;
/** Longest accepted cluster secret or token, in bytes. */
export const MAX_SECRET_BYTES = 4096;

/** HMAC-SHA256 of `parts`, each prefixed with its length so that boundaries are part of the message. */
export function mac(key: Uint8Array, ...parts: readonly (string | Uint8Array)[]): Buffer {
  const h = createHmac('sha256', key);
  const len = Buffer.alloc(4);
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    len.writeUInt32BE(bytes.length, 0);
    h.update(len);
    h.update(bytes);
  }
  return h.digest();
}

/** Constant-time equality for equal lengths; different lengths are unequal (their lengths are public anyway). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The cluster secret, and during a rotation the other secrets still (or already) accepted: proofs and signatures
 * use the first; checks accept any of them.
 */
export class ClusterSecret {
  readonly #masters: readonly Buffer[];
  readonly #derived = new Map<string, readonly Buffer[]>();

  private constructor(masters: readonly Buffer[]) {
    this.#masters = masters;
  }

  /** Wraps secret strings, the one to prove with first. The caller has validated them (see security/options.ts). */
  static fromStrings(primary: string, ...accepted: readonly string[]): ClusterSecret {
    return new ClusterSecret([primary, ...accepted].map((s) => Buffer.from(s, 'utf8')));
  }

  /** Wraps one secret string. */
  static fromString(secret: string): ClusterSecret {
    return ClusterSecret.fromStrings(secret);
  }

  /** The 32-byte key for one purpose (HKDF-SHA256) from the secret to prove with. Purposes are independent. */
  key(purpose: string): Buffer {
    return this.keys(purpose)[0]!;
  }

  /** The keys for one purpose of every accepted secret, the one to prove with first. */
  keys(purpose: string): readonly Buffer[] {
    let k = this.#derived.get(purpose);
    if (k === undefined) {
      k = this.#masters.map((m) => Buffer.from(hkdfSync('sha256', m, 'clusterkit', `clusterkit/${purpose}`, 32)));
      this.#derived.set(purpose, k);
    }
    return k;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `ClusterSecret ${REDACTED}`;
  }
}

/** A set of bearer tokens, stored as digests. */
export class TokenSet {
  readonly #digests: readonly Buffer[];

  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map((t) => sha256(t));
  }

  get size(): number {
    return this.#digests.length;
  }

  /** Whether `token` is one of the set; compares every entry in constant time. */
  has(token: string): boolean {
    const d = sha256(token);
    let found = false;
    for (const x of this.#digests) found = timingSafeEqual(d, x) || found;
    return found;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `TokenSet(${this.#digests.length}) ${REDACTED}`;
  }
}
