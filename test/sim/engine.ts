/** The participant the simulation tests: the real engine, exactly as it runs in a real process. */
import { RaftNode } from '../../src/raft/node.js';
import type { RaftFactory } from './cluster.js';
import type { SimResult } from './state-machine.js';

export const realFactory: RaftFactory = (options) => new RaftNode<SimResult>(options);

/** Kept async so callers do not care whether the engine module is loaded lazily. */
export async function loadEngine(): Promise<RaftFactory> {
  return realFactory;
}
