import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterKit } from '../../../src/cluster/index.js';
import { resolveOptions, splitHostPort } from '../../../src/cluster/options.js';
import { InvalidArgumentError } from '../../../src/errors.js';

const base = { nodeId: 'node-1', httpAddr: '127.0.0.1:8080' };

function refused(options: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    resolveOptions(options as never);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as Error).message).toMatch(message);
}

describe('ClusterKit options', () => {
  it('needs only nodeId and httpAddr, and fills in the documented defaults', () => {
    const o = resolveOptions(base);
    expect(o.nodeId).toBe('node-1');
    expect(o.nodeName).toBe('node-1');
    expect(o.partitionCount).toBe(64);
    expect(o.replicationFactor).toBe(3);
    expect(o.maxVoters).toBe(5);
    expect(o.clusterName).toBe('clusterkit-cluster');
    expect(o.placement).toBe('balanced');
    expect(o.healthCheck).toEqual({ enabled: true, interval: 5000, timeout: 2000, failureThreshold: 3 });
    expect(o.joinAddrs).toEqual([]);
    expect(o.dataDir).toBe(join('clusterkit-data', 'node-1'));
    expect(o.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(o.advertiseHost).toBe('127.0.0.1');
    expect(o.advertisePort).toBe(8080);
    expect(o.raft.electionMs).toBe(1000);
    expect(o.raft.heartbeatMs).toBe(50);
    expect(o.weight).toBe(1);
    expect(o.zone).toBeUndefined();
    expect(o.hookConcurrency).toBe(50);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('runs at most 50 hooks at once by default, and takes another limit', () => {
    expect(resolveOptions(base).hookConcurrency).toBe(50);
    expect(resolveOptions({ ...base, hookConcurrency: 3 }).hookConcurrency).toBe(3);
    refused({ ...base, hookConcurrency: 0 }, /hookConcurrency must be an integer between 1 and 10000/);
    refused({ ...base, hookConcurrency: 2.5 }, /hookConcurrency must be an integer between 1 and 10000/);
  });

  it('treats the Go zero values as "use the default"', () => {
    const o = resolveOptions({
      ...base,
      partitionCount: 0,
      replicationFactor: 0,
      healthCheck: { interval: 0, timeout: 0, failureThreshold: 0 },
      joinAddr: '',
    });
    expect(o.partitionCount).toBe(64);
    expect(o.replicationFactor).toBe(3);
    expect(o.healthCheck.interval).toBe(5000);
    expect(o.joinAddrs).toEqual([]);
  });

  it('accepts one join address or a list, normalises ":port" and drops duplicates', () => {
    expect(resolveOptions({ ...base, joinAddr: 'localhost:8081' }).joinAddrs).toEqual(['localhost:8081']);
    expect(resolveOptions({ ...base, joinAddr: [':8081', '10.0.0.2:8081', '127.0.0.1:8081'] }).joinAddrs).toEqual([
      '127.0.0.1:8081',
      '10.0.0.2:8081',
    ]);
  });

  it('never advertises a wildcard address', () => {
    const wild = resolveOptions({ ...base, httpAddr: ':8080' });
    expect(wild.listen).toEqual({ host: undefined, port: 8080 });
    expect(wild.advertiseHost).not.toBe('');
    expect(wild.advertiseHost).not.toBe('0.0.0.0');
    const explicit = resolveOptions({ ...base, httpAddr: '0.0.0.0:0', advertiseAddr: 'node-1.internal:0' });
    expect(explicit.listen).toEqual({ host: '0.0.0.0', port: 0 });
    expect(explicit.advertiseHost).toBe('node-1.internal');
    expect(explicit.advertisePort).toBe(0);
    refused({ ...base, advertiseAddr: ':9000' }, /advertiseAddr must name a host/);
    refused({ ...base, advertiseAddr: '0.0.0.0:9000' }, /advertiseAddr must name a host/);
  });

  it('parses IPv6 hosts in brackets', () => {
    expect(splitHostPort('x', '[::1]:8080')).toEqual({ host: '[::1]', port: 8080 });
    const o = resolveOptions({ ...base, httpAddr: '[::1]:8080' });
    expect(o.listen.host).toBe('::1');
    refused({ ...base, httpAddr: '::1:8080' }, /IPv6 host must be in brackets/);
  });

  it.each([
    [{ httpAddr: '127.0.0.1:8080' }, /NodeID is required/],
    [{ nodeId: 'n' }, /HTTPAddr is required/],
    [{ ...base, nodeId: 'a\nb' }, /nodeId must be a string/],
    [{ ...base, httpAddr: '127.0.0.1' }, /httpAddr must be "host:port"/],
    [{ ...base, httpAddr: '127.0.0.1:70000' }, /invalid port/],
    [{ ...base, httpAddr: '127.0.0.1:080' }, /invalid port/],
    [{ ...base, joinAddr: 'host' }, /joinAddr must be "host:port"/],
    [{ ...base, joinAddr: ['a:1', 'b:0'] }, /joinAddr\[1\] must name a real port/],
    [{ ...base, joinAddr: 42 }, /joinAddr must be/],
    [{ ...base, partitionCount: -1 }, /partitionCount must be an integer/],
    [{ ...base, partitionCount: 1.5 }, /partitionCount must be an integer/],
    [{ ...base, replicationFactor: 100 }, /replicationFactor must be an integer between 1 and 32/],
    [{ ...base, maxVoters: 0 }, /maxVoters must be an integer/],
    [{ ...base, healthCheck: { interval: -5 } }, /healthCheck.interval must be a number/],
    [{ ...base, healthCheck: { enabled: 'yes' } }, /healthCheck.enabled must be a boolean/],
    [{ ...base, healthCheck: { every: 5 } }, /unknown field every/],
    [{ ...base, services: { kv: '' } }, /service address for 'kv' cannot be empty/],
    [{ ...base, services: { '': ':1' } }, /service name cannot be empty/],
    [{ ...base, services: { kv: '9080' } }, /invalid service address format for 'kv': 9080/],
    [{ ...base, weight: 0 }, /weight must be a finite number/],
    [{ ...base, zone: '' }, /zone must be a string/],
    [{ ...base, placement: 'random' }, /placement must be/],
    [{ ...base, logger: { info: () => undefined } }, /logger must be pino-compatible/],
    [{ ...base, raft: { electionMs: 0 } }, /raft.electionMs/],
    [{ ...base, raft: { votes: 3 } }, /raft has an unknown field votes/],
    [{ ...base, joinBackoffMs: { min: 500, max: 100 } }, /joinBackoffMs.max must not be less/],
    [{ ...base, colour: 'red' }, /unknown option "colour"/],
  ])('refuses %j', (options, message) => {
    refused(options, message);
  });

  it('refuses bad options in the constructor, before anything starts', () => {
    expect(() => new ClusterKit({ nodeId: '', httpAddr: ':1' })).toThrow(InvalidArgumentError);
  });

  it('keeps the Go service rules (":port" and "host:port")', () => {
    const o = resolveOptions({ ...base, services: { kv: ':9080', admin: 'host:9090' } });
    expect(o.services).toEqual({ admin: 'host:9090', kv: ':9080' });
    expect(Object.isFrozen(o.services)).toBe(true);
  });

  it('derives a safe directory name from any node id', () => {
    expect(resolveOptions({ ...base, nodeId: 'a/b' }).dataDir).toBe(join('clusterkit-data', 'a%2Fb'));
    expect(resolveOptions({ ...base, nodeId: '..' }).dataDir).toBe(join('clusterkit-data', '%2E%2E'));
  });
});
