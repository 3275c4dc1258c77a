import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { member } from './fake.js';
import { expectGoShape, GO } from './go-shapes.js';
import { get, type Running, request, sendJson, startServer } from './helpers.js';

let s: Running;
beforeEach(async () => {
  s = await startServer();
});
afterEach(async () => {
  await s.close();
});

describe('GET /cluster', () => {
  it('has the Go shape plus hash_config, with the partition map keyed by id', async () => {
    const r = await get(s.port, '/cluster');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.text.endsWith('}\n')).toBe(true); // Go's json.Encoder newline
    expectGoShape(r.json.cluster, GO.cluster, 'cluster');
    expectGoShape(r.json.cluster.config, GO.config, 'config');
    expectGoShape(r.json.hash_config, GO.hashConfig, 'hash_config');
    expect(r.json.hash_config).toEqual({
      algorithm: 'md5',
      encoding: 'big_endian_uint32',
      modulo: 8,
      format: 'partition-%d',
    });
    const c = r.json.cluster;
    expect(c.id).toBe('cluster-uuid-1');
    expect(c.name).toBe('test-cluster');
    expect(c.config).toMatchObject({ cluster_name: 'test-cluster', partition_count: 8, replication_factor: 2 });
    expect(c.nodes).toHaveLength(3);
    for (const n of c.nodes) expectGoShape(n, GO.node, 'node');
    expect(c.nodes[0]).toMatchObject({
      id: 'node-1',
      ip: '127.0.0.1:8081',
      port: 8081,
      status: 'active',
      services: { kv: ':9081' },
      zone: 'a',
      weight: 1,
      raft_role: 'leader',
      healthy: true,
    });
    // Go's services,omitempty.
    expect('services' in c.nodes[1]).toBe(false);
    expect(c.nodes[2].healthy).toBe(null);
    const parts = c.partition_map.partitions;
    expect(Object.keys(parts)).toHaveLength(8);
    for (const [id, p] of Object.entries(parts)) {
      expectGoShape(p, GO.partition, id);
      expect((p as { id: string }).id).toBe(id);
    }
    expect(parts['partition-0']).toMatchObject({ primary_node: 'node-1', replica_nodes: ['node-2'], epoch: 1 });
    expect(c.table_version).toBe(3);
    expect(c.revision).toBe(10);
    expect(c.leader).toMatchObject({ leader_id: 'node-1', leader_ip: '127.0.0.1:8081', term: 4 });
    expect(c.term).toBe(4);
    expect(r.headers['cache-control']).toBe('no-cache');
  });

  it('answers 304 to a matching If-None-Match, and a new ETag after a rebalance with the same counts', async () => {
    const first = await get(s.port, '/cluster');
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"t3\.r10-[A-Za-z0-9_-]{16}"$/);
    const again = await get(s.port, '/cluster', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect((await get(s.port, '/cluster', { 'if-none-match': `"x", W/${etag}` })).status).toBe(304);
    expect((await get(s.port, '/cluster', { 'if-none-match': '"other"' })).status).toBe(200);
    // The Go original's ETag was "<nodes>-<partitions>": a reassignment with the same counts kept it (a stale 304).
    s.fake.nodes[1] = member('node-4', 8084);
    await request(s.port, 'POST', '/rebalance');
    const after = await get(s.port, '/cluster', { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.json.cluster.nodes).toHaveLength(3);
    expect(Object.keys(after.json.cluster.partition_map.partitions)).toHaveLength(8);
  });

  it('before the cluster is formed: empty map, the configured modulo, no id', async () => {
    s.fake.clusterId = undefined;
    s.fake.table = undefined;
    s.fake.nodes = [];
    const r = await get(s.port, '/cluster');
    expect(r.status).toBe(200);
    expect(r.json.cluster.partition_map).toEqual({ partitions: {} });
    expect(r.json.cluster.id).toBe('test-cluster');
    expect(r.json.cluster.formed).toBe(false);
    expect(r.json.hash_config.modulo).toBe(8);
  });

  it('HEAD answers the headers without a body', async () => {
    const r = await request(s.port, 'HEAD', '/cluster');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers.etag).toBeDefined();
  });

  it('?consistent=true goes through the read barrier first', async () => {
    await get(s.port, '/cluster');
    expect(s.fake.barriers).toBe(0);
    const r = await get(s.port, '/cluster?consistent=true');
    expect(r.status).toBe(200);
    expect(s.fake.barriers).toBe(1);
  });
});

