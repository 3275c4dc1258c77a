/**
 * Scripted scenarios on the bare core, with every delivery decided by the test.
 */
import { describe, expect, it } from 'vitest';
import { type Message, MessageType } from '../../../src/raft/types.js';
import { CoreNet, within } from './core-harness.js';

const isAppendTo =
  (to: string) =>
  (m: Message): boolean =>
    m.type === MessageType.AppendEntries && m.to === to;

describe('Figure 8 of the Raft paper', () => {
  it('never commits an entry of an earlier term by counting replicas, so a later leader may overwrite it', () => {
    const net = new CoreNet(['s1', 's2', 's3', 's4', 's5'], { maxEntriesPerMessage: 1, checkQuorum: false });

    // (a) s1 leads term 2 and replicates its entry at index 2 to s2 only.
    net.campaign('s1', (m) => m.type !== MessageType.AppendEntries);
    expect(net.node('s1').core.role).toBe('leader');
    expect(net.node('s1').core.term).toBe(2);
    net.tick('s1', 2); // a heartbeat interval: the leader probes its followers again
    net.deliver((m) => m.from === 's2' || isAppendTo('s2')(m));
    expect(net.terms('s2')).toEqual([1, 2]);
    expect(net.node('s1').core.log.committed).toBeLessThan(2);

    // (b) s1 crashes; s5 wins term 3 with s3 and s4 and writes its own entry at index 2, but crashes at once.
    net.crash('s1');
    net.campaign('s5', (m) => m.type !== MessageType.AppendEntries && within(['s3', 's4', 's5'])(m));
    expect(net.node('s5').core.role).toBe('leader');
    expect(net.node('s5').core.term).toBe(3);
    expect(net.terms('s5')).toEqual([1, 3]);
    net.crash('s5');

    // (c) s1 restarts and wins term 4 with s2 and s3; it replicates index 2 (term 2) to s3, so that entry is now on
    // a majority (s1, s2, s3), and appends index 3 (term 4) locally only.
    net.restart('s1');
    const group = ['s1', 's2', 's3'];
    while (net.node('s1').core.role !== 'leader') {
      net.campaign('s1', (m) => m.type !== MessageType.AppendEntries && within(group)(m));
    }
    expect(net.node('s1').core.term).toBe(4);
    expect(net.terms('s1')).toEqual([1, 2, 4]);
    // s3 rejects index 3 (it lacks index 2), the leader backs off and sends index 2 alone; nothing carrying index
    // 3 reaches s3. s2 (which has index 2) takes index 3 too: 3 is then on 2 of 5 servers, not a majority.
    net.tick('s1', 2);
    net.deliver((m) => {
      if (!within(group)(m)) return false;
      if (m.type === MessageType.AppendEntries && m.to === 's3') return !m.entries.some((e) => e.index === 3);
      return true;
    });
    expect(net.terms('s3')).toEqual([1, 2]);
    expect(net.terms('s2')).toEqual([1, 2, 4]);
    const leader = net.node('s1').core;
    expect(leader.progress.get('s3')?.match).toBe(2);
    expect(leader.progress.get('s2')?.match).toBe(3);
    // Index 2 is on a majority (s1, s2, s3) and the leader knows it, but its term (2) is not the leader's: it must
    // not count as committed.
    expect(leader.log.committed).toBeLessThan(2);
    for (const id of group) expect(net.node(id).applied.some((a) => a.index === 2)).toBe(false);

    // (d) s1 crashes before index 3 reaches a majority; s5 comes back and wins term 5 with s3 and s4 (its last
    // term, 3, beats their 2 and 1), then overwrites index 2 everywhere. That is safe only because index 2 was never
    // committed, which is what (c) checked.
    net.crash('s1');
    net.restart('s5');
    const group2 = ['s2', 's3', 's4', 's5'];
    while (net.node('s5').core.role !== 'leader') {
      net.campaign('s5', (m) => m.type !== MessageType.AppendEntries && within(group2)(m));
    }
    net.tick('s5', 2);
    net.deliver(within(group2));
    for (const id of group2) expect(net.terms(id)).toEqual([1, 3, net.node('s5').core.term]);
    expect(net.node('s5').core.log.committed).toBe(3);

    // s1 returns; its divergent entries (2@2, 3@4) are replaced, and every node applies the same sequence.
    net.restart('s1');
    net.deliver();
    net.tick('s5', 2); // a heartbeat round reaches s1
    net.deliver();
    expect(net.terms('s1')).toEqual(net.terms('s5'));
    const applied = (id: string): string =>
      net
        .node(id)
        .applied.map((a) => `${a.index}@${a.term}`)
        .join(',');
    for (const id of ['s1', 's2', 's3', 's4']) expect(applied(id)).toBe(applied('s5'));
  });
});

