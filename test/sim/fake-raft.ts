/**
 * A deliberately trivial stand-in for the engine: a fixed leader (the first bootstrap member) replicating to
 * followers, no elections, no membership changes, no snapshots. It exists for two reasons: to test the harness
 * itself independently of the engine, and to prove the checkers bite, through switches that make it break a
 * Raft property on purpose.
 */
import { ClusterKitError, NotLeaderError, TimeoutError } from '../../src/errors.js';
import type { Raft, RaftCounters, RaftEvents, RaftOptions, RaftRole, RaftStatus } from '../../src/raft/api.js';
import {
  type Configuration,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type NodeId,
} from '../../src/raft/types.js';
import type { SimResult } from './state-machine.js';

export interface FakeBugs {
  /** Followers acknowledge entries before their append is durable. */
  ackBeforeDurable?: boolean;
  /** Every node believes it is the leader of term 1. */
  everyoneLeads?: boolean;
}

interface Waiter {
  readonly index: number;
  readonly resolve: (r: SimResult) => void;
  readonly reject: (e: Error) => void;
}

export class FakeRaft implements Raft<SimResult> {
  private config: Configuration = { members: [] };
  private log: Entry[] = [];
  private commit = 0;
  private applied = 0;
  private durableMatch = new Map<NodeId, number>();
  private role: RaftRole = 'follower';
  private readonly waiters: Waiter[] = [];
  private readonly results = new Map<number, SimResult>();
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private nextReq = 1;
  private readonly forwards = new Map<number, (index: number) => void>();

  constructor(
    private readonly o: RaftOptions<SimResult>,
    private readonly bugs: FakeBugs = {},
  ) {}

  private get leaderId(): NodeId | undefined {
    return this.bugs.everyoneLeads ? this.o.id : this.config.members[0]?.id;
  }

