/**
 * StableStore on a file: the current term and vote in a mirrored two-slot file (see dual-slot.ts), so a save is
 * durable when it resolves and neither a crash mid-save nor one damaged slot loses or rolls back a vote.
 */
import { dirname } from 'node:path';
import { InvalidArgumentError, ShuttingDownError, StorageCorruptError } from '../../errors.js';
import type { HardState, StableStore } from '../types.js';
import { readU64, writeU64 } from './binary.js';
import { DualSlotFile } from './dual-slot.js';
import { ensureDurableDir, type FileSystem, nodeFileSystem } from './fs.js';

/** 'CKST' */
const STABLE_MAGIC = 0x434b5354;
/** Longest node id (in UTF-8 bytes) a vote can name. */
export const MAX_NODE_ID_BYTES = 256;

// Record layout: u64 term, u8 1 if a vote is recorded, u16 vote length, vote bytes (UTF-8).
const RECORD_HEADER = 11;

function encodeHardState(state: HardState): Buffer {
  const vote = state.votedFor === null ? Buffer.alloc(0) : Buffer.from(state.votedFor, 'utf8');
  const buf = Buffer.alloc(RECORD_HEADER + vote.length);
  writeU64(buf, 0, state.term);
  buf.writeUInt8(state.votedFor === null ? 0 : 1, 8);
  buf.writeUInt16LE(vote.length, 9);
  buf.set(vote, RECORD_HEADER);
  return buf;
}

function decodeHardState(path: string, payload: Buffer): HardState {
  // The slot's CRC already passed, so a malformed record here means a writer bug or a foreign file.
  const offsetInFile = 24;
  if (payload.length < RECORD_HEADER) {
    throw new StorageCorruptError(path, offsetInFile, `hard state record is only ${payload.length} bytes`);
  }
  const term = readU64(payload, 0);
  const hasVote = payload.readUInt8(8);
  const voteLength = payload.readUInt16LE(9);
  if (!Number.isSafeInteger(term) || hasVote > 1 || RECORD_HEADER + voteLength !== payload.length) {
    throw new StorageCorruptError(path, offsetInFile, 'malformed hard state record');
  }
  const votedFor = hasVote === 1 ? payload.toString('utf8', RECORD_HEADER) : null;
  return { term, votedFor };
}

export interface FileStableStoreOptions {
  readonly fs?: FileSystem;
}

export class FileStableStore implements StableStore {
  private state: HardState;
  private closed = false;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: DualSlotFile,
    state: HardState,
    /** What opening had to fix (a damaged or stale slot, a leftover temporary file), for the operator's log. */
    readonly recoveryNotes: readonly string[],
  ) {
    this.state = state;
  }

  /** Opens (or creates, holding term 0 and no vote) the hard-state file at `path`, creating its directory. */
  static async open(path: string, options: FileStableStoreOptions = {}): Promise<FileStableStore> {
    const fs = options.fs ?? nodeFileSystem;
    await ensureDurableDir(fs, dirname(path));
    const notes: string[] = [];
    const initial = encodeHardState({ term: 0, votedFor: null });
    const { file, payload } = await DualSlotFile.open(fs, path, STABLE_MAGIC, initial, notes);
    let state: HardState;
    try {
      state = decodeHardState(path, payload);
    } catch (err) {
      file.close();
      throw err;
    }
    return new FileStableStore(file, state, notes);
  }

  load(): HardState {
    return this.state;
  }

  save(state: HardState): Promise<void> {
    if (this.closed) return Promise.reject(new ShuttingDownError('the stable store is closed'));
    if (!Number.isSafeInteger(state.term) || state.term < 0) {
      return Promise.reject(new InvalidArgumentError(`term must be a non-negative integer, got ${state.term}`));
    }
    if (state.votedFor !== null && Buffer.byteLength(state.votedFor, 'utf8') > MAX_NODE_ID_BYTES) {
      return Promise.reject(new InvalidArgumentError(`votedFor is longer than ${MAX_NODE_ID_BYTES} bytes`));
    }
    const copy: HardState = { term: state.term, votedFor: state.votedFor };
    const record = encodeHardState(copy);
    // The engine never overlaps saves, but queueing keeps the slot writes of two saves from interleaving anyway.
    const run = this.tail.then(async () => {
      await this.file.write(record);
      this.state = copy;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    this.file.close();
  }
}
