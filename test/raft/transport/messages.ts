/**
 * Test helpers: a fixed sample of every message type, fast-check arbitraries for every type, and the JSON form
 * the golden fixtures use (byte strings as {"$hex": "..."}).
 */
import fc from 'fast-check';
import {
  type Configuration,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type SnapshotMeta,
} from '../../../src/raft/types.js';

export const ALL_TYPES: readonly MessageType[] = [
  MessageType.AppendEntries,
  MessageType.AppendEntriesResponse,
  MessageType.RequestVote,
  MessageType.RequestVoteResponse,
  MessageType.InstallSnapshot,
  MessageType.InstallSnapshotResponse,
  MessageType.TimeoutNow,
  MessageType.ForwardPropose,
  MessageType.ForwardProposeResponse,
  MessageType.ReadIndexRequest,
  MessageType.ReadIndexResponse,
];

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One representative message of each type, from `from` to `to` (all but TimeoutNow carry `fromAddr`). */
export function sampleMessages(from: string, to: string, fromAddr = '127.0.0.1:7001'): Message[] {
  const config: Configuration = {
    members: [
      { id: 'n1', addr: '127.0.0.1:7001', voter: true },
      { id: 'n2', addr: '[::1]:7002', voter: false },
    ],
  };
  return [
    {
      type: MessageType.AppendEntries,
      from,
      to,
      fromAddr,
      term: 7,
      prevIndex: 41,
      prevTerm: 6,
      commit: 40,
      round: 3,
      entries: [
        { index: 42, term: 7, type: EntryType.Noop, data: new Uint8Array(0) },
        { index: 43, term: 7, type: EntryType.Command, data: bytes('set x=1') },
      ],
    },
    {
      type: MessageType.AppendEntriesResponse,
      from,
      to,
      fromAddr,
      term: 7,
      success: false,
      matchIndex: 0,
      conflictTerm: 5,
      conflictIndex: 30,
      round: 3,
    },
    {
      type: MessageType.RequestVote,
      from,
      to,
      fromAddr,
      term: 8,
      lastIndex: 43,
      lastTerm: 7,
      preVote: true,
      transfer: false,
    },
    { type: MessageType.RequestVoteResponse, from, to, fromAddr, term: 8, granted: true, preVote: true },
    {
      type: MessageType.InstallSnapshot,
      from,
      to,
      fromAddr,
      term: 9,
      meta: { index: 100, term: 8, size: 5, config },
      offset: 0,
      chunk: bytes('snap!'),
      done: true,
    },
    { type: MessageType.InstallSnapshotResponse, from, to, fromAddr, term: 9, index: 100, received: -1, done: false },
    { type: MessageType.TimeoutNow, from, to, term: 9 },
    {
      type: MessageType.ForwardPropose,
      from,
      to,
      fromAddr,
      term: 9,
      requestId: 17,
      commands: [bytes('a'), new Uint8Array(0)],
    },
    {
      type: MessageType.ForwardProposeResponse,
      from,
      to,
      fromAddr,
      term: 9,
      requestId: 17,
      index: 0,
      entryTerm: 0,
      error: 'ERR_NOT_LEADER',
      leaderId: 'n3',
    },
    { type: MessageType.ReadIndexRequest, from, to, fromAddr, term: 9, requestId: 18 },
    {
      type: MessageType.ReadIndexResponse,
      from,
      to,
      fromAddr,
      term: 9,
      requestId: 18,
      index: 101,
      error: '',
      leaderId: '',
    },
  ];
}

// --- arbitraries ---------------------------------------------------------------------------------------------------

/** Strings of any well-formed Unicode (including NUL, Latin-1, astral) or plain ASCII, within the byte limit. */
export const wireString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'binary-ascii', maxLength: 24 }),
);

const nat = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const data = fc.uint8Array({ maxLength: 64 });

