/**
 * A trivial replicated state machine for the process tests and benchmarks: a key → value map plus a count of
 * applied commands and a CRC-32 chain over them, so two nodes can be compared with three numbers.
 *
 * Command format: [u8 key length][key bytes (UTF-8)][value bytes (UTF-8)]. apply() returns the new count.
 */
import { crc32 } from 'node:zlib';
import type { StateMachine } from '../../src/raft/types.js';
import type { StateSummary } from './protocol.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(key: string, value: string, padTo = 0): Uint8Array {
  const k = encoder.encode(key);
  if (k.length > 255) throw new RangeError('key longer than 255 bytes');
  const v = encoder.encode(value);
  const size = Math.max(1 + k.length + v.length, padTo);
  const out = new Uint8Array(size);
  out[0] = k.length;
  out.set(k, 1);
  out.set(v, 1 + k.length);
  // Padding (if any) is spaces, so the value stays valid UTF-8.
  out.fill(0x20, 1 + k.length + v.length);
  return out;
}

interface SnapshotShape {
  count: number;
  digest: number;
  map: [string, string][];
}

export class KvStateMachine implements StateMachine<number> {
  private readonly map = new Map<string, string>();
  private count = 0;
  private digest = 0;

  apply(command: Uint8Array): number {
    const keyLen = command[0] ?? 0;
    if (command.length < 1 + keyLen) throw new RangeError('malformed command');
    const key = decoder.decode(command.subarray(1, 1 + keyLen));
    const value = decoder.decode(command.subarray(1 + keyLen)).trimEnd();
    this.map.set(key, value);
    this.count++;
    this.digest = crc32(command, this.digest);
    return this.count;
  }

  snapshot(): Uint8Array {
    const s: SnapshotShape = { count: this.count, digest: this.digest, map: [...this.map] };
    return encoder.encode(JSON.stringify(s));
  }

  restore(data: Uint8Array): void {
    const s = JSON.parse(decoder.decode(data)) as SnapshotShape;
    this.map.clear();
    for (const [k, v] of s.map) this.map.set(k, v);
    this.count = s.count;
    this.digest = s.digest;
  }

  get(key: string): string | null {
    return this.map.get(key) ?? null;
  }

  summary(): StateSummary {
    return { count: this.count, digest: this.digest, keys: this.map.size };
  }
}
