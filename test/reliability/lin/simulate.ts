/**
 * Histories from a simulated atomic register map, for testing the checker: clients issue operations one after
 * the other with random gaps and durations; each takes effect atomically at a random instant inside its interval
 * (so the real order of effects is a linearization), against one global revision counter as in ClusterKit. Some
 * calls time out (unknown: applied or not, the caller cannot tell), some fail before taking effect.
 */
import type { Random } from '../../../src/util/io.js';
import type { KvInput, KvResult, Op } from './history.js';

export interface SimOptions {
  readonly clients: number;
  readonly keys: number;
  readonly opsPerClient: number;
  /** Share of calls whose outcome is unknown (half of them were applied). Default 0. */
  readonly unknownRate?: number;
  /** Share of calls that fail without effect. Default 0. */
  readonly failedRate?: number;
  /** Mix of operations (weights). Default get 4, set 3, delete 1, cas 2. */
  readonly mix?: { readonly get: number; readonly set: number; readonly delete: number; readonly cas: number };
  /** Longest call and longest pause between a client's calls, ms. Defaults 10 and 3. */
  readonly maxDurationMs?: number;
  readonly maxGapMs?: number;
  /** Record revisions and existed flags in results. Default true. */
  readonly revisions?: boolean;
  /** Values are drawn from this many distinct strings per key (0: every write is unique). Default 0. */
  readonly valueAlphabet?: number;
}

interface Planned {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly f: KvInput['f'];
  readonly start: number;
  readonly point: number;
  readonly end: number;
  readonly fate: 'ok' | 'unknown-applied' | 'unknown-lost' | 'failed';
  readonly neverReturned: boolean;
  readonly value: string;
}

function pick<T extends string>(rand: Random, weights: Readonly<Record<T, number>>): T {
  const entries = Object.entries(weights) as [T, number][];
  let x = rand.next() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return entries[entries.length - 1]![0];
}

export function simulateHistory(rand: Random, o: SimOptions): Op[] {
  const mix = o.mix ?? { get: 4, set: 3, delete: 1, cas: 2 };
  const maxDuration = o.maxDurationMs ?? 10;
  const maxGap = o.maxGapMs ?? 3;
  const unknownRate = o.unknownRate ?? 0;
  const failedRate = o.failedRate ?? 0;
  const planned: Planned[] = [];
  let id = 0;
  for (let c = 0; c < o.clients; c++) {
    let t = rand.next() * maxGap;
    for (let i = 0; i < o.opsPerClient; i++) {
      const start = t + rand.next() * maxGap;
      const duration = rand.next() * maxDuration;
      const end = start + duration;
      const x = rand.next();
      const fate =
        x < unknownRate / 2
          ? 'unknown-applied'
          : x < unknownRate
            ? 'unknown-lost'
            : x < unknownRate + failedRate
              ? 'failed'
              : 'ok';
      const key = `k${Math.floor(rand.next() * o.keys)}`;
      const alphabet = o.valueAlphabet ?? 0;
      const value = alphabet > 0 ? `v${Math.floor(rand.next() * alphabet)}` : `c${c}-${i}`;
      planned.push({
        id: id++,
        client: c,
        key,
        f: pick(rand, mix),
        start,
        point: start + rand.next() * duration,
        end,
        fate,
        neverReturned: fate.startsWith('unknown') && rand.next() < 0.5,
        value,
      });
      t = end;
    }
  }
  // Apply in the order of the instants at which the calls take effect.
  const store = new Map<string, { value: string; revision: number }>();
  const seenRevision = new Map<string, number>();
  let revision = 0;
  const results = new Map<number, { input: KvInput; result: KvResult }>();
  for (const p of [...planned].sort((a, b) => a.point - b.point)) {
    const clientKey = `${p.client}/${p.key}`;
    // A client's compare-and-set expects the revision it last saw (it has seen its earlier calls return).
    const input: KvInput =
      p.f === 'get' || p.f === 'delete'
        ? { f: p.f }
        : p.f === 'set'
          ? { f: 'set', value: p.value }
          : { f: 'cas', expectedRevision: seenRevision.get(clientKey) ?? 0, value: rand.next() < 0.2 ? null : p.value };
    const applied = p.fate === 'ok' || p.fate === 'unknown-applied';
    let result: KvResult = { status: 'ok' };
    if (applied) {
      const cur = store.get(p.key);
      switch (input.f) {
        case 'get':
          result =
            cur === undefined ? { status: 'not-found' } : { status: 'ok', value: cur.value, revision: cur.revision };
          break;
        case 'set':
          revision++;
          store.set(p.key, { value: input.value, revision });
          result = { status: 'ok', revision, existed: cur !== undefined };
          break;
        case 'delete':
          if (cur !== undefined) revision++;
          store.delete(p.key);
          result = { status: 'ok', existed: cur !== undefined };
          break;
        case 'cas':
          if ((cur?.revision ?? 0) !== input.expectedRevision) {
            result = { status: 'conflict', currentRevision: cur?.revision ?? 0 };
          } else if (input.value === null) {
            if (cur !== undefined) revision++;
            store.delete(p.key);
            result = { status: 'ok', revision: 0 };
          } else {
            revision++;
            store.set(p.key, { value: input.value, revision });
            result = { status: 'ok', revision };
          }
          break;
      }
    }
    if (p.fate === 'ok') {
      const seen =
        result.status === 'ok'
          ? result.revision
          : result.status === 'conflict'
            ? result.currentRevision
            : input.f === 'get'
              ? 0
              : undefined;
      if (seen !== undefined) seenRevision.set(clientKey, seen);
      if (input.f === 'delete') seenRevision.set(clientKey, 0);
    }
    if (p.fate === 'failed') result = { status: 'failed', error: 'refused' };
    else if (p.fate !== 'ok') result = { status: 'unknown', error: 'timeout' };
    if (o.revisions === false) result = withoutRevisions(result);
    results.set(p.id, { input, result });
  }
  return planned.map((p) => {
    const r = results.get(p.id)!;
    return {
      id: p.id,
      client: `c${p.client}`,
      key: p.key,
      input: r.input,
      start: p.start,
      end: p.neverReturned ? undefined : p.end,
      result: r.result,
    };
  });
}

function withoutRevisions(r: KvResult): KvResult {
  if (r.status === 'ok') return r.value === undefined ? { status: 'ok' } : { status: 'ok', value: r.value };
  if (r.status === 'conflict') return { status: 'conflict' };
  return r;
}
