/**
 * The leader side of a join (JoinCoordinator) against the real cluster state machine and a fake Raft membership:
 * the state change and the Raft membership are proposed together (one commit, not two in a row), a node the
 * state refuses is taken out of Raft again, and a Raft failure after admission is reported as retriable.
 */
import { describe, expect, it } from 'vitest';
import { JoinCoordinator, type JoinHost } from '../../../src/cluster/join.js';
import {
  type ApplyOk,
  type ClusterCommand,
  ClusterStateMachine,
  encodeCommand,
  refusalToError,
} from '../../../src/cluster/state/index.js';
import { ClusterKitError } from '../../../src/errors.js';
import type { JoinRequest } from '../../../src/http/api.js';
import { silentLogger } from '../../../src/util/logger.js';

/** A deferred call: the test decides when it completes. */
interface Held {
  readonly what: string;
  release(): void;
}

class Leader {
  readonly sm = new ClusterStateMachine();
  index = 0;
  readonly raftMembers = new Set<string>(['n1']);
  readonly calls: string[] = [];
  readonly held: Held[] = [];
  raftFails = false;
  readonly host: JoinHost;

  constructor() {
    this.host = {
      state: this.sm.state,
      propose: (cmd) => this.hold(`propose ${cmd.type}`, () => this.apply(cmd)),
      ensureRaftMember: (id) =>
        this.hold(`raft add ${id}`, () => {
          if (this.raftFails) throw new ClusterKitError('ERR_MEMBERSHIP', 'busy', { retriable: true });
          this.raftMembers.add(id);
        }),
      removeRaftMember: (id) => this.hold(`raft remove ${id}`, () => void this.raftMembers.delete(id)),
      isLeader: () => true,
      redirect: () => ({ kind: 'redirect', leader: null }),
      isReachable: () => true,
      lastSeenBeforeOutage: () => 0,
      pendingJoins: new Set(),
      wallClock: () => 1_700_000_000_000,
      logger: silentLogger,
    };
  }

  apply(cmd: ClusterCommand): ApplyOk {
    const r = this.sm.apply(encodeCommand(cmd), ++this.index);
    if (!r.ok) throw refusalToError(r);
    return r;
  }

  /** Records the call; it completes (runs `fn`) only when the test releases it. */
  hold<T>(what: string, fn: () => T): Promise<T> {
    this.calls.push(what);
    return new Promise<T>((resolve, reject) => {
      this.held.push({
        what,
        release: () => {
          try {
            resolve(fn());
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      });
    });
  }

  /** Releases every held call (and those they lead to) until none is left. */
  async settle(): Promise<void> {
    for (let k = 0; k < 50; k++) {
      await new Promise((r) => setImmediate(r));
      const now = this.held.splice(0);
      if (now.length === 0) return;
      for (const h of now) h.release();
    }
  }
}

function request(id: string, addr = `10.0.0.${id.slice(1)}:80`): JoinRequest {
  return {
    node: { id, name: id, httpAddr: addr, raftAddr: addr, incarnation: `${id}-inc.1` },
    remoteAddress: undefined,
  };
}

async function bootstrapped(): Promise<Leader> {
  const l = new Leader();
  l.apply({
    type: 'bootstrap',
    at: 1,
    clusterId: 'c',
    config: { clusterName: 'c', partitionCount: 16, replicationFactor: 3, maxVoters: 5 },
    node: { id: 'n1', name: 'n1', httpAddr: '10.0.0.1:80', raftAddr: '10.0.0.1:80', incarnation: 'n1-inc.1' },
  });
  return l;
}

describe('JoinCoordinator', () => {
  it('proposes the state change and the Raft membership together, then answers joined', async () => {
    const l = await bootstrapped();
    const c = new JoinCoordinator(l.host);
    const outcome = c.handle(request('n2'));
    await new Promise((r) => setImmediate(r));
    // Both are in flight before either completed: they share one commit.
    expect(l.held.map((h) => h.what).sort()).toEqual(['propose nodeJoin', 'raft add n2']);
    await l.settle();
    await expect(outcome).resolves.toMatchObject({ kind: 'joined', nodeId: 'n2', join: 'new', nodeCount: 2 });
    expect(l.raftMembers.has('n2')).toBe(true);
    expect(l.host.pendingJoins.size).toBe(0);
  });

  it('takes a node the state refuses out of Raft again', async () => {
    const l = await bootstrapped();
    const c = new JoinCoordinator(l.host);
    // n3 claims n1's address: the state machine refuses it for good (ERR_CONFLICT).
    const outcome = c.handle(request('n3', '10.0.0.1:80'));
    const settled = outcome.catch((e: unknown) => e);
    await l.settle();
    const err = await settled;
    expect(err).toMatchObject({ code: 'ERR_CONFLICT', retriable: false });
    expect(l.calls).toEqual(['raft add n3', 'propose nodeJoin', 'raft remove n3']);
    expect(l.raftMembers.has('n3')).toBe(false);
    expect(l.sm.state.node('n3')).toBeUndefined();
  });

  it('reports a Raft failure after admission as retriable, and a retry finishes the join', async () => {
    const l = await bootstrapped();
    const c = new JoinCoordinator(l.host);
    l.raftFails = true;
    const first = c.handle(request('n2')).catch((e: unknown) => e);
    await l.settle();
    expect(await first).toMatchObject({ code: 'ERR_UNAVAILABLE', retriable: true });
    expect(l.sm.state.node('n2')).toBeDefined();
    l.raftFails = false;
    const again = c.handle(request('n2'));
    await l.settle();
    await expect(again).resolves.toMatchObject({ kind: 'joined', join: 'unchanged' });
    expect(l.raftMembers.has('n2')).toBe(true);
  });
});
