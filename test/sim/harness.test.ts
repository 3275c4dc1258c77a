/** The harness's own building blocks: virtual time, randomness, the network and the disk. */
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MemoryLogStore } from '../../src/raft/storage/memory.js';
import { type Entry, EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { type DiskHooks, SimDisk } from './disk.js';
import { SimLoop } from './loop.js';
import { RELIABLE_NETWORK, SimNetwork } from './network.js';
import { Rng } from './rng.js';
import { Trace } from './trace.js';

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, type: EntryType.Command, data: new TextEncoder().encode(text) };
}

function vote(from: string, to: string, term: number): Message {
  return { type: MessageType.RequestVote, from, to, term, lastIndex: 0, lastTerm: 0, preVote: false, transfer: false };
}

function hooks(violations: string[] = []): DiskHooks {
  return {
    onContractViolation: (w) => violations.push(w),
    onEntry: () => {},
    lookupPrefix: () => undefined,
    onHardState: () => {},
  };
}

describe('SimLoop', () => {
  it('runs events by time, then by insertion order, and advances the clock to the deadline', async () => {
    const loop = new SimLoop(new Trace());
    const seen: string[] = [];
    loop.schedule(5, 'b', () => seen.push(`b@${loop.now()}`));
    loop.schedule(1, 'a', () => seen.push(`a@${loop.now()}`));
    loop.schedule(5, 'c', () => seen.push(`c@${loop.now()}`));
    const cancelled = loop.schedule(3, 'x', () => seen.push('x'));
    cancelled.cancel();
    await loop.runUntil(100);
    expect(seen).toEqual(['a@1', 'b@5', 'c@5']);
    expect(loop.now()).toBe(100);
  });

  it('holds a paused node events until resume and discards a dead incarnation events', async () => {
    const loop = new SimLoop(new Trace());
    loop.setLive('n1', 1);
    const seen: string[] = [];
    const v1 = loop.viewFor('n1', 1, () => {});
    v1.setTimeout(() => seen.push(`t1@${loop.now()}`), 10);
    v1.setTimeout(() => seen.push(`t2@${loop.now()}`), 20);
    loop.pause('n1');
    await loop.runUntil(50);
    expect(seen).toEqual([]);
    loop.resume('n1');
    await loop.runUntil(60);
    // Both fire late, at the resume time, in their original order.
    expect(seen).toEqual(['t1@50', 't2@50']);
    v1.setTimeout(() => seen.push('stale'), 5);
    loop.setDown('n1');
    loop.setLive('n1', 2);
    await loop.runUntil(100);
    expect(seen).toHaveLength(2);
  });

  it('lets promise continuations settle before the next event', async () => {
    const loop = new SimLoop(new Trace());
    const seen: string[] = [];
    loop.schedule(1, 'a', () => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push('a-continuation'));
    });
    loop.schedule(1, 'b', () => seen.push('b'));
    await loop.runUntil(10);
    expect(seen).toEqual(['a-continuation', 'b']);
  });
});

describe('Rng', () => {
  it('derives named streams that do not depend on one another', () => {
    const root = new Rng(42);
    const a1 = root.fork('a');
    const first = [a1.next(), a1.next(), a1.next()];
    const root2 = new Rng(42);
    const b = root2.fork('b');
    for (let i = 0; i < 100; i++) b.next();
    const a2 = root2.fork('a');
    expect([a2.next(), a2.next(), a2.next()]).toEqual(first);
    expect(new Rng(43).fork('a').next()).not.toBe(first[0]);
  });

  fcTest.prop([fc.integer(), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 50 })])(
    'int stays within its bounds',
    (seed, lo, span) => {
      const r = new Rng(seed);
      for (let i = 0; i < 20; i++) {
        const v = r.int(lo, lo + span);
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(lo + span);
      }
    },
  );
});

