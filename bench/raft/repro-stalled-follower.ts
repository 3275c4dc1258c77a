/**
 * Reproduction for the engine owner: `npx tsx bench/raft/repro-stalled-follower.ts`.
 *
 * A follower whose own process stalls for longer than an election timeout (here SIGSTOP/SIGCONT; in the wild a
 * long synchronous fdatasync, a GC pause or a starved VM) becomes a pre-candidate as soon as it resumes, although
 * the leader's heartbeats are already waiting in its socket buffer. The reason: on resume, Node's event loop runs
 * the timers phase before the poll phase, so RaftNode.onTick (src/raft/node.ts) replays the missed ticks and the
 * election timeout expires before the buffered AppendEntries are read. Pre-vote keeps the term unchanged (the other
 * nodes refuse), so the cluster is not disrupted, but every such stall costs a pre-vote round, and with
 * `preVote: false` it would depose a healthy leader.
 *
 * Expected output with the current engine: "pre-candidate@2 follower@2" for the 700 ms and 1500 ms pauses.
 */
import { ProcessCluster } from './cluster.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const cluster = await ProcessCluster.start({ nodes: 3, forwardStderr: true });
  try {
    const { id } = await cluster.waitForLeader();
    for (const pauseMs of [200, 700, 1500]) {
      const follower = cluster.alive().find((p) => p.id !== id)!;
      await sleep(500);
      const seen = follower.roleEvents.length;
      follower.child.kill('SIGSTOP');
      await sleep(pauseMs);
      follower.child.kill('SIGCONT');
      await sleep(800);
      const roles = follower.roleEvents
        .slice(seen)
        .map((e) => `${e.role}@${e.term}`)
        .join(' ');
      const statuses = await Promise.all(cluster.alive().map((p) => p.status()));
      process.stdout.write(
        `follower ${follower.id} stopped for ${pauseMs} ms; its role changes after resuming: ${roles || '(none)'}; ` +
          `terms now ${statuses.map((s) => `${s.id}:${s.term}:${s.role}`).join(' ')}\n`,
      );
    }
    await cluster.stopAll();
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
