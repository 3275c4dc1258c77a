/**
 * Strict validators for values decoded from JSON (commands and snapshots). Each returns the value, normalised, or
 * throws InvalidArgumentError naming the field. Nothing here trusts the prototype of its input: objects are read
 * with own-property checks, and records are rebuilt with `Object.fromEntries` (so a `__proto__` key stays a key).
 */
import { InvalidArgumentError } from '../../errors.js';
import { describe } from '../../util/assert.js';
import {
  MAX_INCARNATION_LENGTH,
  MAX_SERVICES,
  MAX_STRING_LENGTH,
  MAX_WEIGHT,
  type NodeRecord,
  type NodeSpec,
} from './types.js';

export type Json = Record<string, unknown>;

export function fail(message: string): never {
  throw new InvalidArgumentError(message);
}

export function expectObject(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${where} must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

/** Refuses fields outside `allowed`: a node must never ignore a field that another node would honour. */
export function expectOnlyKeys(obj: Json, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${where} has an unknown field ${describe(key)}`);
  }
}

export function expectArray(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(`${where} must be an array, got ${describe(value)}`);
  return value;
}

/** True when `s` holds a C0 control character or DEL: no business in ids, names or addresses (ambiguous logs). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A string of `min..max` UTF-16 code units without control characters. */
export function expectString(value: unknown, where: string, max = MAX_STRING_LENGTH, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    fail(`${where} must be a string of ${min} to ${max} characters, got ${describe(value)}`);
  }
  if (hasControl(value)) fail(`${where} must not contain control characters`);
  return value;
}

export function expectInteger(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${where} must be an integer between ${min} and ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Milliseconds since the epoch (or any non-negative integer time base the proposers share). */
export function expectTime(value: unknown, where: string): number {
  return expectInteger(value, where, 0, Number.MAX_SAFE_INTEGER);
}

export function expectBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') fail(`${where} must be a boolean, got ${describe(value)}`);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(`${where} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

// host:port with a hostname, an IPv4 address or a bracketed IPv6 address, and a port 1..65535 without leading
// zeros (so that equal endpoints are equal strings, which the address-conflict check relies on).
const ADDR = /^(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9._-]+):([1-9][0-9]{0,4})$/;

/** An advertised `host:port` other nodes can dial: the host must be present (unlike the Go original's ":8080"). */
export function expectAddr(value: unknown, where: string): string {
  const s = expectString(value, where);
  const m = ADDR.exec(s);
  if (m === null || Number(m[1]) > 65_535)
    fail(`${where} must be host:port with a port in 1..65535, got ${describe(s)}`);
  return s;
}

export function expectWeight(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_WEIGHT) {
    fail(`${where} must be a finite number in (0, ${MAX_WEIGHT}], got ${describe(value)}`);
  }
  return value;
}

export function expectIncarnation(value: unknown, where: string): string {
  return expectString(value, where, MAX_INCARNATION_LENGTH);
}

/**
 * Services, name → address, with the Go original's rules (non-empty name; the address contains a colon, so
 * ":9080" and "host:9080" both pass), at most MAX_SERVICES. Returned frozen, keys sorted.
 */
export function expectServices(value: unknown, where: string): Readonly<Record<string, string>> {
  const obj = expectObject(value, where);
  const names = Object.keys(obj).sort(compareStrings);
  if (names.length > MAX_SERVICES) fail(`${where} has ${names.length} services, more than ${MAX_SERVICES}`);
  const entries: [string, string][] = [];
  for (const name of names) {
    expectString(name, `${where} service name`);
    const addr = expectString(obj[name], `${where}[${JSON.stringify(name)}]`);
    if (!addr.includes(':')) {
      fail(`${where}[${JSON.stringify(name)}] must look like ':port' or 'host:port', got ${describe(addr)}`);
    }
    entries.push([name, addr]);
  }
  return Object.freeze(Object.fromEntries(entries));
}