function network(config = RELIABLE_NETWORK) {
  const loop = new SimLoop(new Trace());
  const net = new SimNetwork(loop, new Rng(7).fork('net'), config);
  for (const id of ['a', 'b', 'c']) {
    net.register(id, `${id}:1`);
    loop.setLive(id, 1);
  }
  const got: Record<string, string[]> = { a: [], b: [], c: [] };
  const transports = Object.fromEntries(
    ['a', 'b', 'c'].map((id) => {
      const t = net.open(id, 1);
      t.onMessage((m) => got[id]?.push(`${m.from}:${m.term}`));
      return [id, t];
    }),
  );
  return { loop, net, got, t: transports as Record<'a' | 'b' | 'c', ReturnType<SimNetwork['open']>> };
}

describe('SimNetwork', () => {
  it('delivers in order on a FIFO link and clones messages', async () => {
    const { loop, got, t } = network();
    const m = vote('a', 'b', 1);
    for (let i = 1; i <= 20; i++) t.a.send('b:1', { ...m, term: i });
    await loop.runUntil(100);
    expect(got.b).toEqual(Array.from({ length: 20 }, (_, i) => `a:${i + 1}`));
  });

  it('cuts partitions in the directions asked and heals them', async () => {
    const { loop, net, got, t } = network();
    const healOneWay = net.blockAll([['a', 'b']]);
    t.a.send('b:1', vote('a', 'b', 1));
    t.b.send('a:1', vote('b', 'a', 2));
    const healBridge = net.bridge(['a'], ['c']);
    t.a.send('c:1', vote('a', 'c', 3));
    t.b.send('c:1', vote('b', 'c', 4));
    await loop.runUntil(50);
    expect(got).toEqual({ a: ['b:2'], b: [], c: ['b:4'] });
    healOneWay();
    healBridge();
    t.a.send('b:1', vote('a', 'b', 5));
    t.a.send('c:1', vote('a', 'c', 6));
    await loop.runUntil(100);
    expect(got.b).toEqual(['a:5']);
    expect(got.c).toEqual(['b:4', 'a:6']);
  });

  it('drops messages cut while in flight, to crashed nodes, and holds them for paused nodes', async () => {
    const { loop, net, got, t } = network();
    t.a.send('b:1', vote('a', 'b', 1));
    const heal = net.isolate('b');
    await loop.runUntil(20);
    heal();
    loop.pause('c');
    t.a.send('c:1', vote('a', 'c', 2));
    net.close('b');
    t.a.send('b:1', vote('a', 'b', 3));
    await loop.runUntil(40);
    expect(got.b).toEqual([]);
    expect(got.c).toEqual([]);
    loop.resume('c');
    await loop.runUntil(41);
    expect(got.c).toEqual(['a:2']);
  });

  it('loses and duplicates at the configured rates', async () => {
    const { loop, got, t } = network({ ...RELIABLE_NETWORK, lossRate: 0.3, dupRate: 0.2 });
    for (let i = 0; i < 2000; i++) t.a.send('b:1', vote('a', 'b', i));
    await loop.runUntil(1000);
    const n = got.b?.length ?? 0;
    // Expected 2000 * 0.7 * 1.2 = 1680.
    expect(n).toBeGreaterThan(1550);
    expect(n).toBeLessThan(1800);
    expect(new Set(got.b).size).toBeLessThan(n);
  });

  it('signals congestion and calls the drain handler when the link empties', async () => {
    const { loop, t } = network({ ...RELIABLE_NETWORK, highWater: 3, lowWater: 1 });
    const drained: string[] = [];
    t.a.onDrain((peer) => drained.push(peer));
    const results = [1, 2, 3, 4].map((i) => t.a.send('b:1', vote('a', 'b', i)));
    expect(results).toEqual([true, true, false, false]);
    await loop.runUntil(100);
    expect(drained).toEqual(['b']);
  });
});

