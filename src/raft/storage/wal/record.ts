/**
 * The on-disk encoding of WAL segments: a fixed header, then one record per log entry, each with its own CRC.
 *
 * Segment header (32 bytes, little-endian):
 *    0 u32 CRC-32 of bytes [4, 32)
 *    4 u32 magic 'CKWL'
 *    8 u32 format version (1)
 *   12 u32 reserved, 0
 *   16 u64 segment sequence number (also in the file name; orders segments)
 *   24 u64 base index: the index of the segment's first record
 *
 * Record (32-byte header + data):
 *    0 u32 CRC-32 of bytes [4, 32 + length)
 *    4 u32 data length
 *    8 u8  record kind (1 = log entry)
 *    9 u8  entry type (EntryType)
 *   10 u16 reserved, 0
 *   12 u32 position in its batch: index - (first index of the append call that wrote it)
 *   16 u64 index
 *   24 u64 term
 *   32     data
 *
 * The batch position is what lets recovery tell a torn final write (safe to cut off: never acknowledged) from
 * damage to acknowledged data: see scan.ts.
 */
import { InvalidArgumentError } from '../../../errors.js';
import { type Entry, EntryType } from '../../types.js';
import { crcOf, readU64, writeU64 } from '../binary.js';

export const SEGMENT_MAGIC = 0x434b574c;
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 32;
export const RECORD_KIND_ENTRY = 1;

export function encodeSegmentHeader(seq: number, base: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.writeUInt32LE(SEGMENT_MAGIC, 4);
  buf.writeUInt32LE(SEGMENT_VERSION, 8);
  writeU64(buf, 16, seq);
  writeU64(buf, 24, base);
  buf.writeUInt32LE(crcOf(buf, 4, SEGMENT_HEADER_BYTES), 0);
  return buf;
}

export type HeaderRead = { ok: true; seq: number; base: number } | { ok: false; offset: number; reason: string };

export function decodeSegmentHeader(buf: Buffer): HeaderRead {
  if (buf.length < SEGMENT_HEADER_BYTES) {
    return { ok: false, offset: buf.length, reason: 'file is shorter than a segment header' };
  }
  if (crcOf(buf, 4, SEGMENT_HEADER_BYTES) !== buf.readUInt32LE(0)) {
    return { ok: false, offset: 0, reason: 'segment header checksum mismatch' };
  }
  if (buf.readUInt32LE(4) !== SEGMENT_MAGIC) return { ok: false, offset: 4, reason: 'not a WAL segment (bad magic)' };
  const version = buf.readUInt32LE(8);
  if (version !== SEGMENT_VERSION) return { ok: false, offset: 8, reason: `unsupported segment version ${version}` };
  return { ok: true, seq: readU64(buf, 16), base: readU64(buf, 24) };
}

const VALID_TYPES = new Set<number>([EntryType.Command, EntryType.Noop, EntryType.Config]);

/** The EntryType for a number read from disk (already checked with isValidEntryType). */
function toEntryType(value: number): EntryType {
  switch (value) {
    case 1:
      return EntryType.Command;
    case 2:
      return EntryType.Noop;
    default:
      return EntryType.Config;
  }
}

export interface EncodedBatch {
  readonly bytes: Buffer;
  /** Offset of each record within `bytes`. */
  readonly offsets: readonly number[];
}

/**
 * Encodes an append call's entries into one buffer (written with one write). Validates what the format needs;
 * the caller has checked the indexes are consecutive.
 */
export function encodeBatch(entries: readonly Entry[], maxEntryBytes: number): EncodedBatch {
  let total = 0;
  for (const e of entries) {
    if (!(e.data instanceof Uint8Array)) throw new InvalidArgumentError(`entry ${e.index}: data must be a Uint8Array`);
    if (e.data.length > maxEntryBytes) {
      throw new InvalidArgumentError(`entry ${e.index} is ${e.data.length} bytes, more than ${maxEntryBytes}`);
    }
    if (!VALID_TYPES.has(e.type)) throw new InvalidArgumentError(`entry ${e.index}: unknown type ${String(e.type)}`);
    if (!Number.isSafeInteger(e.term) || e.term < 0) {
      throw new InvalidArgumentError(`entry ${e.index}: term must be a non-negative integer`);
    }
    total += RECORD_HEADER_BYTES + e.data.length;
  }
  const bytes = Buffer.allocUnsafe(total);
  const offsets: number[] = [];
  const first = entries[0]?.index ?? 0;
  let pos = 0;
  for (const e of entries) {
    offsets.push(pos);
    const len = e.data.length;
    bytes.writeUInt32LE(len, pos + 4);
    bytes.writeUInt8(RECORD_KIND_ENTRY, pos + 8);
    bytes.writeUInt8(e.type, pos + 9);
    bytes.writeUInt16LE(0, pos + 10);
    bytes.writeUInt32LE(e.index - first, pos + 12);
    writeU64(bytes, pos + 16, e.index);
    writeU64(bytes, pos + 24, e.term);
    bytes.set(e.data, pos + RECORD_HEADER_BYTES);
    bytes.writeUInt32LE(crcOf(bytes, pos + 4, pos + RECORD_HEADER_BYTES + len), pos);
    pos += RECORD_HEADER_BYTES + len;
  }
  return { bytes, offsets };
}

export interface RecordHeader {
  readonly length: number;
  readonly kind: number;
  readonly type: number;
  readonly batchPos: number;
  readonly index: number;
  readonly term: number;
}

export function readRecordHeader(buf: Buffer, pos: number): RecordHeader {
  return {
    length: buf.readUInt32LE(pos + 4),
    kind: buf.readUInt8(pos + 8),
    type: buf.readUInt8(pos + 9),
    batchPos: buf.readUInt32LE(pos + 12),
    index: readU64(buf, pos + 16),
    term: readU64(buf, pos + 24),
  };
}

/** True when the record at `pos` (whose header fits and whose length was bounds-checked) has a matching CRC. */
export function recordCrcOk(buf: Buffer, pos: number, length: number): boolean {
  return crcOf(buf, pos + 4, pos + RECORD_HEADER_BYTES + length) === buf.readUInt32LE(pos);
}

export function isValidEntryType(type: number): type is EntryType {
  return VALID_TYPES.has(type);
}

/** Decodes a record already verified (by scan or by `verifyRecordAt`) into an Entry sharing `buf`'s memory. */
export function entryAt(buf: Buffer, pos: number, h: RecordHeader): Entry {
  const start = buf.byteOffset + pos + RECORD_HEADER_BYTES;
  return { index: h.index, term: h.term, type: toEntryType(h.type), data: new Uint8Array(buf.buffer, start, h.length) };
}
