/**
 * Little-endian helpers shared by the on-disk formats. Indexes, terms and sizes are JS numbers (safe integers up
 * to 2^53) stored as 64-bit unsigned fields, written as two 32-bit halves to avoid BigInt on the hot path.
 */
import { crc32 } from 'node:zlib';

const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Reads a 64-bit field; values beyond 2^53 come back imprecise, which the callers' range checks reject. */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * TWO_32;
}

/** CRC-32 (zlib polynomial) of `buf[start, end)`. */
export function crcOf(buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start, end));
}
