/**
 * Raft membership changes made by this node while it leads: adding joiners as non-voters, removing departed
 * members, promoting and demoting. Raft changes its voters one change at a time, so those changes go through one
 * queue, and a change refused because another is still committing is retried after a short wait. Changes that
 * leave the voters as they are (adding a non-voter, removing one) need no such care: the engine appends them at
 * once, and those made together share one append, so many nodes joining at once are added together instead of
 * one commit after another.
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
  #queued = 0;

  constructor(raft: () => Raft | null, scheduler: Scheduler, logger: Logger, timeoutMs: number) {
    this.#raft = raft;
    this.#scheduler = scheduler;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** True while a change is queued or running. */
  get busy(): boolean {
    return this.#running > 0 || this.#queued > 0;
  }

  /** Makes `id` a member at `addr`: added as a non-voter, or re-added when its address changed. */
  ensureMember(id: string, addr: string): Promise<void> {
    const existing = this.#raft()
      ?.status()
      .config.members.find((m) => m.id === id);
    if (existing === undefined) {
      // A new non-voter: no need to wait for other changes.
      return this.#retrying(`add ${id}`, (raft) => this.#add(raft, id, addr));
    }
    return this.#exclusive(`add ${id}`, async (raft) => {
      const current = raft.status().config.members.find((m) => m.id === id);
      if (current !== undefined && current.addr === addr) return;
      if (current !== undefined) {
        this.#logger.info({ node: id, from: current.addr, to: addr }, 'raft address changed: re-adding the member');
        await raft.removeMember(id, { timeoutMs: this.#timeoutMs });
      }
      await this.#add(raft, id, addr);
    });
  }

  /**
   * Removes `id` from the Raft configuration. `stillWanted` is asked again when the change is about to run: a
   * removal queued behind other changes must not take out a node that rejoined in the meantime.
   */
  remove(id: string, stillWanted: () => boolean = () => true): Promise<void> {
    const member = this.#raft()
      ?.status()
      .config.members.find((m) => m.id === id);
    const remove = async (raft: Raft): Promise<void> => {
      if (!stillWanted()) {
        this.#logger.info({ node: id }, 'not removing the raft member: it is back in the cluster');
        return;
      }
      await raft.removeMember(id, { timeoutMs: this.#timeoutMs });
    };
    // Removing a non-voter leaves the voters as they are: no need to queue behind other changes.
    return member !== undefined && !member.voter
      ? this.#retrying(`remove ${id}`, remove)
      : this.#exclusive(`remove ${id}`, remove);
  }

  promote(id: string): Promise<void> {
    return this.#exclusive(`promote ${id}`, (raft) => raft.promote(id, { timeoutMs: this.#timeoutMs }));
  }

  demote(id: string): Promise<void> {
    return this.#exclusive(`demote ${id}`, (raft) => raft.demote(id, { timeoutMs: this.#timeoutMs }));
  }

  #add(raft: Raft, id: string, addr: string): Promise<void> {
    return raft.addMember(id, addr, { voter: false, timeoutMs: this.#timeoutMs });
  }

  /** Runs a change after every change queued before it. */
  #exclusive(what: string, fn: (raft: Raft) => Promise<void>): Promise<void> {
    this.#queued++;
    const run = this.#queue.then(() => {
      this.#queued--;
      return this.#retrying(what, fn);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Runs a change now, retrying it while the engine says another change is still committing. */
  async #retrying(what: string, fn: (raft: Raft) => Promise<void>): Promise<void> {
    this.#running++;
    try {
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
    } finally {
      this.#running--;
    }
  }
}
