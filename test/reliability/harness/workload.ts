/**
 * The clients: each is bound to one node and runs a closed loop of custom-data calls over that node's HTTP API
 * (the address it really listens on, not the proxy: clients are the application next to the node), recording
 * every call with its invocation and return time and what it returned (HistoryRecorder, for the linearizability
 * checker), and keeping a ledger of write-once keys for the durability checker.
 *
 * Calls: get (a linearizable read, ?consistent=true), set, delete, compare-and-set (If-Match on the revision the
 * client last saw, If-None-Match: * to create), over a small set of shared keys so that calls conflict; and
 * writes of fresh write-once keys (`dur/<client>/<n>`). Outcomes are read conservatively: a refused connection
 * never reached the node (failed); a timeout, a reset, a 5xx or a redirect may or may not have taken effect
 * (unknown).
 */
import { HistoryRecorder, type KvInput, type KvResult } from '../linearizability.js';
import { HttpFailure, type HttpResult, request } from './http.js';
import type { Rng } from './rng.js';

export interface WorkloadOptions {
  /** Shared keys (`k0` ... ). */
  readonly keys: number;
  /** Per call, ms: past it the outcome is unknown. */
  readonly timeoutMs: number;
  /** Pause between a client's calls, ms (uniform in [0, thinkMs]). */
  readonly thinkMs: number;
  /** Fraction of calls that write a fresh write-once key. */
  readonly durableFraction: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = { keys: 8, timeoutMs: 6000, thinkMs: 40, durableFraction: 0.15 };

export type DurableStatus = 'acked' | 'unknown' | 'failed';

export interface DurableWrite {
  readonly key: string;
  readonly value: string;
  status: DurableStatus;
  /** Monotonic ms of the acknowledgement. */
  ackedAt?: number;
}

export interface WorkloadStats {
  calls: number;
  ok: number;
  unknown: number;
  failed: number;
  durableAcked: number;
}

export class Workload {
  readonly recorder = new HistoryRecorder();
  readonly durable: DurableWrite[] = [];
  readonly stats: WorkloadStats = { calls: 0, ok: 0, unknown: 0, failed: 0, durableAcked: 0 };
  #running = false;
  readonly #loops: Promise<void>[] = [];
  /** Last revision each client saw per key (for its compare-and-sets). */
  readonly #seen = new Map<string, number>();
  #values = 0;

  constructor(
    private readonly o: WorkloadOptions,
    private readonly rng: Rng,
    /** The real port of a node now, or undefined while it is down. */
    private readonly portOf: (nodeId: string) => number | undefined,
  ) {}

  keyNames(): string[] {
    return Array.from({ length: this.o.keys }, (_, i) => `k${i}`);
  }

  /** Starts `perNode` clients on each of `nodes`. */
  start(nodes: readonly string[], perNode: number): void {
    this.#running = true;
    for (const node of nodes) {
      for (let c = 0; c < perNode; c++) this.#loops.push(this.#loop(`${node}/c${c}`, node));
    }
  }