describe('partitions', () => {
  it('GET /partitions lists them by index with an ETag from the table', async () => {
    const r = await get(s.port, '/partitions');
    expect(r.status).toBe(200);
    expectGoShape(r.json, GO.partitions);
    expect(r.json.count).toBe(8);
    expect(r.json.partitions.map((p: { id: string }) => p.id)).toEqual(
      Array.from({ length: 8 }, (_, i) => `partition-${i}`),
    );
    for (const p of r.json.partitions) expectGoShape(p, GO.partition);
    expect(r.json.version).toBe(3);
    const etag = r.headers.etag!;
    expect(etag.startsWith('"t3-')).toBe(true);
    expect((await get(s.port, '/partitions', { 'if-none-match': etag })).status).toBe(304);
    await request(s.port, 'DELETE', '/nodes/node-3');
    expect((await get(s.port, '/partitions', { 'if-none-match': etag })).status).toBe(200);
  });

  it('GET /partitions/stats counts primaries and replicas per member', async () => {
    const r = await get(s.port, '/partitions/stats');
    expectGoShape(r.json, GO.partitionStats);
    expect(r.json.total_partitions).toBe(8);
    expect(r.json.partitions_per_node).toEqual({ 'node-1': 3, 'node-2': 3, 'node-3': 2 });
    expect(r.json.replicas_per_node).toEqual({ 'node-1': 2, 'node-2': 3, 'node-3': 3 });
  });
});

describe('nodes', () => {
  beforeEach(() => {
    s.fake.nodes = Array.from({ length: 120 }, (_, i) => member(`node-${i + 1}`, 9000 + i));
  });

  it('GET /nodes paginates with the Go fields (default limit 50)', async () => {
    const r = await get(s.port, '/nodes');
    expectGoShape(r.json, GO.nodesPage);
    expect(r.json).toMatchObject({ total: 120, offset: 0, limit: 50, has_more: true, next_offset: 50 });
    expect(r.json.nodes).toHaveLength(50);
    expectGoShape(r.json.nodes[0], GO.node);
    const last = await get(s.port, '/nodes?offset=100&limit=50');
    expect(last.json).toMatchObject({ offset: 100, limit: 50, has_more: false, next_offset: 120 });
    expect(last.json.nodes.map((n: { id: string }) => n.id)[0]).toBe('node-101');
    const past = await get(s.port, '/nodes?offset=500');
    expect(past.json).toMatchObject({ nodes: [], total: 120, has_more: false, next_offset: 120 });
  });

  it('clamps limit to [1, 1000] as the Go original', async () => {
    expect((await get(s.port, '/nodes?limit=0')).json.limit).toBe(1);
    expect((await get(s.port, '/nodes?limit=5000')).json.limit).toBe(1000);
  });

  it('GET /nodes/:id answers one node or 404', async () => {
    const r = await get(s.port, '/nodes/node-7');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'node-7', ip: '127.0.0.1:9006', port: 9006 });
    const missing = await get(s.port, '/nodes/nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('ERR_NOT_FOUND');
  });
});

describe('consensus', () => {
  it('GET /consensus/leader has the Go LeaderInfo shape with the real term', async () => {
    const r = await get(s.port, '/consensus/leader');
    expect(r.status).toBe(200);
    expectGoShape(r.json, GO.leader);
    expect(r.json).toMatchObject({
      leader_id: 'node-1',
      leader_name: 'Server-1',
      leader_ip: '127.0.0.1:8081',
      term: 4,
      elected_at: new Date(1_700_000_100_000).toISOString(),
    });
  });

  it('GET /consensus/leader answers 503 JSON with Retry-After when there is no leader', async () => {
    s.fake.leaderInfo = null;
    const r = await get(s.port, '/consensus/leader');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json.error).toEqual({ code: 'ERR_UNAVAILABLE', message: 'no leader elected' });
  });

  it('GET /consensus/stats reports real numbers', async () => {
    const r = await get(s.port, '/consensus/stats');
    expectGoShape(r.json, GO.consensusStats);
    expect(r.json).toMatchObject({
      state: 'Leader',
      term: 4,
      last_log_index: 42,
      last_log_term: 4,
      commit_index: 41,
      applied_index: 40,
      num_peers: 1,
      leader: 'node-1',
      voters: 2,
      non_voters: 1,
    });
    expect(r.json.progress[1]).toMatchObject({ id: 'node-3', match_index: 30, lag: 12 });
    s.fake.raftRunning = false;
    const stopped = await get(s.port, '/consensus/stats');
    expect(stopped.json).toMatchObject({ state: 'Shutdown', term: 0, running: false });
  });
});

