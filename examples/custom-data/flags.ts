/**
 * Feature flags and configuration stored in ClusterKit's replicated custom data: the naming, the encoding, and the
 * one piece of application behaviour the flags drive. Pure functions: the node (node.ts) reads the values from its
 * local copy of the replicated state on every request, so a change made on any node takes effect everywhere
 * without a restart.
 *
 * A flag `name` lives under the custom-data key `flags/<name>`; its value is any JSON value, stored as UTF-8 JSON.
 */
import { InvalidArgumentError } from '../../src/index.js';

export const FLAG_PREFIX = 'flags/';

/** Any JSON value. */
export type FlagValue = null | boolean | number | string | readonly FlagValue[] | { readonly [k: string]: FlagValue };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 100 characters. */
export function isFlagName(name: string): boolean {
  return NAME.test(name);
}

/** The custom-data key of a flag; throws InvalidArgumentError for a bad name. */
export function flagKey(name: string): string {
  if (!isFlagName(name)) {
    throw new InvalidArgumentError(
      `bad flag name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 100 characters)`,
    );
  }
  return FLAG_PREFIX + name;
}

/** The flag name of a custom-data key, or undefined for keys that are not flags. */
export function flagName(key: string): string | undefined {
  if (!key.startsWith(FLAG_PREFIX)) return undefined;
  const name = key.slice(FLAG_PREFIX.length);
  return isFlagName(name) ? name : undefined;
}

/** The stored form of a value; throws InvalidArgumentError when it is not JSON (undefined, a function, NaN...). */
export function encodeFlag(value: unknown): Uint8Array {
  if (value === undefined) throw new InvalidArgumentError('a flag needs a value (use DELETE to remove it)');
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new InvalidArgumentError(`a flag value must be JSON, got ${value}`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidArgumentError('a flag value must be JSON', { cause: err });
  }
  if (text === undefined) throw new InvalidArgumentError('a flag value must be JSON');
  return encoder.encode(text);
}

/** The value of stored bytes, or undefined when they are not UTF-8 JSON (written by something else). */
export function decodeFlag(bytes: Uint8Array): FlagValue | undefined {
  try {
    return JSON.parse(decoder.decode(bytes)) as FlagValue;
  } catch {
    return undefined;
  }
}

/**
 * What `GET /hello` answers, from the flags as they are right now: `config.greeting` (default "hello") and the
 * boolean `feature.shout` (upper case).
 */
export function greet(flags: Readonly<Record<string, FlagValue>>, who: string): string {
  const g = flags['config.greeting'];
  const text = `${typeof g === 'string' && g !== '' ? g : 'hello'}, ${who}`;
  return flags['feature.shout'] === true ? text.toUpperCase() : text;
}
