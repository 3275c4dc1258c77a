/**
 * One ClusterKit node as a real process for the reliability harness (the stand-in for `clusterkit agent` until
 * the agent exists, and the only launcher that can inject disk faults):
 *
 *   node --import tsx test/reliability/harness/node-main.ts '<NodeMainConfig as JSON>'
 *
 * It runs a ClusterKit on 127.0.0.1 with the HTTP API, advertising the address of the harness's proxy, with a
 * filesystem the harness can make slow or full. Protocol, one JSON object per line:
 *
 *   stdout  {"type":"started","addr":...} once start() resolved
 *           {"type":"event","name":...,"seq":n,"at":ms,"event":{...}} for every hook invocation, as it happens
 *           {"type":"fatal","message":...,"code":...} when start() fails or the node goes down by itself
 *   stdin   {"type":"disk","mode":"ok"|"slow"|"full","delayMs":n}
 *
 * Logs (info and above) go to stderr. The process exits when its node stops (POST /leave, a fatal storage error),
 * after SIGTERM (a graceful leave, as the agent does), and when stdin closes (the harness went away).
 */
import { ClusterKit } from '../../../src/cluster/index.js';
import { ClusterKitError } from '../../../src/errors.js';
import { stderrLogger } from '../../fixtures/stderr-logger.js';
import { out, printHookEvents, readDiskCommands } from './child-io.js';
import { createFaultyFileSystem } from './faulty-fs.js';

export interface NodeMainConfig {
  readonly nodeId: string;
  readonly httpAddr: string;
  readonly advertiseAddr: string;
  readonly joinAddr: readonly string[];
  readonly dataDir: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly healthCheck: { readonly interval: number; readonly timeout: number; readonly failureThreshold: number };
  readonly raft: { readonly electionMs: number; readonly heartbeatMs: number };
}

const config = JSON.parse(process.argv[2] ?? '{}') as NodeMainConfig;

const fs = createFaultyFileSystem();
const ck = new ClusterKit({
  nodeId: config.nodeId,
  httpAddr: config.httpAddr,
  advertiseAddr: config.advertiseAddr,
  dataDir: config.dataDir,
  ...(config.joinAddr.length === 0 ? {} : { joinAddr: config.joinAddr }),
  partitionCount: config.partitionCount,
  replicationFactor: config.replicationFactor,
  healthCheck: config.healthCheck,
  raft: config.raft,
  joinBackoffMs: { min: 50, max: 1000 },
  logger: stderrLogger({ node: config.nodeId }),
  fileSystem: fs,
});
printHookEvents(ck);

let exiting = false;
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  // Let stdout drain (the harness reads the last events) before going.
  process.stdout.write('', () => process.exit(code));
}

function fatal(err: unknown): void {
  out({
    type: 'fatal',
    message: err instanceof Error ? err.message : String(err),
    ...(err instanceof ClusterKitError ? { code: err.code } : {}),
  });
  exit(1);
}

readDiskCommands(fs, () => {
  void ck.stop().finally(() => exit(0));
});

// As `clusterkit agent`: SIGTERM leaves the cluster gracefully.
process.on('SIGTERM', () => {
  void ck.leave().finally(() => exit(0));
});

ck.start().then(
  () => {
    out({ type: 'started', addr: ck.address });
    // The node can go down by itself (leave, a fatal storage error): the process goes with it.
    const timer = setInterval(() => {
      const h = ck.healthCheck();
      if (h.live) return;
      clearInterval(timer);
      void ck.stop().then(
        () => exit(0),
        (err: unknown) => fatal(err),
      );
    }, 100);
  },
  (err: unknown) => fatal(err),
);
