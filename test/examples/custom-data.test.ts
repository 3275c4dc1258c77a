/**
 * The custom-data example: its flag encoding (properties), and its scenario at CI size (3 node processes: flags set
 * on one node and read on all, updated, deleted, a node killed and restarted with the latest values, graceful
 * leaves), which asserts every step itself and throws on the first failed check.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  decodeFlag,
  encodeFlag,
  FLAG_PREFIX,
  flagKey,
  flagName,
  greet,
  isFlagName,
} from '../../examples/custom-data/flags.js';
import { runFlagsScenario } from '../../examples/custom-data/scenario.js';
import { InvalidArgumentError } from '../../src/index.js';

const flagNameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);

describe('flag names and values', () => {
  test.prop([flagNameArb])('a valid name maps to a key and back', (name) => {
    expect(flagKey(name)).toBe(FLAG_PREFIX + name);
    expect(flagName(flagKey(name))).toBe(name);
  });

  test.prop([fc.string()])('keys outside the flags/ prefix, or with bad names, are not flags', (s) => {
    const name = flagName(s);
    if (name !== undefined) {
      expect(s).toBe(FLAG_PREFIX + name);
      expect(isFlagName(name)).toBe(true);
    }
  });

  it('refuses bad names with InvalidArgumentError', () => {
    for (const bad of ['', '.hidden', 'a/b', 'x'.repeat(101), 'sp ace', 'é']) {
      expect(() => flagKey(bad)).toThrow(InvalidArgumentError);
    }
  });

  test.prop([fc.jsonValue()])('any JSON value round-trips', (value) => {
    // JSON itself turns -0 into 0: compare with what JSON would give back.
    expect(decodeFlag(encodeFlag(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('refuses values that are not JSON, and decodes foreign bytes as undefined', () => {
    for (const bad of [undefined, Number.NaN, Number.POSITIVE_INFINITY, () => 1, 10n]) {
      expect(() => encodeFlag(bad)).toThrow(InvalidArgumentError);
    }
    expect(decodeFlag(new TextEncoder().encode('not json'))).toBeUndefined();
    expect(decodeFlag(new Uint8Array([0xff, 0xfe]))).toBeUndefined();
  });

  it('greets as the flags say', () => {
    expect(greet({}, 'ops')).toBe('hello, ops');
    expect(greet({ 'config.greeting': 'hola' }, 'ops')).toBe('hola, ops');
    expect(greet({ 'config.greeting': 'hola', 'feature.shout': true }, 'ops')).toBe('HOLA, OPS');
    // Only a real boolean true turns shouting on; a non-string greeting falls back to the default.
    expect(greet({ 'config.greeting': 42, 'feature.shout': 'true' }, 'ops')).toBe('hello, ops');
  });
});

describe('custom-data scenario (real processes)', () => {
  it('3 nodes: flags everywhere, updates, deletes, a killed node restarts with the latest values', async () => {
    const lines: string[] = [];
    const result = await runFlagsScenario({ nodes: 3, log: (l) => lines.push(l) });
    // Three reads of every node per step, five steps, plus the single checks: the scenario did not skip anything.
    expect(result.checks).toBeGreaterThanOrEqual(30);
    expect(result.removedAfterMs).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatch(/^\[.*\] PASS: \d+ checks/);
    // The restarted node, on its own, before the others are checked again.
    expect(lines.some((l) => /✓ node-\d sees 3 flags and greets "hola, ops"/.test(l))).toBe(true);
  }, 120_000);
});
