import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ClusterKitError } from '../../../src/errors.js';
import { decodeHello, decodeHelloAck } from '../../../src/raft/transport/codec/handshake.js';
import {
  decodeMessage,
  encodeMessage,
  MAX_STRING_BYTES,
  messageSize,
} from '../../../src/raft/transport/codec/index.js';
import { EntryType, type Message, MessageType } from '../../../src/raft/types.js';
import { ALL_TYPES, anyMessage, messageOf, normalize, sampleMessages } from './messages.js';

/** Runs `fn`; passes if it returns or throws a ClusterKitError with code ERR_PROTOCOL, fails on anything else. */
function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ClusterKitError) || err.code !== 'ERR_PROTOCOL') {
      throw new Error(`expected ERR_PROTOCOL, got ${String(err)}`, { cause: err });
    }
  }
}

function expectProtocolError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ClusterKitError);
  expect((thrown as ClusterKitError).code).toBe('ERR_PROTOCOL');
}

describe('codec round trip', () => {
  for (const type of ALL_TYPES) {
    test.prop([messageOf(type)], { numRuns: 200 })(`${MessageType[type]}: decode(encode(m)) equals m`, (msg) => {
      const bytes = encodeMessage(msg);
      expect(bytes.length).toBe(messageSize(msg));
      expect(normalize(decodeMessage(bytes))).toEqual(normalize(msg));
    });
  }

  it('decodes byte fields as views into the frame, not copies', () => {
    const ae = sampleMessages('a', 'b')[0]!;
    const bytes = encodeMessage(ae);
    const decoded = decodeMessage(bytes);
    if (decoded.type !== MessageType.AppendEntries) throw new Error('wrong type');
    const data = decoded.entries[1]!.data;
    expect(data.buffer).toBe(bytes.buffer);
    expect(new TextDecoder().decode(data)).toBe('set x=1');
  });
});

