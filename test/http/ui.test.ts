/**
 * The dashboard's files: served under the read access level with a strict CSP and content ETags, the script is
 * valid JavaScript, and every endpoint the page calls exists with read access (so the page never needs more).
 */
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../src/http/api.js';
import type { HttpHandler } from '../../src/http/handler.js';
import { UI_ASSETS } from '../../src/http/ui/assets.js';
import { type EventServer, FakeWithEvents, startEventServer } from './event-fixtures.js';
import { get } from './helpers.js';

let s: EventServer;
beforeAll(async () => {
  s = await startEventServer({}, new FakeWithEvents());
});
afterAll(async () => {
  await s.close();
});

function routes(server: EventServer): ReturnType<HttpHandler['routes']> {
  return (server.server as unknown as { handler: HttpHandler }).handler.routes();
}

describe('GET /ui', () => {
  it('serves the page with security headers and a revalidatable ETag', async () => {
    const r = await get(s.port, '/ui');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.text).toContain('<script type="module" src="ui/app.js"></script>');
    const again = await get(s.port, '/ui', { 'If-None-Match': String(r.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('references only its own files, and every one of them is served', async () => {
    const page = (await get(s.port, '/ui')).text;
    const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.sort()).toEqual(['ui/app.js', 'ui/icon.svg', 'ui/icon.svg', 'ui/style.css']);
    for (const ref of new Set(refs)) {
      const r = await get(s.port, `/${ref}`);
      expect(r.status, ref).toBe(200);
      expect(r.headers['content-security-policy']).toBeDefined();
    }
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('serves the script, stylesheet and icon with their types', async () => {
    const types: Record<string, string> = {
      'app.js': 'text/javascript; charset=utf-8',
      'style.css': 'text/css; charset=utf-8',
      'icon.svg': 'image/svg+xml',
    };
    for (const [name, type] of Object.entries(types)) {
      const r = await get(s.port, `/ui/${name}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(type);
      expect(r.text).toBe(UI_ASSETS.get(name)!.body);
    }
  });

  it('the script is valid JavaScript and loads nothing from elsewhere', () => {
    const js = UI_ASSETS.get('app.js')!.body;
    // Compiled, not run (a module script without imports parses as a classic script too).
    expect(() => new Script(js)).not.toThrow();
    expect(js).not.toMatch(/https?:\/\//);
    expect(js).not.toMatch(/\binnerHTML\b|\beval\(|document\.write/);
  });

  it('every endpoint the script calls exists, for GET, at the read level (the page itself is public)', () => {
    const js = UI_ASSETS.get('app.js')!.body;
    // String literals that are paths ('//' joins a protocol and a host).
    const paths = new Set([...js.matchAll(/'(\/[a-z/-]+)(?:\?[^']*)?'/g)].map((m) => m[1]!).filter((p) => p !== '//'));
    expect([...paths].sort()).toEqual([
      '/cluster',
      '/consensus/stats',
      '/events',
      '/events/stream',
      '/health/detailed',
      '/locate',
      '/ui',
    ]);
    const byRoute = new Map(routes(s).map((r) => [`${r.method} ${r.path}`, r.access]));
    for (const p of paths) expect(byRoute.get(`GET ${p}`), p).toBe(p === '/ui' ? 'public' : 'read');
  });

  it('/ui/ sends the browser to /ui; unknown files are 404', async () => {
    const slash = await get(s.port, '/ui/');
    expect(slash.status).toBe(308);
    expect(slash.headers.location).toBe('../ui');
    const missing = await get(s.port, '/ui/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('ERR_NOT_FOUND');
  });
});

describe('access', () => {
  it('the page shell is public (no cluster data, and browsers cannot send a token on navigation); its data is read', () => {
    const byRoute = Object.fromEntries(routes(s).map((r) => [`${r.method} ${r.path}`, r.access]));
    expect(byRoute).toMatchObject({
      'GET /ui': 'public',
      'GET /ui/:asset': 'public',
      'GET /events': 'read',
      'GET /events/stream': 'read',
      'GET /locate': 'read',
    });
  });

  it('an authorize hook that refuses read access closes every data route, not the page shell', async () => {
    const seen: Access[] = [];
    const denied = await startEventServer(
      {
        authorize: (_req, access) => {
          seen.push(access);
          return access === 'public' ? 'allow' : 'unauthenticated';
        },
      },
      new FakeWithEvents(),
    );
    try {
      for (const path of ['/events', '/events/stream', '/locate?key=a', '/cluster']) {
        const r = await get(denied.port, path);
        expect(r.status, path).toBe(401);
      }
      for (const path of ['/ui', '/ui/app.js']) expect((await get(denied.port, path)).status, path).toBe(200);
      expect(new Set(seen)).toEqual(new Set(['read', 'public']));
    } finally {
      await denied.close();
    }
  });
});