  /** Adds clients on a node that joined later. */
  addClients(node: string, perNode: number): void {
    if (!this.#running) return;
    for (let c = 0; c < perNode; c++) this.#loops.push(this.#loop(`${node}/c${c}`, node));
  }

  /** Stops the loops and waits for the calls in flight (at most one timeout). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #loop(client: string, node: string): Promise<void> {
    let n = 0;
    while (this.#running) {
      const port = this.portOf(node);
      if (port === undefined) {
        await sleep(100);
        continue;
      }
      const roll = this.rng.next();
      if (roll < this.o.durableFraction) {
        await this.#durableWrite(client, port, n++);
      } else {
        const key = `k${this.rng.int(this.o.keys)}`;
        await this.call(client, port, key, this.#pickInput(client, key, roll));
      }
      if (this.o.thinkMs > 0) await sleep(this.rng.int(this.o.thinkMs + 1));
    }
  }

  #pickInput(client: string, key: string, roll: number): KvInput {
    const r = (roll - this.o.durableFraction) / (1 - this.o.durableFraction);
    if (r < 0.4) return { f: 'get' };
    if (r < 0.7) return { f: 'set', value: this.#freshValue(client) };
    if (r < 0.8) return { f: 'delete' };
    const expectedRevision = this.#seen.get(`${client} ${key}`) ?? 0;
    return { f: 'cas', expectedRevision, value: this.rng.next() < 0.2 ? null : this.#freshValue(client) };
  }

  #freshValue(client: string): string {
    return `${client}#${++this.#values}`;
  }

  /** One recorded call (also used for the final reads). */
  async call(client: string, port: number, key: string, input: KvInput): Promise<KvResult> {
    const pending = this.recorder.invoke(client, key, input);
    const t0 = performance.now();
    const result = await this.#http(port, key, input).catch((err: unknown) => errorResult(err));
    pending.complete(result);
    this.stats.calls++;
    if (result.status === 'unknown') this.stats.unknown++;
    else if (result.status === 'failed') this.stats.failed++;
    else this.stats.ok++;
    if (result.status === 'ok' && result.revision !== undefined) this.#seen.set(`${client} ${key}`, result.revision);
    if (result.status === 'not-found') this.#seen.set(`${client} ${key}`, 0);
    // The node is down, or answered at once that it cannot serve (no leader, disk full): do not spin.
    if (result.status === 'failed' || (result.status === 'unknown' && performance.now() - t0 < 1000)) await sleep(200);
    return result;
  }

  async #http(port: number, key: string, input: KvInput): Promise<KvResult> {
    const path = `/custom-data/${encodeURIComponent(key)}`;
    const t = this.o.timeoutMs;
    switch (input.f) {
      case 'get': {
        const r = await request(port, `${path}?consistent=true&format=raw`, { timeoutMs: t });
        if (r.status === 404) return { status: 'not-found' };
        if (r.status !== 200) return statusResult(r);
        const revision = revisionOf(r);
        return { status: 'ok', value: r.body.toString('utf8'), ...(revision === undefined ? {} : { revision }) };
      }
      case 'set': {
        const r = await request(port, path, { method: 'PUT', body: input.value, timeoutMs: t });
        if (r.status !== 200 && r.status !== 201) return statusResult(r);
        return { status: 'ok', ...writeOutcome(r) };
      }
      case 'delete': {
        const r = await request(port, path, { method: 'DELETE', timeoutMs: t });
        if (r.status !== 200) return statusResult(r);
        return { status: 'ok', ...writeOutcome(r) };
      }
      case 'cas': {
        const headers: Record<string, string> =
          input.expectedRevision === 0 ? { 'if-none-match': '*' } : { 'if-match': `"r${input.expectedRevision}"` };
        const r =
          input.value === null
            ? await request(port, path, { method: 'DELETE', headers, timeoutMs: t })
            : await request(port, path, { method: 'PUT', body: input.value, headers, timeoutMs: t });
        if (r.status === 412) return { status: 'conflict' };
        if (r.status !== 200 && r.status !== 201) return statusResult(r);
        const w = writeOutcome(r);
        return input.value === null ? { status: 'ok', revision: 0 } : { status: 'ok', ...w };
      }
    }
  }

  async #durableWrite(client: string, port: number, n: number): Promise<void> {
    const key = `dur/${client}/${n}`;
    const w: DurableWrite = { key, value: `${key}@${this.rng.int(1e9)}`, status: 'unknown' };
    this.durable.push(w);
    try {
      const r = await request(port, `/custom-data/${encodeURIComponent(key)}`, {
        method: 'PUT',
        body: w.value,
        timeoutMs: this.o.timeoutMs,
      });
      if (r.status === 200 || r.status === 201) {
        w.status = 'acked';
        w.ackedAt = performance.now();
        this.stats.durableAcked++;
      } else if (r.status === 400 || r.status === 413) {
        w.status = 'failed';
      }
    } catch (err) {
      if (err instanceof HttpFailure && !err.sent) {
        w.status = 'failed';
        await sleep(100);
      }
    }
  }
}

function revisionOf(r: HttpResult): number | undefined {
  const etag = r.headers.etag;
  const m = typeof etag === 'string' ? /^"r([0-9]+)/.exec(etag) : null;
  return m === null ? undefined : Number(m[1]);
}

function writeOutcome(r: HttpResult): { revision?: number; existed?: boolean } {
  try {
    const j = JSON.parse(r.body.toString('utf8')) as {
      data?: { revision?: number; created?: boolean; existed?: boolean };
    };
    const d = j.data ?? {};
    return {
      ...(typeof d.revision === 'number' ? { revision: d.revision } : {}),
      ...(typeof d.created === 'boolean' ? { existed: !d.created } : {}),
      ...(typeof d.existed === 'boolean' ? { existed: d.existed } : {}),
    };
  } catch {
    return {};
  }
}

/** A non-success answer: a 4xx refusal changed nothing; anything else (5xx, 3xx) may have. */
function statusResult(r: HttpResult): KvResult {
  const error = `HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`;
  if (r.status === 400 || r.status === 413 || r.status === 404 || r.status === 405) return { status: 'failed', error };
  return { status: 'unknown', error };
}

function errorResult(err: unknown): KvResult {
  const error = err instanceof Error ? err.message : String(err);
  if (err instanceof HttpFailure && !err.sent) return { status: 'failed', error };
  return { status: 'unknown', error };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
