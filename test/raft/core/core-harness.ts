/**
 * Drives RaftCore instances directly, with every message delivery chosen by the test (as etcd's interaction
 * tests do). Storage writes complete synchronously. Used for scripted scenarios (Figure 8, back-off) and for the
 * randomised safety property.
 */
import { encodeConfiguration } from '../../../src/raft/core/config.js';
import { RaftCore } from '../../../src/raft/core/raft.js';
import type { CoreConfig, CoreResult } from '../../../src/raft/core/types.js';
import { MemoryLogStore, MemorySnapshotStore, MemoryStableStore } from '../../../src/raft/storage/memory.js';
import { type Entry, EntryType, type Message, MessageType, type NodeId } from '../../../src/raft/types.js';
import { seededRandom } from '../../../src/util/io.js';

export interface CoreNode {
  readonly id: NodeId;
  core: RaftCore;
  readonly log: MemoryLogStore;
  readonly stable: MemoryStableStore;
  readonly snapshots: MemorySnapshotStore;
  /** Every entry applied, in order, since the last restart, and every snapshot restored (`snapshot: true`). */
  applied: { index: number; term: number; snapshot: boolean }[];
  /** Applied commands, the "state": index -> data. */
  state: Map<number, string>;
  results: CoreResult[];
  up: boolean;
}

export function coreConfig(id: NodeId, overrides: Partial<CoreConfig> = {}, seed = 1): CoreConfig {
  return {
    id,
    addr: `addr-${id}`,
    electionTicks: 10,
    heartbeatTicks: 2,
    preVote: true,
    checkQuorum: true,
    leaseReads: false,
    maxEntriesPerMessage: 64,
    maxBytesPerMessage: 1 << 20,
    maxInflightMessages: 8,
    maxInflightBytes: 1 << 24,
    maxUncommittedEntries: 100_000,
    snapshotChunkBytes: 1024,
    snapshotThreshold: 1_000_000,
    snapshotTrailing: 10,
    promoteLag: 64,
    random: seededRandom(seed),
    ...overrides,
  };
}

export class CoreNet {
  readonly nodes = new Map<NodeId, CoreNode>();
  queue: Message[] = [];
  private seed = 1;

  constructor(
    ids: readonly NodeId[],
    private readonly overrides: Partial<CoreConfig> = {},
  ) {
    const config = encodeConfiguration({ members: ids.map((id) => ({ id, addr: `addr-${id}`, voter: true })) });
    for (const id of ids) {
      const log = new MemoryLogStore([{ index: 1, term: 1, type: EntryType.Config, data: config }]);
      const stable = new MemoryStableStore({ term: 1, votedFor: null });
      const snapshots = new MemorySnapshotStore();
      const node: CoreNode = {
        id,
        log,
        stable,
        snapshots,
        applied: [],
        state: new Map(),
        results: [],
        up: true,
        core: undefined as unknown as RaftCore,
      };
      node.core = this.build(node);
      this.nodes.set(id, node);
    }
  }

  private build(n: CoreNode): RaftCore {
    const snap = n.snapshots.latest();
    if (snap !== null) n.state = new Map(JSON.parse(new TextDecoder().decode(snap.data)) as [number, string][]);
    return new RaftCore(
      coreConfig(n.id, this.overrides, this.seed++),
      { log: n.log, latestSnapshot: () => n.snapshots.latest() },
      {
        hardState: n.stable.load(),
        snapshot: snap === null ? null : { index: snap.meta.index, term: snap.meta.term, config: snap.meta.config },
      },
    );
  }

  node(id: NodeId): CoreNode {
    return this.nodes.get(id)!;
  }

  /** Runs the node's Ready loop until it has nothing left to do. */
  process(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    for (let k = 0; k < 10_000; k++) {
      const rd = n.core.ready();
      let busy = false;
      for (const m of rd.messages) {
        this.queue.push(m.msg);
        busy = true;
      }
      if (rd.saveHardState !== null) {
        void n.stable.save(rd.saveHardState);
        n.core.hardStateSaved();
        busy = true;
      }
      if (rd.logWrite !== null) {
        const w = rd.logWrite;
        void (w.kind === 'append' ? n.log.append(w.entries) : n.log.compact(w.index, w.term));
        n.core.logWriteDone();
        busy = true;
      }
      if (rd.saveSnapshot !== null) {
        void n.snapshots.save(rd.saveSnapshot);
        n.core.snapshotSaved();
        busy = true;
      }
      if (rd.restoreSnapshot !== null) {
        n.state = new Map(JSON.parse(new TextDecoder().decode(rd.restoreSnapshot.data)) as [number, string][]);
        n.applied.push({ index: rd.restoreSnapshot.meta.index, term: rd.restoreSnapshot.meta.term, snapshot: true });
        busy = true;
      }
      for (const e of rd.apply) {
        n.applied.push({ index: e.index, term: e.term, snapshot: false });
        if (e.type === EntryType.Command) n.state.set(e.index, new TextDecoder().decode(e.data));
        busy = true;
      }
      if (rd.takeSnapshot !== null) {
        const data = new TextEncoder().encode(JSON.stringify([...n.state]));
        const t = rd.takeSnapshot;
        n.core.snapshotCreated({ meta: { index: t.index, term: t.term, config: t.config, size: data.length }, data });
        busy = true;
      }
      n.results.push(...rd.results);
      if (rd.results.length > 0 || rd.events.length > 0) busy = true;
      if (busy) continue;
      // Idle: as RaftNode's 0 ms timer would now, send the commit updates nothing else carried.
      if (!n.core.wantsCommitBumps) return;
      n.core.sendCommitBumps();
    }
    throw new Error(`node ${id} never settled`);
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.process(id);
  }

  /**
   * Delivers queued messages (and whatever they cause) until the network is quiet. `allow` decides per message;
   * refused messages are dropped.
   */
  deliver(allow: (m: Message) => boolean = () => true, maxRounds = 1000): void {
    this.processAll();
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const dst = this.nodes.get(m.to);
        if (dst === undefined || !dst.up || !this.nodes.get(m.from)?.up || !allow(m)) continue;
        dst.core.step(m);
        this.process(m.to);
      }
    }
  }

  /** Makes `id` start a real election now (as a TimeoutNow would), then delivers with `allow`. */
  campaign(id: NodeId, allow: (m: Message) => boolean = () => true): void {
    const n = this.node(id);
    n.core.step({ type: MessageType.TimeoutNow, from: '__test__', to: id, term: n.core.term });
    this.deliver(allow);
  }

  propose(id: NodeId, data: string): void {
    this.node(id).core.propose(0, new TextEncoder().encode(data));
    this.process(id);
  }

  tick(id: NodeId, n = 1): void {
    for (let k = 0; k < n; k++) this.node(id).core.tick();
    this.process(id);
  }

  crash(id: NodeId): void {
    this.node(id).up = false;
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    n.up = true;
    n.applied = [];
    n.state = new Map();
    n.core = this.build(n);
    this.process(id);
  }

  leaders(): CoreNode[] {
    return [...this.nodes.values()].filter((n) => n.up && n.core.role === 'leader');
  }

  terms(id: NodeId): number[] {
    const log = this.node(id).log;
    const out: number[] = [];
    for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i)!);
    return out;
  }

  entries(id: NodeId): Entry[] {
    const log = this.node(id).log;
    return log.entries(log.firstIndex(), log.lastIndex() + 1);
  }
}

/** Only messages between nodes of `group` get through. */
export function within(group: readonly NodeId[]): (m: Message) => boolean {
  return (m) => group.includes(m.from) && group.includes(m.to);
}
