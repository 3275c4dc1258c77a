/**
 * Joining a cluster, both sides.
 *
 * Joiner side (`joinOnce`, driven by membership.ts): one attempt tries each known address in turn (the leader
 * first when known, then the configured `joinAddr` list, then the members this node already knows from its own
 * state) with `POST /join`; a node that is not the leader forwards the join to the leader and relays its answer, or,
 * when it cannot (leader unknown or not answering, client certificates: see `JoinHost.forward`), answers
 * 307 with the leader's address, which is followed (a few hops at most). Refusals that cannot change by retrying
 * (another live node holds the id; the cluster has another partition count or replication factor) end the join
 * with that error; everything else (nobody answering, no leader yet, a timeout) is retried by the caller with
 * back-off until it joins or stops.
 *
 * Leader side (`JoinCoordinator`): admits a node through the replicated state (a `nodeJoin` command, validated by
 * every node identically), then makes it a Raft non-voter (leader duties promote it to voter when there is room).
 * Joins are idempotent: the same node with the same incarnation is `unchanged`. A node restarting from its own
 * data directory (same identity, higher boot count) is first recorded as departed (reason `health_check_failure`:
 * its process ended without leave()), then rejoins: its `nodeRejoin` event carries the time it was offline
 * (measured by the leader from Raft contact) and the partitions it held, and the partition changes that follow
 * tell it what to copy (it lost whatever it kept in memory). Another process claiming the id of a live member is
 * refused with ERR_CONFLICT; one claiming the id of a member that stopped answering is told to retry (503) until
 * the health checks have removed it. In a cluster without credentials (no secret, no client certificates), a
 * restart claim from another address than the member's is also told to retry while the member still answers: the
 * incarnation alone is not proof. With credentials, the HTTP layer has already checked that the joiner's own
 * credentials name the id it claims (src/security/http-auth.ts). 401/403 answers end a join: credentials do not
 * change by retrying.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { SecureContext } from 'node:tls';
import { ClusterKitError, TimeoutError } from '../errors.js';
import {
  JOIN_FORWARDED_BY_HEADER,
  JOIN_FORWARDED_FOR_HEADER,
  type JoinOutcome,
  type JoinRelay,
  type JoinRequest,
} from '../http/api.js';
import type { Scheduler } from '../util/io.js';
import { type Logger } from '../util/logger.js';
import { identityOfIncarnation } from './data-dir.js';
import {
  type ApplyOk,
  type ClusterCommand,
  type ClusterStateView,
  type NodeChanges,
  type NodeRecord,
  type NodeSpec,
} from './state/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Joiner side
// ---------------------------------------------------------------------------------------------------------------

/** What a joiner sends: the HTTP layer's `/join` body (snake_case, as the Go original). */
export interface JoinBody {
  readonly node: {
    readonly id: string;
    readonly name: string;
    readonly http_addr: string;
    readonly zone?: string;
    readonly weight?: number;
    readonly services?: Readonly<Record<string, string>>;
    readonly incarnation: string;
  };
  readonly raft_addr: string;
  readonly cluster_name: string;
  readonly partition_count: number;
  readonly replication_factor: number;
  readonly cluster_id?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/**
 * POSTs JSON to `http(s)://<addr><path>`. Rejects on network failure, timeout or abort. Injected in tests. With
 * `relay`, sends another node's request instead (see JoinForwarder): its exact bytes and credentials, unsigned by
 * this node; `body` is then only for fakes and logs.
 */
export type PostJson = (
  addr: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  relay?: PeerRelay,
) => Promise<HttpResponse>;

/** A request relayed on behalf of another node. */
export interface PeerRelay {
  /** Sent as is (a signature binds its digest). */
  readonly body: Uint8Array;
  /** Sent in place of this node's own signature: the relayed node's credentials, and the forwarding marks. */
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts the request (the forward's deadline, on the node's scheduler). */
  readonly signal?: AbortSignal;
}

/** How a node talks to other nodes over HTTP (see src/security/node-security.ts). */
export interface PeerRequestOptions {
  /** Use https with this context (this node's client certificate, and the CA that verifies the server's). */
  readonly tls?: { readonly clientContext: () => SecureContext; readonly verifyHostname?: boolean };
  /** Headers proving who sends the request (a signature over method, path and body). */
  readonly sign?: (method: string, path: string, body: Buffer) => Record<string, string>;
}

const MAX_RESPONSE_BYTES = 1 << 20;

/** A PostJson on node:http or node:https (no keep-alive: joins are rare). */
export function makePostJson(options: PeerRequestOptions = {}): PostJson {
  return (addr, path, body, timeoutMs, relay) => postOnce(options, addr, path, body, timeoutMs, relay);
}

/** The default PostJson: plain http, no credentials. */
export const postJson: PostJson = makePostJson();

function postOnce(
  options: PeerRequestOptions,
  addr: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  relay: PeerRelay | undefined,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const data = relay === undefined ? Buffer.from(JSON.stringify(body), 'utf8') : Buffer.from(relay.body);
    const colon = addr.lastIndexOf(':');
    const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const t = options.tls;
    const request = t === undefined ? httpRequest : httpsRequest;
    const req = request(
      {
        host,
        port: Number(addr.slice(colon + 1)),
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': data.length,
          connection: 'close',
          // A relayed request keeps the credentials of the node that made it: this node signing it too would make
          // it this node's request, which the leader refuses for another node's id.
          ...(relay === undefined ? options.sign?.('POST', path, data) : relay.headers),
        },
        timeout: timeoutMs,
        ...(relay?.signal === undefined ? {} : { signal: relay.signal }),
        ...(t === undefined
          ? {}
          : {
              agent: false,
              secureContext: t.clientContext(),
              ...(isIP(host) === 0 ? { servername: host } : {}),
              ...(t.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
            }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`response from ${addr} is larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
          } catch {
            // not JSON: keep the text for the error message
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${addr} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** A refusal that retrying will not change: the join ends with it. */
export class JoinRefusedError extends ClusterKitError {
  /** `instanceof` on ClusterKitError subclasses only checks the common brand: test this flag instead. */
  readonly joinRefused = true;

  constructor(code: ClusterKitError['code'], message: string) {
    super(code, message, { retriable: false });
    this.name = 'JoinRefusedError';
  }
}

export function isJoinRefused(err: unknown): err is JoinRefusedError {
  return (err as { joinRefused?: unknown } | null)?.joinRefused === true;
}

function field(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The leader's address in a 307 answer: the Location header, else the body's leader fields. */
function redirectTarget(res: HttpResponse): string | undefined {
  const loc = res.headers['location'];
  const location = Array.isArray(loc) ? loc[0] : loc;
  if (typeof location === 'string') {
    try {
      return new URL(location).host;
    } catch {
      // fall through to the body
    }
  }
  for (const v of [
    field(res.body, 'leader_ip'),
    field(res.body, 'leader', 'http_addr'),
    field(res.body, 'leader_addr'),
  ]) {
    if (typeof v === 'string' && /:[0-9]+$/.test(v) && !v.startsWith(':')) return v;
  }
  return undefined;
}

function errorOf(res: HttpResponse): { code: string; message: string } {
  const code = field(res.body, 'error', 'code');
  const message = field(res.body, 'error', 'message');
  return {
    code: typeof code === 'string' ? code : `HTTP_${res.status}`,
    message: typeof message === 'string' ? message : typeof res.body === 'string' ? res.body : `HTTP ${res.status}`,
  };
}

const TERMINAL_CODES: ReadonlySet<string> = new Set(['ERR_CONFLICT', 'ERR_MEMBERSHIP', 'ERR_INVALID_ARGUMENT']);

export interface JoinAttemptResult {
  /** The node that admitted us. */
  readonly via: string;
  readonly data: unknown;
}

/**
 * One join attempt over `targets` (tried in order, each with its redirects). Resolves when some node admitted
 * us; rejects with JoinRefusedError for a final refusal, or a retriable ClusterKitError (ERR_UNAVAILABLE) listing
 * what every target answered.
 */
export async function joinOnce(
  targets: readonly string[],
  body: JoinBody,
  post: PostJson,
  timeoutMs: number,
  logger: Logger,
): Promise<JoinAttemptResult> {
  const failures: string[] = [];
  const tried = new Set<string>();
  for (const first of targets) {
    let addr: string | undefined = first;
    for (let hop = 0; hop < 5 && addr !== undefined; hop++) {
      if (tried.has(addr)) break;
      tried.add(addr);
      let res: HttpResponse;
      try {
        res = await post(addr, '/join', body, timeoutMs);
      } catch (err) {
        failures.push(`${addr}: ${err instanceof Error ? err.message : String(err)}`);
        break;
      }
      if (res.status >= 200 && res.status < 300) return { via: addr, data: field(res.body, 'data') };
      if (res.status === 307 || res.status === 308) {
        const next = redirectTarget(res);
        logger.debug({ from: addr, to: next }, 'join redirected to the leader');
        if (next === undefined) failures.push(`${addr}: not the leader, and it does not know the leader`);
        addr = next;
        continue;
      }
      const { code, message } = errorOf(res);
      if (res.status === 401 || res.status === 403) {
        // Credentials do not change by retrying: a missing or different cluster secret, a certificate that does not
        // name this node, an id that belongs to another member.
        throw new JoinRefusedError(
          'ERR_MEMBERSHIP',
          `the cluster did not accept this node's credentials (${addr} answered ${res.status} ${code}): ${message}`,
        );
      }
      if (res.status === 409 || res.status === 400 || TERMINAL_CODES.has(code)) {
        throw new JoinRefusedError(
          code === 'ERR_MEMBERSHIP' || code === 'ERR_INVALID_ARGUMENT' ? code : 'ERR_CONFLICT',
          `the cluster refused this node's join (${addr} answered ${res.status} ${code}): ${message}`,
        );
      }
      failures.push(`${addr}: ${res.status} ${code}: ${message}`);
      break;
    }
  }
  throw new ClusterKitError(
    'ERR_UNAVAILABLE',
    targets.length === 0
      ? 'no address to join through'
      : `could not join through ${targets.join(', ')}: ${failures.join('; ')}`,
    { retriable: true },
  );
}

