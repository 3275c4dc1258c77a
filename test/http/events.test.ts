/**
 * `GET /events` and `GET /events/stream` against a FakeNode with a real EventLog: JSON shapes, cursors, filters,
 * truncation, server-sent events (replay, resume by Last-Event-ID, heartbeats, end on close, slow clients, the
 * stream limit), and their absence when the node has no event log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/cluster/event-log.js';
import { MAX_EVENT_STREAMS, MAX_STREAM_BUFFER_BYTES, STREAM_HEARTBEAT_MS } from '../../src/http/handlers/events.js';
import {
  type EventServer,
  FakeWithEvents,
  fakeEvent,
  ManualScheduler,
  nodeRecord,
  openSse,
  startEventServer,
} from './event-fixtures.js';
import { FakeNode } from './fake.js';
import { get, request } from './helpers.js';

let s: EventServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function server(fake = new FakeWithEvents(), scheduler?: ManualScheduler): Promise<EventServer> {
  s = await startEventServer(scheduler === undefined ? {} : { scheduler }, fake);
  return s;
}

describe('GET /events', () => {
  it('an empty log: no events, cursors at 0', async () => {
    const { port } = await server();
    const r = await get(port, '/events');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      node_id: 'node-1',
      log_id: 'abc1',
      events: [],
      last_seq: 0,
      next_after: 0,
      has_more: false,
      truncated: false,
    });
  });

  it('entries have the documented shape: snake_case data, node records as ids, RFC 3339 time', async () => {
    const { port, fake } = await server();
    fake.log.record(
      fakeEvent('nodeLeave', 9, {
        reason: 'health_check_failure',
        partitionsOwned: ['partition-1'],
        partitionsReplica: [],
        clusterSize: 2,
      }),
    );
    fake.log.record(
      fakeEvent('partitionChange', 9, {
        copyToNode: nodeRecord('node-2'),
        copyFromNodes: [nodeRecord('node-3')],
        needsCopy: true,
      }),
    );
    const r = await get(port, '/events');
    expect(r.json.events).toEqual([
      {
        seq: 1,
        type: 'nodeLeave',
        at: '2023-11-14T22:13:20.009Z',
        at_ms: 1_700_000_000_009,
        index: 9,
        data: {
          node: 'node-9',
          reason: 'health_check_failure',
          partitions_owned: ['partition-1'],
          partitions_replica: [],
          cluster_size: 2,
        },
      },
      {
        seq: 2,
        type: 'partitionChange',
        at: '2023-11-14T22:13:20.009Z',
        at_ms: 1_700_000_000_009,
        index: 9,
        data: { node: 'node-9', copy_to_node: 'node-2', copy_from_nodes: ['node-3'], needs_copy: true },
      },
    ]);
    expect(r.json.last_seq).toBe(2);
  });

  it('pages by cursor; without a cursor, the newest events', async () => {
    const { port, fake } = await server();
    for (let i = 1; i <= 5; i++) fake.log.record(fakeEvent('nodeJoin', i));
    const first = await get(port, '/events?after=0&limit=2');
    expect(first.json.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
    expect(first.json).toMatchObject({ next_after: 2, has_more: true, last_seq: 5 });
    const rest = await get(port, `/events?after=${first.json.next_after}&limit=10`);
    expect(rest.json.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    expect(rest.json).toMatchObject({ next_after: 5, has_more: false });
    const tail = await get(port, '/events?limit=2');
    expect(tail.json.events.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);
    expect(tail.json.next_after).toBe(5);
    const none = await get(port, '/events?after=5');
    expect(none.json).toMatchObject({ events: [], next_after: 5, has_more: false });
  });

  it('filters by type, and skips filtered events in the cursor', async () => {
    const { port, fake } = await server();
    fake.log.record(fakeEvent('nodeJoin', 1));
    fake.log.record(fakeEvent('partitionChange', 1));
    fake.log.record(fakeEvent('nodeLeave', 2));
    const r = await get(port, '/events?after=0&types=nodeLeave,nodeJoin');
    expect(r.json.events.map((e: { type: string }) => e.type)).toEqual(['nodeJoin', 'nodeLeave']);
    expect(r.json.next_after).toBe(3);
  });

  it('says when events after the cursor were evicted', async () => {
    const fake = new FakeWithEvents();
    fake.log = new EventLog({ logId: 'abc1', majorCapacity: 3 });
    const { port } = await server(fake);
    for (let i = 1; i <= 6; i++) fake.log.record(fakeEvent('nodeJoin', i));
    const r = await get(port, '/events?after=1');
    expect(r.json.truncated).toBe(true);
    expect(r.json.events.map((e: { seq: number }) => e.seq)).toEqual([4, 5, 6]);
    expect((await get(port, '/events?after=3')).json.truncated).toBe(false);
  });

  it.each([
    ['/events?after=-1', /after must be a non-negative integer/],
    ['/events?limit=abc', /limit must be a non-negative integer/],
    ['/events?types=nodeJoin,nope', /unknown event type "nope"/],
    ['/events?types=,', /at least one event type/],
    ['/events?after=1&after=2', /given 2 times/],
  ])('%s is refused with 400', async (path, message) => {
    const { port } = await server();
    const r = await get(port, path);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(r.json.error.message).toMatch(message);
  });

  it('a node without an event log has no /events routes', async () => {
    const plain = await startEventServer({}, new FakeNode());
    try {
      expect((await get(plain.port, '/events')).status).toBe(404);
      expect((await get(plain.port, '/events/stream')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('a closed log answers 503', async () => {
    const { port, fake } = await server();
    fake.log.close();
    const r = await get(port, '/events');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeDefined();
  });
});

describe('GET /events/stream', () => {
  it('opens with ready, then pushes each new event with a resumable id', async () => {
    const { port, fake } = await server();
    fake.log.record(fakeEvent('nodeJoin', 1));
    const c = await openSse(port, '/events/stream');
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(c.headers['cache-control']).toBe('no-store');
    expect(c.headers['content-length']).toBeUndefined();
    const [ready] = await c.waitForMessages(1);
    expect(ready).toMatchObject({
      event: 'ready',
      retry: 2000,
      data: { node_id: 'node-1', log_id: 'abc1', last_seq: 1, truncated: false },
    });
    // Without a cursor, nothing is replayed: the stream starts now.
    fake.log.record(fakeEvent('nodeLeave', 2, { reason: 'graceful_shutdown' }));
    const msgs = await c.waitForMessages(2);
    expect(msgs[1]).toMatchObject({ event: 'message', id: 'abc1:2', data: { seq: 2, type: 'nodeLeave', index: 2 } });
    expect(msgs[1]!.data.data.reason).toBe('graceful_shutdown');
    c.close();
  });

  it('replays what follows ?after= or Last-Event-ID (the header wins), then goes live', async () => {
    const { port, fake } = await server();
    for (let i = 1; i <= 4; i++) fake.log.record(fakeEvent('nodeJoin', i));
    const byQuery = await openSse(port, '/events/stream?after=2');
    expect((await byQuery.waitForMessages(3)).slice(1).map((m) => m.id)).toEqual(['abc1:3', 'abc1:4']);
    const byHeader = await openSse(port, '/events/stream?after=0', { 'Last-Event-ID': 'abc1:3' });
    expect((await byHeader.waitForMessages(2)).slice(1).map((m) => m.id)).toEqual(['abc1:4']);
    fake.log.record(fakeEvent('nodeJoin', 5));
    expect((await byQuery.waitForMessages(4))[3]!.id).toBe('abc1:5');
    expect((await byHeader.waitForMessages(3))[2]!.id).toBe('abc1:5');
    byQuery.close();
    byHeader.close();
  });

  it('an id from another log (the node restarted) replays everything kept, flagged truncated', async () => {
    const { port, fake } = await server();
    fake.log.record(fakeEvent('nodeJoin', 1));
    fake.log.record(fakeEvent('nodeJoin', 2));
    const c = await openSse(port, '/events/stream', { 'Last-Event-ID': 'zzz9:40' });
    const msgs = await c.waitForMessages(3);
    expect(msgs[0]!.data.truncated).toBe(true);
    expect(msgs.slice(1).map((m) => m.data.seq)).toEqual([1, 2]);
    c.close();
  });

  it('filters by type', async () => {
    const { port, fake } = await server();
    const c = await openSse(port, '/events/stream?types=nodeLeave');
    await c.waitForMessages(1);
    fake.log.record(fakeEvent('nodeJoin', 1));
    fake.log.record(fakeEvent('nodeLeave', 2));
    const msgs = await c.waitForMessages(2);
    expect(msgs.slice(1).map((m) => m.data.type)).toEqual(['nodeLeave']);
    c.close();
  });

  it('refuses a malformed Last-Event-ID', async () => {
    const { port } = await server();
    const r = await get(port, '/events/stream', { 'Last-Event-ID': 'garbage' });
    expect(r.status).toBe(400);
  });

  it('sends a keep-alive comment on the heartbeat timer, and stops the timer when the client goes', async () => {
    const scheduler = new ManualScheduler();
    const { port, fake } = await server(new FakeWithEvents(), scheduler);
    const c = await openSse(port, '/events/stream');
    await c.waitForMessages(1);
    expect(scheduler.fire(STREAM_HEARTBEAT_MS)).toBe(1);
    fake.log.record(fakeEvent('nodeJoin', 1)); // a message after the comment proves the comment arrived first
    await c.waitForMessages(2);
    expect(c.comments).toEqual(['keep-alive']);
    c.close();
    await waitUntil(() => fake.log.subscribers === 0);
    expect([...scheduler.timers].filter((t) => t.ms === STREAM_HEARTBEAT_MS)).toHaveLength(0);
  });

  it('ends every stream when the log closes, so the server can close without being forced', async () => {
    const { port, fake, server: http } = await server();
    const a = await openSse(port, '/events/stream');
    const b = await openSse(port, '/events/stream?after=0');
    await Promise.all([a.waitForMessages(1), b.waitForMessages(1)]);
    fake.log.close();
    await Promise.all([a.ended, b.ended]);
    expect(a.res.complete && b.res.complete).toBe(true);
    // No closeAllConnections(): the streams ended by themselves.
    await new Promise<void>((resolve, reject) => http.close((err) => (err === undefined ? resolve() : reject(err))));
    s = undefined;
  });

  it('drops a client that does not read once more than the buffer limit is pending', async () => {
    const { port, fake } = await server();
    const c = await openSse(port, '/events/stream');
    await c.waitForMessages(1);
    c.res.pause();
    c.res.socket.pause();
    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200 && fake.log.subscribers > 0; i++) {
      fake.log.record(fakeEvent('customDataChange', i + 1, { key: big }));
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => fake.log.subscribers === 0);
    expect(fake.log.subscribers).toBe(0);
    expect(MAX_STREAM_BUFFER_BYTES).toBeLessThan(200 * big.length);
    c.close();
  });

  it(`serves at most ${MAX_EVENT_STREAMS} streams at once`, async () => {
    const { port, fake } = await server();
    const clients = await Promise.all(Array.from({ length: MAX_EVENT_STREAMS }, () => openSse(port, '/events/stream')));
    await waitUntil(() => fake.log.subscribers === MAX_EVENT_STREAMS);
    const refused = await get(port, '/events/stream');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    clients[0]!.close();
    await waitUntil(() => fake.log.subscribers === MAX_EVENT_STREAMS - 1);
    const again = await openSse(port, '/events/stream');
    expect(again.status).toBe(200);
    for (const c of [...clients, again]) c.close();
  });

  it('HEAD answers the headers and opens nothing', async () => {
    const { port, fake } = await server();
    const r = await request(port, 'HEAD', '/events/stream');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(r.body.length).toBe(0);
    expect(fake.log.subscribers).toBe(0);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
