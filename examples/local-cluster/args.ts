/** The main job's command line: `npm start -- [options]`. Pure: parse, validate, or explain. */
import { parseArgs } from 'node:util';

export interface Options {
  readonly nodes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly replication: number;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly healthThreshold: number;
  readonly concurrency: number;
  /** The KV server script, relative to the repository root. */
  readonly server: string;
  /** A secure cluster: secret, TLS on every port (certificates made for the run), admin and read tokens. */
  readonly secure: boolean;
  /** Plain lines even on a terminal. */
  readonly plain: boolean;
  readonly color: boolean;
}

export const DEFAULTS: Options = {
  nodes: 5,
  keys: 1000,
  partitions: 64,
  replication: 3,
  healthIntervalMs: 500,
  healthTimeoutMs: 1000,
  healthThreshold: 3,
  concurrency: 16,
  server: 'examples/kv-server-side/server.ts',
  secure: false,
  plain: false,
  color: true,
};

export const USAGE = `Usage: npm start -- [options]

Starts a local cluster of real ClusterKit node processes running the server-side KV example, writes keys, kills a
node (SIGKILL) and shows its detection, the rebalance and the data moves, restarts it and shows the rejoin, reads
every key back and checks its value, then prints a summary. Exit code 0 when every key was verified.

Options:
  --nodes N              node processes (default 5, 3..20)
  --keys N               keys to write and verify (default 1000, 1..100000)
  --partitions N         partitions (default 64, at most 1024)
  --replication N        copies of each partition, primary included (default 3, 2..nodes)
  --health-interval MS   how often the leader checks liveness (default 500)
  --health-timeout MS    silence after which a node is unhealthy (default 1000)
  --health-threshold N   a node silent for interval × N is removed (default 3)
  --concurrency N        KV requests in flight (default 16)
  --server PATH          the KV server script, relative to the repository root; it must speak the contract of
                         examples/kv-server-side/server.ts (default: that one)
  --secure               a secure cluster: a cluster secret, TLS on every port (a CA and per-node certificates
                         made for the run with openssl), admin and read tokens; the same steps, over https
  --plain                plain lines, even on a terminal
  --no-color             no colours
  -h, --help             this text

Examples:
  npm start                              # 5 nodes, 1,000 keys
  npm start -- --nodes 3 --keys 200      # smaller and quicker
  npm start -- --secure                  # the same on a secure cluster (secret, TLS, tokens)
  npm start -- --plain > run.log         # a log file (plain lines are the default when not a terminal)

Exit codes: 0 every key verified; 1 a check failed or a step timed out (the reason is printed); 2 bad options;
130 interrupted (Ctrl-C: every process it started is stopped and its temp directory removed).`;

export type ParseResult =
  | { readonly kind: 'run'; readonly options: Options }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function parseOptions(argv: readonly string[]): ParseResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string' },
        keys: { type: 'string' },
        partitions: { type: 'string' },
        replication: { type: 'string' },
        'health-interval': { type: 'string' },
        'health-timeout': { type: 'string' },
        'health-threshold': { type: 'string' },
        concurrency: { type: 'string' },
        server: { type: 'string' },
        secure: { type: 'boolean' },
        plain: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (values['help'] === true) return { kind: 'help' };
  const s = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  try {
    const nodes = int('nodes', s('nodes'), DEFAULTS.nodes, 3, 20);
    const options: Options = {
      nodes,
      keys: int('keys', s('keys'), DEFAULTS.keys, 1, 100_000),
      partitions: int('partitions', s('partitions'), DEFAULTS.partitions, 1, 1024),
      // One copy would die with the killed node: at least two, so that every key survives the kill.
      replication: int('replication', s('replication'), Math.min(DEFAULTS.replication, nodes), 2, nodes),
      healthIntervalMs: int('health-interval', s('health-interval'), DEFAULTS.healthIntervalMs, 50, 60_000),
      healthTimeoutMs: int('health-timeout', s('health-timeout'), DEFAULTS.healthTimeoutMs, 50, 60_000),
      healthThreshold: int('health-threshold', s('health-threshold'), DEFAULTS.healthThreshold, 1, 100),
      concurrency: int('concurrency', s('concurrency'), DEFAULTS.concurrency, 1, 256),
      server: s('server') ?? DEFAULTS.server,
      secure: values['secure'] === true,
      plain: values['plain'] === true,
      color: values['no-color'] !== true,
    };
    return { kind: 'run', options };
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}
