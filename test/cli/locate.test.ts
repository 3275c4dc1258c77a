import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/cli.js';
import { cli, cliProcess } from './helpers.js';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/go-key-vectors.json', import.meta.url), 'utf8')) as {
  vectors: { key: string; partition_of_64: string }[];
};

describe('clusterkit CLI', () => {
  it('answers --version and --help as a real process', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const [version, help, bad] = await Promise.all([
      cliProcess(['--version']),
      cliProcess(['--help']),
      cliProcess(['locate', 'k', '--bogus']),
    ]);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.stdout).toContain(`  ${c.name} `);
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {2}success/);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^error: [^\n]*--bogus[^\n]*\n$/);
  });

  it('has --help with examples and exit codes for every command', async () => {
    for (const c of commands) {
      const run = await cli([c.name, '--help']);
      expect(run.code, c.name).toBe(0);
      expect(run.stdout, c.name).toContain(`Usage: clusterkit ${c.name}`);
      expect(run.stdout, c.name).toContain('Examples:');
      expect(run.stdout, c.name).toContain('Exit codes:');
      expect(await cli(['help', c.name])).toEqual(run);
    }
    // A key may be "--help" after "--".
    const key = await cli(['locate', '--', '--help']);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(/^key +--help$/m);
  });

  it('locates keys exactly as the Go original', async () => {
    for (const v of vectors.vectors) {
      const run = await cli(['locate', v.key, '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ key: v.key, partition: v.partition_of_64 });
    }
  });

  it('computes owners with --nodes, distinct and of the requested count', async () => {
    const run = await cli(['locate', 'user:123', '--nodes', 'a,b,c,d', '--replication-factor', '3', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { primary: string; replicas: string[] };
    const owners = [out.primary, ...out.replicas];
    expect(new Set(owners).size).toBe(3);
    for (const o of owners) expect(['a', 'b', 'c', 'd']).toContain(o);
  });

  it('rejects bad command lines with exit code 2 and a one-line error', async () => {
    const runs = await Promise.all([
      cli(['locate']),
      cli(['locate', 'k', '--partitions', 'abc']),
      cli(['locate', 'k', '--partitions', '0']),
      cli(['nope']),
      cli(['help', 'nope']),
      cli(['locate', 'k', '--bogus']),
      cli(['locate', 'k', '--addr', '127.0.0.1:1', '--nodes', 'a']),
      cli(['locate', 'k', '--consistent']),
      cli(['locate', 'k', '--addr', 'ftp://x:1']),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^error: [^\n]+\n$/);
      expect(run.stdout).toBe('');
    }
  });

  it('asks a node when CLUSTERKIT_ADDR is set (and reports it unreachable with exit code 3)', async () => {
    const run = await cli(['locate', 'k'], { CLUSTERKIT_ADDR: '127.0.0.1:1' });
    expect(run).toEqual({
      code: 3,
      stdout: '',
      stderr: 'error: node unreachable at 127.0.0.1:1: connection refused\n',
    });
    // Offline flags win over the variable.
    expect((await cli(['locate', 'k', '--partitions', '8'], { CLUSTERKIT_ADDR: '127.0.0.1:1' })).code).toBe(0);
  });
});