describe('decoding hostile input', () => {
  test.prop([fc.uint8Array({ maxLength: 300 })], { numRuns: 2000 })('random bytes: only ERR_PROTOCOL', (bytes) => {
    onlyProtocolErrors(() => decodeMessage(bytes));
    onlyProtocolErrors(() => decodeHello(bytes));
    onlyProtocolErrors(() => decodeHelloAck(bytes));
  });

  test.prop([fc.constantFrom(...ALL_TYPES), fc.uint8Array({ maxLength: 200 })], { numRuns: 1000 })(
    'random bodies after a valid version and type: only ERR_PROTOCOL',
    (type, body) => {
      onlyProtocolErrors(() => decodeMessage(new Uint8Array([1, type, ...body])));
    },
  );

  test.prop([anyMessage, fc.nat()], { numRuns: 500 })('every truncation of a valid message is rejected', (msg, n) => {
    const bytes = encodeMessage(msg);
    const cut = n % bytes.length;
    expectProtocolError(() => decodeMessage(bytes.subarray(0, cut)));
  });

  test.prop(
    [anyMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })],
    {
      numRuns: 2000,
    },
  )('mutated valid messages decode or throw ERR_PROTOCOL, nothing else', (msg, edits) => {
    const bytes = new Uint8Array(encodeMessage(msg));
    for (const [pos, value] of edits) bytes[pos % bytes.length] = value;
    onlyProtocolErrors(() => decodeMessage(bytes));
  });

  test.prop([anyMessage, fc.uint8Array({ minLength: 1, maxLength: 8 })])(
    'trailing bytes are rejected',
    (msg, extra) => {
      const bytes = Buffer.concat([encodeMessage(msg), extra]);
      expectProtocolError(() => decodeMessage(bytes));
    },
  );

  const heartbeat = (): Uint8Array => encodeMessage(sampleMessages('a', 'b')[0]!);

  it('rejects an unknown protocol version and unknown message types', () => {
    const bytes = new Uint8Array(heartbeat());
    bytes[0] = 2;
    expectProtocolError(() => decodeMessage(bytes));
    for (const t of [0, 12, 0x41, 255]) {
      const b = new Uint8Array(heartbeat());
      b[1] = t;
      expectProtocolError(() => decodeMessage(b));
    }
  });

  it('rejects an index above 2^53 - 1, an unknown entry type and a non-0/1 boolean', () => {
    const msg: Message = {
      type: MessageType.RequestVote,
      from: 'a',
      to: 'b',
      term: 1,
      lastIndex: 2,
      lastTerm: 3,
      preVote: false,
      transfer: false,
    };
    const bytes = new Uint8Array(encodeMessage(msg));
    const termAt = 2 + 3 + 3;
    const big = new Uint8Array(bytes);
    big[termAt + 1] = 0x20; // high half 0x00200000: 2^53
    expectProtocolError(() => decodeMessage(big));
    const flag = new Uint8Array(bytes);
    flag[bytes.length - 1] = 2;
    expectProtocolError(() => decodeMessage(flag));

    const ae: Message = {
      type: MessageType.AppendEntries,
      from: 'a',
      to: 'b',
      term: 1,
      prevIndex: 0,
      prevTerm: 0,
      commit: 0,
      round: 0,
      entries: [{ index: 1, term: 1, type: EntryType.Command, data: new Uint8Array(0) }],
    };
    const aeBytes = new Uint8Array(encodeMessage(ae));
    aeBytes[aeBytes.length - 5] = 9; // the entry's type byte, before its u32 data length
    expectProtocolError(() => decodeMessage(aeBytes));
  });

  it('rejects a hostile entry count without allocating for it', () => {
    const ae = new Uint8Array(encodeMessage({ ...(sampleMessages('a', 'b')[0] as Message), entries: [] } as Message));
    const countAt = ae.length - 4;
    Buffer.from(ae.buffer).writeUInt32BE(0xffff_ffff, countAt);
    expectProtocolError(() => decodeMessage(ae));
    Buffer.from(ae.buffer).writeUInt32BE(1000, countAt); // fits the limit but not the 0 bytes left
    expectProtocolError(() => decodeMessage(ae));
  });

  it('rejects invalid UTF-8 and over-long strings', () => {
    const msg: Message = { type: MessageType.TimeoutNow, from: 'ab', to: 'c', term: 1 };
    const bytes = new Uint8Array(encodeMessage(msg));
    bytes[4] = 0xc3; // "a" becomes a truncated two-byte sequence
    bytes[5] = 0x28;
    expectProtocolError(() => decodeMessage(bytes));
    const tooLong = MAX_STRING_BYTES + 1;
    const long = Buffer.concat([
      Buffer.from([1, 7, tooLong >>> 8, tooLong & 0xff]),
      Buffer.alloc(tooLong, 0x61),
      Buffer.from([0, 1, 0x62]),
      Buffer.alloc(8),
      Buffer.from([0]),
    ]);
    expect(() => decodeMessage(long)).toThrow(`from of ${tooLong} bytes exceeds the limit of ${MAX_STRING_BYTES}`);
    expectProtocolError(() => decodeMessage(long));
  });
});

describe('encoding invalid messages', () => {
  const base = sampleMessages('a', 'b');
  const vote = base[2]!;

  const cases: [string, unknown][] = [
    ['a negative term', { ...vote, term: -1 }],
    ['a fractional index', { ...vote, lastIndex: 1.5 }],
    ['an unsafe integer', { ...vote, lastTerm: 2 ** 53 }],
    ['NaN', { ...vote, term: Number.NaN }],
    ['a lone surrogate', { ...vote, from: 'x\ud800' }],
    ['an over-long id', { ...vote, to: 'x'.repeat(MAX_STRING_BYTES + 1) }],
    ['an unknown type', { ...vote, type: 99 }],
    ['received below -1', { ...base[5]!, received: -2 }],
    ['an unknown entry type', { ...base[0]!, entries: [{ index: 1, term: 1, type: 7, data: new Uint8Array(0) }] }],
  ];
  it.each(cases)('throws ERR_INVALID_ARGUMENT for %s', (_name, msg) => {
    let thrown: unknown;
    try {
      encodeMessage(msg as Message);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClusterKitError);
    expect((thrown as ClusterKitError).code).toBe('ERR_INVALID_ARGUMENT');
  });
});
