/**
 * Wire layouts shared by several messages: limits, the common header, entries, and the snapshot metadata with its
 * configuration. All integers are big-endian; indexes, terms and sizes are u64 holding safe integers.
 *
 *   header      = str from, str to, u64 term, u8 hasFromAddr, [str fromAddr if hasFromAddr = 1]
 *   str         = u16 byteLength, UTF-8 bytes (at most MAX_STRING_BYTES)
 *   bytes       = u32 byteLength, bytes
 *   entry       = u64 index, u64 term, u8 type, bytes data
 *   member      = str id, str addr, u8 voter
 *   config      = u32 count, member × count
 *   meta        = u64 index, u64 term, u64 size, config
 */
import { InvalidArgumentError } from '../../../errors.js';
import type { Configuration, Entry, Member, NodeId, SnapshotMeta } from '../../types.js';
import { EntryType } from '../../types.js';
import { protocolError, type Reader } from './reader.js';
import { bytesSize, stringSize, type Writer } from './writer.js';

/**
 * Longest node id, address, cluster name or error string, in UTF-8 bytes: room for any 1024-character string
 * (the engine's own limit on addresses), since one UTF-16 unit takes at most 3 bytes of UTF-8.
 */
export const MAX_STRING_BYTES = 4096;
/** Most entries in one AppendEntries, or commands in one ForwardPropose. */
export const MAX_ENTRIES = 1 << 20;
/** Most members in one configuration. */
export const MAX_MEMBERS = 1 << 16;
/**
 * Largest single byte string (entry data, command, snapshot chunk). Frames are limited separately and more
 * tightly by the transport; this only keeps lengths inside u32 and below what a Buffer can hold.
 */
export const MAX_BYTES = 0xffff_ffff;

export interface Header {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly fromAddr?: string;
}

export function headerSize(h: Header): number {
  const addr = h.fromAddr === undefined ? 0 : stringSize(h.fromAddr);
  return stringSize(h.from) + stringSize(h.to) + 8 + 1 + addr;
}

export function writeHeader(w: Writer, h: Header): void {
  w.string(h.from, MAX_STRING_BYTES, 'from');
  w.string(h.to, MAX_STRING_BYTES, 'to');
  w.u64(h.term, 'term');
  // A presence byte rather than "empty means absent", so that every message round-trips exactly.
  if (h.fromAddr === undefined) {
    w.bool(false);
  } else {
    w.bool(true);
    w.string(h.fromAddr, MAX_STRING_BYTES, 'fromAddr');
  }
}

export function readHeader(r: Reader): Header {
  const from = r.string(MAX_STRING_BYTES, 'from');
  const to = r.string(MAX_STRING_BYTES, 'to');
  const term = r.u64('term');
  if (!r.bool('fromAddr presence')) return { from, to, term };
  const fromAddr = r.string(MAX_STRING_BYTES, 'fromAddr');
  return { from, to, term, fromAddr };
}

// --- entries -----------------------------------------------------------------------------------------------------

/** index + term + type + data length: the least an entry can take. */
const MIN_ENTRY_BYTES = 8 + 8 + 1 + 4;

export function entriesSize(entries: readonly Entry[]): number {
  let n = 4 + entries.length * MIN_ENTRY_BYTES;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

/** The entry type with wire value `t`, or undefined for a value this version does not know. */
function entryType(t: number): EntryType | undefined {
  switch (t) {
    case 1:
      return EntryType.Command;
    case 2:
      return EntryType.Noop;
    case 3:
      return EntryType.Config;
    default:
      return undefined;
  }
}

export function writeEntries(w: Writer, entries: readonly Entry[]): void {
  if (entries.length > MAX_ENTRIES) {
    throw new InvalidArgumentError(`${entries.length} entries exceed the limit of ${MAX_ENTRIES}`);
  }
  w.u32(entries.length);
  for (const e of entries) {
    w.u64(e.index, 'entry index');
    w.u64(e.term, 'entry term');
    const type = entryType(e.type);
    if (type === undefined) throw new InvalidArgumentError(`unknown entry type ${String(e.type)}`);
    w.u8(type);
    w.bytes(e.data, MAX_BYTES, 'entry data');
  }
}

export function readEntries(r: Reader): Entry[] {
  const n = r.count(MAX_ENTRIES, MIN_ENTRY_BYTES, 'entry count');
  const entries: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) {
    const index = r.u64('entry index');
    const term = r.u64('entry term');
    const t = r.u8('entry type');
    const type = entryType(t);
    if (type === undefined) throw protocolError(`unknown entry type ${t}`);
    const data = r.bytes(MAX_BYTES, 'entry data');
    entries[i] = { index, term, type, data };
  }
  return entries;
}

// --- byte-string lists (ForwardPropose commands) -----------------------------------------------------------------

export function bytesListSize(list: readonly Uint8Array[]): number {
  let n = 4;
  for (const b of list) n += bytesSize(b);
  return n;
}

export function writeBytesList(w: Writer, list: readonly Uint8Array[], what: string): void {
  if (list.length > MAX_ENTRIES) throw new InvalidArgumentError(`${list.length} ${what} exceed ${MAX_ENTRIES}`);
  w.u32(list.length);
  for (const b of list) w.bytes(b, MAX_BYTES, what);
}

export function readBytesList(r: Reader, what: string): Uint8Array[] {
  const n = r.count(MAX_ENTRIES, 4, `${what} count`);
  const list: Uint8Array[] = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) list[i] = r.bytes(MAX_BYTES, what);
  return list;
}

// --- configuration and snapshot metadata -------------------------------------------------------------------------

/** id length + addr length + voter. */
const MIN_MEMBER_BYTES = 2 + 2 + 1;

export function configurationSize(c: Configuration): number {
  let n = 4;
  for (const m of c.members) n += stringSize(m.id) + stringSize(m.addr) + 1;
  return n;
}

export function writeConfiguration(w: Writer, c: Configuration): void {
  if (c.members.length > MAX_MEMBERS) {
    throw new InvalidArgumentError(`${c.members.length} members exceed the limit of ${MAX_MEMBERS}`);
  }
  w.u32(c.members.length);
  for (const m of c.members) {
    w.string(m.id, MAX_STRING_BYTES, 'member id');
    w.string(m.addr, MAX_STRING_BYTES, 'member addr');
    w.bool(m.voter);
  }
}

export function readConfiguration(r: Reader): Configuration {
  const n = r.count(MAX_MEMBERS, MIN_MEMBER_BYTES, 'member count');
  const members: Member[] = new Array<Member>(n);
  for (let i = 0; i < n; i++) {
    const id = r.string(MAX_STRING_BYTES, 'member id');
    const addr = r.string(MAX_STRING_BYTES, 'member addr');
    const voter = r.bool('member voter');
    members[i] = { id, addr, voter };
  }
  return { members };
}

export function snapshotMetaSize(m: SnapshotMeta): number {
  return 8 + 8 + 8 + configurationSize(m.config);
}

export function writeSnapshotMeta(w: Writer, m: SnapshotMeta): void {
  w.u64(m.index, 'snapshot index');
  w.u64(m.term, 'snapshot term');
  w.u64(m.size, 'snapshot size');
  writeConfiguration(w, m.config);
}

export function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const size = r.u64('snapshot size');
  const config = readConfiguration(r);
  return { index, term, size, config };
}
