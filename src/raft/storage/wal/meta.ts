/**
 * The WAL's own bookkeeping, kept in a mirrored two-slot file (dual-slot.ts): where the log starts after
 * compaction, and which segment files are obsolete. It is written only by compaction, so appends never touch it.
 *
 * A compaction commits by writing this record; deleting the segment files below `minSeq` comes after and is
 * redone on the next open if a crash interrupts it. This makes "drop everything" compactions atomic too.
 */
import { StorageCorruptError } from '../../../errors.js';
import { readU64, writeU64 } from '../binary.js';

/** 'CKWM' */
export const WAL_META_MAGIC = 0x434b574d;
const RECORD_BYTES = 24;

export interface WalMeta {
  /** Every entry with index <= compactIndex is gone; the log continues at compactIndex + 1. */
  readonly compactIndex: number;
  /** The term of the entry at compactIndex (as given to compact()). */
  readonly compactTerm: number;
  /** Segments with a sequence number below this are obsolete and deleted when found. */
  readonly minSeq: number;
}

export function encodeWalMeta(meta: WalMeta): Buffer {
  const buf = Buffer.alloc(RECORD_BYTES);
  writeU64(buf, 0, meta.compactIndex);
  writeU64(buf, 8, meta.compactTerm);
  writeU64(buf, 16, meta.minSeq);
  return buf;
}

export function decodeWalMeta(path: string, payload: Buffer): WalMeta {
  if (payload.length !== RECORD_BYTES) {
    throw new StorageCorruptError(path, 24, `WAL meta record is ${payload.length} bytes, expected ${RECORD_BYTES}`);
  }
  const meta = { compactIndex: readU64(payload, 0), compactTerm: readU64(payload, 8), minSeq: readU64(payload, 16) };
  if (!Number.isSafeInteger(meta.compactIndex) || !Number.isSafeInteger(meta.compactTerm) || meta.minSeq < 1) {
    throw new StorageCorruptError(path, 24, 'malformed WAL meta record');
  }
  return meta;
}
