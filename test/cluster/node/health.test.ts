import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  assessClusterHealth,
  decodeHealthRecord,
  encodeHealthRecord,
  HealthChangeDetector,
  type HealthInputs,
} from '../../../src/cluster/health.js';
import { computePlacement, type PartitionTable } from '../../../src/partitioning/index.js';

function table(ids: readonly string[], rf = 3, partitions = 16): PartitionTable {
  return computePlacement({
    members: ids.map((id) => ({ id, weight: 1 })),
    previous: undefined,
    partitionCount: partitions,
    replicationFactor: rf,
    strategy: 'balanced',
  });
}

const three = ['a', 'b', 'c'];

function inputs(over: Partial<HealthInputs> = {}): HealthInputs {
  return { members: three, unhealthy: new Set(), voters: three, table: table(three), leaderKnown: true, ...over };
}

describe('cluster health', () => {
  it('is healthy when every member is', () => {
    const h = assessClusterHealth(inputs());
    expect(h).toMatchObject({ status: 'healthy', healthyNodes: 3, unhealthyNodes: 0, totalNodes: 3 });
    expect(h.reasons).toEqual([]);
  });

  it('is degraded with one of three down (RF 3): quorum holds and every partition has a healthy owner', () => {
    const h = assessClusterHealth(inputs({ unhealthy: new Set(['c']) }));
    expect(h.status).toBe('degraded');
    expect(h.unhealthyNodeIds).toEqual(['c']);
    expect(h.healthyNodes).toBe(2);
  });

  it('is critical without a quorum of healthy voters', () => {
    const h = assessClusterHealth(inputs({ unhealthy: new Set(['b', 'c']) }));
    expect(h.status).toBe('critical');
    expect(h.reasons.join(' ')).toMatch(/only 1 of 3 Raft voters are healthy/);
  });

  it('is critical when some partition has no healthy owner (RF 1)', () => {
    const h = assessClusterHealth(
      inputs({ table: table(three, 1), voters: ['a', 'b', 'c'], unhealthy: new Set(['c']) }),
    );
    expect(h.status).toBe('critical');
    expect(h.reasons.join(' ')).toMatch(/partition\(s\) have no healthy owner/);
  });

  it('is critical without a known leader or before the cluster is formed', () => {
    expect(assessClusterHealth(inputs({ leaderKnown: false })).status).toBe('critical');
    expect(assessClusterHealth(inputs({ table: undefined })).status).toBe('critical');
  });

  it('ignores verdicts about nodes that are no longer members', () => {
    expect(assessClusterHealth(inputs({ unhealthy: new Set(['gone']) })).status).toBe('healthy');
  });

  test.prop([fc.subarray(['n1', 'n2', 'n3', 'n4', 'n5', 'n6']), fc.integer({ min: 1, max: 3 })])(
    'more unhealthy nodes never make the status better',
    (down, rf) => {
      const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
      const t = table(ids, rf);
      const rank = { healthy: 0, degraded: 1, critical: 2 } as const;
      const base = { members: ids, voters: ids.slice(0, 5), table: t, leaderKnown: true };
      let prev = 0;
      for (let k = 0; k <= down.length; k++) {
        const h = assessClusterHealth({ ...base, unhealthy: new Set(down.slice(0, k)) });
        expect(rank[h.status]).toBeGreaterThanOrEqual(prev);
        expect(h.healthyNodes + h.unhealthyNodes).toBe(ids.length);
        prev = rank[h.status];
      }
    },
  );

  it('round-trips the replicated record, and reads garbage as "no verdict"', () => {
    const bytes = encodeHealthRecord({ unhealthy: ['c', 'a'], by: 'b', at: 5 });
    expect(decodeHealthRecord(bytes)).toEqual({ unhealthy: ['a', 'c'], by: 'b', at: 5 });
    expect(decodeHealthRecord(new TextEncoder().encode('{"unhealthy":[1]}'))).toBeUndefined();
    expect(decodeHealthRecord(new TextEncoder().encode('nope'))).toBeUndefined();
    expect(decodeHealthRecord(undefined)).toBeUndefined();
  });
});

describe('HealthChangeDetector', () => {
  it('reports changes of status or of the unhealthy set, once each', () => {
    const d = new HealthChangeDetector();
    expect(d.observe(assessClusterHealth(inputs()), 1)).toBeUndefined();
    const down = d.observe(assessClusterHealth(inputs({ unhealthy: new Set(['c']) })), 2);
    expect(down).toMatchObject({
      status: 'degraded',
      previousStatus: 'healthy',
      unhealthyNodeIds: ['c'],
      timestamp: 2,
    });
    expect(d.observe(assessClusterHealth(inputs({ unhealthy: new Set(['c']) })), 3)).toBeUndefined();
    const other = d.observe(assessClusterHealth(inputs({ unhealthy: new Set(['b']) })), 4);
    expect(other).toMatchObject({ status: 'degraded', previousStatus: 'degraded', unhealthyNodeIds: ['b'] });
    const up = d.observe(assessClusterHealth(inputs()), 5);
    expect(up).toMatchObject({ status: 'healthy', previousStatus: 'degraded', unhealthyNodes: 0 });
  });

  it('reports a first verdict that is not healthy', () => {
    const d = new HealthChangeDetector();
    expect(d.observe(assessClusterHealth(inputs({ leaderKnown: false })), 1)?.status).toBe('critical');
  });
});
