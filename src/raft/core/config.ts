/**
 * Cluster configurations: the on-disk/wire encoding of a Config entry's data, validation, single-server change
 * application, and the history of configurations in the log (a configuration takes effect when its entry is
 * appended, and rolls back when that entry is truncated away).
 */
import { ClusterKitError, InvalidArgumentError } from '../../errors.js';
import type { Configuration, Member, NodeId } from '../types.js';
import type { MembershipChange } from './types.js';

const ENCODING_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const EMPTY_CONFIG: Configuration = Object.freeze({ members: Object.freeze([]) });

/** Encodes a configuration as the data of a Config entry: UTF-8 JSON `{"v":1,"members":[{id,addr,voter}]}`. */
export function encodeConfiguration(config: Configuration): Uint8Array {
  const members = config.members.map((m) => ({ id: m.id, addr: m.addr, voter: m.voter }));
  return encoder.encode(JSON.stringify({ v: ENCODING_VERSION, members }));
}

/** Decodes a Config entry's data; throws ERR_PROTOCOL on anything malformed (never trusts its input). */
export function decodeConfiguration(data: Uint8Array): Configuration {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ClusterKitError('ERR_PROTOCOL', 'configuration entry is not valid UTF-8 JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ClusterKitError('ERR_PROTOCOL', 'configuration entry is not an object');
  }
  const { v, members } = parsed as { v?: unknown; members?: unknown };
  if (v !== ENCODING_VERSION || !Array.isArray(members)) {
    throw new ClusterKitError('ERR_PROTOCOL', `unsupported configuration encoding (version ${String(v)})`);
  }
  const out: Member[] = [];
  for (const m of members as unknown[]) {
    if (typeof m !== 'object' || m === null) throw new ClusterKitError('ERR_PROTOCOL', 'bad member in configuration');
    const { id, addr, voter } = m as { id?: unknown; addr?: unknown; voter?: unknown };
    if (typeof id !== 'string' || typeof addr !== 'string' || typeof voter !== 'boolean') {
      throw new ClusterKitError('ERR_PROTOCOL', 'bad member in configuration');
    }
    out.push({ id, addr, voter });
  }
  const config = { members: out };
  const problem = configurationProblem(config);
  if (problem !== null) throw new ClusterKitError('ERR_PROTOCOL', `invalid configuration entry: ${problem}`);
  return config;
}

/** Why a configuration is unusable, or null. A configuration must have a voter and unique ids and addresses. */
export function configurationProblem(config: Configuration): string | null {
  const ids = new Set<string>();
  const addrs = new Set<string>();
  let voters = 0;
  for (const m of config.members) {
    if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 256) return 'a member id is empty or too long';
    if (typeof m.addr !== 'string' || m.addr.length === 0 || m.addr.length > 1024) {
      return `member ${m.id} has an empty or too long address`;
    }
    if (ids.has(m.id)) return `duplicate member id ${m.id}`;
    if (addrs.has(m.addr)) return `duplicate member address ${m.addr}`;
    ids.add(m.id);
    addrs.add(m.addr);
    if (m.voter) voters++;
  }
  if (voters === 0) return 'no voters';
  return null;
}

export function findMember(config: Configuration, id: NodeId): Member | undefined {
  return config.members.find((m) => m.id === id);
}

export function isVoter(config: Configuration, id: NodeId): boolean {
  return findMember(config, id)?.voter === true;
}

export function voterIds(config: Configuration): NodeId[] {
  return config.members.filter((m) => m.voter).map((m) => m.id);
}

export function sameConfiguration(a: Configuration, b: Configuration): boolean {
  if (a.members.length !== b.members.length) return false;
  return a.members.every((m, i) => {
    const o = b.members[i]!;
    return m.id === o.id && m.addr === o.addr && m.voter === o.voter;
  });
}

/** Whether two configurations have the same voters (in any order). */
export function sameVoters(a: Configuration, b: Configuration): boolean {
  const va = voterIds(a);
  const vb = new Set(voterIds(b));
  return va.length === vb.size && va.every((id) => vb.has(id));
}

/**
 * Applies a single-server change. Returns the new configuration, `null` when the change is already in effect
 * (nothing to do), or throws a typed error when the change is not allowed.
 */
export function applyChange(config: Configuration, change: MembershipChange): Configuration | null {
  const existing = findMember(config, change.id);
  let members: Member[];
  switch (change.kind) {
    case 'add': {
      if (existing !== undefined) {
        if (existing.addr === change.addr && existing.voter === change.voter) return null;
        throw new ClusterKitError(
          'ERR_CONFLICT',
          `${change.id} is already a member (${existing.addr}, ${existing.voter ? 'voter' : 'non-voter'}); ` +
            'use promote, demote or removeMember',
        );
      }
      const clash = config.members.find((m) => m.addr === change.addr);
      if (clash !== undefined) {
        throw new ClusterKitError('ERR_CONFLICT', `address ${change.addr} is already used by ${clash.id}`);
      }
      members = [...config.members, { id: change.id, addr: change.addr, voter: change.voter }];
      break;
    }
    case 'promote':
    case 'demote': {
      if (existing === undefined) throw new ClusterKitError('ERR_NOT_FOUND', `${change.id} is not a member`);
      const voter = change.kind === 'promote';
      if (existing.voter === voter) return null;
      members = config.members.map((m) => (m.id === change.id ? { id: m.id, addr: m.addr, voter } : m));
      break;
    }
    case 'remove': {
      if (existing === undefined) return null;
      members = config.members.filter((m) => m.id !== change.id);
      break;
    }
  }
  const next = { members };
  const problem = configurationProblem(next);
  if (problem !== null) throw new InvalidArgumentError(`the change would leave an invalid configuration: ${problem}`);
  return next;
}

/**
 * The configurations found in the log since the last snapshot, oldest first. The first element is the
 * configuration in force at the snapshot (or the empty configuration at index 0 for a node never configured).
 */
export class ConfigHistory {
  private items: { index: number; config: Configuration }[];

  constructor(baseIndex: number, base: Configuration) {
    this.items = [{ index: baseIndex, config: base }];
  }

  latest(): Configuration {
    return this.items[this.items.length - 1]!.config;
  }

  latestIndex(): number {
    return this.items[this.items.length - 1]!.index;
  }

  /** The configuration in force at `index` (the newest one appended at or before it). */
  at(index: number): Configuration {
    for (let k = this.items.length - 1; k >= 0; k--) {
      const item = this.items[k]!;
      if (item.index <= index) return item.config;
    }
    return this.items[0]!.config;
  }

  /** A Config entry was appended at `index`. */
  push(index: number, config: Configuration): void {
    this.items.push({ index, config });
  }

  /** The log was truncated from `index` on: configurations appended there no longer exist. Returns whether the latest changed. */
  truncateFrom(index: number): boolean {
    const before = this.items.length;
    while (this.items.length > 1 && this.items[this.items.length - 1]!.index >= index) this.items.pop();
    return this.items.length !== before;
  }

  /** A snapshot at `index` replaced the log: `config` is the configuration in force there. */
  reset(index: number, config: Configuration): void {
    this.items = [{ index, config }];
  }

  /** Forgets configurations superseded at or before `index` (after a snapshot there), keeping the one in force. */
  compact(index: number): void {
    while (this.items.length > 1 && this.items[1]!.index <= index) this.items.shift();
  }
}