describe('health, readiness, metrics', () => {
  it('GET /health is liveness: 200 with the Go Result fields, 503 once the node is stopping', async () => {
    const r = await get(s.port, '/health');
    expect(r.status).toBe(200);
    expectGoShape(r.json, GO.result);
    expect(r.json).toMatchObject({ success: true, message: 'healthy', status: 'healthy', node_id: 'node-1' });
    expect(Number.isNaN(Date.parse(r.json.timestamp))).toBe(false);
    s.fake.healthInfo = { ...s.fake.healthInfo, live: false, status: 'stopping' };
    const down = await get(s.port, '/health');
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ success: false, status: 'unhealthy', state: 'stopping' });
  });

  it('GET /health/detailed has the Go HealthStatus shape and a Go duration', async () => {
    const r = await get(s.port, '/health/detailed');
    expectGoShape(r.json, GO.healthStatus);
    expect(r.json).toMatchObject({
      healthy: true,
      node_id: 'node-1',
      node_name: 'Server-1',
      is_leader: true,
      node_count: 3,
      partition_count: 8,
      raft_state: 'Leader',
      uptime: '1m2.5s',
      uptime_seconds: 62,
      last_sync: new Date(1_700_000_200_000).toISOString(),
    });
    s.fake.healthInfo = { ...s.fake.healthInfo, status: 'degraded', lastSyncAt: null };
    const degraded = await get(s.port, '/health/detailed');
    expect(degraded.json).toMatchObject({ healthy: false, status: 'degraded', last_sync: '0001-01-01T00:00:00Z' });
  });

  it('GET /ready: 200 when a member with a known table, 503 with Go fields and a reason otherwise', async () => {
    const r = await get(s.port, '/ready');
    expect(r.status).toBe(200);
    expectGoShape(r.json, GO.ready);
    expect(r.json).toMatchObject({ ready: true, nodes: 3, partitions: 8, valid_partitions: 8 });
    s.fake.nodes = s.fake.nodes.filter((n) => n.id !== 'node-1');
    const notMember = await get(s.port, '/ready');
    expect(notMember.status).toBe(503);
    expectGoShape(notMember.json, GO.ready);
    expect(notMember.json).toMatchObject({ ready: false, message: 'cluster not ready' });
    expect(notMember.json.reason).toMatch(/not a member/);
    // Partitions referencing the departed node-1 are not "valid" in the Go sense.
    expect(notMember.json.valid_partitions).toBeLessThan(8);
    s.fake.table = undefined;
    s.fake.nodes.push(member('node-1', 8081));
    const noTable = await get(s.port, '/ready');
    expect(noTable.status).toBe(503);
    expect(noTable.json.reason).toMatch(/partition table/);
  });

  it('GET /metrics: the Go JSON unless the client asks for text (scrapers do), or ?format=prometheus', async () => {
    await get(s.port, '/nope'); // one error for error_count
    // A Go client's http.Get sends no Accept header; curl sends */*: both get the original's JSON.
    const json = await get(s.port, '/metrics');
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expectGoShape(json.json, GO.metrics);
    expect(json.json).toMatchObject({ node_count: 3, partition_count: 8, is_leader: true, raft_state: 'Leader' });
    expect(json.json.request_count).toBe(1); // the requests before this one
    expect(json.json.error_count).toBe(1);
    expect((await get(s.port, '/metrics', { accept: '*/*' })).json.node_count).toBe(3);
    expect((await get(s.port, '/metrics?format=json', { accept: 'text/plain' })).json.node_count).toBe(3);
    // Prometheus names its formats, JSON absent.
    const scraper = await get(s.port, '/metrics', {
      accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    });
    expect(scraper.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(scraper.text).toBe(s.fake.metrics);
    expect((await get(s.port, '/metrics', { accept: 'text/plain' })).text).toBe(s.fake.metrics);
    expect((await get(s.port, '/metrics?format=prometheus')).text).toBe(s.fake.metrics);
    // Both named: the higher q wins.
    expect((await get(s.port, '/metrics', { accept: 'text/plain;q=0.5, application/json' })).json.node_count).toBe(3);
  });

  it('registers its own request metrics in the given registry', async () => {
    const registry = new MetricsRegistry();
    const local = await startServer({ metrics: registry });
    try {
      local.fake.metrics = '';
      await get(local.port, '/health');
      await get(local.port, '/custom-data/some%2Fkey');
      const text = registry.render();
      expect(text).toContain('clusterkit_http_requests_total{code="200",method="GET",route="/health"} 1');
      expect(text).toContain('clusterkit_http_requests_total{code="404",method="GET",route="/custom-data/:key"} 1');
      expect(text).toContain('clusterkit_http_request_duration_seconds_count 2');
    } finally {
      await local.close();
    }
  });
});

