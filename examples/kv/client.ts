/**
 * What the scenarios need from an example's client, whatever its routing: write a key, read it back. Each example
 * supplies a factory (examples/kv-*\/client.ts).
 */
import { ClusterKitError } from '../../src/index.js';
import { sleep } from './http.js';
import type { ClientSecurity } from './secure.js';

export interface KvClient {
  /** Resolves once the write is acknowledged as the example defines it; rejects otherwise. */
  put(key: string, value: string): Promise<void>;
  /** The value, or undefined when the key does not exist. */
  get(key: string): Promise<string | undefined>;
  /** Resolves once the client's background work (completing writes on every owner) is done. */
  flush(): Promise<void>;
  /** Counters worth printing (retries, table refreshes, ...). */
  counters(): Readonly<Record<string, number>>;
  close(): void;
}

/** Where a client can start from: the live nodes' coordination and KV addresses (current at each call). */
export interface ClientSeeds {
  httpAddrs(): readonly string[];
  kvAddrs(): readonly string[];
}

/**
 * Makes a client. `security`, for a secure cluster: https with the cluster's CA, and a read token (the clients that
 * route by themselves read `GET /cluster`, a read endpoint).
 */
export type ClientFactory = (seeds: ClientSeeds, security?: ClientSecurity) => Promise<KvClient>;

/** How long a client keeps retrying one operation (a failover takes the health checks' detection time). */
export const OPERATION_DEADLINE_MS = 20_000;

/**
 * Runs `attempt` until it returns a result (not undefined) or `deadlineMs` passes; `onRetry` is told each failed
 * attempt. The last error, if any, becomes the cause of the final failure.
 */
export async function withRetries<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  onRetry: () => void | Promise<void>,
  deadlineMs = OPERATION_DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let delay = 20;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await attempt();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof ClusterKitError && !err.retriable) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new ClusterKitError('ERR_TIMEOUT', `${what} did not succeed within ${deadlineMs} ms`, {
        retriable: true,
        cause: lastError,
      });
    }
    await onRetry();
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}
