/**
 * The node's bounded event log (src/cluster/event-log.ts), against a reference model: whatever the sequence of
 * events and capacities, a read returns exactly the retained events after the cursor (or the newest ones), in
 * sequence order, filtered and limited, and says `truncated` exactly when an event after the cursor was evicted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DETAIL_EVENT_TYPES, EventLog, toEntry } from '../../src/cluster/event-log.js';
import type { ClusterHealthEvent } from '../../src/cluster/health.js';
import type { ClusterEventEntry } from '../../src/http/api.js';
import { fakeEvent, nodeRecord } from './event-fixtures.js';

const TYPES = ['nodeJoin', 'nodeLeave', 'rebalanceComplete', 'partitionChange', 'partitionDrop', 'customDataChange'];

describe('toEntry', () => {
  it('keeps every field but type, index and timestamp; node records become ids', () => {
    const e = toEntry(
      7,
      fakeEvent('partitionChange', 12, {
        partitionId: 'partition-3',
        copyFromNodes: [nodeRecord('node-1'), nodeRecord('node-2')],
        copyToNode: nodeRecord('node-4'),
        needsCopy: true,
      }),
    );
    expect(e).toEqual({
      seq: 7,
      type: 'partitionChange',
      at: 1_700_000_000_012,
      index: 12,
      data: {
        node: 'node-12',
        partitionId: 'partition-3',
        copyFromNodes: ['node-1', 'node-2'],
        copyToNode: 'node-4',
        needsCopy: true,
      },
    });
    expect(Object.isFrozen(e) && Object.isFrozen(e.data)).toBe(true);
  });

  it('a health change has no Raft index', () => {
    const health: ClusterHealthEvent = {
      type: 'clusterHealthChange',
      status: 'degraded',
      previousStatus: 'healthy',
      healthyNodes: 2,
      unhealthyNodes: 1,
      totalNodes: 3,
      unhealthyNodeIds: ['node-3'],
      reasons: ['1 node(s) unhealthy: node-3'],
      timestamp: 5,
    };
    const e = toEntry(1, health);
    expect(e.index).toBeUndefined();
    expect(e.at).toBe(5);
    expect(e.data).toMatchObject({ status: 'degraded', unhealthyNodeIds: ['node-3'] });
  });
});

describe('EventLog', () => {
  it('matches the reference model for any events, capacities, cursors, limits and filters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom(...TYPES), { maxLength: 40 }),
        fc.array(
          fc.record({
            after: fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined }),
            limit: fc.integer({ min: 0, max: 12 }),
            types: fc.option(fc.subarray(TYPES, { minLength: 1 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (majorCapacity, detailCapacity, types, reads) => {
          const log = new EventLog({ logId: 'l1', majorCapacity, detailCapacity });
          const all: ClusterEventEntry[] = [];
          types.forEach((t, i) => {
            log.record(fakeEvent(t, i + 1));
            all.push(toEntry(i + 1, fakeEvent(t, i + 1)));
          });
          const majors = all.filter((e) => !DETAIL_EVENT_TYPES.has(e.type));
          const details = all.filter((e) => DETAIL_EVENT_TYPES.has(e.type));
          const kept = [...majors.slice(-majorCapacity), ...details.slice(-detailCapacity)].sort(
            (a, b) => a.seq - b.seq,
          );
          const keptSeqs = new Set(kept.map((e) => e.seq));
          for (const r of reads) {
            const filter = r.types === undefined ? undefined : new Set(r.types);
            const page = log.read(r.after, r.limit, filter);
            const match = kept.filter((e) => filter === undefined || filter.has(e.type));
            const want =
              r.after === undefined
                ? match.slice(Math.max(0, match.length - r.limit))
                : match.filter((e) => e.seq > r.after!).slice(0, r.limit);
            expect(page.events.map((e) => e.seq)).toEqual(want.map((e) => e.seq));
            expect(page.lastSeq).toBe(all.length);
            expect(page.logId).toBe('l1');
            const evictedAfter = r.after !== undefined && all.some((e) => e.seq > r.after! && !keptSeqs.has(e.seq));
            expect(page.truncated).toBe(evictedAfter);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands new entries to subscribers in order; a throwing subscriber is dropped and reported', () => {
    const errors: unknown[] = [];
    const log = new EventLog({ logId: 'l1', onError: (e) => errors.push(e) });
    const seen: number[] = [];
    const unsubscribe = log.subscribe({ event: (e) => seen.push(e.seq), close: () => undefined });
    log.subscribe({
      event: () => {
        throw new Error('boom');
      },
      close: () => undefined,
    });
    log.record(fakeEvent('nodeJoin', 1));
    log.record(fakeEvent('nodeJoin', 2));
    expect(seen).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    expect(log.subscribers).toBe(1);
    unsubscribe();
    log.record(fakeEvent('nodeJoin', 3));
    expect(seen).toEqual([1, 2]);
  });

  it('close() tells every subscriber once, records nothing more, and closes late subscribers at once', () => {
    const log = new EventLog({ logId: 'l1' });
    let closes = 0;
    log.subscribe({ event: () => undefined, close: () => closes++ });
    log.record(fakeEvent('nodeJoin', 1));
    log.close();
    log.close();
    expect(closes).toBe(1);
    expect(log.closed).toBe(true);
    log.record(fakeEvent('nodeJoin', 2));
    expect(log.read(0, 10).events).toHaveLength(1);
    log.subscribe({ event: () => undefined, close: () => closes++ });
    expect(closes).toBe(2);
    expect(log.subscribers).toBe(0);
  });

  it('refuses capacities that are not positive integers', () => {
    expect(() => new EventLog({ logId: 'x', majorCapacity: 0 })).toThrow(RangeError);
    expect(() => new EventLog({ logId: 'x', detailCapacity: 1.5 })).toThrow(RangeError);
  });
});
