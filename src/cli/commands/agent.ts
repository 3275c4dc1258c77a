/**
 * `clusterkit agent`: runs one ClusterKit node until signalled, configured by flags and environment variables,
 * logging JSON lines (pino) on stdout. The work is in ../agent.ts (runAgent) and ../agent-config.ts.
 */

import { resolveOptions } from '../../cluster/options.js';
import {
  AGENT_SECRETS,
  AGENT_SETTINGS,
  type AgentConfig,
  agentNodeOptions,
  parseAgentArgs,
  redacted,
  resolveAgentConfig,
} from '../agent-config.js';
import { type Command, ExitCode } from '../command.js';

function settingsHelp(): string {
  // Two lines per setting: the flag and its variable, then what it does (keeps the help within 100 columns).
  const left = AGENT_SETTINGS.map((s) => `  --${s.flag} ${s.value}`);
  const width = Math.max(...left.map((l) => l.length));
  return AGENT_SETTINGS.map((s, i) => `${left[i]!.padEnd(width)}  ${s.env}\n      ${s.help}`).join('\n');
}

const help = `Usage: clusterkit agent [options]

Runs one ClusterKit node until it is signalled. Without JOIN_ADDR (and with an empty data directory) it bootstraps
a new cluster; with JOIN_ADDR it joins through any of those nodes; with a data directory from an earlier run it
restarts from it and rejoins. Logs are JSON lines on stdout; one line has "event":"ready" once the node is a
member (with its id, address and whether it bootstrapped, joined or restarted).

SIGTERM or SIGINT: leave the cluster gracefully (partitions are handed over), then exit 0. A second signal: stop
at once without leaving, exit 128 + signal number (130 for SIGINT, 143 for SIGTERM).

Every setting is a flag or an environment variable (the flag wins; an empty variable counts as unset).
Durations: milliseconds (1500) or with a unit (500ms, 2s, 1m30s). Booleans: true/false, 1/0, yes/no, on/off.

${settingsHelp()}
  --print-config
      print the resolved configuration as JSON (secrets redacted) and exit (nothing starts)

Secrets are environment variables only (a flag would show them in the process list):
${AGENT_SECRETS.map((x) => `  ${x.env}\n      ${x.help}`).join('\n')}

SIGHUP, with TLS: re-read the certificate, key and CA files (open connections keep theirs).


Examples:
  clusterkit agent --node-id node-1 --http-addr 127.0.0.1:8080
  clusterkit agent --node-id node-2 --http-addr 127.0.0.1:8081 --join-addr 127.0.0.1:8080
  NODE_ID=node-3 HTTP_PORT=8080 JOIN_ADDR=node-1:8080,node-2:8080 DATA_DIR=/data clusterkit agent
  NODE_ID=n1 HEALTH_CHECK_INTERVAL=1s HEALTH_CHECK_TIMEOUT=500ms SERVICES=kv=:9000 clusterkit agent

Exit codes:
  0    left the cluster after SIGTERM/SIGINT (or --print-config)
  1    the node could not start, died, or could not leave in time
  2    bad configuration (nothing was started)
  130  stopped at once by a second SIGINT; 143 by a second SIGTERM`;

/** The configuration, checked by ClusterKit's own validation (exit code 2 if refused), secrets redacted. */
function printable(config: AgentConfig): unknown {
  resolveOptions(agentNodeOptions(config, undefined));
  return redacted(config);
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run a ClusterKit node (configured by flags or environment variables)',
  help,
  async run(argv, out) {
    const { flags, printConfig } = parseAgentArgs(argv);
    const config = resolveAgentConfig(flags, out.io.env);
    if (printConfig) {
      out.io.stdout.write(`${JSON.stringify(printable(config), null, 2)}\n`);
      return ExitCode.Ok;
    }
    // Loaded only here: the other commands never load the node, its Raft engine or pino.
    const [{ runAgent }, { agentLogger }] = await Promise.all([import('../agent.js'), import('../logger.js')]);
    // Throws InvalidArgumentError (exit code 2) before anything starts when ClusterKit refuses an option.
    const handle = runAgent(config, { logger: agentLogger(config.logLevel) });
    return handle.done;
  },
};
