/**
 * The live dashboard: `GET /ui` (the page) and `GET /ui/<asset>` (its script, stylesheet and icon), served by every
 * node. Read-only: the page only calls GET endpoints of the same node (`/cluster`, `/consensus/stats`,
 * `/health/detailed`, `/events`, `/events/stream`, `/locate`), each under the read API's access level. The page and
 * its assets themselves are public: they hold no cluster data, and a browser cannot attach a bearer token to a
 * navigation, so a protected shell could never load; the data it fetches stays behind the read level.
 *
 * The files are embedded (src/http/ui/), so they ship in the compiled package and need nothing at run time: no
 * CDN, no network. A strict Content-Security-Policy allows only this origin's scripts, styles and connections.
 * Responses carry a content ETag with `Cache-Control: no-cache`: browsers revalidate, and get a 304 until the node
 * runs a different version.
 */
import { notFound } from '../errors.js';
import type { Reply } from '../reply.js';
import type { RequestContext, RouteDef } from '../route.js';
import { UI_ASSETS, UI_PAGE, type UiAsset } from '../ui/assets.js';

export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

function serve(asset: UiAsset): Reply {
  return {
    status: 200,
    headers: UI_SECURITY_HEADERS,
    raw: { body: asset.body, contentType: asset.contentType },
    etag: { prefix: 'ui' },
    cache: 'no-cache',
  };
}

function page(): Reply {
  return serve(UI_PAGE);
}

function asset(ctx: RequestContext): Reply {
  const name = ctx.params['asset'] ?? '';
  // `/ui/`: the page's relative links resolve against `/ui`, so send the browser there.
  if (name === '') return { status: 308, headers: { Location: '../ui' } };
  const found = UI_ASSETS.get(name);
  if (found === undefined) throw notFound(`no dashboard file ${JSON.stringify(name)}`);
  return serve(found);
}

export function uiRoutes(): RouteDef[] {
  return [
    { method: 'GET', path: '/ui', access: 'public', handle: page },
    { method: 'GET', path: '/ui/:asset', access: 'public', handle: asset },
  ];
}
