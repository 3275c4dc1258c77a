/**
 * What a KV node does with a client's PUT, GET and DELETE, in each of the three examples.
 *
 * - `server-side`: any node accepts any request. A node that is not the key's primary forwards it to the primary
 *   (at its `kv` service address); the primary stores the write, replicates it synchronously to the replicas and
 *   answers once a majority of the owners (itself included) has it, listing the replicas that acknowledged (a
 *   replica that missed the write gets it again in the background). Reads go to the primary; if it cannot be
 *   reached, to a replica.
 * - `sync`: a plain owner store. The client routes by itself and writes to every owner, stamping the write with a
 *   version; it succeeds when a majority acknowledges (the quorum logic lives in the client). A node that does not
 *   own the key answers 421 with the owners it knows, so the client refreshes its table.
 * - `async`: the client writes to the primary only; the primary stores the write, answers at once, and replicates
 *   to the replicas in the background (replicator.ts). Any owner serves reads.
 *
 * Every read waits (briefly) until the node holds a complete copy of the partition, so a node that has just gained
 * a partition never answers "not found" for a key it has not copied yet.
 */
import type { ClusterKit, Partition } from '../../src/index.js';
import { kvAddressOf } from './discovery.js';
import { type HttpClient, KvHttpError, sleep } from './http.js';
import type { DataMover } from './mover.js';
import type { AsyncReplicator } from './replicator.js';
import type { Entry, KvStore, VersionClock } from './store.js';

export type KvMode = 'sync' | 'async' | 'server-side';
export const KV_MODES: readonly KvMode[] = ['sync', 'async', 'server-side'];

export interface Reply {
  readonly status: number;
  readonly json: unknown;
}

export interface KvContext {
  readonly ck: ClusterKit;
  readonly me: string;
  readonly store: KvStore;
  readonly clock: VersionClock;
  readonly http: HttpClient;
  readonly mover: DataMover;
  /** Background delivery to replicas: kv-async's replication, kv-server-side's retries of missed writes. */
  readonly replicator: AsyncReplicator;
  readonly forwardDeadlineMs: number;
}

export interface ModeHandlers {
  /** `version`: a writer-supplied version (kv-sync clients), else the node stamps the write. */
  put(key: string, value: string, version: number | undefined, hops: number): Promise<Reply>;
  get(key: string, hops: number, localOnly: boolean): Promise<Reply>;
  del(key: string, version: number | undefined, hops: number): Promise<Reply>;
}

/** How long a read waits for a partition being copied to this node. */
const READY_WAIT_MS = 5000;
/** Forwarding stops after this many hops (nodes whose tables disagree for a moment could bounce a request). */
const MAX_HOPS = 3;

export function majority(owners: number): number {
  return Math.floor(owners / 2) + 1;
}

