/**
 * The simulated network. Each node incarnation gets a Transport; every message is cloned (as serialisation
 * would), then lost, duplicated, delayed or held back according to the current configuration, the partitions in
 * force and any scenario filters.
 *
 * Rules (documented in docs/RAFT-SIMULATION.md):
 * - Links are directed. A partition blocks a link in one or both directions; a message is dropped if its link is
 *   blocked when it is sent or when it would be delivered (in-flight packets die with the link).
 * - A message to a crashed or stopped node is dropped on arrival. A message to a paused node is held (by the loop,
 *   like a socket buffer) and delivered, in order, when it resumes. A message sent before a restart may reach the
 *   new incarnation (as a late datagram would).
 * - Delays are uniform in [minDelayMs, maxDelayMs]; with `fifo` a link keeps send order except for the messages
 *   picked for reordering, which get an extra delay of up to `reorderDelayMs`.
 * - `send` returns false once `highWater` messages are in flight on a link (the message is still sent), and the
 *   sender's drain handler fires when the link is back at `lowWater`.
 */
import type { Message, NodeId, Transport } from '../../src/raft/types.js';
import { describeMessage } from './describe.js';
import type { SimLoop } from './loop.js';
import type { Rng } from './rng.js';

export interface NetworkConfig {
  minDelayMs: number;
  maxDelayMs: number;
  lossRate: number;
  dupRate: number;
  reorderRate: number;
  reorderDelayMs: number;
  fifo: boolean;
  highWater: number;
  lowWater: number;
}

export const RELIABLE_NETWORK: NetworkConfig = {
  minDelayMs: 1,
  maxDelayMs: 5,
  lossRate: 0,
  dupRate: 0,
  reorderRate: 0,
  reorderDelayMs: 0,
  fifo: true,
  highWater: 1024,
  lowWater: 512,
};

/**
 * A scenario's hook on every message at send time: return the message (possibly rewritten into another valid
 * message, e.g. an AppendEntries with fewer entries) to let it through, null to drop it, undefined for no opinion.
 */
export type MessageFilter = (msg: Message) => Message | null | undefined;

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

export interface NetworkHooks {
  /** Every message a live node hands to its transport (before loss), for the checkers. */
  onSend?: (msg: Message) => void;
  /** The engine broke the Transport contract (bad address, wrong `from`). */
  onContractViolation?: (what: string) => void;
}

interface Endpoint {
  readonly transport: SimTransport;
}

