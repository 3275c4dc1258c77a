/**
 * TLS material of a node: its certificate, key and CA, read from files, as
 * - a `tls.Server` that never listens: the shared listener hands it the connections that start with a TLS record,
 *   and it terminates TLS for both HTTP and Raft (src/raft/transport/listener.ts);
 * - a client SecureContext for what the node dials (Raft peers, POST /join), presenting the same certificate.
 *
 * Reload without restart: `reload()` re-reads the files and swaps both at once (`tls.Server.setSecureContext`);
 * connections made afterwards use the new certificate, open ones keep theirs. A reload that fails (a key that does
 * not match its certificate mid-rotation, a missing file) changes nothing and rejects. With `watchIntervalMs`, the
 * files' size and mtime are checked on the injected Scheduler and a change triggers a reload.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import tls from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import type { Scheduler, TimerHandle } from '../util/io.js';
import { errorFields, type Logger } from '../util/logger.js';
import type { ResolvedTls } from './options.js';

interface Loaded {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly context: tls.SecureContext;
  readonly fingerprint256: string;
}

async function readPem(option: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const why = (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
    throw new InvalidArgumentError(`${option}: cannot read ${file} (${why})`, {
      cause: err,
    });
  }
}

async function load(t: ResolvedTls): Promise<Loaded> {
  const [cert, key, ca] = await Promise.all([
    readPem('tls.certFile', t.certFile),
    readPem('tls.keyFile', t.keyFile),
    t.caFile === undefined ? Promise.resolve(undefined) : readPem('tls.caFile', t.caFile),
  ]);
  let context: tls.SecureContext;
  let fingerprint256: string;
  try {
    context = tls.createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }), minVersion: 'TLSv1.2' });
    fingerprint256 = new X509Certificate(cert).fingerprint256;
  } catch (err) {
    // OpenSSL's message ("key values mismatch", "no start line") names the problem, never the key material.
    throw new InvalidArgumentError(
      `tls: cannot use ${t.certFile} with ${t.keyFile}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return { cert, key, ca, context, fingerprint256 };
}

async function fileStamp(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (f) => {
      try {
        const s = await stat(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    }),
  );
  return parts.join('|');
}

export class TlsMaterial {
  readonly options: ResolvedTls;
  /** Terminates TLS for accepted connections (never listens itself). */
  readonly server: tls.Server;
  #loaded: Loaded;
  #reloads = 0;
  #stamp = '';
  #timer: TimerHandle | null = null;
  #stopped = true;
  #reloading: Promise<boolean> | null = null;

  private constructor(options: ResolvedTls, loaded: Loaded, handshakeTimeoutMs: number) {
    this.options = options;
    this.#loaded = loaded;
    const verifyClients = options.clientCerts !== 'none';
    this.server = tls.createServer({
      ...this.#contextOptions(loaded),
      requestCert: verifyClients,
      rejectUnauthorized: options.clientCerts === 'require',
      handshakeTimeout: handshakeTimeoutMs,
    });
  }

  /** Reads and checks the files. Rejects with InvalidArgumentError naming the option. */
  static async load(options: ResolvedTls, handshakeTimeoutMs: number): Promise<TlsMaterial> {
    const m = new TlsMaterial(options, await load(options), handshakeTimeoutMs);
    m.#stamp = await fileStamp(m.#files());
    return m;
  }

  /** The client context: this node's certificate and the CA it verifies servers with. */
  get clientContext(): tls.SecureContext {
    return this.#loaded.context;
  }

  /** SHA-256 fingerprint of the certificate in use (for logs). */
  get fingerprint256(): string {
    return this.#loaded.fingerprint256;
  }

  get reloads(): number {
    return this.#reloads;
  }

  /**
   * Re-reads the files and switches to them for new connections. Resolves with whether the certificate changed;
   * rejects (InvalidArgumentError) and keeps the old material when the new files are unusable.
   */
  reload(): Promise<boolean> {
    // Concurrent callers (a watcher tick and an explicit call) share one reload.
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #reload(): Promise<boolean> {
    const stamp = await fileStamp(this.#files());
    const next = await load(this.options);
    this.server.setSecureContext(this.#contextOptions(next));
    const changed = next.fingerprint256 !== this.#loaded.fingerprint256;
    this.#loaded = next;
    this.#stamp = stamp;
    this.#reloads++;
    return changed;
  }

  /** Checks the files every `watchIntervalMs` (when set) and reloads on change; failures are logged and retried. */
  watch(scheduler: Scheduler, logger: Logger): void {
    const every = this.options.watchIntervalMs;
    if (every === 0 || this.#timer !== null) return;
    const tick = (): void => {
      this.#timer = null;
      void fileStamp(this.#files())
        .then(async (stamp) => {
          if (stamp === this.#stamp) return;
          const changed = await this.reload();
          logger.info({ fingerprint256: this.fingerprint256, changed }, 'TLS certificate files changed; reloaded');
        })
        .catch((err: unknown) => {
          // Files mid-rotation (a new certificate before its key): the next tick tries again.
          logger.error({ ...errorFields(err) }, 'TLS reload failed; still using the previous certificate');
        })
        .finally(() => {
          if (this.#timer === null && !this.#stopped) this.#timer = scheduler.setTimeout(tick, every);
        });
    };
    this.#stopped = false;
    this.#timer = scheduler.setTimeout(tick, every);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #files(): string[] {
    const o = this.options;
    return [o.certFile, o.keyFile, ...(o.caFile === undefined ? [] : [o.caFile])];
  }

  #contextOptions(l: Loaded): tls.SecureContextOptions {
    return { cert: l.cert, key: l.key, ...(l.ca === undefined ? {} : { ca: l.ca }), minVersion: 'TLSv1.2' };
  }
}

/**
 * The names a verified peer certificate gives its holder: the subject CN and the DNS and URI subject alternative
 * names. Empty when the socket has no certificate or it was not verified against the CA.
 */
export function verifiedCertNames(socket: unknown): readonly string[] {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return [];
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || Object.keys(cert).length === 0) return [];
  const names: string[] = [];
  const cn: unknown = (cert.subject as unknown as Record<string, unknown> | undefined)?.['CN'];
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) for (const c of cn) if (typeof c === 'string') names.push(c);
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const m = /^(DNS|URI):(.*)$/.exec(entry);
    if (m !== null) names.push(m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return names;
}
