/**
 * A tiny record (at most a few hundred bytes) kept crash-safely in a file of two mirrored 512-byte slots.
 *
 * Each slot holds the record, a generation number and a CRC. A write overwrites slot 0 and syncs, then slot 1 and
 * syncs. So at any moment at least one slot is whole and holds either the previous or the new record: a crash
 * during the first write leaves the previous record in slot 1 (that write was never acknowledged), a crash during
 * the second leaves the new one in slot 0. Because both slots normally hold the same record, a slot damaged at
 * rest is survivable too. With alternating slots (one sync per write) a damaged newest slot would silently roll
 * back to the older record, which for a Raft vote means possibly voting twice in one term. The price is a second
 * sync on writes that are rare anyway (term changes, votes, compactions). Only when both slots are unreadable does
 * opening fail, with StorageCorruptError.
 *
 * The file is created through a temporary file and a rename, so a file under the real name is always whole.
 */
import { dirname } from 'node:path';
import { StorageCorruptError } from '../../errors.js';
import { crcOf, readU64, writeU64 } from './binary.js';
import { type FileSystem, readFully, storageIoError } from './fs.js';

export const SLOT_BYTES = 512;
const SLOT_HEADER = 24;
/** Largest record a slot can hold. */
export const MAX_SLOT_PAYLOAD = SLOT_BYTES - SLOT_HEADER;

// Slot layout (little-endian):
//   0 u32 CRC-32 of bytes [4, 24 + length)
//   4 u32 magic (which kind of file this is)
//   8 u64 generation (1 for the initial record, +1 per write)
//  16 u32 payload length
//  20 u32 reserved, 0
//  24     payload

function encodeSlot(magic: number, generation: number, payload: Uint8Array): Buffer {
  const buf = Buffer.alloc(SLOT_BYTES);
  buf.writeUInt32LE(magic, 4);
  writeU64(buf, 8, generation);
  buf.writeUInt32LE(payload.length, 16);
  buf.set(payload, SLOT_HEADER);
  buf.writeUInt32LE(crcOf(buf, 4, SLOT_HEADER + payload.length), 0);
  return buf;
}

type SlotRead = { ok: true; generation: number; payload: Buffer } | { ok: false; reason: string };

function decodeSlot(buf: Buffer, magic: number): SlotRead {
  if (buf.length < SLOT_BYTES) return { ok: false, reason: `slot is ${buf.length} bytes long, expected ${SLOT_BYTES}` };
  const length = buf.readUInt32LE(16);
  if (length > MAX_SLOT_PAYLOAD) return { ok: false, reason: `implausible record length ${length}` };
  if (crcOf(buf, 4, SLOT_HEADER + length) !== buf.readUInt32LE(0)) return { ok: false, reason: 'checksum mismatch' };
  if (buf.readUInt32LE(4) !== magic) return { ok: false, reason: 'wrong magic number' };
  return {
    ok: true,
    generation: readU64(buf, 8),
    payload: Buffer.from(buf.subarray(SLOT_HEADER, SLOT_HEADER + length)),
  };
}

export interface DualSlotOpenResult {
  readonly file: DualSlotFile;
  /** The current record. */
  readonly payload: Buffer;
}

export class DualSlotFile {
  private generation: number;

  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    private readonly magic: number,
    private fd: number,
    generation: number,
  ) {
    this.generation = generation;
  }

  /**
   * Opens the file, creating it with `initial` when it does not exist. Repairs a slot that is damaged or behind
   * (noting it in `notes`); throws StorageCorruptError when neither slot is readable.
   */
  static async open(
    fs: FileSystem,
    path: string,
    magic: number,
    initial: Uint8Array,
    notes: string[],
  ): Promise<DualSlotOpenResult> {
    const tmp = `${path}.tmp`;
    if (!fs.exists(path)) {
      const slot = encodeSlot(magic, 1, initial);
      let fd: number;
      try {
        fd = fs.open(tmp, 'w+');
      } catch (err) {
        throw storageIoError('create', tmp, err);
      }
      try {
        await fs.write(fd, Buffer.concat([slot, slot]), 0);
        await fs.datasync(fd);
        await fs.rename(tmp, path);
        await fs.syncDir(dirname(path));
      } catch (err) {
        fs.close(fd);
        throw storageIoError('create', path, err);
      }
      return { file: new DualSlotFile(fs, path, magic, fd, 1), payload: Buffer.from(initial) };
    }
    try {
      // A leftover from a creation that crashed before its rename; the real file is authoritative.
      if (fs.exists(tmp)) {
        await fs.unlink(tmp);
        notes.push(`removed leftover ${tmp}`);
      }
    } catch (err) {
      throw storageIoError('unlink', tmp, err);
    }
    let fd: number;
    let raw: Buffer;
    try {
      fd = fs.open(path, 'r+');
      raw = readFully(fs, fd, 0, 2 * SLOT_BYTES);
    } catch (err) {
      throw storageIoError('read', path, err);
    }
    const slots = [decodeSlot(raw.subarray(0, SLOT_BYTES), magic), decodeSlot(raw.subarray(SLOT_BYTES), magic)];
    const [a, b] = slots as [SlotRead, SlotRead];
    if (!a.ok && !b.ok) {
      fs.close(fd);
      throw new StorageCorruptError(
        path,
        0,
        `both copies are unreadable (slot at offset 0: ${a.reason}; slot at offset ${SLOT_BYTES}: ${b.reason})`,
      );
    }
    const bestIndex = !b.ok || (a.ok && a.generation >= b.generation) ? 0 : 1;
    const best = slots[bestIndex] as Extract<SlotRead, { ok: true }>;
    const file = new DualSlotFile(fs, path, magic, fd, best.generation);
    const otherIndex = 1 - bestIndex;
    const other = slots[otherIndex] as SlotRead;
    if (!other.ok || other.generation !== best.generation) {
      // Restore the mirror so that one more damaged slot stays survivable.
      const slot = encodeSlot(magic, best.generation, best.payload);
      try {
        await fs.write(fd, slot, otherIndex * SLOT_BYTES);
        await fs.datasync(fd);
      } catch (err) {
        fs.close(fd);
        throw storageIoError('repair', path, err);
      }
      const why = other.ok ? `was at generation ${other.generation}` : other.reason;
      notes.push(
        `${path}: rewrote slot at offset ${otherIndex * SLOT_BYTES} from generation ${best.generation} (${why})`,
      );
    }
    return { file, payload: best.payload };
  }

  /** Durably replaces the record (two writes, two syncs). */
  async write(payload: Uint8Array): Promise<void> {
    if (payload.length > MAX_SLOT_PAYLOAD) {
      throw new RangeError(`record of ${payload.length} bytes exceeds ${MAX_SLOT_PAYLOAD}`);
    }
    // The generation advances even if this write fails part-way, so generations on disk never repeat.
    this.generation += 1;
    const slot = encodeSlot(this.magic, this.generation, payload);
    try {
      await this.fs.write(this.fd, slot, 0);
      await this.fs.datasync(this.fd);
      await this.fs.write(this.fd, slot, SLOT_BYTES);
      await this.fs.datasync(this.fd);
    } catch (err) {
      throw storageIoError('write', this.path, err);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      this.fs.close(fd);
    } catch (err) {
      throw storageIoError('close', this.path, err);
    }
  }
}
