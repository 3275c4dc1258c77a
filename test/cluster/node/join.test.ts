import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  type HttpResponse,
  isJoinRefused,
  type JoinBody,
  joinOnce,
  type PostJson,
} from '../../../src/cluster/join.js';
import { ClusterKitError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/util/logger.js';

const body: JoinBody = {
  node: { id: 'n9', name: 'n9', http_addr: '10.0.0.9:80', incarnation: 'abcd.1' },
  raft_addr: '10.0.0.9:80',
  cluster_name: 'c',
  partition_count: 64,
  replication_factor: 3,
};

/** A fake network: each address answers with a fixed response or fails. */
function network(answers: Record<string, HttpResponse | Error>): { post: PostJson; calls: string[] } {
  const calls: string[] = [];
  const post: PostJson = (addr, path, sent) => {
    calls.push(addr);
    expect(path).toBe('/join');
    expect(sent).toEqual(body);
    const a = answers[addr];
    if (a === undefined) return Promise.reject(new Error('connect ECONNREFUSED'));
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  };
  return { post, calls };
}

const ok: HttpResponse = { status: 200, headers: {}, body: { success: true, data: { node_id: 'n9', join: 'new' } } };

async function failure(p: Promise<unknown>): Promise<ClusterKitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClusterKitError);
  return err as ClusterKitError;
}

describe('joinOnce', () => {
  it('follows a 307 to the leader (Location header first, then the Go body field)', async () => {
    const { post, calls } = network({
      'seed:1': { status: 307, headers: { location: 'http://leader:2/join' }, body: {} },
      'leader:2': ok,
    });
    const r = await joinOnce(['seed:1'], body, post, 1000, silentLogger);
    expect(r.via).toBe('leader:2');
    expect(calls).toEqual(['seed:1', 'leader:2']);

    const go = network({ 'seed:1': { status: 307, headers: {}, body: { leader_ip: 'leader:3' } }, 'leader:3': ok });
    expect((await joinOnce(['seed:1'], body, go.post, 1000, silentLogger)).via).toBe('leader:3');
  });

  it('tries the next address when one is down, and never loops on redirects', async () => {
    const loop = network({
      'a:1': { status: 307, headers: {}, body: { leader_ip: 'b:1' } },
      'b:1': { status: 307, headers: {}, body: { leader_ip: 'a:1' } },
      'c:1': ok,
    });
    const r = await joinOnce(['down:1', 'a:1', 'c:1'], body, loop.post, 1000, silentLogger);
    expect(r.via).toBe('c:1');
    expect(loop.calls).toEqual(['down:1', 'a:1', 'b:1', 'c:1']);
  });

  it('ends with a final error when the cluster refuses the node', async () => {
    const { post } = network({
      'a:1': {
        status: 409,
        headers: {},
        body: { error: { code: 'ERR_MEMBERSHIP', message: 'partition count 16, the cluster has 64' } },
      },
    });
    const err = await failure(joinOnce(['a:1'], body, post, 1000, silentLogger));
    expect(isJoinRefused(err)).toBe(true);
    expect(err.code).toBe('ERR_MEMBERSHIP');
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(/partition count 16/);
  });

  it('reports a retriable error listing every address when nobody could admit it', async () => {
    const { post } = network({
      'a:1': { status: 503, headers: {}, body: { error: { code: 'ERR_UNAVAILABLE', message: 'no leader' } } },
      'b:1': new Error('timeout'),
    });
    const err = await failure(joinOnce(['a:1', 'b:1'], body, post, 1000, silentLogger));
    expect(isJoinRefused(err)).toBe(false);
    expect(err.code).toBe('ERR_UNAVAILABLE');
    expect(err.retriable).toBe(true);
    expect(err.message).toMatch(/a:1: 503 ERR_UNAVAILABLE: no leader/);
    expect(err.message).toMatch(/b:1: timeout/);
    const none = await failure(joinOnce([], body, post, 1000, silentLogger));
    expect(none.message).toMatch(/no address to join through/);
  });

  it('a plain ClusterKitError is not taken for a refusal (instanceof on subclasses is brand-based)', () => {
    expect(isJoinRefused(new ClusterKitError('ERR_CONFLICT', 'x'))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and is jittered within [half, full]', () => {
    expect(backoffDelay(0, 100, 5000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 5000, () => 0.999_999)).toBeCloseTo(100, 3);
    expect(backoffDelay(3, 100, 5000, () => 0)).toBe(400);
    expect(backoffDelay(50, 100, 5000, () => 0)).toBe(2500);
    expect(backoffDelay(50, 100, 5000, () => 0.5)).toBe(3750);
  });
});
