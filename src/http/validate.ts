/**
 * Input checks for request bodies and query strings. Every failure is a 400 HttpError with a message naming the
 * field and what was wrong, thrown before anything is changed.
 */
import { describe } from '../util/assert.js';
import { badRequest } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export function expectObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`${where} must be a JSON object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

/** Unknown fields are refused: a misspelt field would otherwise be silently ignored. */
export function expectOnlyKeys(obj: JsonObject, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw badRequest(`${where} has an unknown field ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
    }
  }
}

function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export interface StringRule {
  readonly min?: number;
  readonly max?: number;
  /** Refuse C0 control characters and DEL (ids, names and addresses; default true). */
  readonly noControl?: boolean;
}

/** A string field, or undefined when absent (JSON null counts as absent). */
export function optionalString(obj: JsonObject, key: string, where: string, rule: StringRule = {}): string | undefined {
  const v = own(obj, key);
  if (v === undefined || v === null) return undefined;
  return checkString(v, `${where}.${key}`, rule);
}

export function checkString(v: unknown, where: string, rule: StringRule = {}): string {
  const min = rule.min ?? 1;
  const max = rule.max ?? 256;
  if (typeof v !== 'string' || v.length < min || v.length > max) {
    throw badRequest(`${where} must be a string of ${min} to ${max} characters, got ${describe(v)}`);
  }
  if ((rule.noControl ?? true) && hasControl(v)) throw badRequest(`${where} must not contain control characters`);
  return v;
}

/** An integer field in [min, max], or undefined when absent. */
export function optionalInteger(
  obj: JsonObject,
  key: string,
  where: string,
  min: number,
  max: number,
): number | undefined {
  const v = own(obj, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badRequest(`${where}.${key} must be an integer between ${min} and ${max}, got ${describe(v)}`);
  }
  return v;
}

/** A finite number field in (0, max], or undefined when absent. */
export function optionalPositive(obj: JsonObject, key: string, where: string, max: number): number | undefined {
  const v = own(obj, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw badRequest(`${where}.${key} must be a number in (0, ${max}], got ${describe(v)}`);
  }
  return v;
}

// host:port: a hostname, an IPv4 address or a bracketed IPv6 address, and a port 1..65535 without leading zeros
// (the replicated state's rule, so the node does not refuse what passed here for a syntactic reason).
const ADDR = /^(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9._-]+):([1-9][0-9]{0,4})$/;
const PORT_ONLY = /^:([1-9][0-9]{0,4})$/;

/**
 * A `host:port` address. A Go-style `:port` (the Go original advertised its bind address verbatim) gets the
 * request's source address as host, so what the cluster records is routable.
 */
export function resolveAddr(value: string, where: string, remoteAddress: string | undefined): string {
  let addr = value;
  if (PORT_ONLY.test(addr)) {
    if (remoteAddress === undefined) throw badRequest(`${where} ${JSON.stringify(value)} has no host`);
    addr = `${hostOf(remoteAddress)}${addr}`;
  }
  const m = ADDR.exec(addr);
  if (m === null || Number(m[1]) > 65_535) {
    throw badRequest(`${where} must be host:port with a port in 1..65535, got ${describe(value)}`);
  }
  return addr;
}

/** A socket's remote address as the host part of host:port (IPv4-mapped IPv6 unwrapped, IPv6 bracketed). */
function hostOf(remote: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (v4 !== null) return v4[1]!;
  return remote.includes(':') ? `[${remote}]` : remote;
}

/** Service name → address, with the Go original's rules (non-empty name; the address contains a colon). */
export function optionalServices(
  obj: JsonObject,
  key: string,
  where: string,
  maxServices: number,
): Record<string, string> | undefined {
  const v = own(obj, key);
  if (v === undefined || v === null) return undefined;
  const services = expectObject(v, `${where}.${key}`);
  const names = Object.keys(services);
  if (names.length > maxServices) {
    throw badRequest(`${where}.${key} has ${names.length} services, more than ${maxServices}`);
  }
  const out: Record<string, string> = {};
  for (const name of names.sort()) {
    checkString(name, `${where}.${key} service name`);
    const addr = checkString(services[name], `${where}.${key}[${JSON.stringify(name)}]`);
    if (!addr.includes(':')) {
      throw badRequest(
        `${where}.${key}[${JSON.stringify(name)}] must look like ':port' or 'host:port', got ${describe(addr)}`,
      );
    }
    Object.defineProperty(out, name, { value: addr, enumerable: true, writable: false, configurable: false });
  }
  return out;
}

/** The single value of a query parameter; a repeated parameter is refused (which one would win is ambiguous). */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw badRequest(`query parameter ${name} is given ${all.length} times`);
  return all[0];
}

const NON_NEGATIVE = /^(?:0|[1-9][0-9]*)$/;

/** A non-negative integer query parameter, or undefined when absent. "-1", "1.5", "abc", "" are refused. */
export function queryInteger(query: URLSearchParams, name: string): number | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!NON_NEGATIVE.test(raw) || !Number.isSafeInteger(n)) {
    throw badRequest(`query parameter ${name} must be a non-negative integer, got ${describe(raw)}`);
  }
  return n;
}

/** A boolean query parameter: true/1/yes or false/0/no; a bare `?name` means true. */
export function queryBoolean(query: URLSearchParams, name: string): boolean {
  const raw = queryValue(query, name);
  if (raw === undefined) return false;
  switch (raw.toLowerCase()) {
    case '':
    case 'true':
    case '1':
    case 'yes':
      return true;
    case 'false':
    case '0':
    case 'no':
      return false;
    default:
      throw badRequest(`query parameter ${name} must be true or false, got ${describe(raw)}`);
  }
}

/** One of `allowed`, or undefined when absent. */
export function queryChoice<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw badRequest(`query parameter ${name} must be one of ${allowed.join(', ')}, got ${describe(raw)}`);
  }
  return raw as T;
}

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

/** `limit` (default `def`, clamped to [1, max] as the Go original) and `offset` (default 0), validated. */
export function queryPage(query: URLSearchParams, def: number, max: number): Page {
  const limit = queryInteger(query, 'limit');
  const offset = queryInteger(query, 'offset') ?? 0;
  return { offset, limit: Math.min(max, Math.max(1, limit ?? def)) };
}
