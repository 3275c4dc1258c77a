import { InvalidArgumentError } from '../errors.js';

/** Throws InvalidArgumentError unless `value` is an integer within [min, max]. */
export function assertInteger(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}, got ${describe(value)}`);
  }
}

/** Throws InvalidArgumentError unless `value` is a non-empty string of at most `maxLength` characters. */
export function assertNonEmptyString(name: string, value: unknown, maxLength = 256): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidArgumentError(
      `${name} must be a non-empty string of at most ${maxLength} characters, got ${describe(value)}`,
    );
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return typeof value;
}
