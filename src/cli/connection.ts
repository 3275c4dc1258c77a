/**
 * The options every command that talks to a node shares (`--addr`, `--token`, `--tls`, `--ca`, `--cert`, `--key`,
 * `--timeout`, `--json`), their environment variables, and their resolution into ClientOptions.
 *
 * Rules: a flag overrides its variable; TLS is on with `--tls`, an `https://` address, or any of the CA,
 * certificate and key (flag or variable); an explicit `http://` address with TLS material is a contradiction and
 * refused; a certificate needs its key and the other way round.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ClientOptions, TlsMaterial } from './client.js';
import { parseDuration } from './duration.js';

export const DEFAULT_ADDR = '127.0.0.1:8080';
export const DEFAULT_TIMEOUT_MS = 10_000;

/** parseArgs option definitions of the connection flags. */
export const CONNECTION_OPTIONS = {
  addr: { type: 'string' },
  token: { type: 'string' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const CONNECTION_HELP = `Connection options (every command that talks to a node):
  --addr <host:port|url>  the node to ask, any member (env CLUSTERKIT_ADDR; default ${DEFAULT_ADDR});
                          https://host:port turns TLS on
  --token <token>         sent as "Authorization: Bearer <token>" (env CLUSTERKIT_TOKEN)
  --tls                   use https (also implied by --ca, --cert, --key)
  --ca <file>             PEM CA bundle to verify the node with (env CLUSTERKIT_CA)
  --cert <file>           PEM client certificate, for mutual TLS (env CLUSTERKIT_CERT)
  --key <file>            PEM key of the client certificate (env CLUSTERKIT_KEY)
  --timeout <duration>    give up after this long, redirects included (default 10s)
  --json                  machine-readable output`;

export interface ConnectionFlags {
  readonly addr?: string | undefined;
  readonly token?: string | undefined;
  readonly tls?: boolean | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly timeout?: string | undefined;
}

/** A file-system error in a few words: its code (ENOENT, EACCES) or its message. */
export function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string) => Buffer;

function pick(flag: string | undefined, env: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return env === undefined || env === '' ? undefined : env;
}

/**
 * The base URL of `addr`: `host:port`, `:port` (this machine), `host` (port 8080), `[::1]:8080`, or a URL with
 * `http://` / `https://` and nothing after the authority.
 */
export function parseAddr(addr: string, tls: boolean): URL {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`invalid --addr ${JSON.stringify(addr)}: ${why}`);
  };
  const trimmed = addr.trim();
  if (trimmed === '') bad('it is empty');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') bad('the scheme must be http or https');
  let rest = scheme === undefined ? trimmed : trimmed.slice(scheme.length + 3);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.startsWith(':')) rest = `127.0.0.1${rest}`;
  if (rest === '' || /[/?#@\s]/.test(rest)) bad('expected host:port, optionally with http:// or https://');
  let url: URL;
  try {
    url = new URL(`${scheme ?? (tls ? 'https' : 'http')}://${rest}`);
  } catch {
    return bad('expected host:port, optionally with http:// or https://');
  }
  if (url.hostname === '') bad('the host is missing');
  // The URL parser reads a backslash as a path separator (so `a\\:1` would be host `a` with path `/:1`): anything
  // that left the authority is refused rather than silently dropped.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    bad('expected host:port, optionally with http:// or https://');
  }
  if (url.port === '0') bad('port 0 cannot be dialled');
  if (url.port === '' && !/:[0-9]+$/.test(rest)) url.port = '8080';
  return url;
}

/** Resolves the connection flags and environment into ClientOptions (reads the certificate files). */
export function resolveConnection(flags: ConnectionFlags, env: Env, readFile: ReadFile): ClientOptions {
  const addr = pick(flags.addr, env['CLUSTERKIT_ADDR']) ?? DEFAULT_ADDR;
  const token = pick(flags.token, env['CLUSTERKIT_TOKEN']);
  if (token !== undefined && (token.trim() === '' || /[\r\n]/.test(token))) {
    throw new InvalidArgumentError('the token must be one line of text');
  }
  const files = {
    ca: pick(flags.ca, env['CLUSTERKIT_CA']),
    cert: pick(flags.cert, env['CLUSTERKIT_CERT']),
    key: pick(flags.key, env['CLUSTERKIT_KEY']),
  };
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new InvalidArgumentError('a client certificate needs its key: give both --cert and --key, or neither');
  }
  const material = files.ca !== undefined || files.cert !== undefined;
  const explicitHttp = /^http:\/\//i.test(addr.trim());
  if (explicitHttp && (flags.tls === true || material)) {
    throw new InvalidArgumentError(`--addr ${addr} says http://, but TLS options are set; use https:// or drop them`);
  }
  const base = parseAddr(addr, flags.tls === true || material);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (flags.timeout !== undefined) {
    const ms = parseDuration(flags.timeout);
    if (ms === undefined || ms < 1 || ms > 3_600_000) {
      throw new InvalidArgumentError(`invalid --timeout ${JSON.stringify(flags.timeout)}: expected 500ms, 10s, 1m...`);
    }
    timeoutMs = ms;
  }
  const read = (what: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the ${what} file ${JSON.stringify(path)}: ${fsReason(err)}`);
    }
  };
  let tls: TlsMaterial | undefined;
  if (base.protocol === 'https:') {
    const ca = read('CA', files.ca);
    const cert = read('certificate', files.cert);
    const key = read('key', files.key);
    tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
  }
  return {
    base,
    timeoutMs,
    ...(token === undefined ? {} : { token }),
    ...(tls === undefined ? {} : { tls }),
  };
}
