import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ClusterKitError } from '../../../src/errors.js';
import { decodeMessage, encodeFrame } from '../../../src/raft/transport/codec/index.js';
import { FrameReader, matchPreamble, RAFT_PREAMBLE } from '../../../src/raft/transport/frame.js';
import { anyMessage, normalize } from './messages.js';

/** Splits `buf` at the given cut points (each taken modulo the length). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('FrameReader', () => {
  test.prop([fc.array(anyMessage, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 })], {
    numRuns: 300,
  })('returns the same frames however the stream is cut into chunks', (msgs, cuts) => {
    const stream = Buffer.concat(msgs.map(encodeFrame));
    const reader = new FrameReader(1 << 20);
    const got: unknown[] = [];
    for (const chunk of split(stream, cuts)) reader.push(chunk, (p) => got.push(normalize(decodeMessage(p))));
    expect(got).toEqual(msgs.map(normalize));
    expect(reader.pendingBytes).toBe(0);
  });

  it('passes frames within one chunk on as views (no copy)', () => {
    const frames = Buffer.concat([encodeFrame(fcSample()), encodeFrame(fcSample())]);
    const views: Buffer[] = [];
    new FrameReader().push(frames, (p) => views.push(p));
    expect(views).toHaveLength(2);
    expect(views.every((v) => v.buffer === frames.buffer)).toBe(true);
  });

  it('rejects a length prefix above the limit as soon as the prefix arrives, before the body', () => {
    const reader = new FrameReader(1024);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1025);
    let frames = 0;
    reader.push(prefix.subarray(0, 2), () => frames++);
    expect(() => reader.push(prefix.subarray(2), () => frames++)).toThrow(/frame length 1025/);
    expect(frames).toBe(0);
    // Stopped: later bytes are ignored rather than parsed from the middle of a frame.
    reader.push(encodeFrame(fcSample()), () => frames++);
    expect(frames).toBe(0);
  });

  it('rejects a huge prefix without allocating it, and a prefix too small to hold version and type', () => {
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(() => new FrameReader().push(huge, () => undefined)).toThrow(ClusterKitError);
    const tiny = Buffer.from([0, 0, 0, 1, 7]);
    expect(() => new FrameReader().push(tiny, () => undefined)).toThrow(ClusterKitError);
  });

  it('holds only the bytes received for a large frame still arriving', () => {
    const reader = new FrameReader();
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(50 * 1024 * 1024);
    reader.push(Buffer.concat([prefix, Buffer.alloc(100)]), () => undefined);
    expect(reader.pendingBytes).toBe(104);
  });

  it('stops mid-chunk when the frame callback stops it', () => {
    const reader = new FrameReader();
    const stream = Buffer.concat([encodeFrame(fcSample()), encodeFrame(fcSample()), encodeFrame(fcSample())]);
    let n = 0;
    reader.push(stream, () => {
      n++;
      reader.stop();
    });
    expect(n).toBe(1);
  });
});

describe('preamble', () => {
  it('is CKR\\x01 and is told apart from HTTP and TLS by its first bytes', () => {
    expect(RAFT_PREAMBLE.toString('latin1')).toBe('CKR\x01');
    expect(matchPreamble(Buffer.from('CKR\x01rest', 'latin1'))).toBe('match');
    expect(matchPreamble(Buffer.from('CK'))).toBe('partial');
    expect(matchPreamble(Buffer.from('CONNECT example.com:443 HTTP/1.1'))).toBe('mismatch');
    expect(matchPreamble(Buffer.from('GET / HTTP/1.1'))).toBe('mismatch');
    expect(matchPreamble(Buffer.from([0x16, 0x03, 0x01]))).toBe('mismatch');
    expect(matchPreamble(Buffer.from('CKR '))).toBe('mismatch');
  });
});

function fcSample() {
  return fc.sample(anyMessage, { numRuns: 1, seed: 7 })[0]!;
}
