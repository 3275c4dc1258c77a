/**
 * Runs user hooks for cluster events.
 *
 * The guarantees the Go original promised and did not keep: hooks start in the order their events were emitted
 * (commit order), asynchronously, so the Raft apply path never waits on user code; at most `concurrency` run at once,
 * the rest queue; a hook that throws or rejects is logged and counted and affects neither other hooks nor the node;
 * each hook gets its own copy of the event, so one hook cannot change what another sees. A hook may call any
 * ClusterKit method: nothing is locked while hooks run.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClusterKitError } from '../errors.js';
import { errorFields, type Logger, silentLogger } from '../util/logger.js';

/** Which dispatcher's hook the current async context is running in (to refuse a hook waiting for itself). */
const insideHook = new AsyncLocalStorage<object>();

export type Hook<T> = (event: T) => void | Promise<void>;

export interface HookDispatcherOptions {
  /** Most hooks running at once. Default 50, as the original. */
  readonly concurrency?: number;
  readonly logger?: Logger;
}

export interface HookStats {
  /** Hook invocations that finished (successfully or not). */
  readonly runs: number;
  /** Hook invocations that threw or rejected. */
  readonly errors: number;
  readonly running: number;
  readonly queued: number;
  /** Per event name: runs and errors. */
  readonly byEvent: Readonly<Record<string, { runs: number; errors: number }>>;
}

interface Job {
  readonly event: string;
  readonly hook: Hook<unknown>;
  readonly payload: unknown;
}

export class HookDispatcher<Events extends object> {
  private readonly hooks = new Map<keyof Events, Set<Hook<never>>>();
  private readonly queue: Job[] = [];
  private queueHead = 0;
  private running = 0;
  private runs = 0;
  private errors = 0;
  private readonly byEvent: Record<string, { runs: number; errors: number }> = {};
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly logger: Logger;

  constructor(options: HookDispatcherOptions = {}) {
    const concurrency = options.concurrency ?? 50;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('hook concurrency must be >= 1');
    this.concurrency = concurrency;
    this.logger = options.logger ?? silentLogger;
  }

  /** Registers a hook; returns a function that removes it. */
  on<K extends keyof Events>(event: K, hook: Hook<Events[K]>): () => void {
    if (typeof hook !== 'function') throw new TypeError(`hook for ${String(event)} must be a function`);
    let set = this.hooks.get(event);
    if (set === undefined) {
      set = new Set();
      this.hooks.set(event, set);
    }
    set.add(hook);
    return () => set.delete(hook);
  }

  /** Number of hooks registered for an event. */
  listenerCount(event: keyof Events): number {
    return this.hooks.get(event)?.size ?? 0;
  }

  /** Queues the event for every hook registered now. Never throws, never runs user code synchronously. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.hooks.get(event);
    if (set === undefined || set.size === 0) return;
    for (const hook of set) {
      this.queue.push({ event: String(event), hook: hook as Hook<unknown>, payload: structuredClone(payload) });
    }
    queueMicrotask(() => this.pump());
  }

  /**
   * Resolves once no hook is running or queued. Called from one of this dispatcher's own hooks it would wait for
   * itself forever, so it rejects at once instead.
   */
  idle(): Promise<void> {
    if (insideHook.getStore() === this) {
      return Promise.reject(
        new ClusterKitError('ERR_CONFLICT', 'hooksIdle() was called from inside a hook, which would wait for itself'),
      );
    }
    if (this.running === 0 && this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): HookStats {
    return {
      runs: this.runs,
      errors: this.errors,
      running: this.running,
      queued: this.pending(),
      byEvent: structuredClone(this.byEvent),
    };
  }

  private pending(): number {
    return this.queue.length - this.queueHead;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending() > 0) {
      const job = this.queue[this.queueHead]!;
      this.queueHead += 1;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.running += 1;
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    const counts = (this.byEvent[job.event] ??= { runs: 0, errors: 0 });
    try {
      await insideHook.run(this, () => job.hook(job.payload));
    } catch (error) {
      this.errors += 1;
      counts.errors += 1;
      this.logger.error({ ...errorFields(error), event: job.event }, 'hook failed');
    } finally {
      this.runs += 1;
      counts.runs += 1;
      this.running -= 1;
      this.pump();
      if (this.running === 0 && this.pending() === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
