/**
 * `clusterkit data get|set|delete|list`: the cluster's replicated custom data (feature flags, configuration).
 * Writes go through the leader (redirects are followed); reads answer from the node asked, or after its read
 * barrier with --consistent.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../../errors.js';
import { type Command, EXIT_CODES_HELP, ExitCode } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, fsReason } from '../connection.js';
import type { Output } from '../output.js';
import { connect, positionals, segment } from '../remote.js';
import { parseData, parseDataItem, parseKeyPage } from '../wire.js';

const help = `Usage: clusterkit data <get|set|delete|list> [arguments] [options]

The cluster's custom data: small values (at most 1 MiB each) replicated to every node through Raft.

  clusterkit data get <key>              print the value (and a newline; --raw: the exact bytes)
  clusterkit data set <key> <value>      store a value; --file <path> reads it from a file ('-': stdin)
  clusterkit data delete <key>           delete a key (deleting an absent key succeeds)
  clusterkit data list [--prefix <p>]    list the keys, one per line, sorted

Options:
  --consistent            get/list: wait until the node has applied everything committed before answering
  --raw                   get: write the value's bytes exactly, without a newline
  --file <path>           set: read the value from a file, or '-' for stdin
  --if-revision <n>       set/delete: only if the key's revision is still <n> (compare-and-set; exit 5 if not)
  --create-only           set: only if the key does not exist yet (exit 5 if it does)
  --prefix <p>            list: only keys starting with <p>

${CONNECTION_HELP}

Examples:
  clusterkit data set feature-x on
  clusterkit data get feature-x
  clusterkit data get feature-x --json          # value, revision, updated_at
  clusterkit data set config.json --file ./config.json --if-revision 7
  clusterkit data delete feature-x
  clusterkit data list --prefix feature-

Exit code 4 when 'get' finds no such key; 5 when a conditional write lost.

${EXIT_CODES_HELP}`;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(value: Uint8Array): string | null {
  try {
    return utf8.decode(value);
  } catch {
    return null;
  }
}

function revisionOption(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new InvalidArgumentError(`--if-revision must be a revision (a positive integer), got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Values = ReturnType<typeof parse>['values'];

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      consistent: { type: 'boolean' },
      raw: { type: 'boolean' },
      file: { type: 'string' },
      'if-revision': { type: 'string' },
      'create-only': { type: 'boolean' },
      prefix: { type: 'string' },
    },
  });
}

/** Options that only make sense for some sub-commands: refuse them elsewhere rather than ignore them. */
function only(values: Values, sub: string, allowed: readonly string[]): void {
  for (const name of ['consistent', 'raw', 'file', 'if-revision', 'create-only', 'prefix'] as const) {
    if (values[name] !== undefined && !allowed.includes(name)) {
      throw new InvalidArgumentError(`--${name} does not apply to 'data ${sub}'`);
    }
  }
}

async function get(args: readonly string[], values: Values, out: Output): Promise<number> {
  positionals('data get', args, ['<key>']);
  only(values, 'get', ['consistent', 'raw']);
  if (values.raw === true && values.json === true)
    throw new InvalidArgumentError('--raw and --json exclude each other');
  const key = args[0]!;
  const client = connect(values, out);
  const query = values.consistent === true ? '?consistent=true' : '';
  const item = parseDataItem(await client.getJson(`/custom-data/${segment(key)}${query}`));
  if (values.raw === true) {
    out.io.stdout.write(item.value);
    return ExitCode.Ok;
  }
  const text = asText(item.value);
  out.result(
    {
      key: item.key,
      value: text,
      value_base64: item.value.toString('base64'),
      size: item.value.byteLength,
      revision: item.revision,
      updated_at: item.updatedAt,
    },
    () => text ?? `(${item.value.byteLength} bytes of binary data; use --raw or --json)`,
  );
  return ExitCode.Ok;
}

