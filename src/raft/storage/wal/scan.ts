/**
 * Recovery scan of one segment: validates every record and decides what an invalid one means.
 *
 * Every append call is one write followed by one fdatasync, so after a crash (power loss included) only the bytes
 * of the last append call can be missing, zeroed or garbled, and that call was never acknowledged. Cutting the log
 * back to the last whole record is then safe. Anything else that fails validation is damage to acknowledged data,
 * and the store must refuse to start rather than silently drop entries the cluster may count on.
 *
 * The two cases are told apart as follows. Sealed segments (all but the last) were fully synced before the next
 * segment was created, so any bad record there is damage. In the last segment, a bad record at index E belongs to
 * an append call that started at some index <= E. If, anywhere after it, a record with a valid CRC belongs to a
 * call that started after E (each record stores its position in its call), a later append was acknowledged on top
 * of the bad record, so it is damage; otherwise the bad bytes are the torn tail of the final call. Pages of one
 * write may reach the disk in any order, so records of the torn call itself may well be valid past a bad one.
 */
import { StorageCorruptError } from '../../../errors.js';
import { readU64 } from '../binary.js';
import {
  isValidEntryType,
  RECORD_HEADER_BYTES,
  RECORD_KIND_ENTRY,
  readRecordHeader,
  recordCrcOk,
  SEGMENT_HEADER_BYTES,
} from './record.js';

export interface ScanResult {
  /** File offset of each whole record, in index order starting at the segment's base index. */
  readonly offsets: number[];
  readonly terms: number[];
  /** Offset just past the last whole record. */
  readonly end: number;
  /** Why the bytes after `end` were judged a torn final write (null when the file ends cleanly). */
  readonly torn: string | null;
}

/**
 * Checks the record at `pos`, which should hold index `expected`. `prevBatchPos` is the batch position of the
 * previous record in this segment, or -1 for the first record. Returns the record's total size or a reason.
 */
function checkRecord(
  buf: Buffer,
  pos: number,
  expected: number,
  prevBatchPos: number,
  maxEntryBytes: number,
): { size: number; term: number; batchPos: number } | string {
  const remaining = buf.length - pos;
  if (remaining < RECORD_HEADER_BYTES) return `partial record header (${remaining} bytes)`;
  const h = readRecordHeader(buf, pos);
  if (h.length > maxEntryBytes) return `implausible record length ${h.length}`;
  if (RECORD_HEADER_BYTES + h.length > remaining) return `record of ${h.length} bytes runs past the end of the file`;
  if (!recordCrcOk(buf, pos, h.length)) return 'record checksum mismatch';
  if (h.kind !== RECORD_KIND_ENTRY) return `unknown record kind ${h.kind}`;
  if (!isValidEntryType(h.type)) return `unknown entry type ${h.type}`;
  if (h.index !== expected) return `record holds index ${h.index}, expected ${expected}`;
  const batchOk = prevBatchPos < 0 ? h.batchPos === 0 : h.batchPos === 0 || h.batchPos === prevBatchPos + 1;
  if (!batchOk) return `record has batch position ${h.batchPos} after ${prevBatchPos}`;
  return { size: RECORD_HEADER_BYTES + h.length, term: h.term, batchPos: h.batchPos };
}

/**
 * Looks for a CRC-valid record at or after `from` that belongs to an append call starting after index `expected`.
 * Lengths after a bad record cannot be trusted, so every byte offset is tried; cheap field checks reject almost
 * all of them before a CRC is computed. Only runs after a crash left a bad tail.
 */
function findLaterCall(buf: Buffer, from: number, expected: number, base: number, maxEntryBytes: number): number {
  const last = buf.length - RECORD_HEADER_BYTES;
  for (let p = from; p <= last; p++) {
    if (buf[p + 8] !== RECORD_KIND_ENTRY) continue;
    const length = buf.readUInt32LE(p + 4);
    if (length > maxEntryBytes || p + RECORD_HEADER_BYTES + length > buf.length) continue;
    const index = readU64(buf, p + 16);
    const batchPos = buf.readUInt32LE(p + 12);
    if (index <= expected || batchPos > index - base || index - batchPos <= expected) continue;
    if (recordCrcOk(buf, p, length)) return p;
  }
  return -1;
}

/**
 * Scans the records of a segment whose header was already checked. Throws StorageCorruptError for damage;
 * returns a torn tail only when `isLast`.
 */
export function scanSegment(
  buf: Buffer,
  file: string,
  base: number,
  isLast: boolean,
  maxEntryBytes: number,
): ScanResult {
  const offsets: number[] = [];
  const terms: number[] = [];
  let pos = SEGMENT_HEADER_BYTES;
  let expected = base;
  let prevBatchPos = -1;
  while (pos < buf.length) {
    const r = checkRecord(buf, pos, expected, prevBatchPos, maxEntryBytes);
    if (typeof r === 'string') {
      if (!isLast) throw new StorageCorruptError(file, pos, `${r} (in a sealed segment)`);
      const later = findLaterCall(buf, pos, expected, base, maxEntryBytes);
      if (later >= 0) {
        throw new StorageCorruptError(
          file,
          pos,
          `${r}, but a later acknowledged record (index ${readU64(buf, later + 16)}) follows at offset ${later}`,
        );
      }
      return { offsets, terms, end: pos, torn: `${r} at offset ${pos}` };
    }
    offsets.push(pos);
    terms.push(r.term);
    prevBatchPos = r.batchPos;
    pos += r.size;
    expected += 1;
  }
  return { offsets, terms, end: pos, torn: null };
}
