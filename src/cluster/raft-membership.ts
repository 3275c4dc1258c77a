/**
 * Raft membership changes made by this node while it leads: adding joiners as non-voters, removing departed
 * members, promoting and demoting. Raft takes one configuration change at a time, so every change made here goes
 * through one queue, and a change refused because another is still committing is retried after a short wait.
 */
import { ClusterKitError } from '../errors.js';
import type { Raft } from '../raft/api.js';
import type { Scheduler } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';

/** Retries of a change refused because another is still committing: 10, 20, 40 … 320 ms, about 3 s in all. */
const RETRIES = 12;
const RETRY_MS = 10;

export class RaftMembership {
  readonly #raft: () => Raft | null;
  readonly #scheduler: Scheduler;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #running = 0;

  constructor(raft: () => Raft | null, scheduler: Scheduler, logger: Logger, timeoutMs: number) {
    this.#raft = raft;
    this.#scheduler = scheduler;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** True while a change is queued or running. */
  get busy(): boolean {
    return this.#running > 0;
  }

  /** Makes `id` a member at `addr`: added as a non-voter, or re-added when its address changed. */
  ensureMember(id: string, addr: string): Promise<void> {
    return this.#exclusive(`add ${id}`, async (raft) => {
      const existing = raft.status().config.members.find((m) => m.id === id);
      if (existing !== undefined && existing.addr === addr) return;
      if (existing !== undefined) {
        this.#logger.info({ node: id, from: existing.addr, to: addr }, 'raft address changed: re-adding the member');
        await raft.removeMember(id, { timeoutMs: this.#timeoutMs });
      }
      await raft.addMember(id, addr, { voter: false, timeoutMs: this.#timeoutMs });
    });
  }

  remove(id: string): Promise<void> {
    return this.#exclusive(`remove ${id}`, (raft) => raft.removeMember(id, { timeoutMs: this.#timeoutMs }));
  }

  promote(id: string): Promise<void> {
    return this.#exclusive(`promote ${id}`, (raft) => raft.promote(id, { timeoutMs: this.#timeoutMs }));
  }

  demote(id: string): Promise<void> {
    return this.#exclusive(`demote ${id}`, (raft) => raft.demote(id, { timeoutMs: this.#timeoutMs }));
  }

  #exclusive(what: string, fn: (raft: Raft) => Promise<void>): Promise<void> {
    this.#running++;
    const run = this.#queue.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const raft = this.#raft();
        if (raft === null) throw new ClusterKitError('ERR_SHUTTING_DOWN', 'raft is not running', { retriable: true });
        try {
          await fn(raft);
          return;
        } catch (err) {
          // "another configuration change is in progress": the previous one is still committing.
          const busy = err instanceof ClusterKitError && err.code === 'ERR_MEMBERSHIP' && err.retriable;
          if (!busy || attempt >= RETRIES) {
            this.#logger.debug({ ...errorFields(err), change: what }, 'raft membership change failed');
            throw err;
          }
          await new Promise<void>((resolve) =>
            this.#scheduler.setTimeout(resolve, RETRY_MS * 2 ** Math.min(attempt, 5)),
          );
        }
      }
    });
    const settled = run.finally(() => {
      this.#running--;
    });
    this.#queue = settled.catch(() => undefined);
    return settled;
  }
}
