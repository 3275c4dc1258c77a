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
import { runAgent } from '../../../src/cli/agent.js';
import { resolveAgentConfig } from '../../../src/cli/agent-config.js';
import { ClusterKit } from '../../../src/cluster/index.js';
import { stderrLogger } from '../../fixtures/stderr-logger.js';
import { out, printHookEvents, readDiskCommands } from './child-io.js';
import { createFaultyFileSystem } from './faulty-fs.js';

const fs = createFaultyFileSystem();
const config = resolveAgentConfig({}, process.env);
const handle = runAgent(config, {
  logger: stderrLogger({ node: config.nodeId }),
  createNode: (options) => {
    const ck = new ClusterKit({ ...options, fileSystem: fs });
    printHookEvents(ck);
    return ck;
  },
});
handle.ready.catch((err: unknown) => out({ type: 'fatal', message: err instanceof Error ? err.message : String(err) }));

// The harness went away: stop at once (the second signal skips the graceful leave).
readDiskCommands(fs, () => {
  handle.signal('SIGTERM');
  handle.signal('SIGTERM');
});
