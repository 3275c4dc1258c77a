/**
 * Reproduction for the engine owner: `npx tsx bench/raft/repro-follower-commit-lag.ts`.
 *
 * A proposal made on a follower (forwarded to the leader) often resolves only at the leader's next heartbeat:
 * its latency tracks `heartbeatMs`, not the commit. Why:
 *
 * 1. The follower waits until it has applied the entry, so it must learn that the entry is committed.
 * 2. In a 3-node cluster the leader commits as soon as the FIRST follower acknowledges. If that was the other
 *    follower, the commit-only heartbeat that replicate() (src/raft/core/replication.ts) sends right away carries
 *    prevIndex = this follower's old match.
 * 3. The follower caps its commit index at min(commit, prevIndex + entries) (handleAppendEntries in
 *    src/raft/core/follower.ts), so it cannot advance yet.
 * 4. When its own acknowledgement reaches the leader, the commit index does not move, so nothing is sent. The
 *    follower learns the commit at the next periodic heartbeat.
 *
 * etcd's raft sends an append to a follower whose acknowledgement did not move the commit index but whose commit
 * index is behind (Progress.CanBumpCommit); the same would fix this.
 *
 * Expected output: the follower's p90 is close to the heartbeat interval (about 50 ms, then about 150 ms), while
 * the leader's p90 stays at a few fsyncs.
 */
import { ProcessCluster } from './cluster.js';

async function run(heartbeatMs: number, electionMs: number): Promise<void> {
  const cluster = await ProcessCluster.start({ nodes: 3, timings: { heartbeatMs, electionMs }, forwardStderr: true });
  try {
    const { id } = await cluster.waitForLeader();
    const follower = cluster.alive().find((p) => p.id !== id)!;
    for (const [name, node] of [
      ['leader', cluster.node(id)],
      ['follower', follower],
    ] as const) {
      const r = await node.workload({ writers: 1, durationMs: 3000, keysPerWriter: 100, keyPrefix: name });
      const l = r.latency;
      process.stdout.write(
        `heartbeat ${heartbeatMs} ms, 1 sequential writer on the ${name}: ${Math.round(r.commitsPerSec)} commits/s, ` +
          `p50 ${l.p50Ms.toFixed(2)} ms, p90 ${l.p90Ms.toFixed(2)} ms, mean ${l.meanMs.toFixed(2)} ms\n`,
      );
    }
    await cluster.stopAll();
  } finally {
    await cluster.destroy();
  }
}

async function main(): Promise<void> {
  await run(50, 300);
  await run(150, 1000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
