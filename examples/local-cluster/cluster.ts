/**
 * A local cluster of KV server processes (examples/kv-server-side/server.ts): their addresses and data
 * directories, starting, killing and restarting them, and what their HTTP APIs say (ClusterKit's GET /cluster,
 * the KV's GET /kv-stats).
 */
import { join } from 'node:path';
import { LocalCredentials } from '../kv/credentials.js';
import { type ClientSecurity, schemeOf } from '../kv/secure.js';
import { asRecord, describeFailure, requestJson } from './http.js';
import { classifyLine, type NodeLine } from './lines.js';
import { freePorts, type NodeProcess, ProcessGroup } from './processes.js';
import type { NodeState } from './view.js';

export interface ClusterSettings {
  /** The KV server script, relative to the repository root. */
  readonly server: string;
  readonly nodes: number;
  readonly partitions: number;
  readonly replication: number;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly healthThreshold: number;
  /** A secure cluster: secret, TLS on every port, admin and read tokens (examples/kv/credentials.ts). */
  readonly secure?: boolean;
}

export interface KvNode {
  readonly id: string;
  /** ClusterKit's API and Raft, fixed for the node's life (a restart reuses it). */
  readonly httpAddr: string;
  readonly dataDir: string;
  /** The KV API, from the ready line (a restart may get another port). */
  kvAddr: string;
  proc: NodeProcess | undefined;
  state: NodeState;
}

/** What GET /cluster says, reduced to what the driver checks. */
export interface ClusterView {
  readonly members: readonly { readonly id: string; readonly role: string; readonly healthy: boolean | null }[];
  readonly leaderId: string | null;
  readonly tableVersion: number;
  /** Partitions per node as primary and as replica. */
  readonly owned: Readonly<Record<string, { primaries: number; replicas: number }>>;
}

/** Parses a GET /cluster body; undefined when it is not one. */
export function parseClusterView(body: unknown): ClusterView | undefined {
  const cluster = asRecord(asRecord(body)?.['cluster']);
  if (cluster === undefined || !Array.isArray(cluster['nodes'])) return undefined;
  const members = cluster['nodes'].map((x) => {
    const n = asRecord(x) ?? {};
    const healthy = n['healthy'];
    return {
      id: String(n['id']),
      role: typeof n['raft_role'] === 'string' ? n['raft_role'] : '',
      healthy: typeof healthy === 'boolean' ? healthy : null,
    };
  });
  const leader = asRecord(cluster['leader']);
  const owned: Record<string, { primaries: number; replicas: number }> = {};
  const slot = (id: string) => (owned[id] ??= { primaries: 0, replicas: 0 });
  const partitions = asRecord(asRecord(cluster['partition_map'])?.['partitions']) ?? {};
  for (const p of Object.values(partitions)) {
    const r = asRecord(p);
    const primary = r?.['primary_node'];
    if (typeof primary === 'string' && primary !== '') slot(primary).primaries++;
    const replicas = r?.['replica_nodes'];
    if (Array.isArray(replicas)) for (const id of replicas) if (typeof id === 'string') slot(id).replicas++;
  }
  return {
    members,
    leaderId: typeof leader?.['leader_id'] === 'string' ? leader['leader_id'] : null,
    tableVersion: typeof cluster['table_version'] === 'number' ? cluster['table_version'] : 0,
    owned,
  };
}

export class LocalCluster {
  readonly group: ProcessGroup;
  readonly nodes: KvNode[];
  /** On a secure cluster: its CA, certificates, secret and tokens, in the group's temp directory. */
  readonly credentials: LocalCredentials | undefined;
  /** How the driver talks to the nodes: https with the CA and the read token on a secure cluster. */
  readonly client: ClientSecurity | undefined;

  private constructor(
    readonly settings: ClusterSettings,
    ports: readonly number[],
    private readonly onLine: (node: KvNode, line: NodeLine) => void,
  ) {
    this.group = new ProcessGroup('clusterkit-local-');
    this.nodes = ports.map((port, i) => {
      const id = `node-${i + 1}`;
      return {
        id,
        httpAddr: `127.0.0.1:${port}`,
        dataDir: join(this.group.dir, id),
        kvAddr: '',
        proc: undefined,
        state: 'stopped',
      };
    });
    this.credentials = settings.secure === true ? this.#credentials() : undefined;
    this.client = this.credentials?.client('read');
  }

