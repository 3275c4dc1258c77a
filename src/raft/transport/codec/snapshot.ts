/**
 * InstallSnapshot (type 5) and its response (type 6).
 *
 *   InstallSnapshot          = header, meta, u64 offset, u8 done, bytes chunk
 *   InstallSnapshotResponse  = header, u64 index, i64 received (>= -1; -1 = rejected), u8 done
 *
 * The chunk is returned as a view into the received frame (no copy).
 */
import { InvalidArgumentError } from '../../../errors.js';
import { type InstallSnapshot, type InstallSnapshotResponse, MessageType } from '../../types.js';
import type { MessageCodec } from './codec.js';
import { MAX_BYTES, readSnapshotMeta, snapshotMetaSize, writeSnapshotMeta } from './common.js';
import { protocolError } from './reader.js';

export const installSnapshotCodec: MessageCodec<InstallSnapshot> = {
  type: MessageType.InstallSnapshot,
  bodySize: (m) => snapshotMetaSize(m.meta) + 8 + 1 + 4 + m.chunk.byteLength,
  writeBody(w, m) {
    writeSnapshotMeta(w, m.meta);
    w.u64(m.offset, 'offset');
    w.bool(m.done);
    w.bytes(m.chunk, MAX_BYTES, 'chunk');
  },
  readBody(r, h) {
    const meta = readSnapshotMeta(r);
    const offset = r.u64('offset');
    const done = r.bool('done');
    const chunk = r.bytes(MAX_BYTES, 'chunk');
    return { type: MessageType.InstallSnapshot, from: h.from, to: h.to, term: h.term, meta, offset, chunk, done };
  },
};

export const installSnapshotResponseCodec: MessageCodec<InstallSnapshotResponse> = {
  type: MessageType.InstallSnapshotResponse,
  bodySize: () => 8 + 8 + 1,
  writeBody(w, m) {
    w.u64(m.index, 'index');
    if (m.received < -1) throw new InvalidArgumentError(`received must be >= -1, got ${m.received}`);
    w.i64(m.received, 'received');
    w.bool(m.done);
  },
  readBody(r, h) {
    const index = r.u64('index');
    const received = r.i64('received');
    if (received < -1) throw protocolError(`received ${received} is below -1`);
    const done = r.bool('done');
    return { type: MessageType.InstallSnapshotResponse, from: h.from, to: h.to, term: h.term, index, received, done };
  },
};
