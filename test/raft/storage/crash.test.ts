/**
 * Crash tests with real processes: a child appends (or saves) in a loop and prints each acknowledgement; the
 * parent SIGKILLs it at a random moment, reopens the store and checks that it opens cleanly and holds every
 * acknowledged write, with the right data, and nothing that was never written. Several kill/reopen rounds run on
 * the same directory, so recovery is followed by more writes and more crashes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStableStore } from '../../../src/raft/storage/stable-file.js';
import { WalLogStore } from '../../../src/raft/storage/wal/wal.js';
import { seededRandom } from '../../../src/util/io.js';
import { entry, plain, tempDir } from './helpers.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'crash-child.ts');
const REPO = join(import.meta.dirname, '..', '..', '..');

/**
 * Runs the child until it has printed `killAfterAcks` acks, then SIGKILLs it. Returns every line it printed
 * before dying (lines already in the pipe when the kill lands are kept: they were printed, so they happened).
 */
function runAndKill(
  args: string[],
  killAfterAcks: number,
  killDelayMs: number,
  children: ChildProcess[],
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    let acks = 0;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      acks += chunk.split('\n').filter((l) => l.startsWith('ack')).length;
      if (!killed && acks >= killAfterAcks) {
        killed = true;
        // Killing right on an ack tends to land between two writes (the child has just been preempted by us):
        // a short random delay spreads the moment over the whole write cycle.
        if (killDelayMs === 0) child.kill('SIGKILL');
        else setTimeout(() => child.kill('SIGKILL'), killDelayMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited (${code}, ${signal}) before the kill: ${err}`));
      else resolve(out.split('\n').filter((l) => l.length > 0));
    });
  });
}

/** What the parent knows is durable: term of every index after `compactIndex` (terms[k] is index compactIndex+1+k). */
interface Known {
  compactIndex: number;
  terms: number[];
}

function lastOf(k: Known): number {
  return k.compactIndex + k.terms.length;
}

describe('crash safety with SIGKILLed processes', () => {
  const cleanups: (() => void)[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of cleanups.splice(0)) c();
  });

  it('the WAL keeps every acknowledged append and compaction through repeated kills', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const random = seededRandom(0x5eed);
    let known: Known = { compactIndex: 0, terms: [] };
    for (let round = 0; round < 8; round++) {
      const acks = 5 + Math.floor(random.next() * 120);
      const lines = await runAndKill(['wal', dir, String(round + 1)], acks, round % 4, children);
      expect(lines[0]).toBe(`open ${known.compactIndex + 1} ${lastOf(known)}`);
      let pending: { start: number; count: number; term: number } | null = null;
      let pendingCompact: number | null = null;
      let acked = 0;
      for (const line of lines.slice(1)) {
        const [kind, a, b, c] = line.split(' ');
        const [x, y, z] = [Number(a), Number(b), Number(c)];
        if (kind === 'begin') pending = { start: x, count: y, term: z };
        else if (kind === 'ack') {
          known.terms.length = x - known.compactIndex - 1;
          for (let i = 0; i < y; i++) known.terms.push(z);
          pending = null;
          acked += 1;
        } else if (kind === 'compact-begin') pendingCompact = x;
        else if (kind === 'compact-ack') {
          known = { compactIndex: x, terms: known.terms.slice(x - known.compactIndex) };
          pendingCompact = null;
        }
      }
      expect(acked).toBeGreaterThan(0);

      const wal = await WalLogStore.open(dir, { segmentBytes: 16 * 1024 });
      try {
        const first = wal.firstIndex();
        const last = wal.lastIndex();
        // Compaction: either the acknowledged point or, if one was in flight, possibly that one.
        if (pendingCompact !== null && first !== known.compactIndex + 1) expect(first).toBe(pendingCompact + 1);
        else expect(first).toBe(known.compactIndex + 1);
        // Length: exactly the acknowledged log, unless an append was in flight.
        const knownLast = lastOf(known);
        if (pending === null) expect(last).toBe(knownLast);
        else expect(last).toBeGreaterThanOrEqual(Math.min(knownLast, pending.start - 1));
        if (pending !== null) expect(last).toBeLessThanOrEqual(Math.max(knownLast, pending.start + pending.count - 1));
        // Content: every entry is the acknowledged one, or one of the in-flight call (never old after new).
        const got = wal.entries(first, last + 1);
        let sawNew = false;
        const terms: number[] = [];
        for (const e of got) {
          const knownTerm = known.terms[e.index - known.compactIndex - 1];
          const isNew =
            pending !== null &&
            e.index >= pending.start &&
            e.index < pending.start + pending.count &&
            e.term === pending.term;
          if (!isNew || knownTerm === pending?.term) expect(sawNew).toBe(false);
          if (!isNew) expect(e.term).toBe(knownTerm);
          sawNew ||= isNew && knownTerm !== pending?.term;
          expect(plain([e])).toEqual(plain([entry(e.index, e.term)]));
          terms.push(e.term);
        }
        // The next round starts from what is really on disk.
        known = { compactIndex: first - 1, terms };
      } finally {
        await wal.close();
      }
    }
    expect(lastOf(known)).toBeGreaterThan(100);
  }, 60_000);

  it('the stable store keeps every acknowledged term and vote through repeated kills', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'raft-state');
    const random = seededRandom(0xfeed);
    let term = 0;
    for (let round = 0; round < 4; round++) {
      const acks = 5 + Math.floor(random.next() * 200);
      const lines = await runAndKill(['stable', file, String(round)], acks, round % 3, children);
      expect(lines[0]).toBe(`open ${term}`);
      let ackedTerm = term;
      let begun = term;
      for (const line of lines.slice(1)) {
        const [kind, n] = line.split(' ');
        if (kind === 'ack') ackedTerm = Number(n);
        if (kind === 'begin') begun = Number(n);
      }
      const store = await FileStableStore.open(file);
      const state = store.load();
      expect(state.term).toBeGreaterThanOrEqual(ackedTerm);
      expect(state.term).toBeLessThanOrEqual(begun);
      expect(state.votedFor).toBe(`node-${state.term}`);
      term = state.term;
      await store.close();
    }
    expect(term).toBeGreaterThan(10);
  }, 60_000);
});
