/**
 * RaftMembership's queue: changes of the voters run one after another, and a removal that waited behind others
 * asks again, when its turn comes, whether the node should still go (it may have rejoined meanwhile).
 */
import { describe, expect, it } from 'vitest';
import { RaftMembership } from '../../src/cluster/raft-membership.js';
import type { Raft } from '../../src/raft/api.js';
import type { Member } from '../../src/raft/types.js';
import { systemScheduler } from '../../src/util/io.js';
import { silentLogger } from '../../src/util/logger.js';

/** Just enough of a Raft node: a configuration, and membership calls the test settles by hand. */
class FakeRaft {
  members: Member[] = [
    { id: 'n1', addr: 'a1', voter: true },
    { id: 'n2', addr: 'a2', voter: true },
    { id: 'n3', addr: 'a3', voter: true },
    { id: 'n4', addr: 'a4', voter: false },
  ];
  readonly calls: string[] = [];
  readonly pending: (() => void)[] = [];

  status(): { config: { members: Member[] } } {
    return { config: { members: this.members } };
  }
  private call(what: string, apply: () => void): Promise<void> {
    this.calls.push(what);
    return new Promise((resolve) => {
      this.pending.push(() => {
        apply();
        resolve();
      });
    });
  }
  promote(id: string): Promise<void> {
    return this.call(`promote ${id}`, () => {
      this.members = this.members.map((m) => (m.id === id ? { ...m, voter: true } : m));
    });
  }
  removeMember(id: string): Promise<void> {
    return this.call(`remove ${id}`, () => {
      this.members = this.members.filter((m) => m.id !== id);
    });
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('RaftMembership', () => {
  it('a queued removal of a node that came back meanwhile is skipped', async () => {
    const raft = new FakeRaft();
    const membership = new RaftMembership(() => raft as unknown as Raft, systemScheduler, silentLogger, 1000);
    const promoting = membership.promote('n4');
    let back = false;
    const removing = membership.remove('n3', () => !back);
    await until(() => raft.calls.length === 1);
    expect(raft.calls).toEqual(['promote n4']); // the removal of a voter waits for the change before it
    back = true; // n3 rejoined while the promotion committed
    raft.pending.shift()?.();
    await promoting;
    await removing;
    expect(raft.calls).toEqual(['promote n4']);
    expect(raft.members.map((m) => m.id)).toContain('n3');
    expect(membership.busy).toBe(false);
  });

  it('a queued removal still wanted when its turn comes goes ahead', async () => {
    const raft = new FakeRaft();
    const membership = new RaftMembership(() => raft as unknown as Raft, systemScheduler, silentLogger, 1000);
    const promoting = membership.promote('n4');
    const removing = membership.remove('n3', () => true);
    await until(() => raft.pending.length === 1);
    raft.pending.shift()?.();
    await promoting;
    await until(() => raft.pending.length === 1);
    expect(raft.calls).toEqual(['promote n4', 'remove n3']);
    raft.pending.shift()?.();
    await removing;
    expect(raft.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n4']);
  });
});
