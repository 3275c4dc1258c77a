/** The dashboard's files, by the name they are served under (`/ui/<name>`; the page itself at `/ui`). */
import { APP_JS_LIVE } from './app-live.js';
import { APP_JS_VIEW } from './app-view.js';
import { ICON_SVG, INDEX_HTML } from './page.js';
import { STYLE_CSS_BASE } from './style-base.js';
import { STYLE_CSS_VIEWS } from './style-views.js';

export interface UiAsset {
  readonly body: string;
  readonly contentType: string;
}

export const UI_PAGE: UiAsset = { body: INDEX_HTML, contentType: 'text/html; charset=utf-8' };

export const UI_ASSETS: ReadonlyMap<string, UiAsset> = new Map([
  ['app.js', { body: APP_JS_VIEW + APP_JS_LIVE, contentType: 'text/javascript; charset=utf-8' }],
  ['style.css', { body: STYLE_CSS_BASE + STYLE_CSS_VIEWS, contentType: 'text/css; charset=utf-8' }],
  ['icon.svg', { body: ICON_SVG, contentType: 'image/svg+xml' }],
]);
