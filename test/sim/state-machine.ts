/**
 * The replicated state machine used by the simulation: it keeps only a fingerprint of everything it applied (the
 * last command index and a hash chain over (index, command)), reports every apply to the checker, and returns
 * the (node, index, command) it applied so a client can verify the result of its propose().
 */
import type { NodeId, StateMachine } from '../../src/raft/types.js';
import { chainCommand, EMPTY_PREFIX } from './hash.js';

export interface SimResult {
  readonly node: NodeId;
  readonly index: number;
  readonly command: string;
}

export interface StateMachineHooks {
  onApply(node: NodeId, index: number, command: string, prevIndex: number, hash: number): void;
  onRestore(node: NodeId, index: number, hash: number): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A command is its unique key plus optional padding (so entries have varied sizes). */
export function encodeCommand(key: string, padding = 0): Uint8Array {
  return encoder.encode(padding > 0 ? `${key}|${'x'.repeat(padding)}` : key);
}

export function decodeCommand(data: Uint8Array): string {
  const text = decoder.decode(data);
  const bar = text.indexOf('|');
  return bar < 0 ? text : text.slice(0, bar);
}

interface SmState {
  lastIndex: number;
  hash: number;
  count: number;
}

export class SimStateMachine implements StateMachine<SimResult> {
  private state: SmState = { lastIndex: 0, hash: EMPTY_PREFIX, count: 0 };
  /** For the checkers' self-test: rewrites the command this node applies (a deliberately broken replica). */
  corrupt: ((index: number, command: string) => string) | undefined;

  constructor(
    readonly node: NodeId,
    private readonly hooks: StateMachineHooks,
  ) {}

  apply(data: Uint8Array, index: number): SimResult {
    let command = decodeCommand(data);
    if (this.corrupt !== undefined) command = this.corrupt(index, command);
    const prev = this.state.lastIndex;
    const hash = chainCommand(this.state.hash, index, command);
    this.state = { lastIndex: Math.max(prev, index), hash, count: this.state.count + 1 };
    this.hooks.onApply(this.node, index, command, prev, hash);
    return { node: this.node, index, command };
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.state));
  }

  restore(data: Uint8Array): void {
    const parsed = JSON.parse(decoder.decode(data)) as SmState;
    this.state = { lastIndex: parsed.lastIndex, hash: parsed.hash, count: parsed.count };
    this.hooks.onRestore(this.node, parsed.lastIndex, parsed.hash);
  }

  get appliedCommands(): number {
    return this.state.count;
  }

  get lastCommandIndex(): number {
    return this.state.lastIndex;
  }
}