describe('fast log back-off', () => {
  it('a follower with a long divergent suffix is repaired in a few round trips, not one per entry', () => {
    const net = new CoreNet(['a', 'b', 'c'], { maxEntriesPerMessage: 1000 });
    net.campaign('a');
    expect(net.node('a').core.role).toBe('leader');
    for (let i = 0; i < 5; i++) net.propose('a', `common${i}`);
    net.deliver();

    // a is cut off and takes 100 proposals that never commit.
    for (let i = 0; i < 100; i++) net.propose('a', `stale${i}`);
    net.deliver(() => false);
    // b and c elect b, which commits 100 different entries.
    net.crash('a');
    net.campaign('b', within(['b', 'c']));
    expect(net.node('b').core.role).toBe('leader');
    for (let i = 0; i < 100; i++) net.propose('b', `fresh${i}`);
    net.deliver(within(['b', 'c']));
    // A second election (c takes over), so the leader's first guess for a (just past its own last index) is far
    // from the point where a diverges.
    net.campaign('c', within(['b', 'c']));
    expect(net.node('c').core.role).toBe('leader');
    expect(net.node('c').core.term).toBe(4);

    // a comes back as a follower of c; count c's rejected appends to a until they agree.
    net.restart('a');
    let rejections = 0;
    net.tick('c', 2);
    net.deliver((m) => {
      if (m.type === MessageType.AppendEntriesResponse && m.from === 'a' && !m.success) {
        rejections++;
      }
      return true;
    });
    expect(net.entries('a')).toEqual(net.entries('c'));
    expect(rejections).toBeGreaterThanOrEqual(1);
    expect(rejections).toBeLessThanOrEqual(3);
    expect([...net.node('a').state.values()].some((v) => v.startsWith('stale'))).toBe(false);
  });
});

describe('durability ordering', () => {
  it('never sends a vote before the term and vote are durable', () => {
    const net = new CoreNet(['a', 'b', 'c']);
    const b = net.node('b');
    // Step a vote request into b by hand and look at what b wants to do before we report the save.
    b.core.step({
      type: MessageType.RequestVote,
      from: 'a',
      to: 'b',
      term: 5,
      lastIndex: 1,
      lastTerm: 1,
      preVote: false,
      transfer: true,
    });
    const rd = b.core.ready();
    expect(rd.saveHardState).toEqual({ term: 5, votedFor: 'a' });
    expect(rd.messages).toHaveLength(0);
    const rd2 = b.core.ready();
    expect(rd2.saveHardState).toBeNull(); // never a second write while one is in flight
    expect(rd2.messages).toHaveLength(0);
    b.core.hardStateSaved();
    const rd3 = b.core.ready();
    expect(rd3.messages.map((m) => m.msg)).toMatchObject([
      { type: MessageType.RequestVoteResponse, to: 'a', term: 5, granted: true },
    ]);
  });

  it('acknowledges appended entries only once they are durable, but answers heartbeats at once', () => {
    const net = new CoreNet(['a', 'b', 'c']);
    net.campaign('a');
    const b = net.node('b').core;
    const term = b.term;
    b.step({
      type: MessageType.AppendEntries,
      from: 'a',
      to: 'b',
      term,
      prevIndex: 2,
      prevTerm: term,
      entries: [{ index: 3, term, type: 1, data: new Uint8Array([1]) }],
      commit: 2,
      round: 7,
    });
    const rd = b.ready();
    expect(rd.logWrite).toMatchObject({ kind: 'append' });
    expect(rd.messages).toHaveLength(0);
    const write = rd.logWrite;
    // A heartbeat while the append is in flight is answered immediately, acknowledging only what is durable.
    b.step({
      type: MessageType.AppendEntries,
      from: 'a',
      to: 'b',
      term,
      prevIndex: 3,
      prevTerm: term,
      entries: [],
      commit: 2,
      round: 8,
    });
    const rd2 = b.ready();
    expect(rd2.logWrite).toBeNull();
    expect(rd2.messages.map((m) => m.msg)).toMatchObject([
      { type: MessageType.AppendEntriesResponse, success: true, matchIndex: 2, round: 8 },
    ]);
    if (write?.kind === 'append') void net.node('b').log.append(write.entries);
    b.logWriteDone();
    const rd3 = b.ready();
    expect(rd3.messages.map((m) => m.msg)).toMatchObject([
      { type: MessageType.AppendEntriesResponse, success: true, matchIndex: 3, round: 7 },
    ]);
  });

  it('a leader sends entries before its own append is durable but counts itself only once it is', () => {
    const net = new CoreNet(['a', 'b', 'c']);
    net.campaign('a');
    net.deliver();
    const a = net.node('a').core;
    a.propose(1, new TextEncoder().encode('x'));
    const rd = a.ready();
    expect(rd.logWrite).toMatchObject({ kind: 'append' });
    const appends = rd.messages.filter((m) => m.msg.type === MessageType.AppendEntries);
    expect(appends).toHaveLength(2);
    const index = a.log.lastIndex();
    // One follower acknowledges: with the leader's own write still in flight that is 1 of 3, no commit.
    a.step({
      type: MessageType.AppendEntriesResponse,
      from: 'b',
      to: 'a',
      term: a.term,
      success: true,
      matchIndex: index,
      conflictTerm: 0,
      conflictIndex: 0,
      round: 0,
    });
    expect(a.log.committed).toBeLessThan(index);
    if (rd.logWrite?.kind === 'append') void net.node('a').log.append(rd.logWrite.entries);
    a.logWriteDone();
    expect(a.log.committed).toBe(index);
  });
});

