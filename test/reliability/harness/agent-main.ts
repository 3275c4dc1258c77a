/**
 * `clusterkit agent` as the reliability harness runs it: the agent's own configuration (the same environment
 * variables, resolved by resolveAgentConfig) and its own run loop (runAgent: start, the watchdog, SIGTERM = leave),
 * with two additions injected through runAgent's `createNode`:
 *
 * - the node's filesystem is one the harness can make slow or full (stdin: {"type":"disk","mode":...});
 * - every hook invocation is printed on stdout as {"type":"event",...} (the agent itself logs no hook events).
 *
 * Logs go to stderr. Exits with the agent's exit code. When stdin closes (the harness went away) it stops at once.
 */
import { createInterface } from 'node:readline';
import { runAgent } from '../../../src/cli/agent.js';
import { resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { ClusterKit, type ClusterKitEventName } from '../../../src/cluster/index.js';
import { createFaultyFileSystem, type DiskMode } from './faulty-fs.js';
import { stderrLogger } from './stderr-logger.js';

const EVENTS: readonly ClusterKitEventName[] = [
  'nodeJoin',
  'nodeRejoin',
  'nodeLeave',
  'partitionChange',
  'partitionPromote',
  'partitionDrop',
  'rebalanceStart',
  'rebalanceComplete',
];

function out(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

const fs = createFaultyFileSystem();
const config = resolveAgentConfig({}, process.env);
let seq = 0;
const handle = runAgent(config, {
  logger: stderrLogger({ node: config.nodeId }),
  createNode: (options) => {
    const ck = new ClusterKit({ ...options, fileSystem: fs });
    for (const name of EVENTS) {
      ck.on(name, (event) => out({ type: 'event', name, seq: seq++, at: Date.now(), event }));
    }
    return ck;
  },
});
handle.ready.catch((err: unknown) => out({ type: 'fatal', message: err instanceof Error ? err.message : String(err) }));

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
  .on('close', () => {
    // The harness went away: stop at once (the second signal skips the graceful leave).
    handle.signal('SIGTERM');
    handle.signal('SIGTERM');
  });

void handle.done.then((code) => {
  process.stdout.write('', () => process.exit(code));
});
