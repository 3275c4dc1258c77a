import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDir, identityOfIncarnation, incarnationOf } from '../../../src/cluster/data-dir.js';
import { isRestartOf } from '../../../src/cluster/join.js';
import { ClusterKitError } from '../../../src/errors.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ck-datadir-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function expectConflict(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClusterKitError);
  expect((err as ClusterKitError).code).toBe('ERR_CONFLICT');
  expect((err as Error).message).toMatch(message);
}

describe('DataDir', () => {
  it('creates the directory and an identity, and counts boots across restarts', async () => {
    const dir = join(root, 'a', 'b');
    const first = await DataDir.open(dir, 'node-1', 1000);
    expect(first.created).toBe(true);
    expect(first.identity.boots).toBe(1);
    expect(first.previous).toEqual({ lastEmittedIndex: 0, lastAliveAt: 0, cleanStop: false });
    await first.saveProgress({ lastEmittedIndex: 42, lastAliveAt: 5000, cleanStop: true });
    await first.release();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);

    const second = await DataDir.open(dir, 'node-1', 2000);
    expect(second.created).toBe(false);
    expect(second.identity.identity).toBe(first.identity.identity);
    expect(second.identity.boots).toBe(2);
    expect(second.previous).toEqual({ lastEmittedIndex: 42, lastAliveAt: 5000, cleanStop: true });
    // Each life has its own incarnation, recognisable as a restart of the previous one.
    expect(second.incarnation).not.toBe(first.incarnation);
    expect(isRestartOf(first.incarnation, second.incarnation)).toBe(true);
    expect(isRestartOf(second.incarnation, first.incarnation)).toBe(false);
    await second.release();
  });

  it('refuses a second user of the same directory in this process, and frees it on release', async () => {
    const dir = join(root, 'n');
    const held = await DataDir.open(dir, 'node-1', 0);
    await expectConflict(DataDir.open(dir, 'node-1', 0), /already used by another node in this process/);
    await held.release();
    const again = await DataDir.open(dir, 'node-1', 0);
    await again.release();
  });

  it('refuses a directory locked by another live process, and takes over a dead one', async () => {
    const dir = join(root, 'n');
    const first = await DataDir.open(dir, 'node-1', 0);
    await first.release();
    // A live process (sleep) holds the lock.
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: sleeper.pid, host: hostname(), token: 'x' }));
      await expectConflict(DataDir.open(dir, 'node-1', 0), new RegExp(`in use by process ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
    // The same pid, now dead: a stale lock, taken over.
    const taken = await DataDir.open(dir, 'node-1', 0);
    const lock = JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    await taken.release();
  });

  it('refuses a directory that belongs to another node id', async () => {
    const dir = join(root, 'n');
    await (await DataDir.open(dir, 'node-1', 0)).release();
    await expectConflict(DataDir.open(dir, 'node-2', 0), /belongs to node "node-1", not "node-2"/);
    // The failed open left no lock behind.
    await (await DataDir.open(dir, 'node-1', 0)).release();
  });

  it('reports a corrupt identity file instead of inventing a new identity', async () => {
    const dir = join(root, 'n');
    await (await DataDir.open(dir, 'node-1', 0)).release();
    writeFileSync(join(dir, 'identity.json'), '{"nodeId": 3}');
    const err = await DataDir.open(dir, 'node-1', 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ClusterKitError).code).toBe('ERR_STORAGE_CORRUPT');
  });

  it('treats missing or damaged progress as "nothing emitted yet"', async () => {
    const dir = join(root, 'n');
    const d = await DataDir.open(dir, 'node-1', 0);
    await d.saveProgress({ lastEmittedIndex: 9, lastAliveAt: 1, cleanStop: false });
    await d.release();
    writeFileSync(join(dir, 'progress.json'), 'not json');
    const again = await DataDir.open(dir, 'node-1', 0);
    expect(again.previous.lastEmittedIndex).toBe(0);
    await again.release();
  });

  it('splits incarnations into identity and boot', () => {
    const id = { nodeId: 'n', identity: 'abcdef0123456789', boots: 7, createdAt: 0 };
    expect(incarnationOf(id)).toBe('abcdef0123456789.7');
    expect(identityOfIncarnation('abcdef0123456789.7')).toBe('abcdef0123456789');
    expect(identityOfIncarnation('legacy')).toBe('legacy');
    // Foreign formats are never taken for a restart.
    expect(isRestartOf('legacy', 'legacy2')).toBe(false);
    expect(isRestartOf('aaaa.1', 'bbbb.2')).toBe(false);
    expect(isRestartOf('aaaa.2', 'aaaa.2')).toBe(false);
  });
});