describe('commit propagation to followers', () => {
  it('tells a follower about a commit at once when its own ack arrives after the commit (no heartbeat wait)', () => {
    const net = new CoreNet(['a', 'b', 'c']);
    net.campaign('a');
    const a = net.node('a').core;
    const c = net.node('c').core;
    expect(a.role).toBe('leader');
    net.propose('a', 'x');
    const take = (pred: (m: Message) => boolean): Message[] => {
      const hit = net.queue.filter(pred);
      net.queue = net.queue.filter((m) => !pred(m));
      return hit;
    };
    const stepAll = (msgs: Message[]): void => {
      for (const m of msgs) {
        net.node(m.to).core.step(m);
        net.process(m.to);
      }
    };
    // Both followers append the entry; their acknowledgements are held.
    stepAll(take((m) => m.type === MessageType.AppendEntries));
    const ackB = take((m) => m.type === MessageType.AppendEntriesResponse && m.from === 'b');
    const ackC = take((m) => m.type === MessageType.AppendEntriesResponse && m.from === 'c');
    expect(ackB).toHaveLength(1);
    expect(ackC).toHaveLength(1);
    // b's ack commits the entry; the commit-only heartbeat c gets now cannot vouch for its new entry.
    stepAll(ackB);
    const last = a.log.lastIndex();
    expect(a.log.committed).toBe(last);
    stepAll(take((m) => m.to === 'c'));
    expect(c.log.committed).toBeLessThan(last);
    // c's own ack arrives after the commit: the leader must tell it at once, not at the next heartbeat (no ticks).
    stepAll(ackC);
    net.deliver();
    expect(c.log.committed).toBe(last);
    expect(net.node('c').applied.some((e) => e.index === last)).toBe(true);
  });
});

describe('commit bumps to a follower that needs a snapshot', () => {
  // Regression for simulation seed 1001086: a follower whose match entry the leader had compacted away got
  // heartbeats anchored at 0/0 that could not raise its commit; each of its replies was answered with another such
  // "bump", a ping-pong per follower that never ended, and every duplicated message added one more.
  it('does not answer a heartbeat reply with another heartbeat that cannot vouch for anything', () => {
    const net = new CoreNet(['a', 'b', 'c'], { snapshotThreshold: 4, snapshotTrailing: 0 });
    net.campaign('a');
    const a = net.node('a').core;
    expect(a.role).toBe('leader');
    // c appends a new entry; its acknowledgement is held back (a slow link).
    net.propose('a', 'x');
    const toC = net.queue.filter((m) => m.to === 'c');
    net.queue = net.queue.filter((m) => m.to !== 'c');
    for (const m of toC) {
      net.node('c').core.step(m);
      net.process('c');
    }
    const ackC = net.queue.filter((m) => m.from === 'c');
    net.queue = net.queue.filter((m) => m.from !== 'c');
    expect(ackC.some((m) => m.type === MessageType.AppendEntriesResponse && m.success)).toBe(true);
    // Meanwhile a and b commit more and the leader compacts its log past that entry.
    for (let i = 0; i < 10; i++) net.propose('a', `y${i}`);
    net.deliver(within(['a', 'b']));
    const ackedIndex = Math.max(...ackC.map((m) => (m.type === MessageType.AppendEntriesResponse ? m.matchIndex : 0)));
    expect(a.log.firstIndex()).toBeGreaterThan(ackedIndex + 1);
    // The held acknowledgement arrives; every snapshot to c is lost from now on. Without the fix this exchange of
    // empty AppendEntries and their replies never ended (deliver() gave up after its round limit).
    let appendsToC = 0;
    net.queue.push(...ackC);
    net.deliver((m) => {
      if (m.type === MessageType.InstallSnapshot) return false;
      if (m.type === MessageType.AppendEntries && m.to === 'c') appendsToC++;
      return true;
    }, 50);
    expect(a.progress.get('c')?.match).toBe(ackedIndex);
    expect(net.queue.filter((m) => m.to === 'c' && m.type === MessageType.AppendEntries)).toHaveLength(0);
    expect(appendsToC).toBeLessThanOrEqual(1);
    // A heartbeat round still reaches c (it keeps its leader), and ends too.
    appendsToC = 0;
    net.tick('a', 2);
    net.deliver((m) => {
      if (m.type === MessageType.InstallSnapshot) return false;
      if (m.type === MessageType.AppendEntries && m.to === 'c') appendsToC++;
      return true;
    }, 50);
    expect(appendsToC).toBe(1);
    expect(net.queue).toHaveLength(0);
    expect(net.node('c').core.leaderId).toBe('a');
  });
});
