/**
 * The nemesis: faults injected on a seeded schedule. Each fault is applied, held for a while, and healed before
 * the next (one fault track), while an optional churn track joins, retires and removes nodes at the same time.
 * Every choice (which fault, how long, which node or which role, gaps) comes from the run's seed; which node
 * holds a role (the leader) at that moment is up to the real cluster.
 *
 * Fault kinds:
 *   kill, kill-leader         kill -9, restarted after the hold
 *   rolling-restart           every member in turn: kill -9, restart, wait until it serves again
 *   kill-all                  kill -9 of every node at once, then all restarted
 *   pause, pause-leader       SIGSTOP for longer than the election timeout, then SIGCONT
 *   partition-leader          the leader cut off from everyone, both ways
 *   partition-minority        a minority cut off from the majority, both ways
 *   partition-oneway          messages from one node (often the leader) to the others lost, the reverse delivered
 *   partition-bridge          two halves that cannot talk, and one node that talks to both
 *   partition-pair            one link cut both ways
 *   disk-slow                 every fsync of a node (often the leader) takes 50–400 ms more
 *   disk-full                 a node's writes fail with ENOSPC for the hold, then space returns
 * Churn kinds (the churn track): join (a new node), leave (graceful, SIGTERM), remove (an operator's DELETE
 * /nodes/:id, then the removed process is restarted, and must come back).
 */
import { type ProcessCluster, sleep } from './cluster.js';
import type { Rng } from './rng.js';