export function createMode(mode: KvMode, ctx: KvContext): ModeHandlers {
  switch (mode) {
    case 'server-side':
      return serverSide(ctx);
    case 'sync':
      return ownerStore(ctx, false);
    case 'async':
      return ownerStore(ctx, true);
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Shared pieces
// -----------------------------------------------------------------------------------------------------------------

function ownersOf(p: Partition): string[] {
  return p.primaryNode === '' ? [] : [p.primaryNode, ...p.replicaNodes];
}

function owns(ctx: KvContext, p: Partition): boolean {
  return p.primaryNode === ctx.me || p.replicaNodes.includes(ctx.me);
}

function notOwner(ctx: KvContext, p: Partition, reason: 'not_owner' | 'not_primary'): KvHttpError {
  return new KvHttpError(
    'ERR_UNAVAILABLE',
    `${ctx.me} is not ${reason === 'not_owner' ? 'an owner' : 'the primary'} of ${p.id}`,
    421,
    {
      reason,
      partition: p.id,
      primary: p.primaryNode,
      owners: ownersOf(p),
      table_version: p.tableVersion,
    },
  );
}

/** This node's copy of `key`, once the partition is complete here. */
async function readLocal(ctx: KvContext, p: Partition, key: string): Promise<Reply> {
  if (!(await ctx.mover.waitReady(p.index, READY_WAIT_MS))) {
    throw new KvHttpError('ERR_UNAVAILABLE', `${p.id} is still being copied to ${ctx.me}`, 503, { reason: 'syncing' });
  }
  const e = ctx.store.get(p.index, key);
  if (e === undefined || e.value === null) {
    throw new KvHttpError('ERR_NOT_FOUND', `key ${JSON.stringify(key)} not found`, 404, {
      key,
      partition: p.id,
      node: ctx.me,
      // A deletion's version, so a quorum reader can tell "deleted" from "never written here".
      ...(e === undefined ? {} : { version: e.version }),
    });
  }
  return { status: 200, json: { key, value: e.value, partition: p.id, node: ctx.me, version: e.version } };
}

function store(ctx: KvContext, p: Partition, key: string, entry: Entry): boolean {
  ctx.clock.observe(entry.version);
  return ctx.store.apply(p.index, key, entry);
}

/** Sends one write to each replica (POST /internal/apply); resolves with those that stored it (or had newer). */
async function replicateSync(ctx: KvContext, p: Partition, key: string, entry: Entry): Promise<string[]> {
  const body = { entries: [{ partition: p.index, key, value: entry.value, version: entry.version }] };
  const acked = await Promise.all(
    p.replicaNodes.map(async (id) => {
      // A replica whose table lags ours answers not_owner for a moment: a few quick retries.
      for (let attempt = 0; attempt < 5; attempt++) {
        const addr = kvAddressOf(ctx.ck, id);
        if (addr === undefined) return false;
        try {
          const r = await ctx.http.request(addr, 'POST', '/internal/apply', body, { timeoutMs: 2000 });
          const result = (r.body as { results?: unknown[] } | undefined)?.results?.[0];
          if (r.status === 200 && (result === 'applied' || result === 'stale')) return true;
          if (r.status !== 200 || result !== 'not_owner') return false;
        } catch {
          return false;
        }
        await sleep(20 * (attempt + 1));
      }
      return false;
    }),
  );
  return p.replicaNodes.filter((_, i) => acked[i]);
}

/**
 * Sends the request to `nodeId`'s KV server. Resolves with the reply to relay, or undefined when that node could
 * not answer usefully (unreachable, 5xx, or it disagrees about ownership: 421).
 */
async function relay(
  ctx: KvContext,
  nodeId: string,
  method: string,
  key: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Reply | undefined> {
  const addr = kvAddressOf(ctx.ck, nodeId);
  if (addr === undefined) return undefined;
  try {
    const r = await ctx.http.request(addr, method, `/kv/${encodeURIComponent(key)}`, body, { headers });
    if (r.status >= 500 || r.status === 421) return undefined;
    return { status: r.status, json: r.body };
  } catch {
    return undefined;
  }
}

/** Retries `attempt` with back-off until it yields a reply or the forwarding deadline passes. */
async function retrying(ctx: KvContext, what: string, attempt: () => Promise<Reply | undefined>): Promise<Reply> {
  const deadline = Date.now() + ctx.forwardDeadlineMs;
  let delay = 25;
  for (;;) {
    const reply = await attempt();
    if (reply !== undefined) return reply;
    if (Date.now() >= deadline) {
      throw new KvHttpError(
        'ERR_UNAVAILABLE',
        `${what}: no owner could be reached in ${ctx.forwardDeadlineMs} ms`,
        503,
        {
          reason: 'unreachable',
        },
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

// -----------------------------------------------------------------------------------------------------------------
// server-side
// -----------------------------------------------------------------------------------------------------------------

function serverSide(ctx: KvContext): ModeHandlers {
  /** The primary's write path: store, replicate synchronously, answer once a majority of owners has it. */
  const coordinate = async (p: Partition, key: string, value: string | null): Promise<Reply> => {
    const entry: Entry = { value, version: ctx.clock.next() };
    store(ctx, p, key, entry);
    const acked = await replicateSync(ctx, p, key, entry);
    // A replica that missed the write (slow, or dead and not yet removed) gets it later, in the background, for as
    // long as it owns the partition: otherwise it would lack an acknowledged write for good.
    const missed = p.replicaNodes.filter((id) => !acked.includes(id));
    if (missed.length > 0) ctx.replicator.enqueue(missed, p.index, key, entry);
    const owners = 1 + p.replicaNodes.length;
    if (1 + acked.length < majority(owners)) {
      throw new KvHttpError(
        'ERR_UNAVAILABLE',
        `only ${1 + acked.length} of ${owners} owners of ${p.id} stored the write (${majority(owners)} needed)`,
        503,
        { reason: 'quorum', primary: ctx.me, replicas: acked },
      );
    }
    return {
      status: 200,
      json: {
        key,
        partition: p.id,
        primary: ctx.me,
        replicas: acked,
        version: entry.version,
        ...(value === null ? { deleted: true } : {}),
      },
    };
  };

  const write = (method: 'PUT' | 'DELETE', key: string, value: string | null, hops: number): Promise<Reply> =>
    retrying(ctx, `${method} ${key}`, async () => {
      const p = ctx.ck.getPartition(key);
      if (p.primaryNode === ctx.me) {
        try {
          return await coordinate(p, key, value);
        } catch (err) {
          // A quorum failure may heal (a lagging replica catches up, a dead one is replaced): retried.
          if (err instanceof KvHttpError && err.details['reason'] === 'quorum') return undefined;
          throw err;
        }
      }
      if (hops >= MAX_HOPS) throw new KvHttpError('ERR_UNAVAILABLE', 'too many forwarding hops', 503);
      return relay(ctx, p.primaryNode, method, key, value === null ? undefined : { value }, {
        'x-kv-hops': String(hops + 1),
      });
    });

  return {
    put: (key, value, _version, hops) => write('PUT', key, value, hops),
    del: (key, _version, hops) => write('DELETE', key, null, hops),
    get: (key, hops, localOnly) =>
      retrying(ctx, `GET ${key}`, async () => {
        const p = ctx.ck.getPartition(key);
        if (p.primaryNode === ctx.me || (localOnly && owns(ctx, p))) return readLocal(ctx, p, key);
        if (localOnly) throw notOwner(ctx, p, 'not_owner');
        if (hops >= MAX_HOPS) throw new KvHttpError('ERR_UNAVAILABLE', 'too many forwarding hops', 503);
        const fromPrimary = await relay(ctx, p.primaryNode, 'GET', key, undefined, { 'x-kv-hops': String(hops + 1) });
        if (fromPrimary !== undefined) return fromPrimary;
        // The primary cannot be reached (it may have just died): a replica has every acknowledged write too.
        for (const r of p.replicaNodes) {
          if (r === ctx.me) return readLocal(ctx, p, key);
          const reply = await relay(ctx, r, 'GET', key, undefined, {
            'x-kv-hops': String(hops + 1),
            'x-kv-read': 'local',
          });
          if (reply !== undefined) return reply;
        }
        return undefined;
      }),
  };
}

// -----------------------------------------------------------------------------------------------------------------
// sync and async: the client routes
// -----------------------------------------------------------------------------------------------------------------

function ownerStore(ctx: KvContext, primaryFirst: boolean): ModeHandlers {
  const write = (key: string, value: string | null, version: number | undefined): Reply => {
    const p = ctx.ck.getPartition(key);
    if (primaryFirst ? p.primaryNode !== ctx.me : !owns(ctx, p)) {
      throw notOwner(ctx, p, primaryFirst ? 'not_primary' : 'not_owner');
    }
    const entry: Entry = { value, version: version ?? ctx.clock.next() };
    const applied = store(ctx, p, key, entry);
    if (primaryFirst) {
      // Acknowledged now; the replicas get it in the background.
      ctx.replicator.enqueue(p.replicaNodes, p.index, key, entry);
      return {
        status: 200,
        json: {
          key,
          partition: p.id,
          primary: ctx.me,
          replicas: [],
          queued: [...p.replicaNodes],
          version: entry.version,
        },
      };
    }
    return { status: 200, json: { key, partition: p.id, node: ctx.me, version: entry.version, applied } };
  };
  return {
    put: (key, value, version) => Promise.resolve(write(key, value, version)),
    del: (key, version) => Promise.resolve(write(key, null, version)),
    get: async (key) => {
      const p = ctx.ck.getPartition(key);
      if (!owns(ctx, p)) throw notOwner(ctx, p, 'not_owner');
      return readLocal(ctx, p, key);
    },
  };
}
