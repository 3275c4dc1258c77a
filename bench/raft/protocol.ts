/**
 * The IPC protocol between a benchmark/test parent and its Raft node processes (bench/raft/node-process.ts).
 * Messages go over Node's child_process IPC channel (JSON serialisation), so everything here is plain data.
 *
 * Timestamps (`at`) are wall-clock milliseconds with sub-millisecond precision, `performance.timeOrigin +
 * performance.now()`, taken inside the process where the event happened: comparing them across processes on one
 * machine is accurate to well under a millisecond, and IPC delivery delays do not distort the figures.
 */
import type { FollowerProgress, RaftCounters, RaftRole } from '../../src/raft/api.js';
import type { Configuration } from '../../src/raft/types.js';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across the processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface NodeTimings {
  readonly tickMs?: number;
  readonly electionMs?: number;
  readonly heartbeatMs?: number;
}

/** Everything a node process needs; passed as one JSON command-line argument. */
export interface NodeProcessConfig {
  readonly id: string;
  readonly dataDir: string;
  /** 0 picks a free port (first start); a restart passes the port the node had, since peers know it by address. */
  readonly port: number;
  readonly clusterName: string;
  readonly timings?: NodeTimings;
  /** Take a snapshot after this many applied entries (RaftOptions.snapshotThreshold). */
  readonly snapshotThreshold?: number;
  /** Entries kept behind a snapshot (RaftOptions.snapshotTrailing). */
  readonly snapshotTrailing?: number;
  /** Use libuv's threadpool for write/fdatasync instead of synchronous syscalls on the main thread. */
  readonly threadpoolFs?: boolean;
  /**
   * Experiment (harness side, not the engine's behaviour): start each log append one process.nextTick later, so
   * the AppendEntries the engine queued in the same flush reach the socket before the leader's own fdatasync
   * blocks the thread (leader fsync in parallel with replication, Raft thesis §10.2.1).
   */
  readonly deferAppend?: boolean;
}

/** A write workload run inside the node process with in-process propose() calls. */
export interface WorkloadSpec {
  /** Concurrent writers; each awaits its proposal before issuing the next. */
  readonly writers: number;
  /** Stop issuing new proposals after this long (ms)... */
  readonly durationMs?: number;
  /** ...or after this many proposals in total (whichever comes first; at least one of the two must be set). */
  readonly ops?: number;
  /** Size of each command in bytes (at least 16). Default 64. */
  readonly payloadBytes?: number;
  /** propose() timeout. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Key prefix, so that several workloads write distinguishable keys. */
  readonly keyPrefix?: string;
  /**
   * Each writer cycles through this many keys (default: every command writes a new key). Benchmarks bound it so
   * the state machine, and the snapshots the engine takes every few thousand entries, stay small.
   */
  readonly keysPerWriter?: number;
  /** Keep (up to) this many of the committed commands' keys in the result, for tests. Default 0. */
  readonly returnKeys?: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export interface WorkloadResult {
  readonly ok: number;
  /** Failed proposals by error code. */
  readonly errors: Record<string, number>;
  /** From the first proposal to the last settlement. */
  readonly elapsedMs: number;
  readonly commitsPerSec: number;
  readonly latency: LatencySummary;
  /** Log appends (fsync batches) done by this node's log store during the run, and entries they carried. */
  readonly appends: number;
  readonly appendedEntries: number;
  /** fdatasync calls made by this node's stores during the run (log appends, hard-state saves, snapshots). */
  readonly datasyncs: number;
  /** Keys of committed commands (the first `returnKeys`). */
  readonly keys: readonly string[];
}

export interface StateSummary {
  /** Commands applied by the state machine (including those restored from a snapshot). */
  readonly count: number;
  /** CRC-32 chain over every applied command, in order: equal on two nodes means the same history. */
  readonly digest: number;
  readonly keys: number;
}

export interface NodeStatusReport {
  readonly id: string;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly counters: RaftCounters;
  /** Only on the leader: replication progress of each follower. */
  readonly progress: readonly FollowerProgress[];
  /** Transport counters: messages dropped, connections lost and re-dialled. */
  readonly transport: { readonly dropped: number; readonly disconnects: number; readonly reconnects: number };
  readonly state: StateSummary;
  /** Event-loop delay observed in this process since start (ms). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Longest fdatasync of this process so far (ms), and how many took 50 ms or more. */
  readonly fsyncMaxMs: number;
  readonly fsyncSlow: number;
  /** CPU time (user + system) this process has used since it started, in ms. */
  readonly cpuMs: number;
}

export type ParentMessage =
  | { readonly type: 'start'; readonly bootstrap: Configuration | null }
  | { readonly type: 'workload'; readonly reqId: number; readonly spec: WorkloadSpec }
  | { readonly type: 'status'; readonly reqId: number }
  | { readonly type: 'get'; readonly reqId: number; readonly keys: readonly string[] }
  | { readonly type: 'stop'; readonly reqId: number };

export type ChildMessage =
  | { readonly type: 'listening'; readonly port: number; readonly addr: string; readonly fresh: boolean }
  | { readonly type: 'started'; readonly at: number; readonly recoveryNotes: readonly string[] }
  | { readonly type: 'leader'; readonly leaderId: string | null; readonly term: number; readonly at: number }
  | { readonly type: 'role'; readonly role: RaftRole; readonly term: number; readonly at: number }
  | { readonly type: 'workload-result'; readonly reqId: number; readonly result: WorkloadResult }
  | { readonly type: 'status-result'; readonly reqId: number; readonly status: NodeStatusReport }
  | { readonly type: 'get-result'; readonly reqId: number; readonly values: readonly (string | null)[] }
  | { readonly type: 'stopped'; readonly reqId: number }
  | { readonly type: 'error'; readonly reqId: number; readonly message: string }
  /** The node stopped on its own (a fatal storage error) or failed to start; the process exits after this. */
  | { readonly type: 'fatal'; readonly message: string };
