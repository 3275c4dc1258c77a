import { describe, expect, it } from 'vitest';
import { HookDispatcher } from '../../src/cluster/hooks.js';
import type { Logger } from '../../src/util/logger.js';

interface Events {
  change: { id: number; list: number[] };
  other: string;
}

function recordingLogger(): Logger & { errors: object[] } {
  const errors: object[] = [];
  const l: Logger & { errors: object[] } = {
    errors,
    trace() {},
    debug() {},
    info() {},
    warn() {},
    error(obj) {
      errors.push(obj);
    },
    child: () => l,
  };
  return l;
}

describe('HookDispatcher', () => {
  it('never runs hooks synchronously inside emit', async () => {
    const d = new HookDispatcher<Events>();
    const seen: number[] = [];
    d.on('change', (e) => {
      seen.push(e.id);
    });
    d.emit('change', { id: 1, list: [] });
    expect(seen).toEqual([]);
    await d.idle();
    expect(seen).toEqual([1]);
  });

  it('starts hooks in emit order and caps concurrency', async () => {
    const d = new HookDispatcher<Events>({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    d.on('change', async (e) => {
      started.push(e.id);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running -= 1;
    });
    for (let i = 0; i < 20; i++) d.emit('change', { id: i, list: [] });
    await d.idle();
    expect(started).toEqual([...Array(20).keys()]);
    expect(peak).toBe(3);
    expect(d.stats().runs).toBe(20);
  });

  it('refuses idle() from inside its own hook (it would wait for itself), and still waits for hooks from outside', async () => {
    const d = new HookDispatcher<Events>();
    const other = new HookDispatcher<Events>();
    const outcomes: string[] = [];
    d.on('change', async () => {
      await new Promise((r) => setImmediate(r)); // still inside the hook after an await
      await d.idle().then(
        () => outcomes.push('resolved'),
        (err: unknown) => outcomes.push(`rejected ${(err as { code?: string }).code}`),
      );
      await other.idle(); // another dispatcher's idle is fine
      outcomes.push('other idle');
    });
    d.emit('change', { id: 1, list: [] });
    await d.idle(); // from outside: waits for the hook, which finished instead of hanging
    expect(outcomes).toEqual(['rejected ERR_CONFLICT', 'other idle']);
    expect(d.stats()).toMatchObject({ runs: 1, errors: 0, running: 0 });
    await expect(d.idle()).resolves.toBeUndefined();
  });

  it('isolates failing hooks: logged, counted, others still run', async () => {
    const logger = recordingLogger();
    const d = new HookDispatcher<Events>({ logger });
    const ok: string[] = [];
    d.on('other', () => {
      throw new Error('sync boom');
    });
    d.on('other', async () => Promise.reject(new Error('async boom')));
    d.on('other', (s) => {
      ok.push(s);
    });
    d.emit('other', 'x');
    await d.idle();
    expect(ok).toEqual(['x']);
    const stats = d.stats();
    expect(stats.errors).toBe(2);
    expect(stats.byEvent.other).toEqual({ runs: 3, errors: 2 });
    expect(logger.errors).toHaveLength(2);
  });

  it('gives every hook its own copy of the event', async () => {
    const d = new HookDispatcher<Events>();
    const lists: number[][] = [];
    d.on('change', (e) => {
      e.list.push(99);
      lists.push(e.list);
    });
    d.on('change', (e) => {
      lists.push(e.list);
    });
    const payload = { id: 1, list: [1] };
    d.emit('change', payload);
    await d.idle();
    expect(payload.list).toEqual([1]);
    expect(lists).toContainEqual([1]);
    expect(lists).toContainEqual([1, 99]);
  });

  it('unsubscribes', async () => {
    const d = new HookDispatcher<Events>();
    let n = 0;
    const off = d.on('other', () => {
      n += 1;
    });
    d.emit('other', 'a');
    await d.idle();
    off();
    d.emit('other', 'b');
    await d.idle();
    expect(n).toBe(1);
    expect(d.listenerCount('other')).toBe(0);
  });
});