describe('POST /join', () => {
  const goJoin = {
    node: { id: 'node-9', name: 'Server-9', ip: '10.0.0.9:8089', port: 0, status: 'active' },
    raft_addr: '10.0.0.9:10009',
  };

  it('admits a Go-shaped joiner and answers the Go Result', async () => {
    const r = await sendJson(s.port, 'POST', '/join', goJoin);
    expect(r.status).toBe(200);
    expectGoShape(r.json, GO.result);
    expect(r.json).toMatchObject({
      success: true,
      message: 'Node joined successfully',
      data: { node_id: 'node-9', cluster_id: 'cluster-uuid-1', node_count: 4, join: 'new' },
    });
    const added = s.fake.nodes.find((n) => n.id === 'node-9')!;
    expect(added).toMatchObject({ httpAddr: '10.0.0.9:8089', raftAddr: '10.0.0.9:10009', name: 'Server-9' });
  });

  it('gives a Go ":port" address the request source host, and raft_addr defaults to the HTTP address', async () => {
    const r = await sendJson(s.port, 'POST', '/join', { node: { id: 'node-9', ip: ':8089' } });
    expect(r.status).toBe(200);
    const added = s.fake.nodes.find((n) => n.id === 'node-9')!;
    expect(added).toMatchObject({ httpAddr: '127.0.0.1:8089', raftAddr: '127.0.0.1:8089', name: 'node-9' });
  });

  it('passes our additive fields through', async () => {
    const r = await sendJson(s.port, 'POST', '/join', {
      node: {
        id: 'node-9',
        http_addr: 'host9:80',
        zone: 'z',
        weight: 2.5,
        services: { kv: 'host9:9000' },
        incarnation: 'i1',
      },
      raft_addr: 'host9:81',
      cluster_name: 'test-cluster',
      partition_count: 8,
      replication_factor: 2,
    });
    expect(r.status).toBe(200);
    expect(s.fake.nodes.find((n) => n.id === 'node-9')).toMatchObject({
      zone: 'z',
      weight: 2.5,
      services: { kv: 'host9:9000' },
    });
  });

  it('on a follower: 307 with a Location header and the Go redirect fields', async () => {
    s.fake.isLeader = false;
    s.fake.leaderInfo = { id: 'node-2', name: 'Server-2', httpAddr: '127.0.0.1:8082', term: 5 };
    const before = s.fake.fingerprint();
    const r = await sendJson(s.port, 'POST', '/join', goJoin);
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('http://127.0.0.1:8082/join');
    expectGoShape(r.json, GO.joinRedirect);
    expect(r.json).toMatchObject({
      leader_id: 'node-2',
      leader_ip: '127.0.0.1:8082',
      error: { code: 'ERR_NOT_LEADER' },
    });
    expect(s.fake.fingerprint()).toBe(before);
  });

  it('on a follower with no known leader (or itself as stale leader): 503, never a redirect loop', async () => {
    s.fake.isLeader = false;
    s.fake.leaderInfo = null;
    const none = await sendJson(s.port, 'POST', '/join', goJoin);
    expect(none.status).toBe(503);
    expect(none.headers['retry-after']).toBe('1');
    s.fake.leaderInfo = { id: 'node-1', httpAddr: '127.0.0.1:8081', term: 4 };
    const self = await sendJson(s.port, 'POST', '/join', goJoin);
    expect(self.status).toBe(503);
    expect(self.headers.location).toBeUndefined();
  });

  it('a refusal by the node is a 409 JSON error', async () => {
    const r = await sendJson(s.port, 'POST', '/join', {
      node: { id: 'node-2', ip: '1.2.3.4:5', incarnation: 'other-process' },
    });
    expect(r.status).toBe(409);
    expect(r.json.error).toEqual({ code: 'ERR_CONFLICT', message: 'node id node-2 is held by another incarnation' });
  });
});

