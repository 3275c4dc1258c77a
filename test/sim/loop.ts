/**
 * Virtual time: a discrete-event loop. Events are ordered by (time, insertion sequence), so a run is a pure
 * function of its seed. Each node sees the loop through its own Clock/Scheduler view, tagged with the node id and
 * its incarnation: pausing a node holds its events until it resumes (a stopped process: the world's clock keeps
 * running, its own timers fire late), and crashing it discards them (the process is gone).
 *
 * After every event the loop yields to the host event loop with setImmediate, which runs every pending promise
 * continuation first: the engine's async code (awaiting a disk write, say) therefore finishes reacting to an
 * event before the next event starts, exactly as it would between two I/O callbacks in a real process.
 */
import type { NodeId } from '../../src/raft/types.js';
import type { Clock, Scheduler, TimerHandle } from '../../src/util/io.js';
import type { Trace } from './trace.js';

export interface EventOwner {
  readonly node: NodeId;
  /** The incarnation the event belongs to; null for events that outlive a restart (network deliveries). */
  readonly inc: number | null;
}

/** Timers, and I/O completions (message deliveries, disk writes): a resumed process may see either first. */
export type EventKind = 'timer' | 'io' | 'other';

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly owner: EventOwner | null;
  readonly kind: EventKind;
  readonly label: string;
  readonly fn: () => void;
  cancelled: boolean;
}

interface NodeSchedState {
  /** The live incarnation, or -1 while the node is down (crashed or stopped). */
  inc: number;
  paused: boolean;
  held: SimEvent[];
}

/**
 * Bounds on one run. A run that exceeds one is stuck or running away (a message storm, a loop in zero virtual
 * time, a livelock): the loop throws SimBudgetError, and the run reports it as a failure with its seed instead of
 * hanging. Events, virtual time and events per instant are deterministic; the wall-clock deadline is not (it only
 * turns a hang into a failure report).
 */
export interface LoopLimits {
  /** Events executed in the whole run. */
  readonly maxEvents: number;
  /** Events executed in a row without virtual time advancing (a loop in zero virtual time). */
  readonly maxEventsPerInstant: number;
  /** Virtual time the run may reach, in ms. */
  readonly maxTimeMs: number;
  /** A performance.now() value after which the run is abandoned, or undefined for none. */
  readonly wallDeadline?: number | undefined;
}

export const DEFAULT_LIMITS: LoopLimits = {
  maxEvents: 50_000_000,
  maxEventsPerInstant: 1_000_000,
  maxTimeMs: Number.POSITIVE_INFINITY,
};

export type BudgetKind = 'events' | 'instant' | 'time' | 'wall';

export class SimBudgetError extends Error {
  constructor(
    readonly budget: BudgetKind,
    message: string,
  ) {
    super(message);
    this.name = 'SimBudgetError';
  }
}