export const FAULT_KINDS = [
  'kill',
  'kill-leader',
  'rolling-restart',
  'kill-all',
  'pause',
  'pause-leader',
  'partition-leader',
  'partition-minority',
  'partition-oneway',
  'partition-bridge',
  'partition-pair',
  'disk-slow',
  'disk-full',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const CHURN_KINDS = ['join', 'leave', 'remove'] as const;
export type ChurnKind = (typeof CHURN_KINDS)[number];

export interface FaultRecord {
  /** ms since the fault phase began. */
  readonly at: number;
  readonly kind: FaultKind | ChurnKind;
  readonly targets: readonly string[];
  readonly holdMs: number;
  note: string;
}

export interface NemesisOptions {
  readonly faults: readonly FaultKind[];
  readonly churn: boolean;
  /** Fewest members the churn track keeps (it never retires below). */
  readonly minMembers: number;
  /** Most members the churn track grows to. */
  readonly maxMembers: number;
  readonly electionMs: number;
  /** Called when a node joins (to give it clients). */
  readonly onJoin?: (id: string) => void;
  readonly log?: (line: string) => void;
}

export class Nemesis {
  readonly records: FaultRecord[] = [];
  /** Nodes a fault touched (killed, paused, cut off, disk-faulted, removed): the events checker's "disturbed". */
  readonly disturbed = new Set<string>();
  /** Problems met while injecting or healing (a restart that failed): reported as violations. */
  readonly problems: string[] = [];
  #t0 = 0;
  #stopAt = 0;
  /** Nodes one track is acting on: the other track leaves them alone. */
  readonly #busy = new Set<string>();
  /** A kill-all or rolling restart owns every node. */
  #exclusive = false;

  constructor(
    private readonly c: ProcessCluster,
    private readonly rng: Rng,
    private readonly o: NemesisOptions,
  ) {}

  /** Runs the fault track (and the churn track) for `durationMs`, then heals everything. */
  async run(durationMs: number): Promise<void> {
    this.#t0 = performance.now();
    this.#stopAt = this.#t0 + durationMs;
    const tracks = [this.#faultTrack(this.rng.fork())];
    if (this.o.churn) tracks.push(this.#churnTrack(this.rng.fork()));
    await Promise.all(tracks);
    await this.healAll();
  }

  #left(): number {
    return this.#stopAt - performance.now();
  }

  async #faultTrack(rng: Rng): Promise<void> {
    if (this.o.faults.length === 0) {
      await sleep(Math.max(0, this.#left()));
      return;
    }
    await sleep(rng.between(500, 1500));
    while (this.#left() > 0) {
      const kind = rng.pick(this.o.faults);
      await this.#guard(() => this.#inject(kind, rng));
      if (this.#left() > 0) await sleep(Math.min(this.#left(), rng.between(500, 2500)));
    }
  }

  async #churnTrack(rng: Rng): Promise<void> {
    await sleep(rng.between(1000, 3000));
    while (this.#left() > 0) {
      const members = this.c.members().length;
      const choices: ChurnKind[] = [];
      if (members < this.o.maxMembers) choices.push('join');
      if (members > this.o.minMembers) choices.push('leave', 'remove');
      if (choices.length > 0) await this.#guard(() => this.#churn(rng.pick(choices), rng));
      if (this.#left() > 0) await sleep(Math.min(this.#left(), rng.between(2000, 5000)));
    }
  }

  /** Up and ready nodes no other track is acting on. */
  #free(): string[] {
    if (this.#exclusive) return [];
    return this.c
      .nodes()
      .filter((s) => s.ready)
      .map((s) => s.id)
      .filter((id) => !this.#busy.has(id));
  }

  /** Starts every node of `ids`, waiting for all (a failed start is reported, never left running unawaited). */
  async #startAll(ids: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(ids.map((id) => this.c.start(id)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length > 0) throw new Error(failed.join('; '));
  }

  /** Runs `fn` with `ids` marked busy. */
  async #holding<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (const id of ids) this.#busy.add(id);
    try {
      return await fn();
    } finally {
      for (const id of ids) this.#busy.delete(id);
    }
  }

  /** Waits until the other track holds nothing, then runs `fn` owning every node. */
  async #exclusively(fn: () => Promise<void>): Promise<void> {
    while (this.#busy.size > 0 || this.#exclusive) await sleep(50);
    this.#exclusive = true;
    try {
      await fn();
    } finally {
      this.#exclusive = false;
    }
  }

  async #guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      this.problems.push(m);
      this.o.log?.(`nemesis problem: ${m}`);
    }
  }

  #record(kind: FaultKind | ChurnKind, targets: readonly string[], holdMs: number, note = ''): FaultRecord {
    const r: FaultRecord = { at: Math.round(performance.now() - this.#t0), kind, targets, holdMs, note };
    this.records.push(r);
    for (const t of targets) this.disturbed.add(t);
    this.o.log?.(`fault ${kind} ${targets.join(',')} hold ${holdMs} ms ${note}`);
    return r;
  }

  /** A hold that fits the time left (at least a little, so every fault really happens). */
  #hold(rng: Rng, lo: number, hi: number): number {
    return Math.round(Math.max(lo, Math.min(rng.between(lo, hi), this.#left())));
  }

  /** The leader if it is free, else a free node; undefined when none is free. */
  async #leaderOr(rng: Rng): Promise<string | undefined> {
    const leader = await this.c.leader();
    const free = this.#free();
    if (leader !== undefined && free.includes(leader)) return leader;
    return free.length === 0 ? undefined : rng.pick(free);
  }

  async #inject(kind: FaultKind, rng: Rng): Promise<void> {
    const up = this.#free();
    if (up.length === 0) return;
    const e = this.o.electionMs;
    switch (kind) {
      case 'kill':
      case 'kill-leader': {
        const victim = kind === 'kill' ? rng.pick(up) : await this.#leaderOr(rng);
        if (victim === undefined) return;
        const hold = this.#hold(rng, 500, 6000);
        await this.#holding([victim], async () => {
          this.#record(kind, [victim], hold);
          await this.c.kill(victim);
          await sleep(hold);
          await this.c.start(victim);
        });
        return;
      }
      case 'rolling-restart': {
        const shuffle = rng.shuffle(up.map((_, i) => i));
        await this.#exclusively(async () => {
          const ids = this.c.nodes().map((s) => s.id);
          const order = shuffle.map((i) => ids[i]).filter((id): id is string => id !== undefined);
          this.#record(kind, order, 0);
          for (const id of order) {
            await this.c.kill(id);
            await this.c.start(id);
          }
        });
        return;
      }
      case 'kill-all': {
        const hold = this.#hold(rng, 200, 3000);
        await this.#exclusively(async () => {
          const all = this.c.members().map((s) => s.id);
          this.#record(kind, all, hold);
          await Promise.all(all.map((id) => this.c.kill(id)));
          await sleep(hold);
          await this.#startAll(all);
        });
        return;
      }
      case 'pause':
      case 'pause-leader': {
        const victim = kind === 'pause' ? rng.pick(up) : await this.#leaderOr(rng);
        if (victim === undefined) return;
        const hold = this.#hold(rng, Math.round(1.5 * e), 5 * e);
        await this.#holding([victim], async () => {
          this.#record(kind, [victim], hold);
          this.c.pause(victim);
          try {
            await sleep(hold);
          } finally {
            this.c.resume(victim);
          }
        });
        return;
      }
      case 'partition-leader':
      case 'partition-minority':
      case 'partition-bridge':
      case 'partition-pair':
      case 'partition-oneway': {
        const members = this.c.members().map((s) => s.id);
        const hold = this.#hold(rng, 2 * e, 8 * e);
        const note = await this.#cut(kind, members, rng);
        this.#record(kind, note.disturbed, hold, note.text);
        try {
          await sleep(hold);
        } finally {
          this.c.rules.heal();
        }
        return;
      }
      case 'disk-slow':
      case 'disk-full': {
        const victim = rng.next() < 0.5 ? await this.#leaderOr(rng) : rng.pick(up);
        if (victim === undefined) return;
        const slot = this.c.slot(victim);
        if (slot.proc === null || !slot.proc.supportsDiskFaults) return;
        const hold = this.#hold(rng, 1000, 6000);
        const delayMs = rng.between(50, 400);
        await this.#holding([victim], async () => {
          this.#record(kind, [victim], hold, kind === 'disk-slow' ? `+${delayMs} ms per fsync` : 'ENOSPC');
          this.c.disk(victim, kind === 'disk-slow' ? { mode: 'slow', delayMs } : { mode: 'full' });
          try {
            await sleep(hold);
          } finally {
            this.c.disk(victim, { mode: 'ok' });
          }
        });
        return;
      }
    }
  }

  /** Sets up a cut; returns the nodes it isolates (for the events checker) and a description. */
  async #cut(kind: FaultKind, members: readonly string[], rng: Rng): Promise<{ disturbed: string[]; text: string }> {
    const r = this.c.rules;
    switch (kind) {
      case 'partition-leader': {
        const leader = (await this.#leaderOr(rng)) ?? rng.pick(members);
        r.split(
          [leader],
          members.filter((m) => m !== leader),
        );
        return { disturbed: [leader], text: `${leader} | rest` };
      }
      case 'partition-minority': {
        const shuffled = rng.shuffle(members);
        const k = Math.max(1, Math.floor((members.length - 1) / 2));
        const minority = shuffled.slice(0, k);
        r.split(minority, shuffled.slice(k));
        return { disturbed: minority, text: `${minority.join(',')} | rest` };
      }
      case 'partition-bridge': {
        const shuffled = rng.shuffle(members);
        const bridge = shuffled[0]!;
        const rest = shuffled.slice(1);
        const half = Math.ceil(rest.length / 2);
        const a = rest.slice(0, half);
        const b = rest.slice(half);
        r.split(a, b);
        return { disturbed: [...members], text: `${a.join(',')} | ${b.join(',')}, bridge ${bridge}` };
      }
      case 'partition-pair': {
        const [x, y] = rng.shuffle(members);
        if (x === undefined || y === undefined) return { disturbed: [], text: 'too few nodes' };
        r.cut(x, y);
        return { disturbed: [x, y], text: `${x} x ${y}` };
      }
      default: {
        // one-way: from the leader half the time, else from a random node
        const from = (rng.next() < 0.5 ? await this.#leaderOr(rng) : undefined) ?? rng.pick(members);
        const inbound = rng.next() < 0.5;
        for (const m of members) {
          if (m === from) continue;
          if (inbound) r.cutOneWay(m, from);
          else r.cutOneWay(from, m);
        }
        return { disturbed: [...members], text: inbound ? `rest -> ${from} lost` : `${from} -> rest lost` };
      }
    }
  }

  async #churn(kind: ChurnKind, rng: Rng): Promise<void> {
    const up = this.#free();
    switch (kind) {
      case 'join': {
        if (this.#exclusive) return;
        let k = this.c.slots.size + 1;
        while (this.c.slots.has(`n${k}`)) k++;
        const id = `n${k}`;
        await this.#holding([id], async () => {
          this.#record('join', [id], 0);
          await this.c.add(id);
          this.o.onJoin?.(id);
        });
        return;
      }
      case 'leave': {
        if (up.length === 0) return;
        const victim = rng.pick(up);
        await this.#holding([victim], async () => {
          const r = this.#record('leave', [victim], 0);
          const code = await this.c.leave(victim);
          r.note = `exit code ${code}`;
          if (code !== 0) {
            // It could not leave (during a partition, say: no leader to take its departure) and stopped, still a
            // member: as its supervisor would, restart it.
            r.note += ': still a member, restarted';
            await this.c.start(victim);
          }
        });
        return;
      }
      case 'remove': {
        if (up.length < 2) return;
        const [victim, via] = rng.shuffle(up) as [string, string];
        const hold = this.#hold(rng, 500, 3000);
        await this.#holding([victim, via], async () => {
          const r = this.#record('remove', [victim], hold, `via ${via}`);
          const status = await this.c.remove(victim, via);
          r.note += `, HTTP ${status}`;
          // A removed node stays out until restarted; restarted from its data directory, it asks to come back.
          await sleep(hold);
          await this.c.kill(victim);
          await this.c.start(victim);
        });
        return;
      }
    }
  }

  /** Ends every fault: links healed, paused nodes resumed, disks fixed, stopped members restarted. */
  async healAll(): Promise<void> {
    this.c.rules.heal();
    for (const s of this.c.nodes('paused')) this.c.resume(s.id);
    for (const s of this.c.nodes()) if (s.proc?.supportsDiskFaults === true) this.c.disk(s.id, { mode: 'ok' });
    const down = this.c.nodes('down').map((s) => s.id);
    await Promise.all(
      down.map((id) =>
        this.c.start(id).catch((err: unknown) => {
          this.problems.push(
            `restart of ${id} after the faults failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }),
      ),
    );
  }
}
