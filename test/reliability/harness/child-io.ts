/**
 * What the harness's node processes (agent-main.ts, node-main.ts) share: hook events printed as JSON lines on
 * stdout, and disk commands read as JSON lines from stdin ({"type":"disk","mode":"ok"|"slow"|"full","delayMs"}).
 */
import { createInterface } from 'node:readline';
import type { ClusterKit, ClusterKitEventName } from '../../../src/cluster/index.js';
import type { DiskMode, FaultyFileSystem } from './faulty-fs.js';

/** The hooks whose invocations the checkers read. */
export const HOOK_EVENTS: readonly ClusterKitEventName[] = [
  'nodeJoin',
  'nodeRejoin',
  'nodeLeave',
  'partitionChange',
  'partitionPromote',
  'partitionDrop',
  'rebalanceStart',
  'rebalanceComplete',
];

/** One JSON line on stdout. */
export function out(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** Prints every invocation of HOOK_EVENTS as {"type":"event",name,seq,at,event}, seq counting per process. */
export function printHookEvents(ck: ClusterKit, next: { seq: number } = { seq: 0 }): void {
  for (const name of HOOK_EVENTS) {
    ck.on(name, (event) => out({ type: 'event', name, seq: next.seq++, at: Date.now(), event }));
  }
}

/** Applies the disk commands read from stdin to `fs`; `onClose` runs when stdin closes (the harness went away). */
export function readDiskCommands(fs: FaultyFileSystem, onClose: () => void): void {
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { type: string; mode?: string; delayMs?: number };
        if (msg.type !== 'disk') throw new Error(`unknown command ${msg.type}`);
        const mode: DiskMode =
          msg.mode === 'slow'
            ? { mode: 'slow', delayMs: msg.delayMs ?? 100 }
            : msg.mode === 'full'
              ? { mode: 'full' }
              : { mode: 'ok' };
        fs.set(mode);
        process.stderr.write(`${new Date().toISOString()} harness: disk ${JSON.stringify(mode)}\n`);
      } catch (err) {
        process.stderr.write(`bad control line ${JSON.stringify(line)}: ${String(err)}\n`);
      }
    })
    .on('close', onClose);
}
