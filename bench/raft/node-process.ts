/**
 * One Raft node as a real process, driven by a parent over IPC (see protocol.ts):
 *
 *   child_process.fork('bench/raft/node-process.ts', [JSON.stringify(config)], { execArgv: ['--import', 'tsx'] })
 *
 * It opens the file stores in `config.dataDir` (real fdatasync), listens with a TcpTransport on 127.0.0.1, and,
 * once the parent sends `start` (with the bootstrap configuration for a fresh data directory, after every node
 * has reported its port), runs a RaftNode with the system clock, scheduler and randomness over a KV state
 * machine. It reports leader and role changes with its own timestamps, runs write workloads with in-process
 * propose() calls (so latencies are the engine's, with no client protocol in between), answers status queries,
 * and stops cleanly on `stop` or when the parent goes away. The parent uses SIGKILL for crash tests.
 */
import { existsSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ClusterKitError } from '../../src/errors.js';
import { RaftNode } from '../../src/raft/node.js';
import { openFileStores } from '../../src/raft/storage/file-stores.js';
import { createNodeFileSystem, type FileSystem } from '../../src/raft/storage/fs.js';
import { TcpTransport } from '../../src/raft/transport/index.js';
import type { Entry, LogStore } from '../../src/raft/types.js';
import { systemClock, systemRandom, systemScheduler } from '../../src/util/io.js';
import type {
  ChildMessage,
  NodeProcessConfig,
  NodeStatusReport,
  ParentMessage,
  WorkloadResult,
  WorkloadSpec,
} from './protocol.js';
import { wallNow } from './protocol.js';
import { encodeCommand, KvStateMachine } from './state-machine.js';
import { Samples, summarize } from './stats.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeProcessConfig;

function send(msg: ChildMessage, then?: () => void): void {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(msg, undefined, {}, () => then?.());
}

/** Reports a fatal error to the parent and exits. */
function fail(message: string): void {
  process.stderr.write(`[${config.id}] fatal: ${message}\n`);
  send({ type: 'fatal', message }, () => process.exit(1));
  // Exit even if the IPC callback never comes (the parent is gone).
  setTimeout(() => process.exit(1), 1000);
}

/** Counts durable-sync system calls, to report fsyncs per commit. */
class SyncCounts {
  datasyncs = 0;
  dirSyncs = 0;
  /** Longest fdatasync (ms): with synchronous syscalls the event loop is blocked for that long. */
  maxMs = 0;
  /** fdatasync calls that took 50 ms or more. */
  slow = 0;
  record(ms: number): void {
    if (ms > this.maxMs) this.maxMs = ms;
    if (ms >= 50) this.slow++;
  }
}

function countingFs(inner: FileSystem, counts: SyncCounts): FileSystem {
  /** Descriptors opened with O_DSYNC: each write on them is a durable sync, counted and timed as one. */
  const synced = new Set<number>();
  const timed = (p: Promise<void>): Promise<void> => {
    counts.datasyncs++;
    const start = performance.now();
    void p.then(
      () => counts.record(performance.now() - start),
      () => undefined, // the store handles the failure; only successful syncs are timed
    );
    return p;
  };
  const openSynced = inner.openSynced?.bind(inner);
  return {
    ...inner,
    ...(openSynced === undefined
      ? {}
      : {
          openSynced: (path: string, mode: 'r+' | 'w+') => {
            const fd = openSynced(path, mode);
            synced.add(fd);
            return fd;
          },
        }),
    close: (fd) => {
      synced.delete(fd);
      inner.close(fd);
    },
    write: (fd, data, position) =>
      synced.has(fd) ? timed(inner.write(fd, data, position)) : inner.write(fd, data, position),
    datasync: (fd) => timed(inner.datasync(fd)),
    syncDir: (dir) => {
      counts.dirSyncs++;
      return inner.syncDir(dir);
    },
  };
}

