/** What status, partitions and locate print, from the node's answers (shapes as src/http/handlers produce them). */
import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/cli/client.js';
import {
  ownership,
  partitionsSummary,
  renderLocate,
  renderPartitions,
  renderStatus,
  statusSummary,
} from '../../src/cli/render.js';
import { parseCluster, parseDataItem, parseHealth, parsePartitions } from '../../src/cli/wire.js';

function nodeJson(id: string, port: number, role: string, healthy: boolean | null, zone?: string) {
  return {
    id,
    ip: `127.0.0.1:${port}`,
    port,
    name: id,
    status: 'active',
    http_addr: `127.0.0.1:${port}`,
    raft_addr: `127.0.0.1:${port}`,
    ...(zone === undefined ? {} : { zone }),
    weight: 1,
    raft_role: role,
    healthy,
  };
}

const owners: [string, string[]][] = [
  ['node-1', ['node-2', 'node-3']],
  ['node-2', ['node-3', 'node-1']],
  ['node-3', ['node-1', 'node-2']],
  ['node-1', ['node-3', 'node-2']],
];

const partitions = Object.fromEntries(
  owners.map(([primary, replicas], i) => [
    `partition-${i}`,
    { id: `partition-${i}`, primary_node: primary, replica_nodes: replicas, epoch: i + 1, index: i },
  ]),
);

const clusterBody = {
  cluster: {
    id: '5a1c',
    name: 'demo',
    nodes: [
      nodeJson('node-1', 8080, 'leader', true, 'a'),
      nodeJson('node-2', 8081, 'voter', true, 'b'),
      nodeJson('node-3', 8082, 'nonvoter', false),
    ],
    partition_map: { partitions },
    config: { cluster_name: 'demo', partition_count: 4, replication_factor: 3, max_voters: 5, placement: 'balanced' },
    formed: true,
    revision: 42,
    table_version: 7,
    leader: { leader_id: 'node-1', leader_ip: '127.0.0.1:8080', term: 3 },
    term: 3,
  },
  hash_config: { algorithm: 'md5', encoding: 'big_endian_uint32', modulo: 4, format: 'partition-%d' },
};

const healthBody = {
  healthy: false,
  node_id: 'node-2',
  status: 'degraded',
  checks: [
    { name: 'raft', ok: true, message: 'leader node-1, term 3' },
    { name: 'cluster', ok: false, message: '1 of 3 nodes unhealthy: node-3' },
  ],
};

describe('status', () => {
  const summary = statusSummary(parseCluster(clusterBody), parseHealth(healthBody), '127.0.0.1:8081');

  it('counts primaries and replicas per node', () => {
    expect(Object.fromEntries(ownership(parseCluster(clusterBody).partitions))).toEqual({
      'node-1': { primaries: 2, replicas: 2 },
      'node-2': { primaries: 1, replicas: 3 },
      'node-3': { primaries: 1, replicas: 3 },
    });
  });

  it('summarises the cluster for --json', () => {
    expect(summary).toEqual({
      cluster: {
        id: '5a1c',
        name: 'demo',
        formed: true,
        health: 'degraded',
        health_reasons: ['cluster: 1 of 3 nodes unhealthy: node-3'],
        term: 3,
        table_version: 7,
        revision: 42,
        leader: { id: 'node-1', addr: '127.0.0.1:8080' },
        partition_count: 4,
        replication_factor: 3,
        placement: 'balanced',
        unowned_partitions: 0,
      },
      answered_by: { node_id: 'node-2', addr: '127.0.0.1:8081' },
      nodes: [
        {
          id: 'node-1',
          name: 'node-1',
          role: 'leader',
          health: 'healthy',
          addr: '127.0.0.1:8080',
          zone: 'a',
          primaries: 2,
          replicas: 2,
        },
        {
          id: 'node-2',
          name: 'node-2',
          role: 'voter',
          health: 'healthy',
          addr: '127.0.0.1:8081',
          zone: 'b',
          primaries: 1,
          replicas: 3,
        },
        {
          id: 'node-3',
          name: 'node-3',
          role: 'non-voter',
          health: 'unhealthy',
          addr: '127.0.0.1:8082',
          zone: null,
          primaries: 1,
          replicas: 3,
        },
      ],
    });
  });

  it('prints one screen with aligned columns', () => {
    expect(renderStatus(summary)).toBe(
      [
        'Cluster demo  health DEGRADED  term 3  table v7  revision 42',
        '4 partitions × 3 copies (balanced)  leader node-1 (127.0.0.1:8080)  3 nodes',
        '! cluster: 1 of 3 nodes unhealthy: node-3',
        '',
        'NODE    ROLE       HEALTH     ADDRESS         ZONE  PRIMARIES  REPLICAS',
        'node-1  leader     healthy    127.0.0.1:8080  a             2         2',
        'node-2  voter      healthy    127.0.0.1:8081  b             1         3',
        'node-3  non-voter  unhealthy  127.0.0.1:8082  -             1         3',
        '',
        'answered by node-2 at 127.0.0.1:8081 (its view may lag the leader by a commit)',
      ].join('\n'),
    );
  });

  it('says when there is no leader, partitions without a primary, and an unformed cluster', () => {
    const body = structuredClone(clusterBody);
    body.cluster.leader = null as never;
    body.cluster.formed = false;
    body.cluster.partition_map.partitions['partition-0']!.primary_node = '';
    const s = statusSummary(parseCluster(body), parseHealth({ ...healthBody, status: 'critical' }), 'x:1');
    const text = renderStatus(s);
    expect(text).toContain('no leader known');
    expect(text).toContain('the cluster is not formed yet');
    expect(text).toContain('! 1 partitions have no primary');
    expect(text).toContain('health CRITICAL');
  });

  it('colours only through the paint function', () => {
    const painted = renderStatus(summary, (style, t) => `<${style}>${t}</${style}>`);
    expect(painted).toContain('<yellow>DEGRADED</yellow>');
    expect(painted).toContain('<red>unhealthy</red>');
    expect(painted).toContain('<green>healthy  </green>');
  });
});