const entry: fc.Arbitrary<Entry> = fc.record({
  index: nat,
  term: nat,
  type: fc.constantFrom(EntryType.Command, EntryType.Noop, EntryType.Config),
  data,
});

const config: fc.Arbitrary<Configuration> = fc.record({
  members: fc.array(fc.record({ id: wireString, addr: wireString, voter: fc.boolean() }), { maxLength: 5 }),
});

const meta: fc.Arbitrary<SnapshotMeta> = fc.record({ index: nat, term: nat, size: nat, config });

const header = { from: wireString, to: wireString, term: nat };

/** Arbitrary messages of one type, with or without the optional `fromAddr`. */
export function messageOf(type: MessageType): fc.Arbitrary<Message> {
  return fc
    .tuple(requiredFields(type), fc.option(wireString, { nil: undefined }))
    .map(([m, fromAddr]) => (fromAddr === undefined ? m : { ...m, fromAddr }));
}

function requiredFields(type: MessageType): fc.Arbitrary<Message> {
  switch (type) {
    case MessageType.AppendEntries:
      return fc.record({
        type: fc.constant(type),
        ...header,
        prevIndex: nat,
        prevTerm: nat,
        commit: nat,
        round: nat,
        entries: fc.array(entry, { maxLength: 8 }),
      });
    case MessageType.AppendEntriesResponse:
      return fc.record({
        type: fc.constant(type),
        ...header,
        success: fc.boolean(),
        matchIndex: nat,
        conflictTerm: nat,
        conflictIndex: nat,
        round: nat,
      });
    case MessageType.RequestVote:
      return fc.record({
        type: fc.constant(type),
        ...header,
        lastIndex: nat,
        lastTerm: nat,
        preVote: fc.boolean(),
        transfer: fc.boolean(),
      });
    case MessageType.RequestVoteResponse:
      return fc.record({ type: fc.constant(type), ...header, granted: fc.boolean(), preVote: fc.boolean() });
    case MessageType.InstallSnapshot:
      return fc.record({ type: fc.constant(type), ...header, meta, offset: nat, chunk: data, done: fc.boolean() });
    case MessageType.InstallSnapshotResponse:
      return fc.record({
        type: fc.constant(type),
        ...header,
        index: nat,
        received: fc.oneof(fc.constant(-1), nat),
        done: fc.boolean(),
      });
    case MessageType.TimeoutNow:
      return fc.record({ type: fc.constant(type), ...header });
    case MessageType.ForwardPropose:
      return fc.record({
        type: fc.constant(type),
        ...header,
        requestId: nat,
        commands: fc.array(data, { maxLength: 8 }),
      });
    case MessageType.ForwardProposeResponse:
      return fc.record({
        type: fc.constant(type),
        ...header,
        requestId: nat,
        index: nat,
        entryTerm: nat,
        error: wireString,
        leaderId: wireString,
      });
    case MessageType.ReadIndexRequest:
      return fc.record({ type: fc.constant(type), ...header, requestId: nat });
    case MessageType.ReadIndexResponse:
      return fc.record({
        type: fc.constant(type),
        ...header,
        requestId: nat,
        index: nat,
        error: wireString,
        leaderId: wireString,
      });
  }
}

export const anyMessage: fc.Arbitrary<Message> = fc.oneof(...ALL_TYPES.map(messageOf));

// --- JSON form of the fixtures -------------------------------------------------------------------------------------

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Replaces every Uint8Array with {"$hex": "..."} so a message can live in a JSON file. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $hex: toHex(value) };
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value;
}

export function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue);
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (typeof obj.$hex === 'string' && Object.keys(obj).length === 1) return fromHex(obj.$hex);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fromJsonValue(v)]));
  }
  return value;
}

/** Plain Uint8Array copies of every byte field, so deep equality does not depend on views or Buffer subclasses. */
export function normalize(msg: unknown): unknown {
  return fromJsonValue(toJsonValue(msg));
}
