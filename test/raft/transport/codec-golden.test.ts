import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeHello,
  decodeHelloAck,
  encodeHello,
  encodeHelloAck,
  type Hello,
  type HelloAck,
} from '../../../src/raft/transport/codec/handshake.js';
import { decodeMessage, encodeFrame, encodeMessage } from '../../../src/raft/transport/codec/index.js';
import { type Message, MessageType } from '../../../src/raft/types.js';
import { ALL_TYPES, fromHex, fromJsonValue, normalize, toHex } from './messages.js';

const dir = fileURLToPath(new URL('../../fixtures/raft-messages/', import.meta.url));

interface FixtureFile {
  description: string;
  cases: { name: string; message: unknown; hex: string }[];
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'handshake.json')
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(`${dir}${f}`, 'utf8')) as FixtureFile }));

describe('golden fixtures', () => {
  it('cover every message type', () => {
    const covered = new Set(files.flatMap((f) => f.json.cases.map((c) => (c.message as Message).type)));
    expect([...covered].sort((a, b) => a - b)).toEqual([...ALL_TYPES]);
  });

  for (const { file, json } of files) {
    describe(file, () => {
      for (const c of json.cases) {
        const msg = fromJsonValue(c.message) as Message;
        it(`${c.name}: encodes to the fixture bytes`, () => {
          expect(toHex(encodeMessage(msg))).toBe(c.hex);
        });
        it(`${c.name}: decodes from the fixture bytes`, () => {
          expect(normalize(decodeMessage(fromHex(c.hex)))).toEqual(msg);
        });
        it(`${c.name}: frame = u32 length + payload`, () => {
          const frame = encodeFrame(msg);
          expect(frame.readUInt32BE(0)).toBe(c.hex.length / 2);
          expect(frame.subarray(4).toString('hex')).toBe(c.hex);
        });
      }
    });
  }

  it('handshake frames match their fixtures', () => {
    const json = JSON.parse(readFileSync(`${dir}handshake.json`, 'utf8')) as {
      hello: { value: unknown; hex: string };
      helloAck: { value: unknown; hex: string };
    };
    const hello = fromJsonValue(json.hello.value) as Hello;
    const ack = fromJsonValue(json.helloAck.value) as HelloAck;
    expect(encodeHello(hello, 1).toString('hex')).toBe(json.hello.hex);
    expect(encodeHelloAck(ack, 1).toString('hex')).toBe(json.helloAck.hex);
    expect(normalize(decodeHello(fromHex(json.hello.hex).subarray(4)))).toEqual(hello);
    expect(normalize(decodeHelloAck(fromHex(json.helloAck.hex).subarray(4)))).toEqual(ack);
  });

  it('matches the documented layout, built by hand (independent of the codec)', () => {
    // RequestVote: u8 version, u8 type, str from, str to, u64 term, u8 hasFromAddr, [str fromAddr],
    //             u64 lastIndex, u64 lastTerm, u8 preVote, u8 transfer
    const u64 = (v: number): number[] => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(v));
      return [...b];
    };
    const str = (s: string): number[] => [0, s.length, ...Buffer.from(s, 'ascii')];
    const expected = [1, 3, ...str('a'), ...str('bc'), ...u64(2 ** 40 + 5), 0, ...u64(9), ...u64(8), 1, 0];
    const msg: Message = {
      type: MessageType.RequestVote,
      from: 'a',
      to: 'bc',
      term: 2 ** 40 + 5,
      lastIndex: 9,
      lastTerm: 8,
      preVote: true,
      transfer: false,
    };
    expect([...encodeMessage(msg)]).toEqual(expected);
    const withAddr = [
      1,
      3,
      ...str('a'),
      ...str('bc'),
      ...u64(2 ** 40 + 5),
      1,
      ...str('h:1'),
      ...u64(9),
      ...u64(8),
      1,
      0,
    ];
    expect([...encodeMessage({ ...msg, fromAddr: 'h:1' })]).toEqual(withAddr);
  });
});
