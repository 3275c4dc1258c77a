/** `GET /locate?key=`: the key's partition (the Go-compatible hash) and its owners from the node's table. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOCATE_KEY_LENGTH } from '../../src/http/handlers/locate.js';
import { partitionForKey } from '../../src/partitioning/index.js';
import { type EventServer, startEventServer } from './event-fixtures.js';
import { FakeNode } from './fake.js';
import { get } from './helpers.js';

let s: EventServer<FakeNode>;
let fake: FakeNode;
beforeAll(async () => {
  fake = new FakeNode();
  s = await startEventServer({}, fake);
});
afterAll(async () => {
  await s.close();
});

const locate = (key: string, extra = '') => get(s.port, `/locate?key=${encodeURIComponent(key)}${extra}`);

describe('GET /locate', () => {
  it('answers the partition, its primary and replicas, with what the node knows of the owners', async () => {
    fake.reset();
    const r = await locate('user:123');
    expect(r.status).toBe(200);
    const index = partitionForKey('user:123', 8);
    const p = fake.table!.partitions[index]!;
    expect(r.json).toEqual({
      key: 'user:123',
      partition: `partition-${index}`,
      index,
      partition_count: 8,
      primary: p.primary,
      replicas: [...p.replicas],
      epoch: p.epoch,
      table_version: 3,
      owners: p.owners.map((id, i) => {
        const n = fake.nodes.find((x) => x.id === id)!;
        return {
          id,
          role: i === 0 ? 'primary' : 'replica',
          member: true,
          http_addr: n.httpAddr,
          ...(n.zone === undefined ? {} : { zone: n.zone }),
          healthy: n.healthy,
        };
      }),
    });
  });

  it('agrees with the key hash for any key (percent-encoding included)', async () => {
    fake.reset();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 40 }), async (key) => {
        const r = await locate(key);
        expect(r.status).toBe(200);
        expect(r.json.key).toBe(key);
        expect(r.json.index).toBe(partitionForKey(key, 8));
      }),
      { numRuns: 40 },
    );
  });

  it('an owner that is no longer a member is reported as such', async () => {
    fake.reset();
    fake.nodes = fake.nodes.filter((n) => n.id !== 'node-2');
    const key = Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) =>
      fake.table!.partitionOf(k).owners.includes('node-2'),
    )!;
    const r = await locate(key);
    expect(r.json.owners.find((o: { id: string }) => o.id === 'node-2')).toEqual({
      id: 'node-2',
      role: expect.any(String),
      member: false,
    });
  });

  it('waits for the read barrier with consistent=true', async () => {
    fake.reset();
    await locate('a', '&consistent=true');
    expect(fake.barriers).toBe(1);
  });

  it('answers 503 before the node knows a partition table', async () => {
    fake.reset();
    fake.table = undefined;
    const r = await locate('a');
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('ERR_UNAVAILABLE');
  });

  it.each([
    ['/locate', /key is required/],
    ['/locate?key=a&key=b', /given 2 times/],
    [`/locate?key=${'x'.repeat(MAX_LOCATE_KEY_LENGTH + 1)}`, /longer than 4096/],
  ])('%s is refused with 400', async (path, message) => {
    fake.reset();
    const r = await get(s.port, path);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  });

  it('an empty key is a key like any other', async () => {
    fake.reset();
    const r = await locate('');
    expect(r.status).toBe(200);
    expect(r.json.index).toBe(partitionForKey('', 8));
  });
});
