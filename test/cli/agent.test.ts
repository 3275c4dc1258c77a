/**
 * runAgent with every edge injected: a fake node whose start/leave/stop the test settles, a fake signal source,
 * a manual scheduler, and a logger that records. Covers the lifecycle rules: ready line, first signal → leave →
 * 0, second signal → stop → 128 + n, start failure → 1, a node that dies → 1, a leave that hangs → stop → 1.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type AgentNode, type AgentSignal, runAgent } from '../../src/cli/agent.js';
import { resolveAgentConfig } from '../../src/cli/agent-config.js';
import { InvalidArgumentError, ShuttingDownError } from '../../src/errors.js';
import type { Scheduler, TimerHandle } from '../../src/util/io.js';
import type { Logger } from '../../src/util/logger.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

class FakeNode implements AgentNode {
  reloads: (() => Promise<{ changed: boolean; fingerprint256: string }>)[] = [];
  readonly starting = deferred<void>();
  readonly leaving = deferred<void>();
  readonly stopping = deferred<void>();
  readonly calls: string[] = [];
  live = true;
  address = '';

  start(): Promise<void> {
    this.calls.push('start');
    return this.starting.promise;
  }
  leave(): Promise<void> {
    this.calls.push('leave');
    return this.leaving.promise;
  }
  stop(): Promise<void> {
    this.calls.push('stop');
    return this.stopping.promise;
  }
  healthCheck() {
    return { live: this.live };
  }
  getCluster() {
    return { id: 'c-1', nodes: [{}, {}], leaderId: 'n0' };
  }
  reloadTls(): Promise<{ changed: boolean; fingerprint256: string }> {
    this.calls.push('reloadTls');
    const next = this.reloads.shift();
    return next === undefined ? Promise.resolve({ changed: false, fingerprint256: 'AA' }) : next();
  }
}

class ManualScheduler implements Scheduler {
  now = 0;
  readonly timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { at: this.now + ms, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = this.timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      next.cancelled = true;
      this.now = next.at;
      next.fn();
    }
    this.now = until;
  }
}

interface Line {
  level: string;
  fields: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, fields: { ...bindings, ...obj }, msg });
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => recordingLogger(lines, { ...bindings, ...b }),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(env: Record<string, string> = {}, hasState = false) {
  const node = new FakeNode();
  const signals = new EventEmitter();
  const scheduler = new ManualScheduler();
  const lines: Line[] = [];
  const config = resolveAgentConfig({}, { NODE_ID: 'n1', HTTP_ADDR: '127.0.0.1:0', DATA_DIR: '/nowhere', ...env });
  let options: unknown;
  const handle = runAgent(config, {
    createNode: (o) => {
      options = o;
      return node;
    },
    logger: recordingLogger(lines),
    signals: {
      on: (s: AgentSignal | 'SIGHUP', l: () => void) => signals.on(s, l),
      off: (s: AgentSignal | 'SIGHUP', l: () => void) => signals.off(s, l),
    },
    scheduler,
    hasState: () => hasState,
  });
  const events = (): unknown[] => lines.map((l) => l.fields['event']).filter((e) => e !== undefined);
  return { node, signals, scheduler, lines, handle, events, options: () => options };
}

async function started(s: ReturnType<typeof setup>): Promise<void> {
  s.node.address = '127.0.0.1:4000';
  s.node.starting.resolve();
  await s.handle.ready;
}

describe('runAgent', () => {
  it('passes the configuration and the logger to the node, and logs one ready line', async () => {
    const s = setup({ JOIN_ADDR: '127.0.0.1:9000', PARTITION_COUNT: '16', HEALTH_CHECK_INTERVAL: '1s' });
    expect(s.options()).toMatchObject({
      nodeId: 'n1',
      httpAddr: '127.0.0.1:0',
      joinAddr: ['127.0.0.1:9000'],
      dataDir: '/nowhere',
      partitionCount: 16,
      healthCheck: { interval: 1000 },
    });
    expect((s.options() as { logger?: unknown }).logger).toBeDefined();
    await started(s);
    expect(await s.handle.ready).toEqual({
      nodeId: 'n1',
      addr: '127.0.0.1:4000',
      mode: 'joined',
      clusterId: 'c-1',
      members: 2,
      leader: 'n0',
    });
    const ready = s.lines.filter((l) => l.fields['event'] === 'ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.msg).toBe('ready: node n1 at 127.0.0.1:4000 joined the cluster (2 members)');
    expect(ready[0]!.fields).toMatchObject({ component: 'agent', node: 'n1', addr: '127.0.0.1:4000', mode: 'joined' });
  });

  it('says bootstrapped without JOIN_ADDR, restarted with a data directory from before', async () => {
    const fresh = setup();
    await started(fresh);
    expect((await fresh.handle.ready).mode).toBe('bootstrapped');
    const again = setup({ JOIN_ADDR: '127.0.0.1:9000' }, true);
    await started(again);
    expect((await again.handle.ready).mode).toBe('restarted');
  });

  it('refuses options ClusterKit refuses, synchronously, before creating anything', () => {
    const config = resolveAgentConfig({}, { NODE_ID: 'n1', REPLICATION_FACTOR: '3' });
    let created = false;
    expect(() =>
      runAgent(
        { ...config, clusterName: 'x'.repeat(200) },
        {
          createNode: () => {
            created = true;
            return new FakeNode();
          },
          signals: new EventEmitter(),
        },
      ),
    ).toThrow(InvalidArgumentError);
    expect(created).toBe(false);
  });

  it('leaves gracefully on the first signal and ends with 0', async () => {
    const s = setup();
    await started(s);
    s.signals.emit('SIGTERM');
    expect(s.node.calls).toEqual(['start', 'leave']);
    expect(s.events()).toContain('leaving');
    s.node.leaving.resolve();
    expect(await s.handle.done).toBe(0);
    expect(s.events().slice(-2)).toEqual(['left', 'exit']);
    expect(s.signals.listenerCount('SIGTERM')).toBe(0);
    expect(s.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('stops at once on a second signal and ends with 128 + the signal number', async () => {
    for (const [second, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const s = setup();
      await started(s);
      s.signals.emit('SIGTERM');
      s.signals.emit(second);
      expect(s.node.calls).toEqual(['start', 'leave', 'stop']);
      s.node.stopping.resolve();
      expect(await s.handle.done).toBe(code);
      // The leave finishing later changes nothing.
      s.node.leaving.resolve();
      await tick();
      expect(s.lines.filter((l) => l.fields['event'] === 'exit')).toHaveLength(1);
    }
  });

  it('ends after a second signal even if stop() hangs', async () => {
    const s = setup();
    await started(s);
    s.handle.signal('SIGINT');
    s.handle.signal('SIGINT');
    s.scheduler.advance(999);
    expect(s.events()).not.toContain('force-exit');
    s.scheduler.advance(1);
    expect(await s.handle.done).toBe(130);
    expect(s.events()).toContain('force-exit');
  });

  it('stops (and ends with 1) when leaving takes longer than the shutdown timeout', async () => {
    const s = setup({ SHUTDOWN_TIMEOUT: '5s' });
    await started(s);
    s.signals.emit('SIGTERM');
    s.scheduler.advance(4999);
    expect(s.node.calls).toEqual(['start', 'leave']);
    s.scheduler.advance(1);
    expect(s.node.calls).toEqual(['start', 'leave', 'stop']);
    s.node.stopping.resolve();
    expect(await s.handle.done).toBe(1);
    expect(s.events()).toContain('leave-timeout');
  });

  it('stops and ends with 1 when leaving fails', async () => {
    const s = setup();
    await started(s);
    s.signals.emit('SIGTERM');
    s.node.leaving.reject(new Error('proposal timed out'));
    await tick();
    s.node.stopping.resolve();
    expect(await s.handle.done).toBe(1);
    const failed = s.lines.find((l) => l.fields['event'] === 'leave-failed');
    expect(failed?.fields['err']).toMatchObject({ message: 'proposal timed out' });
  });

  it('ends with 1 and a clear line when the node cannot start', async () => {
    const s = setup();
    s.node.starting.reject(Object.assign(new Error('listen EADDRINUSE 127.0.0.1:8080'), { code: 'EADDRINUSE' }));
    await expect(s.handle.ready).rejects.toThrow(/EADDRINUSE/);
    expect(await s.handle.done).toBe(1);
    const line = s.lines.find((l) => l.fields['event'] === 'start-failed');
    expect(line?.level).toBe('error');
    expect(line?.msg).toBe('could not start: listen EADDRINUSE 127.0.0.1:8080');
  });

  it('stops on a signal while still starting (joining), and ends with 0', async () => {
    const s = setup({ JOIN_ADDR: '127.0.0.1:9' });
    s.signals.emit('SIGINT');
    expect(s.node.calls).toEqual(['start', 'leave']);
    s.node.starting.reject(new ShuttingDownError('stopped while starting'));
    s.node.leaving.resolve();
    expect(await s.handle.done).toBe(0);
    expect(s.events()).not.toContain('start-failed');
    expect(s.events()).not.toContain('ready');
    expect(s.events().slice(-2)).toEqual(['stopped', 'exit']); // not 'left': it never was a member
  });

  it('notices a node that died on its own and ends with 1', async () => {
    const s = setup();
    await started(s);
    s.scheduler.advance(1000);
    expect(s.node.calls).toEqual(['start']);
    s.node.live = false;
    s.scheduler.advance(1000);
    expect(s.node.calls).toEqual(['start', 'stop']);
    s.node.stopping.resolve();
    expect(await s.handle.done).toBe(1);
    expect(s.events()).toContain('node-died');
  });

  it('reloads the TLS files on SIGHUP, and keeps running when that fails', async () => {
    const s = setup({ TLS_CERT: '/c.pem', TLS_KEY: '/k.pem' });
    await started(s);
    s.node.reloads.push(
      () => Promise.resolve({ changed: true, fingerprint256: 'AB:CD' }),
      () => Promise.reject(new InvalidArgumentError('the key does not match the certificate')),
    );
    s.signals.emit('SIGHUP');
    await tick();
    expect(s.lines.find((l) => l.fields['event'] === 'tls-reloaded')?.fields).toMatchObject({
      changed: true,
      fingerprint256: 'AB:CD',
    });
    s.signals.emit('SIGHUP');
    await tick();
    const failed = s.lines.find((l) => l.fields['event'] === 'tls-reload-failed');
    expect(failed?.level).toBe('error');
    expect(failed?.fields['err']).toMatchObject({ message: 'the key does not match the certificate' });
    expect(s.node.calls).toEqual(['start', 'reloadTls', 'reloadTls']);
    // Still running: a SIGTERM leaves as usual, and every listener is removed at the end.
    s.signals.emit('SIGTERM');
    s.node.leaving.resolve();
    expect(await s.handle.done).toBe(0);
    expect(s.signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('leaves SIGHUP alone without TLS', async () => {
    const s = setup();
    await started(s);
    expect(s.signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('does not turn a dying node into a graceful leave when a signal arrives while stopping', async () => {
    const s = setup();
    await started(s);
    s.node.live = false;
    s.scheduler.advance(1000);
    expect(s.node.calls).toEqual(['start', 'stop']);
    s.signals.emit('SIGTERM');
    expect(await s.handle.done).toBe(143);
    expect(s.node.calls).toEqual(['start', 'stop']);
    expect(s.events()).not.toContain('leaving');
  });
});
