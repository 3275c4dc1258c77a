/**
 * The fault schedule. On its own seeded stream, the nemesis wakes at random intervals and injects one fault
 * chosen by weight (swarm testing: each run enables a random subset of fault kinds with random weights), and
 * schedules its healing. Faults overlap up to `maxActive`. It also plays the operator: membership changes and
 * leadership transfers on the current leader, and stopping nodes that were removed from the configuration.
 */
import type { NodeId } from '../../src/raft/types.js';
import { describeError, errorCode, type SimCluster } from './cluster.js';
import type { NetworkConfig } from './network.js';
import type { Rng } from './rng.js';

export const FAULT_KINDS = [
  'partition',
  'isolate-leader',
  'minority',
  'one-way',
  'bridge',
  'crash',
  'crash-leader',
  'crash-all',
  'pause',
  'slow-disk',
  'net-chaos',
  'membership',
  'transfer',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface NemesisParams {
  weights: Partial<Record<FaultKind, number>>;
  intervalMinMs: number;
  intervalMaxMs: number;
  durationMinMs: number;
  durationMaxMs: number;
  maxActive: number;
  chaos: Pick<NetworkConfig, 'lossRate' | 'dupRate' | 'reorderRate' | 'reorderDelayMs'>;
  slowDiskMs: number;
  /** Membership changes keep at least this many voters. */
  minVoters: number;
  /** Membership changes keep at most this many members. */
  maxMembers: number;
  /**
   * A node whose removal was confirmed keeps running this long (a zombie that may campaign) before it is stopped;
   * a node started for an add that no configuration lists after three times this long is stopped too.
   */
  removedGraceMs: number;
}

interface ActiveFault {
  readonly kind: FaultKind;
  readonly heal: () => void;
}

export class Nemesis {
  readonly counts: Partial<Record<FaultKind, number>> = {};
  readonly opResults: Record<string, number> = {};
  /** Membership and transfer calls not settled yet, with the node incarnation they were made on. */
  readonly pendingOps = new Map<string, { node: NodeId; inc: number }>();
  private readonly active = new Set<ActiveFault>();
  private running = false;
  private chaosDepth = 0;
  /** Nodes whose removal committed (removeMember resolved), with the time. */
  private readonly removed = new Map<NodeId, number>();
  /** Nodes started to be added, with the time, until some configuration lists them. */
  private readonly joining = new Map<NodeId, number>();
  /**
   * Additions made per id: a removal confirmed after the same id was added again (both in one burst, say) must not
   * mark the new member as removed.
   */
  private readonly additions = new Map<NodeId, number>();
  private opSeq = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
    readonly params: NemesisParams,
    private readonly baseNetwork: NetworkConfig,
  ) {
    // A call on a node that dies never returns (the caller's connection is gone): stop waiting for it.
    cluster.onNodeDown((id, inc) => {
      for (const [key, op] of this.pendingOps) if (op.node === id && op.inc === inc) this.pendingOps.delete(key);
    });
  }

  get faultsInjected(): number {
    let n = 0;
    for (const v of Object.values(this.counts)) n += v ?? 0;
    return n;
  }

  start(): void {
    this.running = true;
    this.scheduleNext();
    this.reconcileLoop();
  }

  /** Stops injecting; active faults stay until healAll. */
  stop(): void {
    this.running = false;
  }

  /** Lifts every fault: heals the network, resumes paused nodes, restarts crashed ones, restores the disks. */
  healAll(): void {
    for (const f of [...this.active]) this.endFault(f);
    const c = this.cluster;
    c.net.heal();
    c.net.config = { ...this.baseNetwork, lossRate: 0, dupRate: 0, reorderRate: 0 };
    for (const h of c.hosts.values()) {
      if (c.isPaused(h.id)) c.resume(h.id);
      h.disk.slowUntil = 0;
      if (h.state === 'crashed') c.start(h.id);
    }
    c.trace.add(c.now(), 'nemesis: heal all');
  }

  private scheduleNext(): void {
    const delay = this.rng.float(this.params.intervalMinMs, this.params.intervalMaxMs);
    this.cluster.loop.schedule(delay, 'nemesis wakes', () => {
      if (!this.running) return;
      if (this.active.size < this.params.maxActive) this.inject();
      this.scheduleNext();
    });
  }

  private duration(): number {
    return this.rng.float(this.params.durationMinMs, this.params.durationMaxMs);
  }

  private inject(): void {
    const entries = Object.entries(this.params.weights) as [FaultKind, number][];
    if (!entries.some(([, w]) => w > 0)) return;
    const kind = this.rng.weighted(entries);
    const heal = this.apply(kind);
    if (heal === undefined) return;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const fault: ActiveFault = { kind, heal };
    this.active.add(fault);
    this.cluster.loop.schedule(this.duration(), `nemesis heals ${kind}`, () => this.endFault(fault));
  }

  private endFault(f: ActiveFault): void {
    if (!this.active.delete(f)) return;
    f.heal();
  }

  private log(text: string): void {
    this.cluster.trace.add(this.cluster.now(), `nemesis: ${text}`);
  }

  private running_(): NodeId[] {
    return this.cluster.runningIds();
  }

  /** Injects one fault; returns how to heal it, or undefined when it does not apply right now. */
  private apply(kind: FaultKind): (() => void) | undefined {
    const c = this.cluster;
    const ids = [...c.hosts.keys()];
    const leader = c.leader()?.id;
    switch (kind) {
      case 'partition': {
        const shuffled = this.rng.shuffle(ids);
        const cut = this.rng.int(1, shuffled.length - 1);
        const a = shuffled.slice(0, cut);
        const b = shuffled.slice(cut);
        this.log(`partition ${a.join(',')} | ${b.join(',')}`);
        return c.net.partition([a, b]);
      }
      case 'isolate-leader': {
        if (leader === undefined) return undefined;
        this.log(`isolate leader ${leader}`);
        return c.net.isolate(leader);
      }
      case 'minority': {
        const members = this.rng.shuffle(this.running_());
        const size = this.rng.int(1, Math.max(1, Math.floor((members.length - 1) / 2)));
        // Half the time the minority holds the leader (the classic "old leader keeps taking writes").
        let minority = members.slice(0, size);
        if (leader !== undefined && this.rng.chance(0.5) && !minority.includes(leader))
          minority = [leader, ...minority.slice(1)];
        const rest = ids.filter((id) => !minority.includes(id));
        this.log(`cut off minority ${minority.join(',')}`);
        return c.net.partition([minority, rest]);
      }
      case 'one-way': {
        const a = this.rng.pick(ids);
        const mode = this.rng.int(0, 2);
        const others = ids.filter((id) => id !== a);
        if (others.length === 0) return undefined;
        if (mode === 0) {
          const b = this.rng.pick(others);
          this.log(`one-way ${a} -/-> ${b}`);
          return c.net.blockAll([[a, b]]);
        }
        // A node that can send but not hear (mode 1), or hear but not send (mode 2).
        this.log(`${a} ${mode === 1 ? 'deaf' : 'mute'}`);
        return c.net.blockAll(others.map((o) => (mode === 1 ? [o, a] : [a, o])));
      }
      case 'bridge': {
        if (ids.length < 3) return undefined;
        const shuffled = this.rng.shuffle(ids);
        const bridge = shuffled[0] as NodeId;
        const rest = shuffled.slice(1);
        const cut = this.rng.int(1, rest.length - 1);
        this.log(`bridge ${bridge} between ${rest.slice(0, cut).join(',')} | ${rest.slice(cut).join(',')}`);
        return c.net.bridge(rest.slice(0, cut), rest.slice(cut));
      }
      case 'crash':
      case 'crash-leader': {
        const victim = kind === 'crash-leader' ? leader : this.pickRunning();
        if (victim === undefined) return undefined;
        c.crash(victim);
        return () => {
          if (c.host(victim).state === 'crashed') c.start(victim);
        };
      }
      case 'crash-all': {
        const victims = this.running_();
        if (victims.length === 0) return undefined;
        for (const v of victims) c.crash(v);
        return () => {
          for (const v of victims) if (c.host(v).state === 'crashed') c.start(v);
        };
      }
      case 'pause': {
        const victim = this.rng.chance(0.5) && leader !== undefined ? leader : this.pickRunning();
        if (victim === undefined || c.isPaused(victim)) return undefined;
        c.pause(victim);
        return () => {
          if (c.isPaused(victim)) c.resume(victim);
        };
      }
      case 'slow-disk': {
        const victim = this.pickRunning();
        if (victim === undefined) return undefined;
        const disk = c.host(victim).disk;
        disk.slowExtraMs = this.params.slowDiskMs;
        disk.slowUntil = Number.POSITIVE_INFINITY;
        this.log(`slow disk on ${victim}`);
        return () => {
          disk.slowUntil = 0;
        };
      }
      case 'net-chaos': {
        this.chaosDepth++;
        c.net.config = { ...c.net.config, ...this.params.chaos };
        this.log(`network chaos ${JSON.stringify(this.params.chaos)}`);
        return () => {
          this.chaosDepth--;
          if (this.chaosDepth === 0) c.net.config = { ...this.baseNetwork };
        };
      }
      case 'membership': {
        // Sometimes an operator burst: several changes at the same instant (nodes joining together, a removal and
        // a promotion), which exercises changes appended while others are still uncommitted.
        const burst = this.rng.chance(0.3) ? this.rng.int(2, 3) : 1;
        for (let k = 0; k < burst; k++) this.membership(leader);
        return () => {};
      }
      case 'transfer': {
        if (leader === undefined) return undefined;
        const voters = (c.statusOf(leader)?.config.members ?? []).filter((m) => m.voter && m.id !== leader);
        const to = voters.length > 0 && this.rng.chance(0.7) ? this.rng.pick(voters).id : undefined;
        this.op(`transfer ${leader} -> ${to ?? 'any'}`, leader, (r) => r.transferLeadership(to, { timeoutMs: 3000 }));
        return () => {};
      }
    }
  }

  private pickRunning(): NodeId | undefined {
    const ids = this.running_();
    return ids.length === 0 ? undefined : this.rng.pick(ids);
  }

  /** Runs an operator call on `node` and records how it ended. */
  private op(
    name: string,
    node: NodeId,
    call: (r: NonNullable<ReturnType<SimCluster['raft']>>) => Promise<void>,
    onOk?: () => void,
  ): void {
    const host = this.cluster.host(node);
    const raft = host.raft;
    if (raft === null) return;
    const key = `${name} #${this.opSeq++}`;
    this.pendingOps.set(key, { node, inc: host.inc });
    this.log(key);
    const done = (outcome: string): void => {
      if (!this.pendingOps.delete(key)) return;
      this.opResults[outcome] = (this.opResults[outcome] ?? 0) + 1;
      this.log(`${key}: ${outcome}`);
    };
    let p: Promise<void>;
    try {
      p = call(raft);
    } catch (error) {
      this.cluster.checker.fail('contract', `${name} threw synchronously: ${describeError(error)}`);
      this.pendingOps.delete(key);
      return;
    }
    p.then(
      () => {
        onOk?.();
        done(`${name.split(' ')[0] ?? name} ok`);
      },
      (e: unknown) => done(`${name.split(' ')[0] ?? name} ${errorCode(e)}`),
    );
  }

  private membership(leader: NodeId | undefined): void {
    const c = this.cluster;
    if (leader === undefined) return;
    const config = c.statusOf(leader)?.config;
    if (config === undefined) return;
    const members = config.members;
    const voters = members.filter((m) => m.voter);
    const nonVoters = members.filter((m) => !m.voter);
    const outside = [...c.hosts.values()].filter((h) => !members.some((m) => m.id === h.id) && h.state !== 'up');
    const choices: ['add' | 'promote' | 'demote' | 'remove' | 'remove-leader', number][] = [
      ['add', members.length < this.params.maxMembers && outside.length > 0 ? 3 : 0],
      ['promote', nonVoters.length > 0 ? 3 : 0],
      ['demote', voters.length > this.params.minVoters ? 1 : 0],
      [
        'remove',
        members.length > this.params.minVoters && (voters.length > this.params.minVoters || nonVoters.length > 0)
          ? 2
          : 0,
      ],
      ['remove-leader', voters.length > this.params.minVoters ? 1 : 0],
    ];
    if (!choices.some(([, w]) => w > 0)) return;
    const what = this.rng.weighted(choices);
    switch (what) {
      case 'add': {
        const host = this.rng.pick(outside);
        // A fresh machine reusing the id — it starts empty, without a bootstrap configuration, and waits — unless
        // some configuration still lists the id: then the old machine comes back with its disk.
        if (!c.configMentions(host.id)) host.disk.wipe();
        c.start(host.id);
        const voter = this.rng.chance(0.3);
        this.joining.set(host.id, c.now());
        this.removed.delete(host.id);
        this.additions.set(host.id, (this.additions.get(host.id) ?? 0) + 1);
        this.op(`add ${host.id}${voter ? ' (voter)' : ''}`, leader, (r) =>
          r.addMember(host.id, host.addr, { voter, timeoutMs: 3000 }),
        );
        return;
      }
      case 'promote': {
        const m = this.rng.pick(nonVoters);
        this.op(`promote ${m.id}`, leader, (r) => r.promote(m.id, { timeoutMs: 3000 }));
        return;
      }
      case 'demote': {
        const v = this.rng.pick(voters.filter((m) => m.id !== leader));
        this.op(`demote ${v.id}`, leader, (r) => r.demote(v.id, { timeoutMs: 3000 }));
        return;
      }
      case 'remove': {
        const pool = voters.length > this.params.minVoters ? members.filter((m) => m.id !== leader) : nonVoters;
        const m = this.rng.pick(pool);
        this.op(
          `remove ${m.id}`,
          leader,
          (r) => r.removeMember(m.id, { timeoutMs: 3000 }),
          this.removedUnlessReadded(m.id),
        );
        return;
      }
      case 'remove-leader':
        this.op(
          `remove-leader ${leader}`,
          leader,
          (r) => r.removeMember(leader, { timeoutMs: 3000 }),
          this.removedUnlessReadded(leader),
        );
        return;
    }
  }

  /** What to do when the removal of `id` is confirmed: record it, unless `id` was added again since it was asked. */
  private removedUnlessReadded(id: NodeId): () => void {
    const additions = this.additions.get(id) ?? 0;
    return () => {
      if ((this.additions.get(id) ?? 0) === additions) this.removed.set(id, this.cluster.now());
    };
  }

  /** Stops nodes that were removed (once their removal committed) or added and never admitted. */
  private reconcileLoop(): void {
    this.cluster.loop.schedule(250, 'nemesis reconciles', () => {
      this.reconcile();
      if (this.running) this.reconcileLoop();
    });
  }

  /**
   * Whether `id` should be running: some configuration lists it and its removal was not confirmed. A node is
   * only ever stopped on evidence (a committed removal, or no configuration anywhere listing it), because a
   * configuration change that never committed can roll back and make a stopped node a member again.
   */
  shouldRun(id: NodeId): boolean {
    return !this.removed.has(id) && this.cluster.configMentions(id);
  }

  reconcile(): void {
    const c = this.cluster;
    const now = c.now();
    for (const h of c.hosts.values()) {
      if (h.state !== 'up') continue;
      if (h.selfStopped) {
        void c.stop(h.id);
        continue;
      }
      const removedAt = this.removed.get(h.id);
      if (removedAt !== undefined && now - removedAt >= this.params.removedGraceMs) {
        this.log(`stop ${h.id} (removed)`);
        void c.stop(h.id);
        continue;
      }
      const joinedAt = this.joining.get(h.id);
      if (joinedAt === undefined) continue;
      if (c.configMentions(h.id)) this.joining.delete(h.id);
      else if (now - joinedAt >= 3 * this.params.removedGraceMs) {
        this.joining.delete(h.id);
        this.log(`stop ${h.id} (never admitted)`);
        void c.stop(h.id);
      }
    }
  }
}
