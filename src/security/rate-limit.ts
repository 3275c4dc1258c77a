/**
 * Token buckets keyed by client address: `burst` requests at once, then `perSecond` sustained. Memory is bounded:
 * at most `maxKeys` buckets, least recently used dropped first (a dropped bucket is a full one, which only ever
 * favours the client it belonged to, and only after `maxKeys` other clients were seen since).
 */
import type { Clock } from '../util/io.js';

export interface RateLimiterOptions {
  readonly perSecond: number;
  readonly burst: number;
  readonly clock: Clock;
  /** Most clients tracked at once. Default 10 000. */
  readonly maxKeys?: number;
}

const TOKEN_EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#perMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#clock = options.clock;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Takes one token for `key`: 0 when allowed, else the milliseconds until a token will be there. */
  take(key: string): number {
    const now = this.#clock.now();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + Math.max(0, now - b.at) * this.#perMs);
      b.at = now;
      this.#buckets.delete(key); // re-inserted below: the map's order is least recently used first
    }
    this.#buckets.set(key, b);
    // Tokens are fractions (elapsed × rate), and a client that waited exactly the time we named must get its token
    // even when the sum rounds to 0.9999…: a tolerance far below one request.
    if (b.tokens >= 1 - TOKEN_EPSILON) {
      b.tokens = Math.max(0, b.tokens - 1);
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.#perMs);
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#buckets.size;
  }
}