export class SimNetwork {
  config: NetworkConfig;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  private readonly addrToId = new Map<string, NodeId>();
  private readonly idToAddr = new Map<NodeId, string>();
  private readonly endpoints = new Map<NodeId, Endpoint>();
  private readonly blocked = new Map<string, number>();
  private readonly filters: MessageFilter[] = [];
  private readonly inflight = new Map<string, number>();
  private readonly congested = new Set<string>();
  private readonly lastArrival = new Map<string, number>();

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: Rng,
    config: NetworkConfig = RELIABLE_NETWORK,
    private readonly hooks: NetworkHooks = {},
  ) {
    this.config = { ...config };
  }

  register(id: NodeId, addr: string): void {
    this.addrToId.set(addr, id);
    this.idToAddr.set(id, addr);
  }

  addrOf(id: NodeId): string {
    const addr = this.idToAddr.get(id);
    if (addr === undefined) throw new Error(`unknown node ${id}`);
    return addr;
  }

  nodeIds(): NodeId[] {
    return [...this.idToAddr.keys()];
  }

  /** A fresh transport for a new incarnation of `id`; it replaces (and closes) the previous one. */
  open(id: NodeId, inc: number): SimTransport {
    this.close(id);
    const t = new SimTransport(this, id, inc);
    this.endpoints.set(id, { transport: t });
    return t;
  }

  /** The node went down: its transport stops sending and nothing is delivered to it any more. */
  close(id: NodeId): void {
    const ep = this.endpoints.get(id);
    if (ep !== undefined) ep.transport.closed = true;
    this.endpoints.delete(id);
  }

  // --- partitions -------------------------------------------------------------------------------------------

  /** Blocks one direction of one link. Blocks nest: each block needs its own unblock. */
  block(from: NodeId, to: NodeId): void {
    const k = `${from}>${to}`;
    this.blocked.set(k, (this.blocked.get(k) ?? 0) + 1);
  }

  unblock(from: NodeId, to: NodeId): void {
    const k = `${from}>${to}`;
    const n = (this.blocked.get(k) ?? 0) - 1;
    if (n > 0) this.blocked.set(k, n);
    else this.blocked.delete(k);
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Blocks a set of directed links; returns the function that lifts exactly those blocks. */
  blockAll(links: readonly (readonly [NodeId, NodeId])[]): () => void {
    for (const [a, b] of links) this.block(a, b);
    let lifted = false;
    return () => {
      if (lifted) return;
      lifted = true;
      for (const [a, b] of links) this.unblock(a, b);
    };
  }

  /** Cuts every link between nodes of different groups, both ways. Nodes in no group keep all their links. */
  partition(groups: readonly (readonly NodeId[])[]): () => void {
    const links: [NodeId, NodeId][] = [];
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) links.push([a, b]);
      }
    }
    return this.blockAll(links);
  }

  /** Cuts `id` off from every other node, both ways. */
  isolate(id: NodeId): () => void {
    const others = [...this.idToAddr.keys()].filter((o) => o !== id);
    return this.partition([[id], others]);
  }

  /** Two sides that cannot talk to each other; every node in neither side (the bridge) talks to both. */
  bridge(sideA: readonly NodeId[], sideB: readonly NodeId[]): () => void {
    return this.partition([sideA, sideB]);
  }

  /** Lifts every block. */
  heal(): void {
    this.blocked.clear();
  }

  blockedLinks(): string[] {
    return [...this.blocked.keys()].sort();
  }

  addFilter(filter: MessageFilter): () => void {
    this.filters.push(filter);
    return () => {
      const i = this.filters.indexOf(filter);
      if (i >= 0) this.filters.splice(i, 1);
    };
  }

  // --- the data path ----------------------------------------------------------------------------------------

  /** Called by a live transport. Returns false when the link is congested. */
  send(sender: SimTransport, addr: string, original: Message): boolean {
    const to = this.addrToId.get(addr);
    if (to === undefined) {
      this.hooks.onContractViolation?.(`${sender.id} sent to unknown address ${addr}`);
      this.stats.dropped++;
      return true;
    }
    if (original.to !== to) this.hooks.onContractViolation?.(`${sender.id} sent msg.to=${original.to} to ${addr}`);
    if (original.from !== sender.id) this.hooks.onContractViolation?.(`${sender.id} sent msg.from=${original.from}`);
    this.hooks.onSend?.(original);
    this.stats.sent++;
    let msg: Message | null = structuredClone(original);
    for (const f of this.filters) {
      if (msg === null) break;
      const verdict: Message | null | undefined = f(msg);
      if (verdict !== undefined) msg = verdict;
    }
    const link = `${sender.id}>${to}`;
    // Flow control belongs to the sender's connection: a restarted process starts with fresh, empty links.
    const flow = `${sender.id}#${sender.inc}>${to}`;
    const desc = describeMessage(original);
    if (msg === null || this.blocked.has(link) || this.rng.chance(this.config.lossRate)) {
      this.stats.dropped++;
      this.loop.trace.add(this.loop.now(), `drop ${desc}`);
      return !this.congested.has(flow);
    }
    this.transmit(sender, to, link, flow, msg, desc);
    if (this.rng.chance(this.config.dupRate)) {
      this.stats.duplicated++;
      this.transmit(sender, to, link, flow, structuredClone(msg), `${desc} (dup)`);
    }
    const n = this.inflight.get(flow) ?? 0;
    if (n >= this.config.highWater) {
      this.congested.add(flow);
      return false;
    }
    return true;
  }

  private transmit(sender: SimTransport, to: NodeId, link: string, flow: string, msg: Message, desc: string): void {
    const c = this.config;
    let delay = this.rng.float(c.minDelayMs, c.maxDelayMs);
    const reordered = this.rng.chance(c.reorderRate);
    if (reordered) delay += this.rng.float(0, c.reorderDelayMs);
    let at = this.loop.now() + delay;
    if (c.fifo && !reordered) {
      at = Math.max(at, this.lastArrival.get(link) ?? 0);
      this.lastArrival.set(link, at);
    }
    this.inflight.set(flow, (this.inflight.get(flow) ?? 0) + 1);
    this.loop.schedule(
      at - this.loop.now(),
      `deliver ${desc}`,
      () => {
        this.settle(sender, to, flow);
        const ep = this.endpoints.get(to);
        if (this.blocked.has(link) || ep === undefined || ep.transport.closed || ep.transport.handler === undefined) {
          this.stats.dropped++;
          return;
        }
        this.stats.delivered++;
        ep.transport.handler(msg);
      },
      // Owned by the receiver (held while it is paused) but not by one incarnation (see the module comment).
      { node: to, inc: null },
      'io',
    );
  }

  /** One message left the link: lift congestion and tell the sender once the link is back at low water. */
  private settle(sender: SimTransport, to: NodeId, flow: string): void {
    const n = (this.inflight.get(flow) ?? 1) - 1;
    if (n > 0) this.inflight.set(flow, n);
    else this.inflight.delete(flow);
    if (n <= this.config.lowWater && this.congested.delete(flow)) {
      this.loop.schedule(
        0,
        `drain ${flow}`,
        () => {
          if (!sender.closed) sender.drainHandler?.(to);
        },
        { node: sender.id, inc: sender.inc },
        'io',
      );
    }
  }
}

export class SimTransport implements Transport {
  handler: ((msg: Message) => void) | undefined;
  drainHandler: ((peerId: NodeId) => void) | undefined;
  closed = false;

  constructor(
    private readonly net: SimNetwork,
    readonly id: NodeId,
    readonly inc: number,
  ) {}

  send(addr: string, msg: Message): boolean {
    // A crashed incarnation's leftover code may still run; its sends go nowhere, like a dead process's.
    if (this.closed) return true;
    return this.net.send(this, addr, msg);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.handler = handler;
  }

  onDrain(handler: (peerId: NodeId) => void): void {
    this.drainHandler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
