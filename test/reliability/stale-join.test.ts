/**
 * Regression test for a bug the fault harness found (scenario `mixed`: kill -9 of every node, then a restart): a
 * restarted node was refused for good (409, the agent exits) because the new leader decided its join from a state
 * that had not applied yet what earlier leaders committed. It did not see the node as a member (or saw an older
 * incarnation), so it skipped recording the old life's departure (or recorded it for the wrong incarnation), and
 * the state machine then refused the join: "is a member with another incarnation" (or "has incarnation …").
 *
 * The coordinator runs here against a real ClusterStateMachine behind a fake leader whose applied state lags the
 * log: commands already committed are applied before any new one (as Raft would), or at a read barrier.
 */
import { describe, expect, it } from 'vitest';
import { JoinCoordinator, type JoinHost } from '../../src/cluster/join.js';
import {
  type ApplyOk,
  type ClusterCommand,
  ClusterStateMachine,
  encodeCommand,
  type NodeSpec,
  refusalToError,
} from '../../src/cluster/state/index.js';
import type { JoinRequest } from '../../src/http/api.js';
import { silentLogger } from '../../src/util/logger.js';

function spec(id: string, incarnation: string): NodeSpec {
  return { id, name: id, httpAddr: `10.0.0.${id.slice(1)}:80`, raftAddr: `10.0.0.${id.slice(1)}:80`, incarnation };
}

/** A leader whose state machine has applied the log only up to a point: `committed` is what it has not applied. */
function laggingLeader(withBarrier: boolean): { host: JoinHost; committed: ClusterCommand[]; sm: ClusterStateMachine } {
  const sm = new ClusterStateMachine();
  let index = 0;
  let at = 1_000_000;
  const committed: ClusterCommand[] = [];
  const apply = (c: ClusterCommand): ApplyOk => {
    const r = sm.apply(encodeCommand(c), ++index);
    if (!r.ok) throw refusalToError(r);
    return r;
  };
  const catchUp = (): void => {
    for (const c of committed.splice(0)) apply(c);
  };
  apply({
    type: 'bootstrap',
    at: (at += 1000),
    clusterId: 'c1',
    config: { clusterName: 'x', partitionCount: 8, replicationFactor: 2, maxVoters: 5 },
    node: spec('n1', 'a.1'),
  });
  const host: JoinHost = {
    state: sm.state,
    ...(withBarrier ? { sync: () => Promise.resolve(catchUp()) } : {}),
    // A new entry is applied after every entry committed before it.
    propose: (c) => {
      try {
        catchUp();
        return Promise.resolve(apply(c));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    ensureRaftMember: () => Promise.resolve(),
    removeRaftMember: () => Promise.resolve(),
    isLeader: () => true,
    redirect: () => ({ kind: 'redirect', leader: null }),
    isReachable: () => false,
    lastSeenBeforeOutage: () => at,
    pendingJoins: new Set(),
    wallClock: () => (at += 10),
    logger: silentLogger,
  };
  return { host, committed, sm };
}

function joinOf(s: NodeSpec): JoinRequest {
  return {
    node: { id: s.id, name: s.name, httpAddr: s.httpAddr, raftAddr: s.raftAddr, incarnation: s.incarnation },
    remoteAddress: undefined,
  };
}

describe('a restarted node joining through a leader that lags the log', () => {
  it('is admitted as a rejoin when the leader had not applied its first join yet', async () => {
    const { host, committed, sm } = laggingLeader(true);
    // n2 joined (committed, not applied here yet), then was killed and restarted from its data directory.
    committed.push({ type: 'nodeJoin', at: 1_100_000, node: spec('n2', 'b.1') });
    const outcome = await new JoinCoordinator(host).handle(joinOf(spec('n2', 'b.2')));
    expect(outcome).toMatchObject({ kind: 'joined', join: 'rejoin' });
    expect(sm.state.node('n2')?.incarnation).toBe('b.2');
  });

  it('records the departure of the incarnation the log has, not the one the lagging state shows', async () => {
    const { host, committed, sm } = laggingLeader(true);
    await new JoinCoordinator(host).handle(joinOf(spec('n2', 'b.1')));
    // Restarts of n2 the leader has not applied yet: the log says b.5.
    committed.push(
      { type: 'nodeLeave', at: 1_200_000, nodeId: 'n2', reason: 'health_check_failure', incarnation: 'b.1' },
      { type: 'nodeJoin', at: 1_200_010, node: spec('n2', 'b.5') },
    );
    const outcome = await new JoinCoordinator(host).handle(joinOf(spec('n2', 'b.6')));
    expect(outcome).toMatchObject({ kind: 'joined', join: 'rejoin' });
    expect(sm.state.node('n2')?.incarnation).toBe('b.6');
  });

  it('even without a read barrier (a host that has none), the conflict retry admits it from the updated state', async () => {
    const { host, committed } = laggingLeader(false);
    committed.push({ type: 'nodeJoin', at: 1_100_000, node: spec('n2', 'b.1') });
    // Without a barrier the coordinator decides from the stale state; the conflict retry then sees the state move
    // (the proposal applied the lagging entry) and tries again from the now current state.
    const outcome = await new JoinCoordinator(host).handle(joinOf(spec('n2', 'b.2')));
    expect(outcome).toMatchObject({ kind: 'joined', join: 'rejoin' });
  });
});
