/**
 * The message codec: `encodeMessage`/`decodeMessage` for every Raft wire message, and `encodeFrame`, which adds the
 * u32 length prefix the TCP framing uses. The layout of a message (the frame payload) is
 *
 *   u8 version, u8 type, str from, str to, u64 term, u8 hasFromAddr, [str fromAddr],
 *   <fields of the type, see the codec modules>
 *
 * A decoder that meets anything it does not understand (another version, an unknown type, a field out of range,
 * trailing bytes) throws a ClusterKitError with code ERR_PROTOCOL and nothing else.
 */
import { InvalidArgumentError } from '../../../errors.js';
import { type Message, MessageType } from '../../types.js';
import { appendEntriesCodec, appendEntriesResponseCodec } from './append-entries.js';
import type { MessageCodec } from './codec.js';
import { headerSize, readHeader, writeHeader } from './common.js';
import { requestVoteCodec, requestVoteResponseCodec, timeoutNowCodec } from './election.js';
import {
  forwardProposeCodec,
  forwardProposeResponseCodec,
  readIndexRequestCodec,
  readIndexResponseCodec,
} from './forwarding.js';
import { protocolError, Reader } from './reader.js';
import { installSnapshotCodec, installSnapshotResponseCodec } from './snapshot.js';
import { Writer } from './writer.js';

/** The wire protocol version this code writes and the range it reads. Bump on any layout change. */
export const PROTOCOL_VERSION = 1;
export const MIN_PROTOCOL_VERSION = 1;
export const MAX_PROTOCOL_VERSION = 1;

/** Bytes of the length prefix in front of every frame. */
export const FRAME_PREFIX_BYTES = 4;

type CodecTable = { readonly [T in MessageType]: MessageCodec<Extract<Message, { type: T }>> };

const TABLE: CodecTable = {
  [MessageType.AppendEntries]: appendEntriesCodec,
  [MessageType.AppendEntriesResponse]: appendEntriesResponseCodec,
  [MessageType.RequestVote]: requestVoteCodec,
  [MessageType.RequestVoteResponse]: requestVoteResponseCodec,
  [MessageType.InstallSnapshot]: installSnapshotCodec,
  [MessageType.InstallSnapshotResponse]: installSnapshotResponseCodec,
  [MessageType.TimeoutNow]: timeoutNowCodec,
  [MessageType.ForwardPropose]: forwardProposeCodec,
  [MessageType.ForwardProposeResponse]: forwardProposeResponseCodec,
  [MessageType.ReadIndexRequest]: readIndexRequestCodec,
  [MessageType.ReadIndexResponse]: readIndexResponseCodec,
};

// Indexed by type number for a branch-free lookup on the hot path; holes for unknown types.
const BY_TYPE: readonly (MessageCodec<Message> | undefined)[] = (() => {
  const arr: (MessageCodec<Message> | undefined)[] = [];
  for (const codec of Object.values(TABLE) as MessageCodec<Message>[]) arr[codec.type] = codec;
  return arr;
})();

function codecFor(msg: Message): MessageCodec<Message> {
  const codec = typeof msg.type === 'number' ? BY_TYPE[msg.type] : undefined;
  if (codec === undefined) throw new InvalidArgumentError(`unknown message type ${String(msg.type)}`);
  return codec;
}

/** True for the frame type numbers that carry a Raft message. */
export function isMessageType(type: number): boolean {
  return BY_TYPE[type] !== undefined;
}

/** Bytes of the encoded message (without the frame's length prefix). */
export function messageSize(msg: Message): number {
  return 2 + headerSize(msg) + codecFor(msg).bodySize(msg);
}

/**
 * Encodes `msg` as a complete frame: u32 length prefix, then the message. One allocation of the exact size.
 * Throws InvalidArgumentError for a message that cannot be encoded (negative or unsafe integers, unknown enum
 * values, strings over MAX_STRING_BYTES or with lone surrogates).
 */
export function encodeFrame(msg: Message): Buffer {
  const codec = codecFor(msg);
  const size = 2 + headerSize(msg) + codec.bodySize(msg);
  const buf = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + size);
  buf.writeUInt32BE(size, 0);
  const w = new Writer(buf, FRAME_PREFIX_BYTES);
  w.u8(PROTOCOL_VERSION);
  w.u8(codec.type);
  writeHeader(w, msg);
  codec.writeBody(w, msg);
  w.finish(MessageType[codec.type]);
  return buf;
}

/** Encodes `msg` without the length prefix (a view of the frame encodeFrame would produce). */
export function encodeMessage(msg: Message): Uint8Array {
  const frame = encodeFrame(msg);
  return new Uint8Array(frame.buffer, frame.byteOffset + FRAME_PREFIX_BYTES, frame.length - FRAME_PREFIX_BYTES);
}

/**
 * Decodes one message (a frame without its length prefix). Byte fields of the result (entry data, commands,
 * snapshot chunks) are views into `bytes`, not copies.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version < MIN_PROTOCOL_VERSION || version > MAX_PROTOCOL_VERSION) {
    throw protocolError(`unsupported protocol version ${version}`);
  }
  const type = r.u8('message type');
  const codec = BY_TYPE[type];
  if (codec === undefined) throw protocolError(`unknown message type ${type}`);
  const header = readHeader(r);
  const msg = codec.readBody(r, header);
  r.finish(MessageType[type] ?? 'message');
  // The codecs build the message from the mandatory header fields; the optional one is added here, only when
  // present (exactOptionalPropertyTypes: an absent field must not become `fromAddr: undefined`).
  if (header.fromAddr !== undefined) (msg as { fromAddr?: string }).fromAddr = header.fromAddr;
  return msg;
}

export { MAX_BYTES, MAX_ENTRIES, MAX_MEMBERS, MAX_STRING_BYTES } from './common.js';
export { protocolError } from './reader.js';