describe('SimDisk', () => {
  function disk(violations: string[] = []) {
    const loop = new SimLoop(new Trace());
    loop.setLive('n1', 1);
    const d = new SimDisk('n1', loop, new Rng(1).fork('disk'), hooks(violations), { minLatencyMs: 1, maxLatencyMs: 2 });
    return { loop, d, views: d.open(1) };
  }

  it('makes writes visible at once and durable only when they resolve', async () => {
    const { loop, d, views } = disk();
    let done = false;
    const p = views.logStore.append([entry(1, 1), entry(2, 1)]).then(() => {
      done = true;
    });
    expect(views.logStore.lastIndex()).toBe(2);
    expect(d.durableLog.lastIndex()).toBe(0);
    await loop.runUntil(10);
    await p;
    expect(done).toBe(true);
    expect(d.durableLog.lastIndex()).toBe(2);
  });

  it('loses or tears in-flight writes on a crash and reopens from the durable image', async () => {
    const { loop, d, views } = disk();
    await Promise.all([views.logStore.append([entry(1, 1)]), loop.runUntil(10)]);
    void views.logStore.append([entry(2, 1), entry(3, 1), entry(4, 1), entry(5, 1)]);
    void views.stableStore.save({ term: 2, votedFor: 'n1' });
    const report = d.crash({ completeRate: 0, tearRate: 1 });
    expect(report).toEqual({ completed: 0, torn: 1, lost: 1 });
    const kept = d.durableLog.lastIndex();
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThanOrEqual(4);
    const again = d.open(2);
    expect(again.logStore.lastIndex()).toBe(kept);
    expect(again.stableStore.load()).toEqual({ term: 0, votedFor: null });
    // The dead incarnation's stores accept nothing any more.
    let settled = false;
    void views.logStore.append([entry(kept + 1, 1)]).then(() => {
      settled = true;
    });
    await loop.runUntil(100);
    expect(settled).toBe(false);
    expect(d.durableLog.lastIndex()).toBe(kept);
  });

  it('reports two writes in flight on one store as a contract violation', async () => {
    const violations: string[] = [];
    const { loop, views } = disk(violations);
    void views.logStore.append([entry(1, 1)]);
    void views.logStore.append([entry(2, 1)]);
    await loop.runUntil(10);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('two LogStore writes in flight');
  });

  type Op =
    | { kind: 'append'; from: number; n: number; term: number }
    | { kind: 'compact'; back: number; same: boolean };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      from: fc.integer({ min: 0, max: 6 }),
      n: fc.integer({ min: 1, max: 4 }),
      term: fc.integer({ min: 1, max: 5 }),
    }),
    fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 6 }), same: fc.boolean() }),
  );

  fcTest.prop([fc.array(op, { maxLength: 30 })])('behaves like MemoryLogStore when nothing crashes', async (ops) => {
    const { loop, views } = disk();
    const sim = views.logStore;
    const mem = new MemoryLogStore();
    for (const o of ops) {
      if (o.kind === 'append') {
        const start = Math.max(sim.firstIndex(), sim.lastIndex() + 1 - o.from);
        const es = Array.from({ length: o.n }, (_, i) => entry(start + i, o.term));
        await Promise.all([sim.append(es), mem.append(es), loop.runUntil(loop.now() + 10)]);
      } else {
        const index = Math.max(0, sim.lastIndex() - o.back);
        const term = o.same ? (sim.term(index) ?? 0) : 99;
        await Promise.all([sim.compact(index, term), mem.compact(index, term), loop.runUntil(loop.now() + 10)]);
      }
      expect([sim.firstIndex(), sim.lastIndex()]).toEqual([mem.firstIndex(), mem.lastIndex()]);
      for (let i = sim.firstIndex(); i <= sim.lastIndex(); i++) expect(sim.term(i)).toBe(mem.term(i));
      if (sim.lastIndex() >= sim.firstIndex()) {
        expect(sim.entries(sim.firstIndex(), sim.lastIndex() + 1, 3).length).toBe(
          mem.entries(mem.firstIndex(), mem.lastIndex() + 1, 3).length,
        );
      }
    }
  });
});
