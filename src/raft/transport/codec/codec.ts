/**
 * The shape every message codec has. The dispatcher (index.ts) writes and reads the frame's version and type
 * bytes and the common header; a codec only handles the fields after the header.
 */
import type { Message } from '../../types.js';
import type { Header } from './common.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface MessageCodec<M extends Message> {
  readonly type: M['type'];
  /** Bytes of the fields after the header. */
  bodySize(msg: M): number;
  writeBody(w: Writer, msg: M): void;
  readBody(r: Reader, header: Header): M;
}
