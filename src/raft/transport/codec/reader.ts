/**
 * A bounds-checked cursor over one received frame. Every read checks that the bytes exist before touching them
 * and every failure is a `ClusterKitError` with code ERR_PROTOCOL, so a hostile or corrupt frame can only ever
 * produce that error: never a RangeError, never an allocation larger than the frame itself (counts are checked
 * against the bytes left before any array is built).
 */
import { ClusterKitError } from '../../../errors.js';

/** 2^32, for splitting 64-bit fields into two 32-bit halves. */
export const TWO_POW_32 = 0x1_0000_0000;
/** Largest high half of a u64 that still gives a safe integer (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
export const MAX_SAFE_HIGH = 0x1f_ffff;

export function protocolError(detail: string): ClusterKitError {
  return new ClusterKitError('ERR_PROTOCOL', `malformed frame: ${detail}`);
}

// Strings are almost always short ASCII (node ids, addresses, error codes); a fatal decoder rejects invalid UTF-8
// instead of silently substituting U+FFFD, which would make two different byte strings decode to one id.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  private readonly buf: Buffer;
  private pos: number;
  private readonly end: number;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.end = this.buf.length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw protocolError(`truncated ${what} at offset ${this.pos} (need ${n} bytes, ${this.end - this.pos} left)`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    // Byte arithmetic instead of readUInt32BE: this is the hottest read and the bounds are already checked.
    return b[p]! * 0x100_0000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** A non-negative safe integer stored as a big-endian u64. */
  u64(what = 'u64'): number {
    this.need(8, what);
    const b = this.buf;
    const p = this.pos;
    if (b[p] !== 0 || b[p + 1]! > 0x1f) throw protocolError(`${what} at offset ${p} exceeds 2^53 - 1`);
    this.pos = p + 8;
    const hi = (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const lo = b[p + 4]! * 0x100_0000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
    return hi * TWO_POW_32 + lo;
  }

  /** A safe integer stored as a big-endian two's-complement i64. */
  i64(what = 'i64'): number {
    this.need(8, what);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    const v = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(v)) throw protocolError(`${what} at offset ${this.pos} is not a safe integer`);
    this.pos += 8;
    return v;
  }

  /** Exactly 0 or 1: any other byte is a protocol error, so each message has a single valid encoding. */
  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw protocolError(`${what} at offset ${this.pos - 1} is ${v}, not 0 or 1`);
    return v === 1;
  }

  /** A u16 byte length, then that many bytes of well-formed UTF-8. */
  string(maxBytes: number, what = 'string'): string {
    const len = this.u16(`${what} length`);
    if (len > maxBytes) throw protocolError(`${what} of ${len} bytes exceeds the limit of ${maxBytes}`);
    this.need(len, what);
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        try {
          return utf8.decode(buf.subarray(start, end));
        } catch {
          throw protocolError(`${what} at offset ${start} is not valid UTF-8`);
        }
      }
    }
    return buf.toString('latin1', start, end);
  }

  /**
   * A u32 byte length, then the bytes, returned as a view into the frame (no copy). The view keeps the frame's
   * memory alive for as long as it is referenced.
   */
  bytes(maxBytes: number, what = 'bytes'): Uint8Array {
    const len = this.u32(`${what} length`);
    if (len > maxBytes) throw protocolError(`${what} of ${len} bytes exceeds the limit of ${maxBytes}`);
    this.need(len, what);
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, len);
    this.pos += len;
    return view;
  }

  /**
   * A u32 element count, checked against both an absolute limit and the bytes left (each element takes at least
   * `minElementBytes`), so a hostile count cannot make the caller allocate a huge array.
   */
  count(max: number, minElementBytes: number, what = 'count'): number {
    const n = this.u32(what);
    if (n > max) throw protocolError(`${what} ${n} exceeds the limit of ${max}`);
    if (n * minElementBytes > this.end - this.pos) {
      throw protocolError(`${what} ${n} cannot fit in the ${this.end - this.pos} bytes left`);
    }
    return n;
  }

  /** Every frame is decoded exactly: trailing bytes mean a different layout than the one we know. */
  finish(what: string): void {
    if (this.pos !== this.end) throw protocolError(`${this.end - this.pos} unexpected trailing bytes after ${what}`);
  }
}
