/**
 * The encoding side. Encoders first compute the exact size of a message, then write it into one buffer of that
 * size (no growth, no copies). Values are validated as they are written: an encoder never produces bytes that
 * its decoder would reject, and a caller passing an impossible value (a negative term, a lone surrogate, too many
 * entries) gets an InvalidArgumentError instead of a corrupt frame.
 */
import { ClusterKitError, InvalidArgumentError } from '../../../errors.js';
import { MAX_SAFE_HIGH, TWO_POW_32 } from './reader.js';

interface WellFormed {
  isWellFormed(): boolean;
}

/** Bytes a length-prefixed string takes on the wire. */
export function stringSize(s: string): number {
  const n = s.length;
  if (n <= 64) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return 2 + n;
  }
  return 2 + Buffer.byteLength(s, 'utf8');
}

/** Bytes a length-prefixed byte string takes on the wire. */
export function bytesSize(data: Uint8Array): number {
  return 4 + data.byteLength;
}

export class Writer {
  readonly buf: Buffer;
  private pos: number;

  /** Writes into `buf` from `offset` on (a frame reserves its length prefix in front). */
  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number, what = 'u32'): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new InvalidArgumentError(`${what} must be an integer in [0, 2^32), got ${v}`);
    }
    this.put32(v);
  }

  /** A non-negative safe integer as a big-endian u64. */
  u64(v: number, what = 'u64'): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${v}`);
    }
    const hi = Math.floor(v / TWO_POW_32);
    // Unreachable for safe integers; kept as the mirror of Reader.u64's check.
    if (hi > MAX_SAFE_HIGH) throw new InvalidArgumentError(`${what} exceeds 2^53 - 1`);
    this.put32(hi);
    this.put32(v >>> 0);
  }

  /**
   * Stores a u32 already known to be in range. Byte stores instead of writeUInt32BE: this is the hottest write,
   * and a Uint8Array store keeps the low 8 bits by definition.
   */
  private put32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  /** A safe integer (possibly negative) as a big-endian two's-complement i64. */
  i64(v: number, what = 'i64'): void {
    if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`${what} must be a safe integer, got ${v}`);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** u16 byte length + UTF-8. The string must be well-formed (no lone surrogates) and at most `maxBytes`. */
  string(s: string, maxBytes: number, what = 'string'): void {
    const start = this.pos + 2;
    const b = this.buf;
    let len = s.length;
    // Short ASCII strings (ids, addresses, error codes) are copied by hand: cheaper than a call into C++.
    let ascii = len <= 64;
    for (let i = 0; ascii && i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) ascii = false;
      else b[start + i] = c;
    }
    if (!ascii) {
      len = b.write(s, start, 'utf8');
      // A lone surrogate would be written as U+FFFD and come back as a different string: refuse it. Only
      // strings with non-ASCII characters can contain one.
      if (len !== s.length && !(s as unknown as WellFormed).isWellFormed()) {
        throw new InvalidArgumentError(`${what} is not well-formed UTF-16 (lone surrogate)`);
      }
    }
    if (len > maxBytes) {
      throw new InvalidArgumentError(`${what} is ${len} bytes of UTF-8; the limit is ${maxBytes}`);
    }
    b[this.pos] = len >>> 8;
    b[this.pos + 1] = len;
    this.pos = start + len;
  }

  /** u32 byte length + the bytes, copied into the frame. */
  bytes(data: Uint8Array, maxBytes: number, what = 'bytes'): void {
    const len = data.byteLength;
    if (len > maxBytes) throw new InvalidArgumentError(`${what} is ${len} bytes; the limit is ${maxBytes}`);
    this.put32(len);
    this.buf.set(data, this.pos);
    this.pos += len;
  }

  /** Asserts the size pass and the write pass agree (a bug in a codec, not bad input). */
  finish(what: string): void {
    if (this.pos !== this.buf.length) {
      throw new ClusterKitError(
        'ERR_INTERNAL',
        `codec size mismatch: ${what} wrote ${this.pos} bytes into a buffer of ${this.buf.length}`,
      );
    }
  }
}
