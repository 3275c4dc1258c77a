/**
 * A node's data directory:
 *
 *   <dataDir>/LOCK            the pid of the process using the directory (one process at a time)
 *   <dataDir>/identity.json   who this directory belongs to: node id, a random identity, the boot counter
 *   <dataDir>/progress.json   what the last life of the node reached: last event index emitted, last time alive,
 *                             whether it stopped cleanly
 *   <dataDir>/raft/           the Raft log, term/vote and snapshots (src/raft/storage/file-stores.ts)
 *
 * The identity makes restarts recognisable: a node's incarnation is `<identity>.<boot>`, so the cluster can tell
 * "the same node, restarted from its own disk" (same identity, higher boot) from "another process claiming the
 * id" (another identity), which it refuses while the original is alive.
 *
 * The lock is a pid file created exclusively: a second process (or a second ClusterKit in this process) using the
 * directory is refused with ERR_CONFLICT. A lock left by a dead process is taken over. Node has no flock(), so a
 * reused pid of an unrelated live process makes the lock look held; the error names the pid and file so an
 * operator can remove it.
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ClusterKitError } from '../errors.js';
import { errnoCode, type FileSystem, nodeFileSystem, storageIoError } from '../raft/storage/fs.js';

const IDENTITY_FILE = 'identity.json';
const PROGRESS_FILE = 'progress.json';
const LOCK_FILE = 'LOCK';
const FORMAT = 1;

/** Data directories locked by this process (a second ClusterKit in the same process must be refused too). */
const lockedHere = new Set<string>();

export interface NodeIdentity {
  readonly nodeId: string;
  /** Random, fixed for the directory's life. */
  readonly identity: string;
  /** Starts counted so far, this one included. */
  readonly boots: number;
  /** Wall-clock ms when the directory was created. */
  readonly createdAt: number;
}

/** What the previous life of the node recorded. */
export interface NodeProgress {
  /** Highest Raft index whose events were handed to the hooks. */
  readonly lastEmittedIndex: number;
  /** Wall-clock ms the node last recorded itself alive (0 if never). */
  readonly lastAliveAt: number;
  /** True when it stopped through stop()/leave(), false after a crash. */
  readonly cleanStop: boolean;
}

const NO_PROGRESS: NodeProgress = Object.freeze({ lastEmittedIndex: 0, lastAliveAt: 0, cleanStop: false });

/** `<identity>.<boot>`: what the node tells the cluster it is, for this life. */
export function incarnationOf(id: NodeIdentity): string {
  return `${id.identity}.${id.boots}`;
}

/** The identity part of an incarnation made by {@link incarnationOf} (the whole string for foreign formats). */
export function identityOfIncarnation(incarnation: string): string {
  const dot = incarnation.lastIndexOf('.');
  return dot <= 0 ? incarnation : incarnation.slice(0, dot);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still means "alive".
    return errnoCode(err) === 'EPERM';
  }
}

export class DataDir {
  readonly dir: string;
  readonly raftDir: string;
  readonly identity: NodeIdentity;
  /** What the previous life left behind (zeros for a new directory). */
  readonly previous: NodeProgress;
  /** True when the directory had no identity: a brand-new node. */
  readonly created: boolean;
  readonly #fs: FileSystem;
  readonly #lockToken: string;
  #released = false;
  #writing: Promise<void> = Promise.resolve();

  private constructor(init: {
    dir: string;
    identity: NodeIdentity;
    previous: NodeProgress;
    created: boolean;
    fs: FileSystem;
    lockToken: string;
  }) {
    this.dir = init.dir;
    this.raftDir = join(init.dir, 'raft');
    this.identity = init.identity;
    this.previous = init.previous;
    this.created = init.created;
    this.#fs = init.fs;
    this.#lockToken = init.lockToken;
  }

  get incarnation(): string {
    return incarnationOf(this.identity);
  }

  /**
   * Creates the directory if needed, takes the lock, and loads (or creates) the identity, counting this boot.
   * Throws ClusterKitError ERR_CONFLICT when the directory is in use or belongs to another node id.
   */
  static async open(dir: string, nodeId: string, now: number, fs: FileSystem = nodeFileSystem): Promise<DataDir> {
    const abs = resolve(dir);
    try {
      fs.mkdirp(abs);
    } catch (err) {
      throw storageIoError('create the data directory', abs, err);
    }
    const token = acquireLock(abs);
    try {
      const path = join(abs, IDENTITY_FILE);
      const existing = readJson(fs, path);
      let identity: NodeIdentity;
      let created = false;
      if (existing === undefined) {
        identity = { nodeId, identity: randomBytes(16).toString('hex'), boots: 1, createdAt: now };
        created = true;
      } else {
        const old = parseIdentity(existing, path);
        if (old.nodeId !== nodeId) {
          throw new ClusterKitError(
            'ERR_CONFLICT',
            `data directory ${abs} belongs to node ${JSON.stringify(old.nodeId)}, not ${JSON.stringify(nodeId)}`,
          );
        }
        identity = { ...old, boots: old.boots + 1 };
      }
      // Durable before the incarnation is used anywhere: two lives must never share one.
      await writeJsonAtomic(fs, abs, IDENTITY_FILE, { format: FORMAT, ...identity });
      const progress = created ? NO_PROGRESS : parseProgress(readJson(fs, join(abs, PROGRESS_FILE)));
      return new DataDir({
        dir: abs,
        identity: Object.freeze(identity),
        previous: progress,
        created,
        fs,
        lockToken: token,
      });
    } catch (err) {
      releaseLock(abs, token);
      throw err;
    }
  }