describe('admin endpoints', () => {
  it('POST /rebalance, with or without a reason', async () => {
    const r = await request(s.port, 'POST', '/rebalance');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, data: { changed: false, table_version: 3 } });
    s.fake.nodes.push(member('node-4', 8084));
    const moved = await sendJson(s.port, 'POST', '/rebalance', { reason: 'added capacity' });
    expect(moved.json).toMatchObject({ success: true, data: { changed: true, table_version: 4 } });
  });

  it('DELETE /nodes/:id removes a member; 404 for a non-member', async () => {
    const r = await request(s.port, 'DELETE', '/nodes/node-3');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, data: { node_id: 'node-3', node_count: 2 } });
    const again = await request(s.port, 'DELETE', '/nodes/node-3');
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe('ERR_NOT_FOUND');
  });

  it('POST /leave exists only when the node implements leave()', async () => {
    expect((await request(s.port, 'POST', '/leave')).status).toBe(404);
    const withLeave = await startServer({}, { withLeave: true });
    try {
      const r = await request(withLeave.port, 'POST', '/leave');
      expect(r.status).toBe(200);
      expect(withLeave.fake.left).toBe(true);
    } finally {
      await withLeave.close();
    }
  });

  it('a mutating call on a follower redirects with 307 and keeps the method', async () => {
    s.fake.isLeader = false;
    s.fake.leaderInfo = { id: 'node-2', httpAddr: '127.0.0.1:8082', term: 5 };
    const r = await request(s.port, 'PUT', '/custom-data/k?x=1', { body: 'v' });
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('http://127.0.0.1:8082/custom-data/k?x=1');
    // A NotLeaderError naming a member not returned by leader(): the address comes from the member list.
    s.fake.leaderInfo = { id: 'node-3', term: 5 };
    const viaMembers = await request(s.port, 'POST', '/rebalance');
    expect(viaMembers.status).toBe(307);
    expect(viaMembers.headers.location).toBe('http://127.0.0.1:8083/rebalance');
  });
});

