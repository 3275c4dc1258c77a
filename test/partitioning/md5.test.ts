import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HANDWRITTEN_MD5_MAX_LENGTH,
  hashKey,
  hashKeyCreateHash,
  hashKeyCrypto,
  hashKeyHandwritten,
  md5,
} from '../../src/partitioning/index.js';
import { MD5_T, md5First32, md5First32Concat } from '../../src/partitioning/md5.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const reference = (s: string): number => createHash('md5').update(s, 'utf8').digest().readUInt32BE(0);

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

describe('hand-written MD5 (RFC 1321)', () => {
  it('has the constants T[i] = floor(2^32 · |sin(i)|)', () => {
    expect(MD5_T).toHaveLength(64);
    MD5_T.forEach((t, i) => {
      expect(t).toBe(Math.floor(2 ** 32 * Math.abs(Math.sin(i + 1))));
    });
  });

  it('passes the RFC 1321 appendix A.5 test suite', () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [input, digest] of suite) {
      expect(hex(md5(Buffer.from(input, 'latin1')))).toBe(digest);
      expect(md5First32(input)).toBe(Number.parseInt(digest.slice(0, 8), 16));
    }
  });

  it('equals node:crypto on every length around the block boundaries (ASCII, 2-, 3- and 4-byte characters)', () => {
    for (const unit of ['x', 'é', '€', '😀', '\ud800']) {
      for (let n = 0; n <= 140; n++) {
        const s = unit.repeat(n);
        expect(md5First32(s), `${JSON.stringify(unit)} × ${n}`).toBe(reference(s));
      }
    }
  });

  it('equals node:crypto on random byte arrays', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(hex(md5(bytes))).toBe(createHash('md5').update(bytes).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('equals node:crypto on random strings: ASCII, full Unicode, and any code units including lone surrogates', () => {
    const strings = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.string({ unit: codeUnit, maxLength: 120 }),
      fc.string({ unit: fc.constantFrom('a', '\ud83d', '\ude00', 'é', '€'), maxLength: 90 }),
    );
    fc.assert(
      fc.property(strings, (s) => {
        expect(md5First32(s)).toBe(reference(s));
      }),
      { numRuns: 1000 },
    );
  });

  it('hashes a concatenation without building it (used by the rendezvous strategy)', () => {
    const part = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: codeUnit, maxLength: 20 }));
    fc.assert(
      fc.property(part, part, (a, b) => {
        expect(md5First32Concat(a, b)).toBe(reference(a + b));
      }),
      { numRuns: 500 },
    );
  });

  it('encodes lone surrogates as Buffer.from(s, "utf8") does (U+FFFD)', () => {
    for (const s of ['\ud800', '\udfff', 'a\udc00b', '\ud83d', 'x\ud83d\ud83dy', '\ude00\ud83d']) {
      expect(md5First32(s)).toBe(reference(s));
      expect(md5First32(s)).toBe(reference(Buffer.from(s, 'utf8').toString('utf8')));
    }
  });
});

describe('hashKey variants', () => {
  it('all four give the same value, below and above the hand-written threshold', () => {
    const strings = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({
        unit: codeUnit,
        minLength: HANDWRITTEN_MD5_MAX_LENGTH - 3,
        maxLength: HANDWRITTEN_MD5_MAX_LENGTH + 3,
      }),
      fc.string({ minLength: 300, maxLength: 2000 }),
    );
    fc.assert(
      fc.property(strings, (s) => {
        const h = reference(s);
        expect(hashKey(s)).toBe(h);
        expect(hashKeyCrypto(s)).toBe(h);
        expect(hashKeyCreateHash(s)).toBe(h);
        expect(hashKeyHandwritten(s)).toBe(h);
      }),
      { numRuns: 200 },
    );
  });

  it('returns unsigned 32-bit integers', () => {
    // md5("user:1") starts with bd b1 ..: the top bit is set, so a signed read would be negative.
    expect(hashKey('user:1')).toBe(3182550288);
    expect(hashKey('x'.repeat(5000))).toBe(reference('x'.repeat(5000)));
  });
});
