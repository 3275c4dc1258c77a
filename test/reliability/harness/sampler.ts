/** Samples every up node's table (GET /cluster) a few times a second into the ownership checker. */
import { type ClusterJson, OwnershipChecker, sampleFromCluster, type TableSample } from './checks/ownership.js';
import type { ProcessCluster } from './cluster.js';
import { getJson } from './http.js';

export class TableSampler {
  readonly checker = new OwnershipChecker();
  #running = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: ProcessCluster,
    private readonly periodMs = 250,
  ) {}

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.sampleOnce();
        await new Promise((resolve) => setTimeout(resolve, this.periodMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** One sample of every up node (fed to the checker); returns the answers. */
  async sampleOnce(timeoutMs = 1000): Promise<TableSample[]> {
    const slots = this.c.nodes();
    const answers = await Promise.all(
      slots.map(async (s) => {
        const j = await getJson<ClusterJson>(s.listenPort, '/cluster', timeoutMs);
        return j === undefined ? undefined : sampleFromCluster(s.id, Date.now(), j);
      }),
    );
    const out = answers.filter((a): a is TableSample => a !== undefined);
    for (const a of out) this.checker.add(a);
    return out;
  }
}
