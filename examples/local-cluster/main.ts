/**
 * The main job (`npm start`): a local cluster of real ClusterKit node processes running the server-side KV example,
 * broken and healed in front of you. See README.md next to this file, or `npm start -- --help`.
 *
 *   node --import tsx examples/local-cluster/main.ts [--nodes 5] [--keys 1000] ...
 *
 * Exit codes: 0 every key verified; 1 a step failed (the reason is printed); 2 bad options; 130 interrupted
 * (Ctrl-C stops every process this started and removes its temp directory).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions, USAGE } from './args.js';
import type { LocalCluster } from './cluster.js';
import { REPO_ROOT } from './processes.js';
import { runLocalCluster } from './run.js';
import { renderSummary } from './summary.js';
import { LiveView } from './view.js';

const parsed = parseOptions(process.argv.slice(2));
if (parsed.kind === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (parsed.kind === 'error') {
  process.stderr.write(`error: ${parsed.message}\nRun with --help for the options.\n`);
  process.exit(2);
}
const options = parsed.options;
if (!existsSync(join(REPO_ROOT, options.server))) {
  process.stderr.write(`error: --server: no file ${join(REPO_ROOT, options.server)}\n`);
  process.exit(2);
}

// isTTY is undefined, not false, when stdout is a pipe or a file (the types say boolean).
const tty = (process.stdout.isTTY as boolean | undefined) === true && !options.plain;
const color = tty && options.color && process.env['NO_COLOR'] === undefined && process.stdout.hasColors();
const view = new LiveView(process.stdout, { tty, color });

let cluster: LocalCluster | undefined;
let interrupted = false;

async function stopEverything(): Promise<string> {
  const c = cluster;
  if (c === undefined) return 'nothing was running';
  const pids = c.group.runningPids();
  await c.close();
  return `stopped ${pids.length} node process${pids.length === 1 ? '' : 'es'}${pids.length === 0 ? '' : ` (pids ${pids.join(', ')})`} and removed ${c.group.dir}`;
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) {
    // A second Ctrl-C: no more waiting. The exit hook of processes.ts still SIGKILLs every child.
    process.exit(130);
  }
  interrupted = true;
  view.close();
  process.stdout.write(`\n${signal}: stopping every process this run started…\n`);
  stopEverything().then(
    (what) => {
      process.stdout.write(`${what}\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    },
    (err: unknown) => {
      process.stderr.write(`cleanup failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const summary = await runLocalCluster(options, view, { onCluster: (c) => (cluster = c) });
if (!interrupted) {
  view.detail('stopping the cluster');
  const what = await stopEverything();
  view.log(what, 'dim');
  view.close();
  process.stdout.write(`${renderSummary(summary, view.paint).join('\n')}\n`);
  process.exit(summary.ok ? 0 : 1);
}
