import { describe, expect, it } from 'vitest';
import { ClusterKitError, InvalidArgumentError, NotLeaderError, StorageCorruptError } from '../src/index.js';

describe('errors', () => {
  it('carries a stable code and a retriable flag', () => {
    const e = new NotLeaderError('n2', '127.0.0.1:9000');
    expect(e).toBeInstanceOf(ClusterKitError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ERR_NOT_LEADER');
    expect(e.retriable).toBe(true);
    expect(e.leaderId).toBe('n2');
    expect(new InvalidArgumentError('x').retriable).toBe(false);
  });

  it('names the file and offset of corrupt storage', () => {
    const e = new StorageCorruptError('/data/wal/0001.seg', 4096, 'bad CRC');
    expect(e.message).toContain('/data/wal/0001.seg');
    expect(e.message).toContain('4096');
    expect(e.offset).toBe(4096);
  });

  it('recognises errors from another copy of the package by brand, not by class', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('clusterkit.error')]: true });
    expect(foreign instanceof ClusterKitError).toBe(true);
    expect(new Error('plain') instanceof ClusterKitError).toBe(false);
  });
});

describe('instanceof on subclasses', () => {
  it('does not confuse one subclass with another', async () => {
    const { TimeoutError, ShuttingDownError } = await import('../src/index.js');
    const notLeader = new NotLeaderError('n1');
    expect(notLeader instanceof NotLeaderError).toBe(true);
    expect(notLeader instanceof ClusterKitError).toBe(true);
    expect(notLeader instanceof TimeoutError).toBe(false);
    expect(new ClusterKitError('ERR_INTERNAL', 'x') instanceof NotLeaderError).toBe(false);
    expect(new ShuttingDownError() instanceof InvalidArgumentError).toBe(false);
    const foreign = Object.assign(new Error('x'), { name: 'NotLeaderError', [Symbol.for('clusterkit.error')]: true });
    expect(foreign instanceof NotLeaderError).toBe(true);
    expect(foreign instanceof TimeoutError).toBe(false);
  });
});