/** Exponential back-off with equal jitter: base·2^n capped, times a factor in [0.5, 1). */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number): number {
  const exp = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return exp * (0.5 + random() / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Forwarding (a follower passing a join on to the leader)
// ---------------------------------------------------------------------------------------------------------------

/** Sends a join this node received, as received, to the leader at `leaderAddr`; resolves with its answer. */
export type JoinForwarder = (
  leaderAddr: string,
  relay: JoinRelay,
  remoteAddress: string | undefined,
) => Promise<HttpResponse>;

export interface JoinForwarderOptions {
  /** This node's client to other nodes (https when the cluster uses TLS): the one its own joins use. */
  readonly post: PostJson;
  /** This node's id, for the forwarding mark. */
  readonly nodeId: string;
  readonly scheduler: Scheduler;
  /** The whole forward, connection to answer. */
  readonly timeoutMs: number;
}

/**
 * A forwarder on the node's own peer client. The joiner's credentials travel verbatim: a node signature binds the
 * method, the request target, the node id, its date and nonce, and the body's digest, all of which are sent
 * unchanged (the nonce is new to the leader, which keeps its own replay cache), so the leader verifies the joiner's
 * own signature exactly as if it had been sent to it directly; an admin token is passed on the same way.
 */
export function makeJoinForwarder(o: JoinForwarderOptions): JoinForwarder {
  return async (leaderAddr, relay, remoteAddress) => {
    const controller = new AbortController();
    // The client's socket timeout only bounds silences; this bounds the whole exchange, on the node's scheduler.
    const timer = o.scheduler.setTimeout(
      () => controller.abort(new TimeoutError(`the leader at ${leaderAddr} did not answer within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    try {
      return await o.post(leaderAddr, relay.target, undefined, o.timeoutMs, {
        body: relay.body,
        headers: {
          ...relay.credentials,
          [JOIN_FORWARDED_BY_HEADER]: encodeURIComponent(o.nodeId),
          ...(remoteAddress === undefined ? {} : { [JOIN_FORWARDED_FOR_HEADER]: remoteAddress }),
        },
        signal: controller.signal,
      });
    } finally {
      timer.cancel();
    }
  };
}

/** The leader's headers a joiner may act on; the others (length, connection, dates) belong to the leader's hop. */
const RELAYED_HEADERS = ['location', 'retry-after', 'www-authenticate'];

function relayedHeaders(headers: HttpResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RELAYED_HEADERS) {
    const v = headers[name];
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Leader side
// ---------------------------------------------------------------------------------------------------------------

/** What the coordinator needs from the node. */
export interface JoinHost {
  readonly state: ClusterStateView;
  /**
   * Resolves once `state` reflects every command committed before the call (a Raft read barrier). A new leader
   * may not have applied what earlier leaders committed yet: deciding from that state refused restarted nodes
   * for good (found by the reliability harness, test/reliability/stale-join.test.ts).
   */
  sync?(): Promise<void>;
  /** Proposes through Raft; resolves with the applied result, rejects on a refusal (refusalToError). */
  propose(command: ClusterCommand): Promise<ApplyOk>;
  /** Adds `id` as a Raft non-voter at `addr` (or fixes its address), serialised with other membership changes. */
  ensureRaftMember(id: string, addr: string): Promise<void>;
  /** Removes `id` from Raft (a joiner the state refused). */
  removeRaftMember(id: string): Promise<void>;
  /** Whether this node is the Raft leader now. */
  isLeader(): boolean;
  /** The leader as this node knows it, for redirects (and forwards). */
  redirect(): JoinOutcome;
  /** Whether the leader currently hears from `id` (false when it is not tracked). */
  isReachable(id: string): boolean;
  /** Wall-clock ms the leader last heard from `id` before its latest outage (for a restart's offline time). */
  lastSeenBeforeOutage(id: string): number;
  /** Ids whose join is being processed: leader duties leave their Raft membership alone meanwhile. */
  readonly pendingJoins: Set<string>;
  /**
   * True when every join over HTTP carries the joining node's own credentials (a cluster secret or client
   * certificates: the HTTP layer checked that the claimed id is theirs). False in an open cluster, where a restart
   * claim is only believed from the member's own address, or once the member stopped answering.
   */
  readonly authenticatedJoins?: boolean;
  /**
   * How this node, when it is not the leader, forwards the joins it receives to the leader instead of redirecting
   * the joiner (undefined: redirect only; see MembershipAgent.joinForwarder).
   */
  readonly forward?: JoinForwarder | undefined;
  readonly wallClock: () => number;
  readonly logger: Logger;
}

/** True when `next` is a later life of the same data directory as `current` (see data-dir.ts). */
export function isRestartOf(current: string, next: string): boolean {
  if (identityOfIncarnation(current) !== identityOfIncarnation(next) || identityOfIncarnation(next) === next) {
    return false;
  }
  const boot = (s: string): number => Number(s.slice(s.lastIndexOf('.') + 1));
  return boot(next) > boot(current);
}

function changesBetween(present: NodeRecord, spec: NodeSpec): NodeChanges | undefined {
  const c: { -readonly [K in keyof NodeChanges]: NodeChanges[K] } = {};
  if (present.name !== spec.name) c.name = spec.name;
  if (present.httpAddr !== spec.httpAddr) c.httpAddr = spec.httpAddr;
  if (present.raftAddr !== spec.raftAddr) c.raftAddr = spec.raftAddr;
  if ((present.zone ?? null) !== (spec.zone ?? null)) c.zone = spec.zone ?? null;
  if (present.weight !== (spec.weight ?? 1)) c.weight = spec.weight ?? 1;
  const s = spec.services ?? {};
  const keys = Object.keys(s).sort();
  const same = keys.length === Object.keys(present.services).length && keys.every((k) => present.services[k] === s[k]);
  if (!same) c.services = s;
  return Object.keys(c).length === 0 ? undefined : c;
}

export class JoinCoordinator {
  readonly #host: JoinHost;
  /** One join per node id at a time (a retried request must not race its first attempt). */
  readonly #byId = new Map<string, Promise<unknown>>();

  constructor(host: JoinHost) {
    this.#host = host;
  }

  async handle(request: JoinRequest): Promise<JoinOutcome> {
    const h = this.#host;
    if (!h.isLeader()) return this.#notLeader(request);
    if (!h.state.bootstrapped) {
      throw new ClusterKitError('ERR_UNAVAILABLE', 'the cluster is still being bootstrapped; retry shortly', {
        retriable: true,
      });
    }
    const id = request.node.id;
    const previous = this.#byId.get(id) ?? Promise.resolve();
    const run = previous.then(
      () => this.#admitFresh(request),
      () => this.#admitFresh(request),
    );
    const tail = run.catch(() => undefined);
    this.#byId.set(id, tail);
    void tail.then(() => {
      if (this.#byId.get(id) === tail) this.#byId.delete(id);
    });
    return run;
  }

  /**
   * Admits from an up-to-date state: after a read barrier, and again (twice at most) when a proposal was refused
   * for a conflict while the state moved under it (another command about the same node committed meanwhile).
   */
  async #admitFresh(request: JoinRequest): Promise<JoinOutcome> {
    const h = this.#host;
    for (let attempt = 0; ; attempt++) {
      if (h.isLeader()) await h.sync?.();
      const revision = h.state.revision;
      try {
        return await this.#admit(request);
      } catch (err) {
        const conflict = err instanceof ClusterKitError && err.code === 'ERR_CONFLICT';
        if (!conflict || attempt >= 2 || h.state.revision === revision) throw err;
        h.logger.info(
          { node: request.node.id, err: String(err) },
          'join conflicted with a concurrent change; retrying',
        );
      }
    }
  }

  async #admit(request: JoinRequest): Promise<JoinOutcome> {
    const h = this.#host;
    if (!h.isLeader()) return this.#notLeader(request);
    const receivedAt = h.wallClock();
    const r = request.node;
    const present = h.state.node(r.id);
    // A Go original joiner sends no incarnation: it keeps the one on record, or gets a fresh one.
    const incarnation = r.incarnation ?? present?.incarnation ?? `legacy-${randomBytes(8).toString('hex')}.1`;
    const spec: NodeSpec = {
      id: r.id,
      name: r.name,
      httpAddr: r.httpAddr,
      raftAddr: r.raftAddr,
      incarnation,
      ...(r.zone === undefined ? {} : { zone: r.zone }),
      ...(r.weight === undefined ? {} : { weight: r.weight }),
      ...(r.services === undefined ? {} : { services: r.services }),
    };
    const expectations = {
      ...(request.clusterId === undefined ? {} : { clusterId: request.clusterId }),
      ...(request.clusterName === undefined ? {} : { clusterName: request.clusterName }),
      ...(request.partitionCount === undefined ? {} : { partitionCount: request.partitionCount }),
      ...(request.replicationFactor === undefined ? {} : { replicationFactor: request.replicationFactor }),
    };
    this.#checkExpectations(expectations);
    h.pendingJoins.add(r.id);
    try {
      let join: 'new' | 'rejoin' | 'unchanged';
      if (present !== undefined && present.incarnation !== incarnation) {
        if (!isRestartOf(present.incarnation, incarnation)) {
          if (h.isReachable(r.id)) {
            throw new ClusterKitError(
              'ERR_CONFLICT',
              `node id ${JSON.stringify(r.id)} belongs to a live member (at ${present.httpAddr}); ` +
                'another process cannot take it over. Use another nodeId, or stop that node first',
            );
          }
          throw new ClusterKitError(
            'ERR_UNAVAILABLE',
            `node id ${JSON.stringify(r.id)} is held by a member that stopped answering; ` +
              'the join succeeds once health checks have removed it',
            { retriable: true },
          );
        }
        if (
          h.authenticatedJoins !== true &&
          request.remoteAddress !== undefined &&
          (present.httpAddr !== spec.httpAddr || present.raftAddr !== spec.raftAddr) &&
          h.isReachable(r.id)
        ) {
          // Without credentials, anyone who learnt the member's incarnation could claim to be its restart. A real
          // restart elsewhere (a new IP) gets in once the old address stops answering: it is told to retry.
          throw new ClusterKitError(
            'ERR_UNAVAILABLE',
            `node id ${JSON.stringify(r.id)} belongs to a live member at ${present.httpAddr}; a restart of it from ` +
              `another address (${spec.httpAddr}) is accepted once that member stops answering`,
            { retriable: true },
          );
        }
        // The same node, restarted from its own disk: it lost what it held in memory. Record its departure,
        // then admit it again, so the cluster (and the node itself) sees a rejoin with its real offline time.
        const lastSeenAt = Math.min(h.lastSeenBeforeOutage(r.id), receivedAt);
        h.logger.info({ node: r.id, lastSeenAt }, 'a member restarted; recording its departure before it rejoins');
        await h.propose({
          type: 'nodeLeave',
          at: h.wallClock(),
          nodeId: r.id,
          reason: 'health_check_failure',
          incarnation: present.incarnation,
          lastSeenAt,
          triggeredAt: Math.min(receivedAt, h.wallClock()),
        });
      }
      const current = h.state.node(r.id);
      // The Raft membership is proposed together with the state change rather than after its commit: both land
      // in the same log append (one commit instead of two in a row), and the new member starts receiving the log
      // at once. Adding a non-voter is harmless if the state then refuses the node: it is removed again below.
      const raftMember = this.#ensureRaftMember(r.id, spec.raftAddr);
      if (current !== undefined && current.incarnation === incarnation) {
        const changes = changesBetween(current, spec);
        if (changes !== undefined) {
          await h.propose({ type: 'nodeUpdate', at: h.wallClock(), nodeId: r.id, incarnation, changes });
        }
        join = 'unchanged';
      } else {
        let result: ApplyOk;
        try {
          result = await h.propose({
            type: 'nodeJoin',
            at: h.wallClock(),
            triggeredAt: Math.min(receivedAt, h.wallClock()),
            node: spec,
            ...expectations,
          });
        } catch (err) {
          await this.#undoRaftMember(r.id, raftMember, err);
          throw err;
        }
        join = result.join ?? 'new';
      }
      const added = await raftMember;
      if (added !== true) {
        // Admitted to the state; Raft is busy with another change (or lost the leader). The joiner retries, and
        // its retry finds the node `unchanged` and finishes this step. (The leader duties would finish it too.)
        throw new ClusterKitError(
          'ERR_UNAVAILABLE',
          `node admitted; adding it to Raft is still in progress (${String(added.error)})`,
          {
            retriable: true,
            cause: added.error,
          },
        );
      }
      h.logger.info({ node: r.id, join }, 'node admitted');
      return {
        kind: 'joined',
        nodeId: r.id,
        clusterId: h.state.clusterId ?? '',
        nodeCount: h.state.nodeCount,
        join,
        tableVersion: h.state.table?.version ?? 0,
      };
    } finally {
      h.pendingJoins.delete(r.id);
    }
  }

  /**
   * Not the leader: forward the join to the leader when the request can be relayed (it came over HTTP, and no node
   * forwarded it before: one hop only), else redirect. A joiner may reach this node and not the leader's advertised
   * address, and Go original joiners do not follow redirects.
   */
  async #notLeader(request: JoinRequest): Promise<JoinOutcome> {
    const h = this.#host;
    const redirect = h.redirect();
    const addr = redirect.kind === 'redirect' ? redirect.leader?.httpAddr : undefined;
    const forward = h.forward;
    // No known leader address: the redirect says so (503 and retry), as before.
    if (forward === undefined || request.relay === undefined || addr === undefined) return redirect;
    let res: HttpResponse;
    try {
      res = await forward(addr, request.relay, request.remoteAddress);
    } catch (err) {
      // The leader did not answer in time, or not at all. Fall back to the redirect rather than a 503: it is what
      // joiners got before forwarding existed, a ClusterKit joiner that can reach the leader itself still gets in
      // on this attempt, and a joiner that cannot (or a Go joiner) sees a non-2xx and retries with back-off either
      // way, by which time a leader that is really gone has been replaced.
      h.logger.warn(
        { node: request.node.id, leader: addr, err: String(err) },
        'could not forward a join to the leader; redirecting the joiner there',
      );
      return redirect;
    }
    if (res.status < 100 || res.status > 599 || typeof res.body !== 'object' || res.body === null) {
      // Not an answer of a ClusterKit node's API (a proxy's page, a port that speaks something else).
      h.logger.warn(
        { node: request.node.id, leader: addr, status: res.status },
        'the leader answered a forwarded join with something other than JSON; redirecting the joiner there',
      );
      return redirect;
    }
    h.logger.debug({ node: request.node.id, leader: addr, status: res.status }, 'join forwarded to the leader');
    return { kind: 'relayed', via: addr, status: res.status, body: res.body, headers: relayedHeaders(res.headers) };
  }

  /** Starts adding `id` to Raft; resolves with true, or with the error (never rejects). */
  #ensureRaftMember(id: string, addr: string): Promise<true | { error: unknown }> {
    let p: Promise<void>;
    try {
      p = this.#host.ensureRaftMember(id, addr);
    } catch (error) {
      return Promise.resolve({ error });
    }
    return p.then(
      () => true as const,
      (error: unknown) => ({ error }),
    );
  }

  /**
   * The state refused a node whose Raft membership was proposed with it: take it out of Raft again, unless it was
   * a member before (a rejoin keeps its place) or the refusal may go away on a retry (no leader, a timeout: the
   * joiner retries and needs the membership; the leader duties remove it if it never joins).
   */
  async #undoRaftMember(id: string, raftMember: Promise<true | { error: unknown }>, refusal: unknown): Promise<void> {
    const h = this.#host;
    const retriable = refusal instanceof ClusterKitError && refusal.retriable;
    if ((await raftMember) !== true || retriable || h.state.node(id) !== undefined || !h.isLeader()) return;
    try {
      await h.removeRaftMember(id);
    } catch (err) {
      h.logger.warn({ node: id, err: String(err) }, 'could not take a refused joiner out of raft; leader duties will');
    }
  }

  /** Refuses a joiner whose settings differ from the cluster's before anything changes. */
  #checkExpectations(e: {
    clusterId?: string;
    clusterName?: string;
    partitionCount?: number;
    replicationFactor?: number;
  }): void {
    const s = this.#host.state;
    const c = s.config;
    if (c === undefined) return;
    const mismatch = (what: string, theirs: unknown, ours: unknown): never => {
      throw new ClusterKitError(
        'ERR_MEMBERSHIP',
        `the joining node has ${what} ${JSON.stringify(theirs)}, the cluster has ${JSON.stringify(ours)}`,
      );
    };
    if (e.clusterId !== undefined && e.clusterId !== s.clusterId) mismatch('cluster id', e.clusterId, s.clusterId);
    if (e.clusterName !== undefined && e.clusterName !== c.clusterName) {
      mismatch('cluster name', e.clusterName, c.clusterName);
    }
    if (e.partitionCount !== undefined && e.partitionCount !== c.partitionCount) {
      mismatch('partition count', e.partitionCount, c.partitionCount);
    }
    if (e.replicationFactor !== undefined && e.replicationFactor !== c.replicationFactor) {
      mismatch('replication factor', e.replicationFactor, c.replicationFactor);
    }
  }
}