async function set(args: readonly string[], values: Values, out: Output): Promise<number> {
  only(values, 'set', ['file', 'if-revision', 'create-only']);
  let value: Buffer;
  if (values.file !== undefined) {
    positionals('data set', args, ['<key>']);
    if (values.file === '-') value = await readStdin();
    else {
      try {
        value = out.io.readFile(values.file);
      } catch (err) {
        throw new InvalidArgumentError(`cannot read ${JSON.stringify(values.file)}: ${fsReason(err)}`);
      }
    }
  } else {
    positionals('data set', args, ['<key>', '<value>']);
    value = Buffer.from(args[1]!, 'utf8');
  }
  const key = args[0]!;
  const expected = revisionOption(values['if-revision']);
  if (expected !== undefined && values['create-only'] === true) {
    throw new InvalidArgumentError('--if-revision and --create-only exclude each other');
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', Accept: 'application/json' };
  if (expected !== undefined) headers['If-Match'] = `"r${expected}"`;
  if (values['create-only'] === true) headers['If-None-Match'] = '*';
  const client = connect(values, out);
  const res = await client.request('PUT', `/custom-data/${segment(key)}`, { body: value, headers });
  const data = parseData(JSON.parse(res.body.toString('utf8')) as unknown);
  const result = {
    key,
    revision: Number(data['revision'] ?? 0),
    created: data['created'] === true,
    size: value.byteLength,
  };
  out.result(result, () => `${result.created ? 'created' : 'updated'} ${key} (revision ${result.revision})`);
  return ExitCode.Ok;
}

async function del(args: readonly string[], values: Values, out: Output): Promise<number> {
  positionals('data delete', args, ['<key>']);
  only(values, 'delete', ['if-revision']);
  const key = args[0]!;
  const expected = revisionOption(values['if-revision']);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (expected !== undefined) headers['If-Match'] = `"r${expected}"`;
  const client = connect(values, out);
  const res = await client.request('DELETE', `/custom-data/${segment(key)}`, { headers });
  const data = parseData(JSON.parse(res.body.toString('utf8')) as unknown);
  const result = { key, existed: data['existed'] === true };
  out.result(result, () => (result.existed ? `deleted ${key}` : `${key} did not exist (nothing to delete)`));
  return ExitCode.Ok;
}

async function list(args: readonly string[], values: Values, out: Output): Promise<number> {
  positionals('data list', args, []);
  only(values, 'list', ['consistent', 'prefix']);
  const client = connect(values, out);
  const keys: string[] = [];
  let offset = 0;
  // Pages of the largest size the API allows; the list is bounded by the state's key limit.
  for (;;) {
    const q = new URLSearchParams({ limit: '10000', offset: String(offset) });
    if (values.prefix !== undefined) q.set('prefix', values.prefix);
    if (values.consistent === true && offset === 0) q.set('consistent', 'true');
    const page = parseKeyPage(await client.getJson(`/custom-data?${q.toString()}`));
    keys.push(...page.keys);
    if (!page.hasMore || page.nextOffset <= offset) break;
    offset = page.nextOffset;
  }
  out.result({ keys, count: keys.length }, () => keys.join('\n'));
  return ExitCode.Ok;
}

const SUBCOMMANDS: Readonly<Record<string, (args: readonly string[], values: Values, out: Output) => Promise<number>>> =
  { get, set, delete: del, list };

export const dataCommand: Command = {
  name: 'data',
  summary: 'get, set, delete and list the replicated custom data',
  help,
  async run(argv, out) {
    const { values, positionals: args } = parse(argv);
    const [sub, ...rest] = args;
    if (sub === undefined)
      throw new InvalidArgumentError(
        "data needs a sub-command: get, set, delete or list (see 'clusterkit data --help')",
      );
    const run = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (run === undefined) {
      throw new InvalidArgumentError(
        `unknown data sub-command ${JSON.stringify(sub)}; expected get, set, delete or list`,
      );
    }
    return run(rest, values, out);
  },
};
