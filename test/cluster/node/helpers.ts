/** In-process ClusterKit nodes for tests: temp data directories, 127.0.0.1 ephemeral ports, quick timings. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterKit, type ClusterKitOptions } from '../../../src/cluster/index.js';

export const FAST: Partial<ClusterKitOptions> = {
  raft: { electionMs: 300, heartbeatMs: 50 },
  healthCheck: { interval: 200, timeout: 600, failureThreshold: 4 },
  joinBackoffMs: { min: 20, max: 200 },
};

export class TestNodes {
  readonly dir = mkdtempSync(join(tmpdir(), 'ck-node-'));
  readonly nodes: ClusterKit[] = [];

  create(id: string, options: Partial<ClusterKitOptions> = {}): ClusterKit {
    const ck = new ClusterKit({
      nodeId: id,
      httpAddr: '127.0.0.1:0',
      dataDir: join(this.dir, id),
      ...FAST,
      ...options,
    });
    this.nodes.push(ck);
    return ck;
  }

  async start(id: string, options: Partial<ClusterKitOptions> = {}): Promise<ClusterKit> {
    const ck = this.create(id, options);
    await ck.start();
    return ck;
  }

  /** A bootstrapped node plus `n - 1` joiners, started one after the other. */
  async cluster(n: number, options: Partial<ClusterKitOptions> = {}): Promise<ClusterKit[]> {
    const first = await this.start('node-1', options);
    const out = [first];
    for (let i = 2; i <= n; i++) out.push(await this.start(`node-${i}`, { ...options, joinAddr: first.address }));
    return out;
  }

  async destroy(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `cond` every 10 ms until it holds (or fails the test after `timeoutMs`). */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected the promise to reject');
  return err;
}