  /** Records progress durably. Writes are serialised; a failure is returned, never thrown synchronously. */
  saveProgress(progress: NodeProgress): Promise<void> {
    const next = this.#writing.then(() =>
      this.#released ? undefined : writeJsonAtomic(this.#fs, this.dir, PROGRESS_FILE, { format: FORMAT, ...progress }),
    );
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Waits for pending progress writes, then releases the lock. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    await this.#writing;
    this.#released = true;
    releaseLock(this.dir, this.#lockToken);
  }
}

function acquireLock(dir: string): string {
  const path = join(dir, LOCK_FILE);
  if (lockedHere.has(dir)) {
    throw new ClusterKitError('ERR_CONFLICT', `data directory ${dir} is already used by another node in this process`);
  }
  const token = randomBytes(8).toString('hex');
  const body = JSON.stringify({ pid: process.pid, host: hostname(), token });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      nodeFs.writeFileSync(path, body, { flag: 'wx' });
      lockedHere.add(dir);
      return token;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw storageIoError('create the lock file', path, err);
    }
    let holder: unknown;
    try {
      holder = JSON.parse(nodeFs.readFileSync(path, 'utf8')) as unknown;
    } catch {
      holder = undefined; // unreadable or half-written: treat as stale below
    }
    const pid = isObject(holder) && typeof holder['pid'] === 'number' ? holder['pid'] : undefined;
    const sameHost = isObject(holder) && holder['host'] === hostname();
    if (pid !== undefined && pid !== process.pid && (!sameHost || pidAlive(pid))) {
      throw new ClusterKitError(
        'ERR_CONFLICT',
        `data directory ${dir} is in use by process ${pid}${sameHost ? '' : ` on ${String(holder && (holder as Record<string, unknown>)['host'])}`} ` +
          `(lock file ${path}); two nodes must never share a data directory`,
      );
    }
    // A stale lock (its process is gone, or it is our own pid from a previous life): take it over.
    try {
      nodeFs.unlinkSync(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw storageIoError('remove a stale lock file', path, err);
    }
  }
  throw new ClusterKitError('ERR_CONFLICT', `could not lock data directory ${dir}: another process keeps taking it`);
}

function releaseLock(dir: string, token: string): void {
  lockedHere.delete(dir);
  const path = join(dir, LOCK_FILE);
  try {
    const holder = JSON.parse(nodeFs.readFileSync(path, 'utf8')) as unknown;
    if (isObject(holder) && holder['token'] === token) nodeFs.unlinkSync(path);
  } catch {
    // Already gone or replaced: nothing of ours to remove.
  }
}

function readJson(fs: FileSystem, path: string): unknown {
  if (!fs.exists(path)) return undefined;
  let fd: number;
  try {
    fd = fs.open(path, 'r');
  } catch (err) {
    throw storageIoError('open', path, err);
  }
  try {
    const size = fs.size(fd);
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = fs.read(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    try {
      return JSON.parse(Buffer.from(buf.subarray(0, done)).toString('utf8')) as unknown;
    } catch {
      return null; // corrupt: callers decide what that means
    }
  } finally {
    fs.close(fd);
  }
}

function parseIdentity(v: unknown, path: string): NodeIdentity {
  if (
    !isObject(v) ||
    typeof v['nodeId'] !== 'string' ||
    typeof v['identity'] !== 'string' ||
    !/^[0-9a-f]{8,64}$/.test(v['identity']) ||
    typeof v['boots'] !== 'number' ||
    !Number.isSafeInteger(v['boots']) ||
    v['boots'] < 1
  ) {
    throw new ClusterKitError('ERR_STORAGE_CORRUPT', `${path} is not a valid node identity file`);
  }
  return {
    nodeId: v['nodeId'],
    identity: v['identity'],
    boots: v['boots'],
    createdAt: typeof v['createdAt'] === 'number' ? v['createdAt'] : 0,
  };
}

function parseProgress(v: unknown): NodeProgress {
  // Missing or damaged progress only costs at-least-once events after a crash, never correctness of the state.
  if (!isObject(v)) return NO_PROGRESS;
  const num = (x: unknown): number => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0);
  return Object.freeze({
    lastEmittedIndex: num(v['lastEmittedIndex']),
    lastAliveAt: num(v['lastAliveAt']),
    cleanStop: v['cleanStop'] === true,
  });
}

/** temp file, fdatasync, rename, fsync of the directory: the file is either the old or the new version. */
async function writeJsonAtomic(fs: FileSystem, dir: string, name: string, value: object): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const data = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
  try {
    const fd = fs.open(tmp, 'w+');
    try {
      await fs.write(fd, data, 0);
      await fs.datasync(fd);
    } finally {
      fs.close(fd);
    }
    await fs.rename(tmp, path);
    await fs.syncDir(dir);
  } catch (err) {
    if (err instanceof ClusterKitError) throw err;
    throw storageIoError('write', path, err);
  }
}
