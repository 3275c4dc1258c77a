/**
 * The main job (examples/local-cluster): its pure parts (options, the nodes' JSON lines, event de-duplication,
 * the live view's rendering, the summary), then the real thing at a small size as a child process (3 KV server
 * processes, 200 keys: exit code 0 and the summary's content), and Ctrl-C (SIGINT) stopping every node process it
 * started and removing its temp directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, parseOptions } from '../../examples/local-cluster/args.js';
import { parseClusterView } from '../../examples/local-cluster/cluster.js';
import { forEachLimited } from '../../examples/local-cluster/kv.js';
import { classifyLine, describeEvent, EventTracker, type NodeLine } from '../../examples/local-cluster/lines.js';
import { parseJsonLine } from '../../examples/local-cluster/processes.js';
import { emptySummary, renderSummary } from '../../examples/local-cluster/summary.js';
import {
  colorPaint,
  fit,
  LiveView,
  noPaint,
  progressBar,
  renderPanel,
  type ViewModel,
} from '../../examples/local-cluster/view.js';

const REPO = join(import.meta.dirname, '..', '..');
const ESC = '\x1b';

describe('options', () => {
  it('defaults: 5 nodes, 1,000 keys, short health checks', () => {
    expect(parseOptions([])).toEqual({ kind: 'run', options: DEFAULTS });
    expect(DEFAULTS).toMatchObject({ nodes: 5, keys: 1000, healthIntervalMs: 500, healthThreshold: 3 });
  });

  it('reads every flag, and replication defaults to at most the node count', () => {
    const r = parseOptions(['--nodes', '3', '--keys', '200', '--health-interval', '300', '--plain', '--no-color']);
    expect(r).toEqual({
      kind: 'run',
      options: { ...DEFAULTS, nodes: 3, keys: 200, replication: 3, healthIntervalMs: 300, plain: true, color: false },
    });
    expect(parseOptions(['--nodes', '4', '--replication', '2'])).toMatchObject({ options: { replication: 2 } });
    expect(parseOptions(['-h'])).toEqual({ kind: 'help' });
  });

  it('refuses bad values with a message naming the flag', () => {
    for (const [args, flag] of [
      [['--nodes', '2'], '--nodes'],
      [['--nodes', '3.5'], '--nodes'],
      [['--keys', ''], '--keys'],
      [['--keys', '0'], '--keys'],
      [['--nodes', '3', '--replication', '4'], '--replication'],
      [['--replication', '1'], '--replication'],
      [['--bogus'], 'bogus'],
      [['positional'], 'positional'],
    ] as const) {
      const r = parseOptions(args);
      expect(r.kind, args.join(' ')).toBe('error');
      if (r.kind === 'error') expect(r.message).toContain(flag);
    }
  });
});

describe('node lines', () => {
  const ready = {
    type: 'ready',
    nodeId: 'node-1',
    httpAddr: '127.0.0.1:1',
    kvAddr: '127.0.0.1:2',
    mode: 'server-side',
  };

  it('classifies the contract lines', () => {
    expect(classifyLine(ready, 'x')).toEqual({
      kind: 'ready',
      nodeId: 'node-1',
      httpAddr: '127.0.0.1:1',
      kvAddr: '127.0.0.1:2',
    });
    expect(classifyLine({ type: 'moved', partitionId: 'partition-3', keys: 7, from: 'node-2' }, 'node-1')).toEqual({
      kind: 'moved',
      nodeId: 'node-1',
      partitionId: 'partition-3',
      keys: 7,
      from: 'node-2',
    });
    expect(classifyLine({ type: 'dropped', nodeId: 'node-4', partitionId: 'partition-3', keys: 0 }, 'x')).toEqual({
      kind: 'dropped',
      nodeId: 'node-4',
      partitionId: 'partition-3',
      keys: 0,
    });
    const e = classifyLine({ type: 'event', event: 'nodeLeave', nodeId: 'node-2', data: { index: 9 } }, 'x');
    expect(e).toEqual({ kind: 'event', nodeId: 'node-2', event: 'nodeLeave', data: { index: 9 } });
  });

  it('unknown types and malformed contract lines are "other", never an exception', () => {
    expect(classifyLine({ type: 'cleared', keys: 3 }, 'n')).toEqual({ kind: 'other', type: 'cleared' });
    expect(classifyLine({ type: 'moved', partitionId: 'p', keys: -1 }, 'n').kind).toBe('other');
    expect(classifyLine({ type: 'event', event: 'partitionDrop', data: {} }, 'n').kind).toBe('other');
    expect(classifyLine({ type: 'event', event: 'nodeJoin', data: [] }, 'n').kind).toBe('other');
    expect(classifyLine({ type: 'ready', nodeId: 'n' }, 'n').kind).toBe('other');
  });

  test.prop([fc.dictionary(fc.string(), fc.jsonValue())])('any JSON object classifies without throwing', (obj) => {
    expect(['ready', 'event', 'moved', 'dropped', 'other']).toContain(classifyLine(obj, 'n').kind);
  });

  test.prop([fc.string()])('parseJsonLine returns objects only, and never throws', (raw) => {
    const v = parseJsonLine(raw);
    if (v !== undefined) expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
  });

  it('parseJsonLine reads a JSON object line and ignores the rest', () => {
    expect(parseJsonLine(' {"type":"ready"} ')).toEqual({ type: 'ready' });
    expect(parseJsonLine('[1]')).toBeUndefined();
    expect(parseJsonLine('{broken')).toBeUndefined();
    expect(parseJsonLine('plain log line')).toBeUndefined();
  });
});

describe('event tracker', () => {
  const event = (nodeId: string, name: string, data: Record<string, unknown>): NodeLine =>
    classifyLine({ type: 'event', nodeId, event: name, data }, nodeId);

  test.prop([fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 30 })])(
    'the same committed event from every node counts once; its lines count per node',
    (nodes, events) => {
      const t = new EventTracker();
      let firsts = 0;
      for (let i = 1; i <= events; i++) {
        for (let n = 1; n <= nodes; n++) {
          if (t.add(event(`node-${n}`, 'nodeJoin', { index: i, node: { id: `node-${i}` } }))) firsts++;
        }
      }
      expect(firsts).toBe(events);
      expect(t.counts()).toEqual([{ kind: 'nodeJoin', distinct: events, deliveries: events * nodes }]);
    },
  );

  it('partition changes are distinct per partition and receiver; health changes per occurrence', () => {
    const t = new EventTracker();
    const pc = (node: string, p: string, to: string) =>
      event(node, 'partitionChange', { index: 5, partitionId: p, copyToNode: { id: to } });
    expect(t.add(pc('node-1', 'partition-1', 'node-2'))).toBe(true);
    expect(t.add(pc('node-2', 'partition-1', 'node-2'))).toBe(false);
    expect(t.add(pc('node-1', 'partition-1', 'node-3'))).toBe(true);
    const h = (node: string, status: string, prev: string, ids: string[]) =>
      event(node, 'clusterHealthChange', { status, previousStatus: prev, unhealthyNodeIds: ids });
    expect(t.add(h('node-1', 'degraded', 'healthy', ['node-3']))).toBe(true);
    expect(t.add(h('node-2', 'degraded', 'healthy', ['node-3']))).toBe(false);
    expect(t.add(h('node-1', 'healthy', 'degraded', []))).toBe(true);
    // The same change again later (a second failure) is a new event.
    expect(t.add(h('node-1', 'degraded', 'healthy', ['node-3']))).toBe(true);
    expect(t.add(h('node-2', 'degraded', 'healthy', ['node-3']))).toBe(false);
    expect(t.add({ kind: 'moved', nodeId: 'node-2', partitionId: 'partition-1', keys: 3, from: 'node-1' })).toBe(true);
    expect(t.counts()).toEqual([
      { kind: 'partitionChange', distinct: 2, deliveries: 3 },
      { kind: 'clusterHealthChange', distinct: 3, deliveries: 5 },
      { kind: 'moved', distinct: 1, deliveries: 1 },
    ]);
  });

  it('describes the events a person wants to see', () => {
    const d = (name: string, data: Record<string, unknown>) => {
      const line = event('node-1', name, data);
      if (line.kind !== 'event') throw new Error('not an event');
      return describeEvent(line);
    };
    expect(
      d('nodeLeave', {
        node: { id: 'node-5' },
        reason: 'health_check_failure',
        partitionsOwned: ['partition-1', 'partition-2'],
        partitionsReplica: ['partition-3'],
        clusterSize: 4,
      }),
    ).toBe('node-5 left (health_check_failure): held 2 primaries, 1 replicas → 4 nodes');
    expect(
      d('nodeRejoin', { node: { id: 'node-5' }, offlineDuration: 3040, partitionsBeforeLeave: ['a'], clusterSize: 5 }),
    ).toBe('node-5 rejoined after 3.0 s offline (held 1 partitions before) → 5 nodes');
    expect(
      d('rebalanceStart', {
        trigger: 'node_leave',
        triggerNodeId: 'node-5',
        fromVersion: 5,
        toVersion: 6,
        partitionsToMove: 40,
        copies: 38,
        primaryChanges: 16,
      }),
    ).toBe('rebalance v5 → v6 (node_leave node-5): 40 partitions change, 38 copies, 16 new primaries');
    expect(
      d('clusterHealthChange', { previousStatus: 'healthy', status: 'degraded', unhealthyNodeIds: ['node-5'] }),
    ).toBe('cluster healthy → degraded: unhealthy node-5');
    expect(d('partitionChange', { partitionId: 'partition-1' })).toBeUndefined();
    // Missing fields show as '?', not as an exception.
    expect(d('nodeJoin', {})).toBe('? joined');
  });
});

describe('cluster view', () => {
  it('reads members, roles, leader, table version and ownership from GET /cluster', () => {
    const v = parseClusterView({
      cluster: {
        nodes: [
          { id: 'node-1', raft_role: 'leader', healthy: true },
          { id: 'node-2', raft_role: 'nonvoter', healthy: false },
        ],
        leader: { leader_id: 'node-1' },
        table_version: 4,
        partition_map: {
          partitions: {
            'partition-0': { primary_node: 'node-1', replica_nodes: ['node-2'] },
            'partition-1': { primary_node: 'node-2', replica_nodes: ['node-1'] },
            'partition-2': { primary_node: '', replica_nodes: [] },
          },
        },
      },
    });
    expect(v).toEqual({
      members: [
        { id: 'node-1', role: 'leader', healthy: true },
        { id: 'node-2', role: 'nonvoter', healthy: false },
      ],
      leaderId: 'node-1',
      tableVersion: 4,
      owned: { 'node-1': { primaries: 1, replicas: 1 }, 'node-2': { primaries: 1, replicas: 1 } },
    });
    expect(parseClusterView({ error: 'x' })).toBeUndefined();
    expect(parseClusterView('not json')).toBeUndefined();
  });
});

describe('live view rendering', () => {
  const model = (nodes: number): ViewModel => ({
    title: 'ClusterKit local cluster · 5 nodes · 64 partitions · replication 3 · health 500 ms × 3',
    phase: '4/7 kill node-5',
    detail: 'waiting for the leader to detect node-5',
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `node-${i + 1}`,
      state: i === 0 ? ('killed' as const) : ('up' as const),
      pid: 100_000 + i,
      role: 'voter',
      healthy: true,
      keys: 123_456,
      primaries: 13,
      replicas: 26,
    })),
    progress: { label: 'writes', done: 500, total: 1000 },
    counters: 'events 12 distinct (40 lines) · moved 3 copies, 45 keys · dropped 0 copies, 0 keys',
  });

  test.prop([fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 12 })])(
    'no panel line is wider than the terminal (it would wrap and break the redraw)',
    (width, nodes) => {
      const lines = renderPanel(model(nodes), 12_345, width, noPaint);
      expect(lines).toHaveLength(3 + nodes + 2);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(Math.max(20, width - 1));
    },
  );

  it('colours only when asked, and the coloured panel says the same', () => {
    const plain = renderPanel(model(2), 1000, 100, noPaint);
    const coloured = renderPanel(model(2), 1000, 100, colorPaint);
    expect(plain.join('\n')).not.toContain(ESC);
    expect(coloured.join('\n')).toContain(ESC);
    const sgr = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
    expect(coloured.map((l) => l.replace(sgr, ''))).toEqual(plain);
    expect(plain[2]).toBe('4/7 kill node-5 — waiting for the leader to detect node-5');
    expect(plain[3]).toContain('✖ killed');
    expect(plain[4]).toContain('● up');
  });

  test.prop([fc.nat(2000), fc.nat(2000), fc.nat(80)])(
    'progress bars are exactly as wide as asked',
    (done, total, w) => {
      const bar = progressBar(done, total, w);
      expect(bar.length).toBe(w);
      expect(bar.split('░')[0]!.length).toBe(total === 0 ? w : Math.round(Math.min(1, done / total) * w));
    },
  );

  it('fit cuts with an ellipsis', () => {
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abc', 4)).toBe('abc');
  });

  it('plain output (not a TTY): lines only, no escape codes, progress once per quarter', () => {
    const out: string[] = [];
    const view = new LiveView({ write: (s) => out.push(s) > 0 }, { tty: false, color: false });
    view.phase('3/7 write 8 keys');
    for (let i = 1; i <= 8; i++) view.progress('writes', i, 8);
    view.log('done', 'good');
    view.close();
    const text = out.join('');
    expect(text).not.toContain(ESC);
    expect(text.split('\n').filter((l) => l !== '')).toEqual([
      expect.stringMatching(/^\[ +\d+\.\d\ds\] ▶ 3\/7 write 8 keys$/),
      expect.stringMatching(/writes 2\/8$/),
      expect.stringMatching(/writes 4\/8$/),
      expect.stringMatching(/writes 6\/8$/),
      expect.stringMatching(/writes 8\/8$/),
      expect.stringMatching(/\] done$/),
    ]);
  });

  it('TTY output: the panel is erased before each log line and the cursor restored at the end', () => {
    const out: string[] = [];
    const view = new LiveView({ write: (s) => out.push(s) > 0, columns: 80 }, { tty: true, color: false });
    view.model.nodes = [{ id: 'node-1', state: 'up' }];
    view.log('first');
    view.log('second');
    view.close();
    const text = out.join('');
    expect(text.startsWith(`${ESC}[?25l`)).toBe(true);
    expect(text.endsWith(`${ESC}[?25h`)).toBe(true);
    // Panel of 4 lines (rule, title, phase, node-1) drawn after 'first', erased before 'second' and at the end.
    expect(text.split(`${ESC}[4A\r${ESC}[0J`)).toHaveLength(3);
    expect(text.indexOf('first')).toBeLessThan(text.indexOf('second'));
  });
});

describe('summary', () => {
  it('a pass names the keys verified; a failure names the reason; both list phases, times and events', () => {
    const s = emptySummary(5, 1000, 64, 3);
    s.ok = true;
    s.phases = [
      { name: 'write 1000 keys', ms: 1930 },
      { name: 'kill node-5', ms: 1600 },
    ];
    s.written = 1000;
    s.verified = 1000;
    s.outageVerified = 1000;
    s.victim = 'node-5';
    s.removedAfterMs = 1590;
    s.events = [{ kind: 'nodeLeave', distinct: 1, deliveries: 4 }];
    s.keysPerNode = [{ label: 'written', perNode: { 'node-10': 1, 'node-2': 2 } }];
    s.totalMs = 11_150;
    const text = renderSummary(s).join('\n');
    expect(text).toContain('✔ PASS: 1000/1000 keys verified');
    expect(text).toMatch(/write 1000 keys +1\.93 s/);
    expect(text).toMatch(/total +11\.15 s/);
    expect(text).toMatch(/removed from cluster +1\.59 s after the kill/);
    expect(text).toMatch(/nodeLeave +1 +4/);
    // Node ids in numeric order.
    expect(text.indexOf('node-2 ')).toBeLessThan(text.indexOf('node-10'));
    s.ok = false;
    s.reason = 'kill node-5: timed out';
    expect(renderSummary(s).join('\n')).toContain('✖ FAIL: kill node-5: timed out');
  });
});

describe('forEachLimited', () => {
  test.prop([fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 8 })])(
    'runs every index once, never more than the limit at once',
    async (count, limit) => {
      const seen: number[] = [];
      let running = 0;
      let peak = 0;
      await forEachLimited(count, limit, async (i) => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        seen.push(i);
        running--;
      });
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(peak).toBeLessThanOrEqual(limit);
    },
  );

  it('stops at the first failure and rethrows it', async () => {
    let calls = 0;
    await expect(
      forEachLimited(100, 2, async (i) => {
        calls++;
        if (i === 3) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBeLessThan(10);
  });
});

// ------------------------------------------------------------------------------------------------------------------
// The real thing: real node processes.
// ------------------------------------------------------------------------------------------------------------------

interface Run {
  readonly child: ChildProcess;
  output: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];

function startMain(args: readonly string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/local-cluster/main.ts', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const run: Run = {
    child,
    output: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (run.output += s));
  child.stderr.on('data', (s: string) => (run.output += s));
  runs.push(run);
  return run;
}

afterEach(async () => {
  // A failed test must not leave a cluster behind: SIGINT makes main stop its nodes; SIGKILL if it hangs.
  for (const r of runs.splice(0)) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
    r.child.kill('SIGINT');
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
    await r.exit;
    clearTimeout(timer);
  }
});

async function until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('npm start (real processes)', () => {
  it('3 nodes, 200 keys: kill, detect, rebalance, restart, rejoin, every key verified, exit code 0', async () => {
    // Removal after 0.5 s × 5 of silence (the demo's default is × 3): a busy CI machine must not make a healthy node
    // look dead, or the event counts below would be off by one.
    const run = startMain(['--nodes', '3', '--keys', '200', '--health-threshold', '5', '--health-timeout', '1500']);
    const { code } = await run.exit;
    const out = run.output;
    expect(code, out).toBe(0);
    // Not a terminal: plain lines, no cursor tricks, no colour.
    expect(out).not.toContain(ESC);
    for (const phase of [
      '1/7 start the node processes',
      '2/7 form the cluster',
      '3/7 write 200 keys',
      '4/7 kill node-',
      '5/7 rebalance and move data',
      '6/7 restart node-',
      '7/7 read back and verify',
    ]) {
      expect(out).toContain(`▶ ${phase}`);
    }
    expect(out).toMatch(/◆ node-\d left \(health_check_failure\)/);
    expect(out).toMatch(/◆ node-\d rejoined after/);
    expect(out).toMatch(/◆ rebalance v\d+ → v\d+ \(node_leave node-\d\)/);
    expect(out).toContain('✔ PASS: 200/200 keys verified after a node was killed and restarted');
    expect(out).toMatch(/keys written +200\/200/);
    expect(out).toMatch(/readable during outage +200\/200/);
    expect(out).toMatch(/keys verified +200\/200\n/);
    expect(out).toMatch(/removed from cluster +\d+\.\d\d s after the kill/);
    expect(out).toMatch(/total +\d+\.\d\d s/);
    // Events by kind: exactly one leave and one rejoin; three joins (formation).
    expect(out).toMatch(/nodeJoin +3 +\d+/);
    expect(out).toMatch(/nodeLeave +1 +\d+/);
    expect(out).toMatch(/nodeRejoin +1 +\d+/);
    expect(out).toMatch(/stopped 3 node processes \(pids [\d, ]+\) and removed /);
  }, 150_000);

  it('a step that fails gives a clear reason, exit code 1, and leaves nothing behind', async () => {
    // A "server" that exits without a ready line: the first step must fail, naming the node and how it ended.
    const run = startMain(['--nodes', '3', '--keys', '10', '--server', 'examples/custom-data/flags.ts']);
    const { code } = await run.exit;
    expect(code, run.output).toBe(1);
    expect(run.output).toMatch(/✖ FAIL: start the node processes: node-\d exited before it was ready \(code 0/);
    const pids = [...run.output.matchAll(/process started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).toBe(false);
    const dir = /data directories in (\S+)/.exec(run.output)?.[1];
    expect(dir !== undefined && !existsSync(dir)).toBe(true);
  }, 60_000);

  it('bad options: exit code 2 and a one-line reason', async () => {
    const run = startMain(['--nodes', '2']);
    const { code } = await run.exit;
    expect(code).toBe(2);
    expect(run.output).toContain('error: --nodes must be an integer from 3 to 20, got "2"');
  }, 30_000);

  it('Ctrl-C (SIGINT) stops every node process it started and removes the temp directory', async () => {
    const run = startMain(['--nodes', '3', '--keys', '200']);
    const pids = (): number[] => [...run.output.matchAll(/process started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    // Interrupt once the nodes run and the cluster is being formed: there is something to stop.
    await until(
      () => run.output.includes('▶ 2/7 form the cluster') || run.child.exitCode !== null,
      90_000,
      () => `the cluster forming; output so far:\n${run.output}`,
    );
    const started = pids();
    expect(started).toHaveLength(3);
    expect(started.every(isRunning)).toBe(true);
    const dir = /data directories in (\S+)/.exec(run.output)?.[1];
    expect(dir !== undefined && existsSync(dir)).toBe(true);

    run.child.kill('SIGINT');
    const { code } = await run.exit;
    expect(code, run.output).toBe(130);
    expect(run.output).toMatch(/SIGINT: stopping every process this run started/);
    expect(run.output).toMatch(/stopped 3 node processes/);
    for (const pid of started) expect(isRunning(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dir!)).toBe(false);
  }, 120_000);
});