  async start(): Promise<void> {
    const snapCfg = this.o.snapshotStore.latest()?.meta.config;
    this.config = this.o.bootstrap ?? snapCfg ?? { members: [] };
    const first = this.o.logStore.firstIndex();
    const last = this.o.logStore.lastIndex();
    if (last >= first) this.log = this.o.logStore.entries(first, last + 1);
    const stored = this.log.find((e) => e.type === EntryType.Config);
    if (stored !== undefined) this.config = JSON.parse(new TextDecoder().decode(stored.data)) as Configuration;
    if (this.log.length === 0 && this.o.bootstrap !== undefined) {
      const data = new TextEncoder().encode(JSON.stringify(this.o.bootstrap));
      const e: Entry = { index: 1, term: 1, type: EntryType.Config, data };
      this.log.push(e);
      this.writing = this.o.logStore.append([e]);
    }
    if (this.o.stableStore.load().term === 0)
      await this.o.stableStore.save({ term: 1, votedFor: this.leaderId ?? null });
    this.role = this.leaderId === this.o.id ? 'leader' : 'follower';
    this.durableMatch.set(this.o.id, 0);
    this.o.transport.onMessage((m) => this.onMessage(m));
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.role === 'leader') for (const m of this.config.members) if (m.id !== this.o.id) this.replicate(m.id);
    this.o.scheduler.setTimeout(() => this.tick(), this.o.timings?.heartbeatMs ?? 50);
  }

  private addrOf(id: NodeId): string {
    return this.config.members.find((m) => m.id === id)?.addr ?? `${id}:7000`;
  }

  private replicate(to: NodeId): void {
    const match = this.durableMatch.get(to) ?? 0;
    const entries = this.log.filter((e) => e.index > match);
    this.o.transport.send(this.addrOf(to), {
      type: MessageType.AppendEntries,
      from: this.o.id,
      to,
      term: 1,
      prevIndex: match,
      prevTerm: match === 0 ? 0 : 1,
      entries,
      commit: this.commit,
      round: 0,
    });
  }

  private persist(entries: Entry[]): Promise<void> {
    const p = this.writing.then(() => this.o.logStore.append(entries));
    this.writing = p;
    return p;
  }

  private onMessage(m: Message): void {
    if (this.stopped) return;
    if (m.type === MessageType.AppendEntries) {
      const fresh = m.entries.filter((e) => e.index > this.log.length);
      if (m.prevIndex > this.log.length) {
        // A restarted follower lost its tail: tell the leader where to resume.
        void this.writing.then(() =>
          this.o.transport.send(this.addrOf(m.from), {
            type: MessageType.AppendEntriesResponse,
            from: this.o.id,
            to: m.from,
            term: 1,
            success: false,
            matchIndex: this.log.length,
            conflictTerm: 0,
            conflictIndex: this.log.length + 1,
            round: 0,
          }),
        );
        return;
      }
      this.log.push(...fresh);
      const match = this.log.length;
      const reply = (): void => {
        this.o.transport.send(this.addrOf(m.from), {
          type: MessageType.AppendEntriesResponse,
          from: this.o.id,
          to: m.from,
          term: 1,
          success: true,
          matchIndex: match,
          conflictTerm: 0,
          conflictIndex: 0,
          round: 0,
        });
      };
      const written = fresh.length > 0 ? this.persist(fresh) : this.writing;
      if (this.bugs.ackBeforeDurable) reply();
      else void written.then(reply);
      this.advance(Math.min(m.commit, this.log.length));
    } else if (m.type === MessageType.AppendEntriesResponse) {
      const prev = this.durableMatch.get(m.from) ?? 0;
      this.durableMatch.set(m.from, m.success ? Math.max(prev, m.matchIndex) : m.matchIndex);
      this.leaderCommit();
    } else if (m.type === MessageType.ForwardPropose) {
      const index = this.appendCommand(m.commands[0] ?? new Uint8Array());
      this.o.transport.send(this.addrOf(m.from), {
        type: MessageType.ForwardProposeResponse,
        from: this.o.id,
        to: m.from,
        term: 1,
        requestId: m.requestId,
        index,
        entryTerm: 1,
        error: '',
        leaderId: '',
      });
    } else if (m.type === MessageType.ForwardProposeResponse) {
      this.forwards.get(m.requestId)?.(m.index);
      this.forwards.delete(m.requestId);
    }
  }

  private leaderCommit(): void {
    const voters = this.config.members.map((m) => m.id);
    const matches = voters.map((v) => this.durableMatch.get(v) ?? 0).sort((a, b) => b - a);
    const quorum = matches[Math.floor(voters.length / 2)] ?? 0;
    this.advance(quorum);
  }

  private advance(to: number): void {
    if (to <= this.commit) return;
    this.commit = to;
    while (this.applied < this.commit) {
      const e = this.log[this.applied];
      this.applied++;
      if (e?.type === EntryType.Command) this.results.set(e.index, this.o.stateMachine.apply(e.data, e.index));
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as Waiter;
      const r = this.results.get(w.index);
      if (r === undefined) continue;
      this.waiters.splice(i, 1);
      w.resolve(r);
    }
  }

  private appendCommand(data: Uint8Array): number {
    const e: Entry = { index: this.log.length + 1, term: 1, type: EntryType.Command, data };
    this.log.push(e);
    void this.persist([e]).then(() => {
      this.durableMatch.set(this.o.id, Math.max(this.durableMatch.get(this.o.id) ?? 0, e.index));
      this.leaderCommit();
    });
    return e.index;
  }

  propose(command: Uint8Array, options?: { timeoutMs?: number }): Promise<SimResult> {
    return new Promise<SimResult>((resolve, reject) => {
      const timeout = this.o.scheduler.setTimeout(
        () => reject(new TimeoutError('propose timed out')),
        options?.timeoutMs ?? this.o.proposeTimeoutMs ?? 5000,
      );
      const wait = (index: number): void => {
        this.waiters.push({
          index,
          resolve: (r) => {
            timeout.cancel();
            resolve(r);
          },
          reject,
        });
        this.advance(this.commit);
      };
      const leader = this.leaderId;
      if (leader === this.o.id) {
        wait(this.appendCommand(command));
      } else if (leader === undefined) {
        timeout.cancel();
        reject(new NotLeaderError());
      } else {
        const req = this.nextReq++;
        this.forwards.set(req, wait);
        this.o.transport.send(this.addrOf(leader), {
          type: MessageType.ForwardPropose,
          from: this.o.id,
          to: leader,
          term: 1,
          requestId: req,
          commands: [command],
        });
      }
    });
  }

  async read(): Promise<void> {}

  async addMember(): Promise<void> {
    throw new ClusterKitError('ERR_MEMBERSHIP', 'the fake does not change membership');
  }

  promote(): Promise<void> {
    return this.addMember();
  }

  demote(): Promise<void> {
    return this.addMember();
  }

  removeMember(): Promise<void> {
    return this.addMember();
  }

  async transferLeadership(): Promise<void> {
    throw new ClusterKitError('ERR_MEMBERSHIP', 'the fake has a fixed leader');
  }

  status(): RaftStatus {
    const leader = this.leaderId ?? null;
    return {
      id: this.o.id,
      role: this.role,
      term: 1,
      leaderId: leader,
      leaderAddr: leader === null ? null : this.addrOf(leader),
      commitIndex: this.commit,
      appliedIndex: this.applied,
      lastIndex: this.log.length,
      lastTerm: this.log.at(-1)?.term ?? 0,
      firstIndex: 1,
      snapshotIndex: 0,
      config: this.config,
      progress: [],
    };
  }

  counters(): RaftCounters {
    return {
      proposals: 0,
      proposalsFailed: 0,
      commits: this.commit,
      elections: 0,
      leaderChanges: 0,
      snapshotsTaken: 0,
      snapshotsSent: 0,
      snapshotsInstalled: 0,
      messagesSent: 0,
      messagesReceived: 0,
      messagesDropped: 0,
    };
  }

  on<E extends keyof RaftEvents>(_event: E, _listener: RaftEvents[E]): () => void {
    return () => {};
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w.reject(new NotLeaderError());
  }
}
