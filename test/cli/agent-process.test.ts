/**
 * Real processes: four `clusterkit agent` processes configured only by environment variables (as in the
 * docker-compose file), driven by the CLI: status, partitions, locate, custom data, rebalance, the exit codes of
 * failures; then an operator removing a dead node, SIGTERM leaving gracefully (observed by the others), and a
 * second signal stopping a node at once while its leave is stuck. The CLI commands run in-process against the real nodes (a process per command would cost a second
 * each); the built-in binary is exercised by a few real CLI processes.
 *
 * Health checks run every 10 s with a threshold of 3: no node can be removed by them within 30 s, so every
 * removal seen here is the one the test asked for (a graceful leave, an operator's remove).
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionIdForKey } from '../../src/partitioning/index.js';
import { AgentProc, cli, cliProcess, eventually, tempDir } from './helpers.js';

const PARTITIONS = 16;

interface StatusJson {
  cluster: { health: string; leader: { id: string; addr: string } | null; term: number; table_version: number };
  nodes: {
    id: string;
    role: string;
    health: string;
    addr: string;
    zone: string | null;
    primaries: number;
    replicas: number;
  }[];
}

interface PartitionsJson {
  partitions: { id: string; index: number; primary: string | null; replicas: string[]; epoch: number }[];
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function status(addr: string): Promise<StatusJson> {
  const run = await cli(['status', '--json', '--addr', addr]);
  if (run.code !== 0) throw new Error(`status exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as StatusJson;
}

describe('clusterkit agent processes driven by the CLI', () => {
  const tmp = tempDir('ck-cli-agents-');
  const agents = new Map<string, AgentProc>();
  const env = (id: string, join?: string): Record<string, string> => ({
    HTTP_ADDR: '127.0.0.1:0',
    DATA_DIR: `${tmp.dir}/${id}`,
    PARTITION_COUNT: String(PARTITIONS),
    REPLICATION_FACTOR: '3',
    HEALTH_CHECK_INTERVAL: '10s',
    HEALTH_CHECK_TIMEOUT: '3s',
    HEALTH_CHECK_FAILURE_THRESHOLD: '3',
    ZONE: `zone-${id}`,
    SERVICES: 'kv=:9000',
    ...(join === undefined ? {} : { JOIN_ADDR: join }),
  });
  const agent = (id: string): AgentProc => {
    const a = agents.get(id);
    if (a === undefined) throw new Error(`no agent ${id}`);
    return a;
  };

  beforeAll(async () => {
    const n1 = new AgentProc('n1', env('n1'));
    agents.set('n1', n1);
    const seed = await n1.ready();
    for (const id of ['n2', 'n3', 'n4']) agents.set(id, new AgentProc(id, env(id, `${seed},127.0.0.1:1`)));
    await Promise.all([agent('n2').ready(), agent('n3').ready(), agent('n4').ready()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.kill()));
    tmp.cleanup();
  });

  it('forms a cluster from environment variables, each node logging how it became a member', async () => {
    const ready = (id: string) => agent(id).lines.find((l) => l.event === 'ready')!;
    expect(ready('n1')).toMatchObject({ level: 'info', component: 'agent', nodeId: 'n1', mode: 'bootstrapped' });
    expect(ready('n2')).toMatchObject({ nodeId: 'n2', mode: 'joined' });
    expect(ready('n3')).toMatchObject({ nodeId: 'n3', mode: 'joined' });
    expect(ready('n4')).toMatchObject({ nodeId: 'n4', mode: 'joined' });
    expect(ready('n1').msg).toBe(`ready: node n1 at ${agent('n1').addr} bootstrapped a new cluster (1 member)`);
    // Every line is JSON with a level name and an ISO time (the helper marks the others).
    for (const a of agents.values()) {
      for (const l of a.lines) {
        expect(l.msg).not.toMatch(/^\(not JSON\)/);
        expect(typeof l['time']).toBe('string');
      }
    }
    // Joiners start as non-voters and are promoted once caught up (up to MAX_VOTERS, 5).
    const s = await eventually('four healthy voters', async () => {
      const st = await status(agent('n1').addr);
      const voters = st.nodes.filter((n) => n.role === 'leader' || n.role === 'voter').length;
      return voters === 4 && st.cluster.health === 'healthy' ? st : undefined;
    });
    expect(s.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(s.nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
    expect(s.nodes.find((n) => n.role === 'leader')?.id).toBe(s.cluster.leader?.id);
    for (const n of s.nodes) {
      expect(n.addr).toBe(agent(n.id).addr);
      expect(n.zone).toBe(`zone-${n.id}`);
    }
  });

  it('shows the same cluster from every node: status, partitions and locate agree', async () => {
    const [a1, a2, a3] = ['n1', 'n2', 'n3'].map((id) => agent(id).addr) as [string, string, string];
    const st = await status(a2);
    expect(st.nodes.reduce((sum, n) => sum + n.primaries, 0)).toBe(PARTITIONS);
    expect(st.nodes.reduce((sum, n) => sum + n.replicas, 0)).toBe(2 * PARTITIONS);

    const human = await cli(['status', '--addr', a3]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Cluster clusterkit-cluster {2}health HEALTHY {2}term [0-9]+ {2}table v[0-9]+/);
    for (const id of ['n1', 'n2', 'n3', 'n4'])
      expect(human.stdout).toMatch(new RegExp(`^${id} +(leader|voter) +healthy +${agent(id).addr}`, 'm'));

    const parts = await cli(['partitions', '--json', '--addr', a3, '--consistent']);
    expect(parts.code).toBe(0);
    const table = JSON.parse(parts.stdout) as PartitionsJson;
    expect(table.partitions).toHaveLength(PARTITIONS);
    for (const p of table.partitions) expect(new Set([p.primary, ...p.replicas]).size).toBe(3);
    expect(new Set(table.partitions.flatMap((p) => [p.primary, ...p.replicas]))).toEqual(
      new Set(['n1', 'n2', 'n3', 'n4']),
    );

    for (const key of ['user:1', 'order:42', 'ключ']) {
      const run = await cli(['locate', key, '--json', '--addr', a1]);
      expect(run.code).toBe(0);
      const located = JSON.parse(run.stdout) as {
        partition: string;
        primary: string;
        replicas: string[];
        epoch: number;
      };
      expect(located.partition).toBe(partitionIdForKey(key, PARTITIONS));
      const p = table.partitions.find((x) => x.id === located.partition)!;
      expect(located).toMatchObject({ primary: p.primary, replicas: p.replicas, epoch: p.epoch });
    }
    const text = await cli(['locate', 'user:1', '--addr', a2]);
    expect(text.stdout).toMatch(new RegExp(`^primary +n[1-4] \\(127\\.0\\.0\\.1:[0-9]+\\)$`, 'm'));
  });

  it('reads and writes custom data through any node, with the documented exit codes', async () => {
    const [a1, a2, a3] = ['n1', 'n2', 'n3'].map((id) => agent(id).addr) as [string, string, string];
    // Writes to every node: followers redirect to the leader, and the CLI follows.
    for (const [i, addr] of [a1, a2, a3].entries()) {
      const set = await cli(['data', 'set', `flag-${i}`, `on-${i}`, '--addr', addr]);
      expect(set, `write through ${addr}`).toMatchObject({ code: 0, stderr: '' });
      expect(set.stdout).toMatch(new RegExp(`^created flag-${i} \\(revision [0-9]+\\)\\n$`));
    }
    const get = await cli(['data', 'get', 'flag-0', '--addr', a3, '--consistent']);
    expect(get).toEqual({ code: 0, stdout: 'on-0\n', stderr: '' });
    const entry = JSON.parse((await cli(['data', 'get', 'flag-0', '--json', '--addr', a2, '--consistent'])).stdout) as {
      value: string;
      revision: number;
    };
    expect(entry.value).toBe('on-0');

    const created = await cli(['data', 'set', 'flag-0', 'again', '--create-only', '--addr', a2]);
    expect(created.code).toBe(5);
    expect(created.stderr).toMatch(/^error: precondition failed/);
    const stale = await cli([
      'data',
      'set',
      'flag-0',
      'x',
      '--if-revision',
      String(entry.revision + 1000),
      '--addr',
      a2,
    ]);
    expect(stale.code).toBe(5);
    const cas = await cli(['data', 'set', 'flag-0', 'off', '--if-revision', String(entry.revision), '--addr', a3]);
    expect(cas.code).toBe(0);
    expect(cas.stdout).toMatch(/^updated flag-0/);

    const list = await cli(['data', 'list', '--addr', a1, '--consistent', '--prefix', 'flag-']);
    expect(list).toEqual({ code: 0, stdout: 'flag-0\nflag-1\nflag-2\n', stderr: '' });

    const del = await cli(['data', 'delete', 'flag-0', '--addr', a3]);
    expect(del).toEqual({ code: 0, stdout: 'deleted flag-0\n', stderr: '' });
    const missing = await cli(['data', 'get', 'flag-0', '--addr', a1, '--consistent']);
    expect(missing).toEqual({ code: 4, stdout: '', stderr: 'error: key not found: flag-0\n' });
    const again = await cli(['data', 'delete', 'flag-0', '--addr', a2, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ key: 'flag-0', existed: false });
  });

  it('rebalances, refuses to remove a stranger, and reports bad usage and unreachable nodes', async () => {
    const a2 = agent('n2').addr;
    const rebalance = await cli(['rebalance', '--json', '--addr', a2]);
    expect(rebalance.code).toBe(0);
    expect(JSON.parse(rebalance.stdout)).toMatchObject({ changed: false });

    const stranger = await cli(['remove', 'nobody', '--addr', a2]);
    expect(stranger).toEqual({ code: 4, stdout: '', stderr: 'error: node "nobody" is not a member\n' });

    for (const args of [
      ['data', 'get'],
      ['status', '--bogus'],
      ['data', 'frob', 'k'],
      ['remove'],
      ['status', '--timeout', 'x'],
    ]) {
      const run = await cli([...args, '--addr', a2]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^error: [^\n]+\n$/);
      expect(run.stdout).toBe('');
    }

    const closed = await closedPort();
    const down = await cli(['status', '--addr', `127.0.0.1:${closed}`]);
    expect(down).toEqual({
      code: 3,
      stdout: '',
      stderr: `error: node unreachable at 127.0.0.1:${closed}: connection refused\n`,
    });

    // The real binary: the same codes and one-line errors.
    const [bin, binDown, binUsage] = await Promise.all([
      cliProcess(['partitions', '--json', '--addr', a2]),
      cliProcess(['data', 'list', '--addr', `127.0.0.1:${closed}`]),
      cliProcess(['locate', 'k', '--addr', a2, '--nodes', 'a,b']),
    ]);
    expect(bin.code).toBe(0);
    expect((JSON.parse(bin.stdout) as PartitionsJson).partitions).toHaveLength(PARTITIONS);
    expect(binDown).toMatchObject({ code: 3, stdout: '' });
    expect(binDown.stderr).toBe(`error: node unreachable at 127.0.0.1:${closed}: connection refused\n`);
    expect(binUsage.code).toBe(2);
  });

  it('removes a dead node on request', async () => {
    await agent('n4').kill();
    const removed = await cli(['remove', 'n4', '--addr', agent('n2').addr]);
    expect(removed).toMatchObject({ code: 0, stderr: '' });
    expect(removed.stdout).toMatch(/^removed n4: 3 nodes left, partition table version [0-9]+\n$/);
    const st = await status(agent('n1').addr);
    expect(st.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(st.nodes.reduce((sum, n) => sum + n.primaries, 0)).toBe(PARTITIONS);
  });

  it('leaves gracefully on SIGTERM, and the others see it at once', async () => {
    const n3 = agent('n3');
    const at = Date.now();
    n3.signal('SIGTERM');
    expect(await n3.exited).toEqual({ code: 0, signal: null });
    expect(n3.lines.some((l) => l.event === 'left')).toBe(true);
    expect(n3.lines.at(-1)).toMatchObject({ event: 'exit', exitCode: 0 });
    for (const id of ['n1', 'n2']) {
      const st = await eventually(`${id} sees two nodes`, async () => {
        const s = await status(agent(id).addr);
        return s.nodes.length === 2 ? s : undefined;
      });
      expect(st.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2']);
    }
    // Well before a health check could have removed it (10 s × 3).
    expect(Date.now() - at).toBeLessThan(20_000);
  });

  it('stops at once on a second signal while a leave is stuck', async () => {
    const n2 = agent('n2');
    // With the only other node frozen, n2's leave cannot commit: it hangs until the second signal.
    agent('n1').signal('SIGSTOP');
    try {
      n2.signal('SIGTERM');
      await n2.waitForLine((l) => l.event === 'leaving');
      const at = Date.now();
      n2.signal('SIGINT');
      const exit = await n2.exited;
      expect(exit).toEqual({ code: 130, signal: null });
      expect(Date.now() - at).toBeLessThan(10_000);
      expect(n2.lines.some((l) => l.event === 'stopping' && l['signal'] === 'SIGINT')).toBe(true);
      expect(n2.lines.some((l) => l.event === 'left')).toBe(false);
    } finally {
      agent('n1').signal('SIGCONT');
    }
  });
});

describe('clusterkit agent configuration in a real process', () => {
  it('refuses a bad value with one line and exit code 2, before starting anything', async () => {
    const tmp = tempDir('ck-cli-badcfg-');
    try {
      const [bad, missing, printed] = await Promise.all([
        cliProcess(['agent'], { NODE_ID: 'x', PARTITION_COUNT: 'lots', DATA_DIR: `${tmp.dir}/x` }),
        cliProcess(['agent', '--http-addr', '127.0.0.1:0']),
        cliProcess(['agent', '--print-config', '--zone', 'b'], {
          NODE_ID: 'x',
          HTTP_PORT: '8080',
          JOIN_ADDR: 'node-1:8080,node-2:8080',
          HEALTH_CHECK_INTERVAL: '1s',
          ZONE: 'a',
        }),
      ]);
      expect(bad).toEqual({
        code: 2,
        stdout: '',
        stderr: 'error: invalid PARTITION_COUNT "lots": must be an integer from 1 to 65536\n',
      });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^error: NODE_ID is required[^\n]*\n$/);
      expect(printed.code).toBe(0);
      expect(JSON.parse(printed.stdout)).toMatchObject({
        nodeId: 'x',
        httpAddr: ':8080',
        joinAddr: ['node-1:8080', 'node-2:8080'],
        healthCheck: { interval: 1000 },
        zone: 'b',
      });
      // Nothing was created on disk.
      const { existsSync } = await import('node:fs');
      expect(existsSync(`${tmp.dir}/x`)).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });
});
