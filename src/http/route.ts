/**
 * What a handler module declares (`RouteDef`) and what a handler gets (`RequestContext`). Handlers are functions
 * from a context to a Reply: they never write to the response themselves, and throw HttpError or ClusterKitError
 * for every failure (the dispatcher turns those into error replies).
 */
import type { IncomingMessage } from 'node:http';
import type { Access, CallOptions, NodeApi } from './api.js';
import type { Reply } from './reply.js';
import type { Method } from './router.js';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly api: NodeApi;
  /** Percent-decoded path parameters. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  readonly remoteAddress: string | undefined;
  readonly limits: ContextLimits;
  /** Reads the raw body, at most `maxBytes` (413 beyond). */
  readBody(maxBytes: number): Promise<Buffer>;
  /**
   * Reads a JSON body (Content-Type absent or JSON, else 415), at most the JSON limit. `required: false` lets an
   * empty body stand for `undefined`.
   */
  readJson(required: boolean): Promise<unknown>;
  /** Calls a NodeApi method with CallOptions, answering 504 if it does not settle within the operation timeout. */
  call<T>(fn: (options: CallOptions) => Promise<T>): Promise<T>;
  /** With `?consistent=true`, waits for the NodeApi's read barrier; otherwise does nothing. */
  consistentRead(): Promise<void>;
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Counters of the HTTP layer itself (for the Go JSON metrics). */
  stats(): HttpStats;
  /** A redirect to the leader (307 with Location) or 503 when it is unknown. For ERR_NOT_LEADER outcomes. */
  notLeader(leaderId: string | undefined): Reply;
}

export interface ContextLimits {
  readonly maxJsonBytes: number;
  readonly maxValueBytes: number;
  readonly maxKeyLength: number;
  readonly retryAfterSeconds: number;
}

export interface HttpStats {
  /** Requests answered (any status). */
  readonly requests: number;
  /** Requests answered with a status ≥ 400. */
  readonly errors: number;
  readonly inFlight: number;
}

export interface RouteDef {
  readonly method: Method;
  readonly path: string;
  /** Who may call it: passed to the `authorize` hook (authentication plugs in there). */
  readonly access: Access;
  handle(ctx: RequestContext): Promise<Reply> | Reply;
}