  #credentials(): LocalCredentials {
    try {
      return new LocalCredentials(
        join(this.group.dir, 'pki'),
        this.nodes.map((n) => n.id),
      );
    } catch (err) {
      // No process was started yet: only the temp directory to remove.
      this.group.closeSync();
      throw err;
    }
  }

  #url(addr: string, path: string): string {
    return `${schemeOf(this.client)}://${addr}${path}`;
  }

  /** Picks the nodes' ports; starts nothing. */
  static async create(
    settings: ClusterSettings,
    onLine: (node: KvNode, line: NodeLine) => void,
  ): Promise<LocalCluster> {
    return new LocalCluster(settings, await freePorts(settings.nodes), onLine);
  }

  node(id: string): KvNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  up(): KvNode[] {
    return this.nodes.filter((n) => n.state === 'up');
  }

  /** Starts the node's process, joining through `join` (empty: bootstrap or restart from its data directory). */
  spawn(node: KvNode, join: readonly string[]): NodeProcess {
    const s = this.settings;
    const proc = this.group.spawn(node.id, s.server, {
      ...this.credentials?.nodeEnv(node.id),
      NODE_ID: node.id,
      HTTP_ADDR: node.httpAddr,
      KV_ADDR: '127.0.0.1:0',
      JOIN_ADDR: join.join(','),
      DATA_DIR: node.dataDir,
      PARTITION_COUNT: String(s.partitions),
      REPLICATION_FACTOR: String(s.replication),
      HEALTH_INTERVAL_MS: String(s.healthIntervalMs),
      HEALTH_TIMEOUT_MS: String(s.healthTimeoutMs),
      HEALTH_FAILURE_THRESHOLD: String(s.healthThreshold),
    });
    node.proc = proc;
    node.state = node.state === 'killed' || node.state === 'down' ? 'restarting' : 'starting';
    proc.onLine((raw) => {
      const line = classifyLine(raw, node.id);
      if (line.kind === 'ready' && node.proc === proc) {
        node.kvAddr = line.kvAddr;
        node.state = 'up';
      }
      this.onLine(node, line);
    });
    void proc.exited.then(() => {
      // A node that dies on its own (not killed by us) is down: the driver notices through its state.
      if (node.proc === proc && node.state !== 'killed') node.state = 'down';
    });
    return proc;
  }

  /** SIGKILL: a crash, no goodbye. */
  kill(node: KvNode): void {
    node.state = 'killed';
    node.proc?.kill('SIGKILL');
  }

  async clusterView(node: KvNode): Promise<ClusterView> {
    const res = await requestJson('GET', this.#url(node.httpAddr, '/cluster'), undefined, 3000, this.client);
    const view = res.status === 200 ? parseClusterView(res.body) : undefined;
    if (view === undefined) throw new Error(describeFailure(`GET /cluster on ${node.id}`, res));
    return view;
  }

  /** Keys this node holds (primary and replica copies), from its KV API. */
  async kvKeys(node: KvNode): Promise<number> {
    const res = await requestJson('GET', this.#url(node.kvAddr, '/kv-stats'), undefined, 3000, this.client);
    const keys = asRecord(res.body)?.['keys'];
    if (res.status !== 200 || typeof keys !== 'number')
      throw new Error(describeFailure(`GET /kv-stats on ${node.id}`, res));
    return keys;
  }

  /** Keys per running node (undefined for a node that is down or did not answer). */
  async keysPerNode(): Promise<Record<string, number | undefined>> {
    const out: Record<string, number | undefined> = {};
    await Promise.all(
      this.nodes.map(async (n) => {
        out[n.id] = n.state === 'up' ? await this.kvKeys(n).catch(() => undefined) : undefined;
      }),
    );
    return out;
  }

  close(): Promise<void> {
    for (const n of this.nodes) if (n.state !== 'killed') n.state = 'stopped';
    return this.group.close();
  }
}