describe('custom data', () => {
  it('PUT raw bytes, GET as JSON (base64) and raw, list, DELETE', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const put = await request(s.port, 'PUT', '/custom-data/blob', {
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(put.status).toBe(201);
    expect(put.json).toMatchObject({ success: true, data: { key: 'blob', created: true, size: 5 } });
    const rev = put.json.data.revision as number;
    expect(put.headers.etag).toBe(`"r${rev}"`);
    const json = await get(s.port, '/custom-data/blob');
    expect(json.json).toMatchObject({
      key: 'blob',
      value: bytes.toString('base64'),
      encoding: 'base64',
      size: 5,
      revision: rev,
    });
    expect(json.headers.etag).toBe(`"r${rev}-json"`);
    expect((await get(s.port, '/custom-data/blob', { 'if-none-match': json.headers.etag! })).status).toBe(304);
    const raw = await get(s.port, '/custom-data/blob?format=raw');
    expect(raw.headers['content-type']).toBe('application/octet-stream');
    expect(raw.body.equals(bytes)).toBe(true);
    const accept = await get(s.port, '/custom-data/blob', { accept: 'application/octet-stream' });
    expect(accept.body.equals(bytes)).toBe(true);
    const replaced = await request(s.port, 'PUT', '/custom-data/blob', { body: 'x' });
    expect(replaced.status).toBe(200);
    expect(replaced.json.data.created).toBe(false);
    expect((await get(s.port, '/custom-data')).json).toMatchObject({ keys: ['blob'], total: 1, has_more: false });
    const del = await request(s.port, 'DELETE', '/custom-data/blob');
    expect(del.json).toMatchObject({ success: true, data: { existed: true } });
    const delAgain = await request(s.port, 'DELETE', '/custom-data/blob');
    expect(delAgain.status).toBe(200);
    expect(delAgain.json.data.existed).toBe(false);
    const gone = await get(s.port, '/custom-data/blob');
    expect(gone.status).toBe(404);
    expect(gone.json.error).toEqual({ code: 'ERR_NOT_FOUND', message: 'key not found: blob' });
  });

  it('PUT with the JSON envelope, utf8 by default or base64; keys may hold an encoded slash', async () => {
    expect((await sendJson(s.port, 'PUT', '/custom-data/a%2Fb', { value: 'héllo' })).status).toBe(201);
    expect(Buffer.from(s.fake.custom.get('a/b')!.value).toString('utf8')).toBe('héllo');
    await sendJson(s.port, 'PUT', '/custom-data/bin', {
      value: Buffer.from([9, 8, 7]).toString('base64'),
      encoding: 'base64',
    });
    expect([...s.fake.custom.get('bin')!.value]).toEqual([9, 8, 7]);
    const list = await get(s.port, '/custom-data?prefix=a');
    expect(list.json.keys).toEqual(['a/b']);
  });

  it('If-Match / If-None-Match make writes compare-and-set (412 when the key moved on)', async () => {
    const created = await request(s.port, 'PUT', '/custom-data/k', { headers: { 'if-none-match': '*' }, body: 'one' });
    expect(created.status).toBe(201);
    const etag = created.headers.etag!;
    const dup = await request(s.port, 'PUT', '/custom-data/k', { headers: { 'if-none-match': '*' }, body: 'two' });
    expect(dup.status).toBe(412);
    expect(dup.json.error.code).toBe('ERR_PRECONDITION_FAILED');
    const ok = await request(s.port, 'PUT', '/custom-data/k', { headers: { 'if-match': etag }, body: 'two' });
    expect(ok.status).toBe(200);
    const stale = await request(s.port, 'PUT', '/custom-data/k', { headers: { 'if-match': etag }, body: 'three' });
    expect(stale.status).toBe(412);
    const staleDelete = await request(s.port, 'DELETE', '/custom-data/k', { headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    expect(Buffer.from(s.fake.custom.get('k')!.value).toString()).toBe('two');
    const star = await request(s.port, 'DELETE', '/custom-data/k', { headers: { 'if-match': '*' } });
    expect(star.status).toBe(200);
    const starAbsent = await request(s.port, 'DELETE', '/custom-data/k', { headers: { 'if-match': '*' } });
    expect(starAbsent.status).toBe(412);
  });

  it('accepts a value of exactly the limit', async () => {
    const local = await startServer({ maxValueBytes: 1000 });
    try {
      const r = await request(local.port, 'PUT', '/custom-data/big', { body: Buffer.alloc(1000, 7) });
      expect(r.status).toBe(201);
      expect(local.fake.custom.get('big')!.value.length).toBe(1000);
    } finally {
      await local.close();
    }
  });
});

describe('OPTIONS and routes', () => {
  it('OPTIONS lists the allowed methods', async () => {
    const r = await request(s.port, 'OPTIONS', '/custom-data/x');
    expect(r.status).toBe(204);
    expect(r.headers.allow).toBe('DELETE, GET, HEAD, PUT, OPTIONS');
  });

  it('every route declares an access level', () => {
    const routes = (
      s.server as unknown as { handler: { routes(): { method: string; path: string; access: string }[] } }
    ).handler.routes();
    const byRoute = Object.fromEntries(routes.map((r) => [`${r.method} ${r.path}`, r.access]));
    expect(byRoute).toMatchObject({
      'GET /health': 'public',
      'GET /ready': 'public',
      'GET /cluster': 'read',
      'GET /metrics': 'read',
      'POST /join': 'peer',
      'POST /rebalance': 'admin',
      'DELETE /nodes/:id': 'admin',
      'PUT /custom-data/:key': 'admin',
      'GET /custom-data/:key': 'read',
    });
  });
});