describe('partitions', () => {
  const list = parsePartitions({
    partitions: Object.values(partitions).reverse(),
    count: 4,
    version: 7,
    partition_count: 4,
    replication_factor: 3,
  });

  it('lists every partition in index order', () => {
    const s = partitionsSummary(list, undefined);
    expect(s.partitions.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    expect(renderPartitions(s)).toBe(
      [
        '4 partitions, replication factor 3, table version 7',
        '',
        'PARTITION    PRIMARY  REPLICAS        EPOCH',
        'partition-0  node-1   node-2, node-3  1',
        'partition-1  node-2   node-3, node-1  2',
        'partition-2  node-3   node-1, node-2  3',
        'partition-3  node-1   node-3, node-2  4',
      ].join('\n'),
    );
  });

  it("shows one node's share with its role", () => {
    const s = partitionsSummary(list, 'node-2');
    expect(s.partitions.map((p) => [p.id, p.role])).toEqual([
      ['partition-0', 'replica'],
      ['partition-1', 'primary'],
      ['partition-2', 'replica'],
      ['partition-3', 'replica'],
    ]);
    expect(renderPartitions(s).split('\n')[0]).toBe(
      'node-2 holds 1 primaries and 3 replicas of 4 partitions (table version 7)',
    );
  });
});

describe('locate', () => {
  it('prints owners with their addresses', () => {
    expect(
      renderLocate({
        key: 'user:1',
        partition: 'partition-2',
        index: 2,
        partition_count: 4,
        primary: 'node-3',
        replicas: ['node-1', 'node-2'],
        epoch: 3,
        table_version: 7,
        addresses: { 'node-3': '127.0.0.1:8082', 'node-1': '127.0.0.1:8080' },
      }),
    ).toBe(
      [
        'key        user:1',
        'partition  partition-2 (of 4)',
        'primary    node-3 (127.0.0.1:8082)',
        'replicas   node-1 (127.0.0.1:8080), node-2',
        'epoch      3',
        'table      version 7',
      ].join('\n'),
    );
  });
});

describe('reading answers', () => {
  it('refuses an answer of the wrong shape with one clear error', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseCluster({}), /cluster is not an object/],
      [() => parseCluster({ cluster: { ...clusterBody.cluster, nodes: 'x' } }), /cluster.nodes is not a list/],
      [() => parseCluster({ ...clusterBody, hash_config: undefined }), /hash_config is not an object/],
      [() => parsePartitions({ partitions: [{ id: 'p' }] }), /partitions\[0\].index is missing/],
      [() => parseHealth([]), /the answer is not an object/],
      [() => parseDataItem({ key: 'k', value: 1 }), /entry.value is not a string/],
    ];
    for (const [fn, message] of cases) {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RequestError);
      expect((caught as Error).message).toMatch(/^unexpected answer from the node: /);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it("reads the Go original's node shape (ip, no http_addr or raft_role)", () => {
    const body = structuredClone(clusterBody) as unknown as { cluster: { nodes: Record<string, unknown>[] } };
    body.cluster.nodes = [{ id: 'n1', ip: '10.0.0.1:8080', port: 8080, name: 'Server-1', status: 'active' }];
    const c = parseCluster(body);
    expect(c.nodes[0]).toMatchObject({
      id: 'n1',
      name: 'Server-1',
      httpAddr: '10.0.0.1:8080',
      raftRole: 'unknown',
      healthy: null,
    });
  });

  it('decodes custom data values from base64', () => {
    const item = parseDataItem({
      key: 'k',
      value: Buffer.from([0, 255, 1]).toString('base64'),
      encoding: 'base64',
      revision: 9,
    });
    expect([...item.value]).toEqual([0, 255, 1]);
    expect(item.revision).toBe(9);
  });
});
