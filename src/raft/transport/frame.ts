/**
 * Connection preamble and framing.
 *
 * A Raft connection starts with the 4-byte preamble `CKR\x01` from the dialer. No HTTP request can start with
 * it (a method token is followed by a space, and 0x01 is not a token character), and neither can a TLS record
 * (first byte 0x16), so a shared port can tell the protocols apart by peeking. The last preamble byte is the
 * preamble version.
 *
 * After the preamble both directions carry frames: `u32 length` (big-endian, bytes that follow) and then the
 * frame payload, `u8 version, u8 type, body`. The first frame each way is the handshake (see codec/handshake.ts).
 */
import { ClusterKitError } from '../../errors.js';
import { FRAME_PREFIX_BYTES } from './codec/index.js';

export const RAFT_PREAMBLE: Buffer = Buffer.from([0x43, 0x4b, 0x52, 0x01]); // "CKR" + preamble version 1

/** Default cap on one frame. A length prefix above it is treated as an attack or corruption. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * The highest term a message from the network may carry; the transport drops a connection that sends more. Raft
 * adopts any higher term it hears, and a node that adopted a term near 2^53 could not store the next one (term + 1
 * is no longer a safe integer), so a single frame took it down. No cluster gets near: 2^48 elections, one per
 * millisecond, take 8,900 years. (The wire format itself carries any safe integer.)
 */
export const MAX_MESSAGE_TERM = 2 ** 48;

/** The smallest valid frame payload: version and type bytes. */
const MIN_FRAME_BYTES = 2;

/**
 * How `head` compares with the preamble: 'match' (it starts with the whole preamble), 'mismatch' (it cannot be a
 * Raft connection), or 'partial' (too few bytes yet to tell).
 */
export function matchPreamble(head: Uint8Array): 'match' | 'mismatch' | 'partial' {
  const n = Math.min(head.length, RAFT_PREAMBLE.length);
  for (let i = 0; i < n; i++) if (head[i] !== RAFT_PREAMBLE[i]) return 'mismatch';
  return n === RAFT_PREAMBLE.length ? 'match' : 'partial';
}

/**
 * Splits a byte stream into frames. Frames that lie within one received chunk are passed on as views of it (no
 * copy); a frame spread over several chunks is assembled with exactly one copy once all of it has arrived. Memory
 * held never exceeds what the peer actually sent: a length prefix alone allocates nothing, so a hostile
 * "64 MiB follows" costs nothing until the bytes arrive, and anything above `maxFrameBytes` is rejected at once.
 */
export class FrameReader {
  /** May be raised once the peer is trusted (TcpTransport: after the handshake). */
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being assembled, or -1 when its prefix has not been read yet. */
  private need = -1;
  private stopped = false;

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Stops delivering frames (the connection is being dropped); later pushes are ignored. */
  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  /**
   * Feeds received bytes; calls `onFrame` with each complete frame payload (without the prefix), in order.
   * Throws ERR_PROTOCOL on a length prefix that is too small or above the limit. `onFrame` may call `stop()`.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    if (this.stopped) return;
    if (this.buffered === 0) {
      this.scan(chunk, onFrame);
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.need < 0) {
      if (this.buffered < FRAME_PREFIX_BYTES) return;
      this.need = this.checkLength(this.peekPrefix());
    }
    if (this.buffered < FRAME_PREFIX_BYTES + this.need) return;
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.need = -1;
    this.scan(merged, onFrame);
  }

  /** Delivers every whole frame in `buf` and keeps the remainder. Only called with nothing buffered. */
  private scan(buf: Buffer, onFrame: (payload: Buffer) => void): void {
    let off = 0;
    const end = buf.length;
    while (end - off >= FRAME_PREFIX_BYTES) {
      const len = this.checkLength(buf.readUInt32BE(off));
      const frameEnd = off + FRAME_PREFIX_BYTES + len;
      if (frameEnd > end) {
        this.need = len;
        break;
      }
      onFrame(buf.subarray(off + FRAME_PREFIX_BYTES, frameEnd));
      if (this.stopped) return;
      off = frameEnd;
    }
    if (off < end) {
      this.chunks.push(buf.subarray(off));
      this.buffered = end - off;
    }
  }

  private peekPrefix(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_PREFIX_BYTES) return first.readUInt32BE(0);
    const prefix = Buffer.concat(this.chunks, this.buffered).subarray(0, FRAME_PREFIX_BYTES);
    return prefix.readUInt32BE(0);
  }

  private checkLength(len: number): number {
    if (len < MIN_FRAME_BYTES || len > this.maxFrameBytes) {
      this.stop();
      throw new ClusterKitError(
        'ERR_PROTOCOL',
        `frame length ${len} is outside [${MIN_FRAME_BYTES}, ${this.maxFrameBytes}]`,
      );
    }
    return len;
  }
}