export const NODE_SPEC_FIELDS = ['id', 'name', 'httpAddr', 'raftAddr', 'zone', 'weight', 'services', 'incarnation'];

/** A node's self-description. Optional fields are left out when absent. */
export function expectNodeSpec(value: unknown, where: string): NodeSpec {
  const o = expectObject(value, where);
  expectOnlyKeys(o, NODE_SPEC_FIELDS, where);
  const spec: {
    id: string;
    name: string;
    httpAddr: string;
    raftAddr: string;
    zone?: string;
    weight?: number;
    services?: Readonly<Record<string, string>>;
    incarnation: string;
  } = {
    id: expectString(o['id'], `${where}.id`),
    name: expectString(o['name'], `${where}.name`),
    httpAddr: expectAddr(o['httpAddr'], `${where}.httpAddr`),
    raftAddr: expectAddr(o['raftAddr'], `${where}.raftAddr`),
    incarnation: expectIncarnation(o['incarnation'], `${where}.incarnation`),
  };
  if (o['zone'] !== undefined) spec.zone = expectString(o['zone'], `${where}.zone`);
  if (o['weight'] !== undefined) spec.weight = expectWeight(o['weight'], `${where}.weight`);
  if (o['services'] !== undefined) spec.services = expectServices(o['services'], `${where}.services`);
  return spec;
}

const NO_SERVICES: Readonly<Record<string, string>> = Object.freeze({});

/** The frozen record of a node admitted at `at` from its spec (defaults filled in). */
export function recordFromSpec(spec: NodeSpec, at: number): NodeRecord {
  return freezeRecord({
    id: spec.id,
    name: spec.name,
    httpAddr: spec.httpAddr,
    raftAddr: spec.raftAddr,
    zone: spec.zone,
    weight: spec.weight ?? 1,
    services: spec.services ?? NO_SERVICES,
    incarnation: spec.incarnation,
    joinedAt: at,
    updatedAt: at,
  });
}

/** Freezes a record in canonical field order (so equal records serialise identically); drops an absent zone. */
export function freezeRecord(r: {
  id: string;
  name: string;
  httpAddr: string;
  raftAddr: string;
  zone: string | undefined;
  weight: number;
  services: Readonly<Record<string, string>>;
  incarnation: string;
  joinedAt: number;
  updatedAt: number;
}): NodeRecord {
  const out: { -readonly [K in keyof NodeRecord]: NodeRecord[K] } = {
    id: r.id,
    name: r.name,
    httpAddr: r.httpAddr,
    raftAddr: r.raftAddr,
    weight: r.weight,
    services: Object.isFrozen(r.services) ? r.services : Object.freeze({ ...r.services }),
    incarnation: r.incarnation,
    joinedAt: r.joinedAt,
    updatedAt: r.updatedAt,
  };
  if (r.zone !== undefined) out.zone = r.zone;
  return Object.freeze(out);
}

/** Same services (both have sorted keys). */
export function sameServices(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

/** Code-unit order, the same on every node (no locale). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64 (Go's `base64.StdEncoding`), canonical, decoding to at most `maxBytes`. */
export function expectBase64(value: unknown, where: string, maxBytes: number): Uint8Array {
  if (typeof value !== 'string') fail(`${where} must be a base64 string, got ${describe(value)}`);
  if (value.length > Math.ceil(maxBytes / 3) * 4) fail(`${where} is larger than ${maxBytes} bytes`);
  if (!BASE64.test(value)) fail(`${where} is not valid base64`);
  const bytes = Buffer.from(value, 'base64');
  // Non-zero padding bits decode fine but re-encode differently: refuse them, one value has one encoding.
  if (bytes.toString('base64') !== value) fail(`${where} is not canonical base64`);
  if (bytes.length > maxBytes) fail(`${where} is larger than ${maxBytes} bytes`);
  // A copy: small Buffers are views of a shared pool, which a stored value must not keep alive.
  return new Uint8Array(bytes);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
