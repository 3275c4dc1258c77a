/**
 * Clients. Each client loops on its own seeded stream: think, pick a running node (the leader or any other,
 * followers included), propose one command or a burst, and record the outcome. Every propose() carries a unique
 * command, so the checkers can tell exactly which call an applied entry came from. A proposal whose node crashes
 * before answering is "abandoned" (a client whose connection died never learns the outcome).
 */
import type { NodeId } from '../../src/raft/types.js';
import { errorCode, type SimCluster } from './cluster.js';
import type { Rng } from './rng.js';
import { encodeCommand, type SimResult } from './state-machine.js';

export interface WorkloadParams {
  clients: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  /** Largest burst of concurrent proposals from one client. */
  burstMax: number;
  /** Chance a client sends to the leader (when known) rather than any running node. */
  leaderBias: number;
  proposeTimeoutMs: number;
  paddingMax: number;
  /** Chance that a client's turn is a linearizable read() instead of proposals. */
  readRate: number;
}

export interface WorkloadStats {
  issued: number;
  acked: number;
  failed: number;
  abandoned: number;
  errors: Record<string, number>;
  reads: number;
  readsOk: number;
}

interface Pending {
  readonly key: string;
  readonly node: NodeId;
  readonly inc: number;
  readonly issuedAt: number;
}

export interface ProposalOutcome {
  readonly key: string;
  readonly node: NodeId;
  readonly issuedAt: number;
  readonly settledAt: number;
  readonly ok: boolean;
  readonly index?: number;
  readonly error?: string;
}

export class Workload {
  readonly stats: WorkloadStats = { issued: 0, acked: 0, failed: 0, abandoned: 0, errors: {}, reads: 0, readsOk: 0 };
  readonly pending = new Map<string, Pending>();
  /** Every settled proposal, in settlement order. */
  readonly outcomes: ProposalOutcome[] = [];
  private running = false;
  private seq = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
    readonly params: WorkloadParams,
  ) {
    cluster.onNodeDown((id, inc) => {
      for (const [key, p] of this.pending) {
        if (p.node === id && p.inc === inc) {
          this.pending.delete(key);
          this.stats.abandoned++;
        }
      }
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let c = 0; c < this.params.clients; c++) this.loop(c, this.rng.fork(`client/${c}`));
  }

  stop(): void {
    this.running = false;
  }

  private loop(client: number, rng: Rng): void {
    const think = rng.float(this.params.thinkMinMs, this.params.thinkMaxMs);
    this.cluster.loop.schedule(think, `client ${client} wakes`, () => {
      if (!this.running) return;
      const target = this.pickTarget(rng);
      if (target !== undefined && rng.chance(this.params.readRate)) {
        this.read(target);
      } else if (target !== undefined) {
        const burst = rng.int(1, this.params.burstMax);
        // propose() never rejects: its outcome is recorded, whatever it is.
        for (let i = 0; i < burst; i++) {
          void this.propose(target, `c${client}-${this.seq++}`, rng.int(0, this.params.paddingMax));
        }
      }
      this.loop(client, rng);
    });
  }

  private pickTarget(rng: Rng): NodeId | undefined {
    const leader = this.cluster.leader();
    if (leader !== undefined && rng.chance(this.params.leaderBias)) return leader.id;
    const candidates = this.cluster.runningIds().filter((id) => this.cluster.reachable(id));
    return candidates.length === 0 ? undefined : rng.pick(candidates);
  }

  /**
   * A linearizable read on `node`: once it resolves, the node must have applied every entry that was committed
   * anywhere before the read began (ReadIndex; a deposed leader answering from its own state would not have).
   */
  read(node: NodeId): void {
    const raft = this.cluster.host(node).raft;
    if (raft === null) return;
    const mustSee = this.cluster.checker.maxCommitted;
    this.stats.reads++;
    this.cluster.trace.add(this.cluster.now(), `client read on ${node} (must see ${mustSee})`);
    raft.read({ timeoutMs: this.params.proposeTimeoutMs }).then(
      () => {
        this.stats.readsOk++;
        const applied = this.cluster.statusOf(node)?.appliedIndex ?? -1;
        this.cluster.trace.add(this.cluster.now(), `client read on ${node}: ok at ${applied}`);
        if (applied < mustSee) {
          this.cluster.checker.fail(
            'linearizability',
            `read() on ${node} returned with ${applied} applied, but ${mustSee} was committed before it began`,
          );
        }
      },
      (error: unknown) => {
        const code = errorCode(error);
        this.cluster.trace.add(this.cluster.now(), `client read on ${node}: failed ${code}`);
        if (code === 'UNKNOWN')
          this.cluster.checker.fail('contract', `read on ${node} rejected with a non-ClusterKit error`);
      },
    );
  }

  /** Issues one proposal on `node`; resolves when it settles (never, if the node dies first). */
  propose(node: NodeId, key: string, padding = 0, timeoutMs = this.params.proposeTimeoutMs): Promise<ProposalOutcome> {
    const host = this.cluster.host(node);
    const raft = host.raft;
    if (raft === null || !host.up) throw new Error(`${node} is not running`);
    const p: Pending = { key, node, inc: host.inc, issuedAt: this.cluster.now() };
    this.pending.set(key, p);
    this.stats.issued++;
    this.cluster.trace.add(this.cluster.now(), `client propose ${key} on ${node}`);
    const settle = (ok: boolean, result?: SimResult, error?: unknown): ProposalOutcome => {
      const out: ProposalOutcome = {
        key,
        node,
        issuedAt: p.issuedAt,
        settledAt: this.cluster.now(),
        ok,
        ...(result ? { index: result.index } : {}),
        ...(error !== undefined ? { error: errorCode(error) } : {}),
      };
      // A proposal whose node died was already counted as abandoned; a late settlement is impossible there.
      if (this.pending.get(key) !== p) return out;
      this.pending.delete(key);
      this.outcomes.push(out);
      this.cluster.trace.add(
        this.cluster.now(),
        `client ${key} on ${node}: ${ok ? `ok @${result?.index}` : `failed ${out.error ?? ''}`}`,
      );
      if (ok && result !== undefined) {
        this.stats.acked++;
        this.cluster.checker.onAck(node, key, result);
      } else {
        this.stats.failed++;
        const code = out.error ?? 'UNKNOWN';
        this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
        if (code === 'UNKNOWN')
          this.cluster.checker.fail('contract', `propose on ${node} rejected with a non-ClusterKit error`);
      }
      return out;
    };
    return raft.propose(encodeCommand(key, padding), { timeoutMs }).then(
      (r) => settle(true, r),
      (e: unknown) => settle(false, undefined, e),
    );
  }
}