const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimLoop {
  private current = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  private readonly nodes = new Map<NodeId, NodeSchedState>();
  private readonly afterHooks: ((node: NodeId | null) => void)[] = [];
  /** Events executed so far (held and discarded events are not counted). */
  eventsRun = 0;
  /** Reported when an event's function throws: in the simulation that is always a bug worth a violation. */
  onError: (error: unknown, label: string) => void = (error) => {
    throw error;
  };

  /** Events run since virtual time last advanced. */
  private sameInstant = 0;

  constructor(
    readonly trace: Trace,
    public limits: LoopLimits = DEFAULT_LIMITS,
  ) {}

  now(): number {
    return this.current;
  }

  /**
   * Runs after every executed event, once the engine's promise continuations have settled, with the node that
   * owned the event (null for client and fault events, which may touch any node).
   */
  afterEach(hook: (node: NodeId | null) => void): void {
    this.afterHooks.push(hook);
  }

  schedule(
    delayMs: number,
    label: string,
    fn: () => void,
    owner: EventOwner | null = null,
    kind: EventKind = 'other',
  ): TimerHandle {
    const ev: SimEvent = {
      time: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      owner,
      kind,
      label,
      fn,
      cancelled: false,
    };
    this.push(ev);
    return {
      cancel: () => {
        ev.cancelled = true;
      },
    };
  }

  // --- node lifecycle as the loop sees it -------------------------------------------------------------------

  /** Marks `inc` as the live incarnation of `node` (a start or restart). */
  setLive(node: NodeId, inc: number): void {
    const st = this.state(node);
    st.inc = inc;
    st.paused = false;
    st.held = [];
  }

  /**
   * The node is down: every event of any of its incarnations is discarded from now on. Held events that are not
   * tied to an incarnation (message deliveries) are released, so their owners (the network) see them end.
   */
  setDown(node: NodeId): void {
    const st = this.state(node);
    st.inc = -1;
    st.paused = false;
    const held = st.held;
    st.held = [];
    for (const ev of held) {
      if (!ev.cancelled && ev.owner?.inc === null) this.push({ ...ev, time: this.current, seq: this.seq++ });
    }
  }

  pause(node: NodeId): void {
    this.state(node).paused = true;
  }

  /**
   * Releases the events held while paused, at the current time: in their original order, or with I/O first.
   * The second is what Node does when a process stopped inside its poll phase continues: the I/O that arrived
   * during the stall is handled before the overdue timers of the next loop iteration.
   */
  resume(node: NodeId, ioFirst = false): void {
    const st = this.state(node);
    if (!st.paused) return;
    st.paused = false;
    const held = st.held;
    st.held = [];
    const ordered = ioFirst ? [...held.filter((e) => e.kind === 'io'), ...held.filter((e) => e.kind !== 'io')] : held;
    for (const ev of ordered) {
      if (!ev.cancelled) this.push({ ...ev, time: this.current, seq: this.seq++ });
    }
  }

  isPaused(node: NodeId): boolean {
    return this.nodes.get(node)?.paused ?? false;
  }

  /** The Clock and Scheduler handed to one incarnation of a node. */
  viewFor(node: NodeId, inc: number, onBadDelay: (ms: number) => void): Clock & Scheduler {
    const owner: EventOwner = { node, inc };
    return {
      now: () => this.current,
      setTimeout: (fn, ms) => {
        if (!Number.isFinite(ms) || ms < 0) onBadDelay(ms);
        return this.schedule(Number.isFinite(ms) ? ms : 0, `${node} timer`, fn, owner, 'timer');
      },
    };
  }

  // --- running ----------------------------------------------------------------------------------------------

  /** Time of the next event that has not been cancelled, or undefined when none is queued. */
  peekTime(): number | undefined {
    while (this.heap.length > 0 && this.heap[0]?.cancelled === true) this.pop();
    return this.heap[0]?.time;
  }

  /**
   * Runs events in order until the next one is after `deadline` (then advances the clock to `deadline`) or
   * `stopWhen` returns true after an event. Returns whether `stopWhen` stopped it.
   */
  async runUntil(deadline: number, stopWhen?: () => boolean): Promise<boolean> {
    if (stopWhen?.() === true) return true;
    for (;;) {
      const next = this.peekTime();
      if (next === undefined || next > deadline) break;
      const ev = this.pop();
      if (ev === undefined) break;
      if (ev.time > this.current) {
        this.current = ev.time;
        this.sameInstant = 0;
      }
      if (!this.admit(ev)) continue;
      this.eventsRun++;
      this.sameInstant++;
      this.checkLimits();
      this.trace.add(this.current, ev.label);
      try {
        ev.fn();
      } catch (error) {
        this.onError(error, ev.label);
      }
      await drain();
      const node = ev.owner?.node ?? null;
      for (const hook of this.afterHooks) hook(node);
      if (stopWhen?.() === true) return true;
    }
    if (deadline > this.current && Number.isFinite(deadline)) {
      this.current = deadline;
      this.sameInstant = 0;
      if (this.current > this.limits.maxTimeMs) {
        throw new SimBudgetError('time', `virtual time budget of ${this.limits.maxTimeMs} ms exhausted`);
      }
    }
    return false;
  }

  private checkLimits(): void {
    const l = this.limits;
    if (this.eventsRun > l.maxEvents) {
      throw new SimBudgetError(
        'events',
        `event budget exhausted: ${l.maxEvents} events by ${this.current.toFixed(0)} ms`,
      );
    }
    if (this.sameInstant > l.maxEventsPerInstant) {
      throw new SimBudgetError(
        'instant',
        `${l.maxEventsPerInstant} events at ${this.current.toFixed(3)} ms without virtual time advancing`,
      );
    }
    if (this.current > l.maxTimeMs) {
      throw new SimBudgetError('time', `virtual time budget of ${l.maxTimeMs} ms exhausted`);
    }
    // performance.now() is cheap, but not free: look every 1024 events.
    if (l.wallDeadline !== undefined && (this.eventsRun & 1023) === 0 && performance.now() > l.wallDeadline) {
      throw new SimBudgetError(
        'wall',
        `wall-clock limit reached after ${this.eventsRun} events, at ${this.current.toFixed(0)} ms of virtual time`,
      );
    }
  }

  runFor(ms: number, stopWhen?: () => boolean): Promise<boolean> {
    return this.runUntil(this.current + ms, stopWhen);
  }

  /** Lets promise continuations started outside an event (a test calling the API directly) settle. */
  async settle(): Promise<void> {
    await drain();
    for (const hook of this.afterHooks) hook(null);
  }

  /** Decides whether a popped event runs now: discards events of dead incarnations, holds those of paused nodes. */
  private admit(ev: SimEvent): boolean {
    if (ev.owner === null) return true;
    const st = this.nodes.get(ev.owner.node);
    if (st === undefined) return ev.owner.inc === null;
    if (ev.owner.inc !== null && ev.owner.inc !== st.inc) return false;
    if (st.paused) {
      st.held.push(ev);
      return false;
    }
    return true;
  }

  private state(node: NodeId): NodeSchedState {
    let st = this.nodes.get(node);
    if (st === undefined) {
      st = { inc: -1, paused: false, held: [] };
      this.nodes.set(node, st);
    }
    return st;
  }

  // --- binary heap on (time, seq) ---------------------------------------------------------------------------

  private static before(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as SimEvent;
      if (!SimLoop.before(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const lc = h[l] as SimEvent;
      const rc = h[r];
      const c = rc !== undefined && SimLoop.before(rc, lc) ? r : l;
      const child = h[c] as SimEvent;
      if (!SimLoop.before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
