import {
  type ApplyResult,
  type ClusterCommand,
  type ClusterConfigInput,
  ClusterStateMachine,
  encodeCommand,
  type NodeSpec,
} from '../../../src/cluster/state/index.js';

export const T0 = 1_700_000_000_000;

export const CONFIG: ClusterConfigInput = {
  clusterName: 'test-cluster',
  partitionCount: 16,
  replicationFactor: 3,
  maxVoters: 5,
};

export function spec(n: number | string, extra: Partial<NodeSpec> = {}): NodeSpec {
  const id = typeof n === 'number' ? `node-${n}` : n;
  const port = typeof n === 'number' ? n : 99;
  return {
    id,
    name: `Server-${id}`,
    httpAddr: `10.0.0.${port}:8080`,
    raftAddr: `10.0.0.${port}:9090`,
    incarnation: 'inc-1',
    ...extra,
  };
}

/** A machine plus a log index and clock that advance with every command. */
export class Harness {
  readonly machine: ClusterStateMachine;
  index = 0;
  now = T0;

  constructor(machine = new ClusterStateMachine()) {
    this.machine = machine;
  }

  get state() {
    return this.machine.state;
  }

  /** Encodes (validating) and applies at the next index; `at` defaults to a clock advancing 1 s per command. */
  run(cmd: DistributiveOmit<ClusterCommand, 'at'> & { at?: number }): ApplyResult {
    this.now += 1000;
    const full = { at: this.now, ...cmd } as ClusterCommand;
    return this.applyBytes(encodeCommand(full));
  }

  applyBytes(bytes: Uint8Array): ApplyResult {
    this.index += 1;
    return this.machine.apply(bytes, this.index);
  }

  bootstrap(config: Partial<ClusterConfigInput> = {}, node: NodeSpec = spec(1)): ApplyResult {
    return this.run({ type: 'bootstrap', clusterId: 'cid-1', config: { ...CONFIG, ...config }, node });
  }

  join(n: number | string, extra: Partial<NodeSpec> = {}): ApplyResult {
    return this.run({ type: 'nodeJoin', node: spec(n, extra) });
  }

  snapshotText(): string {
    return new TextDecoder().decode(this.machine.snapshot());
  }
}

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function ok(r: ApplyResult): Extract<ApplyResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.message}`);
  return r;
}

export function refused(r: ApplyResult): Extract<ApplyResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a refusal, got ok (${r.type})`);
  return r;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
