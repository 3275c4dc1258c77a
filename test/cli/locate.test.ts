import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/go-key-vectors.json', import.meta.url), 'utf8')) as {
  vectors: { key: string; partition_of_64: string }[];
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: new URL('../..', import.meta.url), env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('clusterkit CLI', () => {
  it('answers --version and --help', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const [version, help, locateHelp] = await Promise.all([cli('--version'), cli('--help'), cli('locate', '--help')]);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('locate');
    expect(locateHelp.stdout).toContain('Examples:');
  });

  it('locates keys exactly as the Go original', async () => {
    const sample = vectors.vectors.slice(0, 4);
    const runs = await Promise.all(sample.map((v) => cli('locate', v.key, '--json')));
    runs.forEach((run, i) => {
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ key: sample[i]!.key, partition: sample[i]!.partition_of_64 });
    });
  });

  it('computes owners with --nodes, distinct and of the requested count', async () => {
    const run = await cli('locate', 'user:123', '--nodes', 'a,b,c,d', '--replication-factor', '3', '--json');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { primary: string; replicas: string[] };
    const owners = [out.primary, ...out.replicas];
    expect(new Set(owners).size).toBe(3);
    for (const o of owners) expect(['a', 'b', 'c', 'd']).toContain(o);
  });

  it('rejects bad command lines with exit code 2 and a one-line error', async () => {
    const runs = await Promise.all([
      cli('locate'),
      cli('locate', 'k', '--partitions', 'abc'),
      cli('locate', 'k', '--partitions', '0'),
      cli('nope'),
      cli('locate', 'k', '--bogus'),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')[0]).toMatch(/^error: /);
      expect(run.stdout).toBe('');
    }
  });
});
