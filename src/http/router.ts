/**
 * A tiny method + path router. Patterns are absolute paths whose segments are literals or `:name` parameters
 * (`/custom-data/:key`). Matching is exact (no trailing-slash folding, as Go's ServeMux for exact paths); a literal
 * segment beats a parameter; parameters are percent-decoded and may be empty (the handler validates them, so that
 * `/custom-data/` gets "key must not be empty" rather than a bare 404). HEAD is served by GET routes.
 */
import { badRequest } from './errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface Compiled<T> {
  readonly method: Method;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly literals: number;
  readonly value: T;
}

export type RouteMatch<T> =
  | { readonly kind: 'match'; readonly pattern: string; readonly value: T; readonly params: Record<string, string> }
  /** The path exists but not for this method: answer 405 with `allow`. */
  | { readonly kind: 'method'; readonly allow: readonly string[] }
  | { readonly kind: 'none' };

export class Router<T> {
  private readonly routes: Compiled<T>[] = [];

  add(method: Method, pattern: string, value: T): this {
    if (!pattern.startsWith('/')) throw new RangeError(`route pattern must start with '/': ${pattern}`);
    const segments = pattern.split('/').slice(1);
    const names = segments.filter((s) => s.startsWith(':'));
    if (new Set(names).size !== names.length) throw new RangeError(`duplicate parameter in ${pattern}`);
    if (this.routes.some((r) => r.method === method && r.pattern === pattern)) {
      throw new RangeError(`route ${method} ${pattern} registered twice`);
    }
    const literals = segments.length - names.length;
    this.routes.push({ method, pattern, segments, literals, value });
    return this;
  }

  /** Every registered pattern with its methods (HEAD included where GET is), for OPTIONS and documentation. */
  patterns(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.routes) {
      const list = out.get(r.pattern) ?? [];
      list.push(r.method);
      out.set(r.pattern, list);
    }
    return out;
  }

  /**
   * Finds the route for `method` and `path` (the path part of the request target, still percent-encoded).
   * Throws a 400 HttpError when a parameter is not valid percent-encoded UTF-8.
   */
  match(method: string, path: string): RouteMatch<T> {
    const parts = path.split('/').slice(1);
    const wanted = method === 'HEAD' ? 'GET' : method;
    let best: { route: Compiled<T>; literals: number } | undefined;
    const allow = new Set<string>();
    for (const r of this.routes) {
      if (!segmentsMatch(r.segments, parts)) continue;
      allow.add(r.method);
      if (r.method === wanted && (best === undefined || r.literals > best.literals))
        best = { route: r, literals: r.literals };
    }
    if (best === undefined) {
      if (allow.size === 0) return { kind: 'none' };
      if (allow.has('GET')) allow.add('HEAD');
      return { kind: 'method', allow: [...allow].sort() };
    }
    const params: Record<string, string> = {};
    best.route.segments.forEach((seg, i) => {
      if (seg.startsWith(':')) params[seg.slice(1)] = decodeParam(parts[i] ?? '', seg.slice(1));
    });
    return { kind: 'match', pattern: best.route.pattern, value: best.route.value, params };
  }
}

function segmentsMatch(pattern: readonly string[], parts: readonly string[]): boolean {
  if (pattern.length !== parts.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (!p.startsWith(':') && p !== parts[i]) return false;
  }
  return true;
}

function decodeParam(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`path parameter ${name} is not valid percent-encoded UTF-8`);
  }
}
