/**
 * MD5 (RFC 1321), written by hand for one reason: key → partition is the hottest path of every application using
 * ClusterKit, and for the short keys applications use (`user:42`, a UUID) a plain-JS digest that never leaves V8 is
 * several times faster than a call into OpenSSL through `node:crypto` (see docs/PARTITIONING.md for the figures).
 *
 * This computes the real MD5, block by block, over the UTF-8 bytes of the string, encoding on the fly so that no
 * buffer is allocated. Lone surrogates are encoded exactly like `Buffer.from(s, 'utf8')` does: each becomes U+FFFD
 * (EF BF BD). Property tests compare it with `node:crypto` on random strings and byte arrays.
 *
 * MD5 is used as a stable, well-known hash shared with Go clients, never for security.
 */

/** RFC 1321 §3.4: T[i] = floor(2^32 · |sin(i)|), i = 1..64. (A test recomputes them from the formula.) */
export const MD5_T: readonly number[] = Object.freeze([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
  0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
  0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
  0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
  0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
  0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
  0xeb86d391,
]);

const INIT_A = 0x67452301;
const INIT_B = 0xefcdab89 | 0;
const INIT_C = 0x98badcfe | 0;
const INIT_D = 0x10325476;

/**
 * One 64-byte block: `w` holds its 16 little-endian 32-bit words, `st` the chaining state (A, B, C, D), updated in
 * place. Fully unrolled, with the auxiliary functions of RFC 1321 §3.4 written inline: as helper functions they exceed
 * V8's inlining budget, and each non-inlined call boxes its 32-bit arguments (5× slower, measured). F and G use the
 * equivalent forms d ^ (b & (c ^ d)) and c ^ (d & (b ^ c)), one operation shorter. Each step is
 * a = b + ((a + f(b, c, d) + x[k] + T[i]) <<< s).
 */