/** Counts log appends (each is one group-committed, durable write) and the entries they carry. */
class CountingLogStore implements LogStore {
  appends = 0;
  appendedEntries = 0;
  constructor(
    private readonly inner: LogStore,
    private readonly defer: boolean,
  ) {}
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  term(index: number): number | undefined {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.inner.entries(lo, hi, maxBytes);
  }
  append(entries: readonly Entry[]): Promise<void> {
    this.appends++;
    this.appendedEntries += entries.length;
    if (!this.defer) return this.inner.append(entries);
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        try {
          this.inner.append(entries).then(resolve, reject);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  }
  compact(index: number, term: number): Promise<void> {
    return this.inner.compact(index, term);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    fail('node-process must be started with an IPC channel (child_process.fork)');
    return;
  }
  const fresh = !existsSync(config.dataDir) || readdirSync(config.dataDir).length === 0;
  const syncs = new SyncCounts();
  const fs = countingFs(createNodeFileSystem({ threadpool: config.threadpoolFs ?? false }), syncs);
  const stores = await openFileStores(config.dataDir, { fs });
  const log = new CountingLogStore(stores.log, config.deferAppend ?? false);
  const transport = new TcpTransport({ nodeId: config.id, clusterName: config.clusterName });
  const port = await transport.listen({ host: '127.0.0.1', port: config.port });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const sm = new KvStateMachine();

  let raft: RaftNode<number> | null = null;
  let stopping: Promise<void> | null = null;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (raft !== null) await raft.stop();
      else {
        await transport.close();
        await stores.close();
      }
    })();
    return stopping;
  };

  const status = (node: RaftNode<number>): NodeStatusReport => {
    const s = node.status();
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      counters: node.counters(),
      progress: s.progress,
      transport: (() => {
        const t = transport.stats();
        return { dropped: t.dropped, disconnects: t.disconnects, reconnects: t.reconnects };
      })(),
      state: sm.summary(),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      fsyncMaxMs: syncs.maxMs,
      fsyncSlow: syncs.slow,
      cpuMs: (() => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      })(),
    };
  };

  const runWorkload = async (node: RaftNode<number>, spec: WorkloadSpec): Promise<WorkloadResult> => {
    if (spec.durationMs === undefined && spec.ops === undefined) throw new Error('workload needs durationMs or ops');
    const payload = Math.max(16, spec.payloadBytes ?? 64);
    const timeoutMs = spec.timeoutMs ?? 5000;
    const prefix = spec.keyPrefix ?? config.id;
    const wantKeys = spec.returnKeys ?? 0;
    const maxOps = spec.ops ?? Number.POSITIVE_INFINITY;
    const keysPerWriter = spec.keysPerWriter ?? Number.POSITIVE_INFINITY;
    const latencies = new Samples();
    const errors: Record<string, number> = {};
    const keys: string[] = [];
    const appends0 = log.appends;
    const datasyncs0 = syncs.datasyncs;
    const entries0 = log.appendedEntries;
    let issued = 0;
    let ok = 0;
    const t0 = performance.now();
    const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + spec.durationMs;
    const writer = async (w: number): Promise<void> => {
      for (let seq = 0; issued < maxOps && performance.now() < deadline; seq++) {
        issued++;
        const key = `${prefix}-${w}-${seq % keysPerWriter}`;
        const cmd = encodeCommand(key, String(seq), payload);
        const start = performance.now();
        try {
          await node.propose(cmd, { timeoutMs });
          latencies.push(performance.now() - start);
          ok++;
          if (keys.length < wantKeys) keys.push(key);
        } catch (err) {
          const code = err instanceof ClusterKitError ? err.code : 'ERR_OTHER';
          errors[code] = (errors[code] ?? 0) + 1;
          // No leader (or a leader change): back off briefly instead of spinning on immediate rejections.
          await sleep(5);
        }
      }
    };
    await Promise.all(Array.from({ length: spec.writers }, (_, w) => writer(w)));
    const elapsedMs = performance.now() - t0;
    return {
      ok,
      errors,
      elapsedMs,
      commitsPerSec: ok / (elapsedMs / 1000),
      latency: summarize(latencies),
      appends: log.appends - appends0,
      appendedEntries: log.appendedEntries - entries0,
      datasyncs: syncs.datasyncs - datasyncs0,
      keys,
    };
  };

  const handle = async (msg: ParentMessage): Promise<void> => {
    switch (msg.type) {
      case 'start': {
        if (raft !== null) throw new Error('already started');
        const node = new RaftNode<number>({
          id: config.id,
          addr: transport.advertiseAddr,
          logStore: log,
          stableStore: stores.stable,
          snapshotStore: stores.snapshots,
          transport,
          stateMachine: sm,
          clock: systemClock,
          scheduler: systemScheduler,
          random: systemRandom,
          ...(config.timings === undefined ? {} : { timings: config.timings }),
          ...(config.snapshotThreshold === undefined ? {} : { snapshotThreshold: config.snapshotThreshold }),
          ...(config.snapshotTrailing === undefined ? {} : { snapshotTrailing: config.snapshotTrailing }),
          ...(msg.bootstrap === null ? {} : { bootstrap: msg.bootstrap }),
        });
        raft = node;
        node.on('leader', (leaderId, term) => send({ type: 'leader', leaderId, term, at: wallNow() }));
        node.on('role', (role, term) => send({ type: 'role', role, term, at: wallNow() }));
        node.on('stopped', (error) => {
          if (error !== undefined) fail(`the node stopped: ${error.message}`);
        });
        await node.start();
        send({ type: 'started', at: wallNow(), recoveryNotes: stores.recoveryNotes });
        return;
      }
      case 'workload': {
        if (raft === null) throw new Error('not started');
        const result = await runWorkload(raft, msg.spec);
        send({ type: 'workload-result', reqId: msg.reqId, result });
        return;
      }
      case 'status':
        if (raft === null) throw new Error('not started');
        send({ type: 'status-result', reqId: msg.reqId, status: status(raft) });
        return;
      case 'get':
        send({ type: 'get-result', reqId: msg.reqId, values: msg.keys.map((k) => sm.get(k)) });
        return;
      case 'stop':
        await stop();
        send({ type: 'stopped', reqId: msg.reqId }, () => process.exit(0));
        return;
    }
  };

  process.on('message', (raw: ParentMessage) => {
    handle(raw).catch((err: unknown) => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      if (raw.type === 'start') fail(message);
      else send({ type: 'error', reqId: raw.reqId, message });
    });
  });
  // The parent went away without stopping us: stop cleanly rather than linger as an orphan.
  process.on('disconnect', () => {
    void stop().finally(() => process.exit(0));
  });
  send({ type: 'listening', port, addr: transport.advertiseAddr, fresh });
}

main().catch((err: unknown) => {
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
