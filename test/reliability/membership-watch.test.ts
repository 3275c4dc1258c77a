/**
 * Regression test for a bug the fault harness found (scenario `partition`, seed 9): two nodes the cluster removed
 * while they were cut off kept sending each other vote requests after the cut healed. A node asks to be readmitted
 * once it has heard nothing for a while, and those vote requests counted as hearing something, so neither ever
 * asked: both stayed out of the cluster, their logs thousands of entries behind, for as long as the run lasted.
 * Now only contact with a leader counts.
 */
import { describe, expect, it } from 'vitest';
import type { PostJson } from '../../src/cluster/join.js';
import { MembershipAgent } from '../../src/cluster/membership.js';
import { resolveOptions } from '../../src/cluster/options.js';
import { ClusterStateMachine } from '../../src/cluster/state/index.js';
import type { RaftStatus } from '../../src/raft/api.js';
import { silentLogger } from '../../src/util/logger.js';

function agent(status: () => RaftStatus): { watch: () => void; posts: string[]; clock: { t: number } } {
  const clock = { t: 0 };
  const o = resolveOptions({
    nodeId: 'n1',
    httpAddr: '127.0.0.1:7001',
    joinAddr: '127.0.0.1:7002',
    healthCheck: { interval: 100, timeout: 200, failureThreshold: 3 },
    raft: { electionMs: 300 },
    clock: { now: () => clock.t },
  });
  const posts: string[] = [];
  const post: PostJson = (addr, path) => {
    posts.push(`${addr}${path}`);
    return Promise.resolve({ status: 200, headers: {}, body: { success: true, data: { join: 'rejoin' } } });
  };
  let received = 0;
  const m = new MembershipAgent({
    o,
    logger: silentLogger,
    state: new ClusterStateMachine().state,
    post,
    advertiseAddr: () => '127.0.0.1:7001',
    incarnation: () => 'x.1',
    raftStatus: status,
    // Messages keep arriving: the other removed node's vote requests.
    messagesReceived: () => ++received,
    isJoined: () => true, // its own stale state still lists it
    stopping: () => false,
    running: () => true,
    coordinator: () => null,
    propose: () => Promise.reject(new Error('not used')),
    sleep: () => Promise.resolve(),
    until: () => Promise.resolve(true),
  });
  return { watch: () => m.watch(), posts, clock };
}

function status(role: RaftStatus['role'], leaderId: string | null): RaftStatus {
  return {
    id: 'n1',
    role,
    term: 9,
    leaderId,
    leaderAddr: null,
    commitIndex: 7878,
    appliedIndex: 7878,
    lastIndex: 7878,
    lastTerm: 9,
    firstIndex: 1,
    snapshotIndex: 0,
    config: { members: [] },
    progress: [],
  };
}

async function run(a: ReturnType<typeof agent>, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    a.clock.t += 100;
    a.watch();
    await Promise.resolve();
  }
}

describe('a removed node that only hears vote requests', () => {
  it('asks to be readmitted once no leader has been heard from for the removal time', async () => {
    const a = agent(() => status('pre-candidate', null));
    await run(a, 2000);
    expect(a.posts.length).toBeGreaterThan(0);
    expect(a.posts[0]).toBe('127.0.0.1:7002/join');
  });

  it('does not probe while a leader is heard from', async () => {
    const a = agent(() => status('follower', 'n2'));
    await run(a, 2000);
    expect(a.posts).toEqual([]);
  });
});