function compress(w: Int32Array, st: Int32Array): void {
  const x0 = w[0]!,
    x1 = w[1]!,
    x2 = w[2]!,
    x3 = w[3]!,
    x4 = w[4]!,
    x5 = w[5]!,
    x6 = w[6]!,
    x7 = w[7]!;
  const x8 = w[8]!,
    x9 = w[9]!,
    x10 = w[10]!,
    x11 = w[11]!,
    x12 = w[12]!,
    x13 = w[13]!,
    x14 = w[14]!,
    x15 = w[15]!;
  let a = st[0]!,
    b = st[1]!,
    c = st[2]!,
    d = st[3]!;

  // Round 1 (F).
  a = (a + (d ^ (b & (c ^ d))) + x0 + 0xd76aa478) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x1 + 0xe8c7b756) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x2 + 0x242070db) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x3 + 0xc1bdceee) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x4 + 0xf57c0faf) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x5 + 0x4787c62a) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x6 + 0xa8304613) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x7 + 0xfd469501) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x8 + 0x698098d8) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x9 + 0x8b44f7af) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x10 + 0xffff5bb1) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x11 + 0x895cd7be) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;
  a = (a + (d ^ (b & (c ^ d))) + x12 + 0x6b901122) | 0;
  a = (((a << 7) | (a >>> 25)) + b) | 0;
  d = (d + (c ^ (a & (b ^ c))) + x13 + 0xfd987193) | 0;
  d = (((d << 12) | (d >>> 20)) + a) | 0;
  c = (c + (b ^ (d & (a ^ b))) + x14 + 0xa679438e) | 0;
  c = (((c << 17) | (c >>> 15)) + d) | 0;
  b = (b + (a ^ (c & (d ^ a))) + x15 + 0x49b40821) | 0;
  b = (((b << 22) | (b >>> 10)) + c) | 0;

  // Round 2 (G).
  a = (a + (c ^ (d & (b ^ c))) + x1 + 0xf61e2562) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x6 + 0xc040b340) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x11 + 0x265e5a51) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x0 + 0xe9b6c7aa) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x5 + 0xd62f105d) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x10 + 0x02441453) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x15 + 0xd8a1e681) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x4 + 0xe7d3fbc8) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x9 + 0x21e1cde6) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x14 + 0xc33707d6) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x3 + 0xf4d50d87) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x8 + 0x455a14ed) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;
  a = (a + (c ^ (d & (b ^ c))) + x13 + 0xa9e3e905) | 0;
  a = (((a << 5) | (a >>> 27)) + b) | 0;
  d = (d + (b ^ (c & (a ^ b))) + x2 + 0xfcefa3f8) | 0;
  d = (((d << 9) | (d >>> 23)) + a) | 0;
  c = (c + (a ^ (b & (d ^ a))) + x7 + 0x676f02d9) | 0;
  c = (((c << 14) | (c >>> 18)) + d) | 0;
  b = (b + (d ^ (a & (c ^ d))) + x12 + 0x8d2a4c8a) | 0;
  b = (((b << 20) | (b >>> 12)) + c) | 0;

  // Round 3 (H).
  a = (a + (b ^ c ^ d) + x5 + 0xfffa3942) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (d + (a ^ b ^ c) + x8 + 0x8771f681) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (c + (d ^ a ^ b) + x11 + 0x6d9d6122) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (b + (c ^ d ^ a) + x14 + 0xfde5380c) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (a + (b ^ c ^ d) + x1 + 0xa4beea44) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (d + (a ^ b ^ c) + x4 + 0x4bdecfa9) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (c + (d ^ a ^ b) + x7 + 0xf6bb4b60) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (b + (c ^ d ^ a) + x10 + 0xbebfbc70) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (a + (b ^ c ^ d) + x13 + 0x289b7ec6) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (d + (a ^ b ^ c) + x0 + 0xeaa127fa) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (c + (d ^ a ^ b) + x3 + 0xd4ef3085) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (b + (c ^ d ^ a) + x6 + 0x04881d05) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;
  a = (a + (b ^ c ^ d) + x9 + 0xd9d4d039) | 0;
  a = (((a << 4) | (a >>> 28)) + b) | 0;
  d = (d + (a ^ b ^ c) + x12 + 0xe6db99e5) | 0;
  d = (((d << 11) | (d >>> 21)) + a) | 0;
  c = (c + (d ^ a ^ b) + x15 + 0x1fa27cf8) | 0;
  c = (((c << 16) | (c >>> 16)) + d) | 0;
  b = (b + (c ^ d ^ a) + x2 + 0xc4ac5665) | 0;
  b = (((b << 23) | (b >>> 9)) + c) | 0;

  // Round 4 (I).
  a = (a + (c ^ (b | ~d)) + x0 + 0xf4292244) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (d + (b ^ (a | ~c)) + x7 + 0x432aff97) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (c + (a ^ (d | ~b)) + x14 + 0xab9423a7) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (b + (d ^ (c | ~a)) + x5 + 0xfc93a039) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (a + (c ^ (b | ~d)) + x12 + 0x655b59c3) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (d + (b ^ (a | ~c)) + x3 + 0x8f0ccc92) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (c + (a ^ (d | ~b)) + x10 + 0xffeff47d) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (b + (d ^ (c | ~a)) + x1 + 0x85845dd1) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (a + (c ^ (b | ~d)) + x8 + 0x6fa87e4f) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (d + (b ^ (a | ~c)) + x15 + 0xfe2ce6e0) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (c + (a ^ (d | ~b)) + x6 + 0xa3014314) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (b + (d ^ (c | ~a)) + x13 + 0x4e0811a1) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;
  a = (a + (c ^ (b | ~d)) + x4 + 0xf7537e82) | 0;
  a = (((a << 6) | (a >>> 26)) + b) | 0;
  d = (d + (b ^ (a | ~c)) + x11 + 0xbd3af235) | 0;
  d = (((d << 10) | (d >>> 22)) + a) | 0;
  c = (c + (a ^ (d | ~b)) + x2 + 0x2ad7d2bb) | 0;
  c = (((c << 15) | (c >>> 17)) + d) | 0;
  b = (b + (d ^ (c | ~a)) + x9 + 0xeb86d391) | 0;
  b = (((b << 21) | (b >>> 11)) + c) | 0;

  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
}

// Scratch space, reused by every call: JavaScript is single-threaded and nothing here yields, so no call can observe
// another's data. Fixed size: nothing grows with the input.
const words = new Int32Array(16);
const state = new Int32Array(4);

function resetState(): void {
  state[0] = INIT_A;
  state[1] = INIT_B;
  state[2] = INIT_C;
  state[3] = INIT_D;
}

/** Byte-swaps a 32-bit word: MD5 emits little-endian words; Go reads the first 4 digest bytes big-endian. */
function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/**
 * Appends the MD5 padding and length to the block being filled (`pos` bytes used) and runs the final compression(s).
 * `total` is the message length in bytes.
 */
function finish(pos: number, total: number): void {
  words[pos >> 2]! |= 0x80 << ((pos & 3) << 3);
  if (pos >= 56) {
    // No room for the 8-byte length in this block: pad it out and use one more.
    compress(words, state);
    words.fill(0);
  }
  // The length in bits as a 64-bit little-endian integer, split without overflowing 2^53.
  words[14] = (total % 0x20000000) * 8;
  words[15] = Math.floor(total / 0x20000000);
  compress(words, state);
}

/**
 * The first 32 bits of MD5(UTF-8(s)), read big-endian: exactly the Go original's `hashKey(s)`. A real MD5 over the
 * whole string (all blocks), returned as an unsigned 32-bit integer.
 */
export function md5First32(s: string): number {
  // Fast path for ASCII strings (one byte per code unit): builds each word from 4 characters at once and writes
  // every word of every block, so no clearing pass is needed. Non-ASCII input is detected per block (the OR of all
  // code units reaches 0x80) before that block is compressed, and handed to the general UTF-8 path.
  const n = s.length;
  let seen = 0;
  let i = 0;
  resetState();
  while (n - i >= 64) {
    for (let wi = 0; wi < 16; wi++, i += 4) {
      const c0 = s.charCodeAt(i);
      const c1 = s.charCodeAt(i + 1);
      const c2 = s.charCodeAt(i + 2);
      const c3 = s.charCodeAt(i + 3);
      seen |= c0 | c1 | c2 | c3;
      words[wi] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    }
    if (seen >= 0x80) return md5First32General(s);
    compress(words, state);
  }
  // The last, partial block: the remaining 0..63 characters, then the 0x80 marker.
  const rem = n - i;
  let wi = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    seen |= c0 | c1 | c2 | c3;
    words[wi++] = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
  }
  let last = 0x80 << ((rem & 3) << 3);
  for (let k = 0; i < n; i++, k += 8) {
    const c = s.charCodeAt(i);
    seen |= c;
    last |= c << k;
  }
  if (seen >= 0x80) return md5First32General(s);
  words[wi++] = last;
  while (wi < 16) words[wi++] = 0;
  if (rem >= 56) {
    // No room for the 8-byte length in this block: pad it out and use one more.
    compress(words, state);
    words.fill(0);
  }
  words[14] = (n % 0x20000000) * 8;
  words[15] = Math.floor(n / 0x20000000);
  compress(words, state);
  return bswap32(state[0]!);
}

/**
 * md5First32(a + b) without building the concatenation (the rendezvous strategy hashes partitionId + nodeId for
 * every pair, P × N times).
 */
export function md5First32Concat(a: string, b: string): number {
  const la = a.length;
  const n = la + b.length;
  if (n > 55) return md5First32(a + b);
  words.fill(0);
  let seen = 0;
  for (let i = 0; i < la; i++) {
    const c = a.charCodeAt(i);
    seen |= c;
    words[i >> 2]! |= c << ((i & 3) << 3);
  }
  for (let i = la; i < n; i++) {
    const c = b.charCodeAt(i - la);
    seen |= c;
    words[i >> 2]! |= c << ((i & 3) << 3);
  }
  if (seen >= 0x80) return md5First32(a + b);
  words[n >> 2]! |= 0x80 << ((n & 3) << 3);
  words[14] = n << 3;
  resetState();
  compress(words, state);
  return bswap32(state[0]!);
}

/** Any string: encodes UTF-8 on the fly into the current block, compressing each time 64 bytes are filled. */
function md5First32General(s: string): number {
  words.fill(0);
  resetState();
  const n = s.length;
  let pos = 0; // bytes used in the current block
  let total = 0; // bytes of the whole message
  // Up to 4 UTF-8 bytes per step, accumulated in `pending` (low byte first) and flushed byte by byte.
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let pending: number;
    let count: number;
    if (c < 0x80) {
      // Common case, kept tight: one byte, no flush loop.
      words[pos >> 2]! |= c << ((pos & 3) << 3);
      total++;
      if (++pos === 64) {
        compress(words, state);
        words.fill(0);
        pos = 0;
      }
      continue;
    } else if (c < 0x800) {
      pending = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          // A valid surrogate pair: one 4-byte code point.
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          pending =
            0xf0 |
            (cp >> 18) |
            ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
            ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
            ((0x80 | (cp & 0x3f)) << 24);
          count = 4;
          i++;
        } else {
          // A lone surrogate: Buffer.from(s, 'utf8') writes U+FFFD (EF BF BD), and so must we.
          pending = 0xef | (0xbf << 8) | (0xbd << 16);
          count = 3;
        }
      } else {
        pending = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      }
    }
    total += count;
    for (; count > 0; count--) {
      words[pos >> 2]! |= (pending & 0xff) << ((pos & 3) << 3);
      pending >>>= 8;
      if (++pos === 64) {
        compress(words, state);
        words.fill(0);
        pos = 0;
      }
    }
  }
  finish(pos, total);
  return bswap32(state[0]!);
}

/** The full 16-byte MD5 digest of `bytes`. Used by tests to check this implementation against `node:crypto`. */
export function md5(bytes: Uint8Array): Uint8Array {
  words.fill(0);
  resetState();
  const n = bytes.length;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    words[pos >> 2]! |= bytes[i]! << ((pos & 3) << 3);
    pos++;
    if (pos === 64) {
      compress(words, state);
      words.fill(0);
      pos = 0;
    }
  }
  finish(pos, n);
  const out = new Uint8Array(16);
  for (let k = 0; k < 4; k++) {
    const v = state[k]!;
    out[k * 4] = v & 0xff;
    out[k * 4 + 1] = (v >>> 8) & 0xff;
    out[k * 4 + 2] = (v >>> 16) & 0xff;
    out[k * 4 + 3] = (v >>> 24) & 0xff;
  }
  return out;
}
