/**
 * The dashboard's stylesheet, first half: the theme (light and dark, from CSS variables; system fonts only, so it
 * works offline), the page frame, the summary tiles, the panels and the node cards. Served with style-views.ts's
 * rules appended as `GET /ui/style.css`.
 */

export const STYLE_CSS_BASE = `:root {
  --bg: #f5f6fa;
  --panel: #ffffff;
  --panel-2: #f8f9fc;
  --line: #e4e7ef;
  --text: #1c2230;
  --muted: #6b7385;
  --faint: #9aa1b1;
  --accent: #4f46e5;
  --ok: #16a34a;
  --ok-bg: #e8f7ee;
  --warn: #d97706;
  --warn-bg: #fdf3e2;
  --bad: #dc2626;
  --bad-bg: #fdecec;
  --shadow: 0 1px 2px rgba(20, 24, 40, 0.05), 0 4px 16px rgba(20, 24, 40, 0.04);
  --radius: 12px;
  --mono: ui-monospace, "SF Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-family:
    Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "DejaVu Sans",
    sans-serif;
  font-size: 14px;
  line-height: 1.45;
  color: var(--text);
  background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1218;
    --panel: #171b24;
    --panel-2: #1c212c;
    --line: #2a303d;
    --text: #e6e9f0;
    --muted: #9aa3b5;
    --faint: #6b7385;
    --accent: #818cf8;
    --ok-bg: #123222;
    --warn-bg: #3a2a10;
    --bad-bg: #3b1518;
    --shadow: none;
  }
}
* {
  box-sizing: border-box;
}
body {
  margin: 0;
  min-height: 100vh;
}
h1,
h2 {
  margin: 0;
  font-weight: 650;
  letter-spacing: -0.01em;
}
h1 {
  font-size: 18px;
}
h2 {
  font-size: 14px;
  text-transform: none;
}
b {
  font-weight: 600;
}
.mono {
  font-family: var(--mono);
  font-size: 12.5px;
}

.top {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 16px;
  padding: 14px 28px;
  background: var(--panel);
  border-bottom: 1px solid var(--line);
  position: sticky;
  top: 0;
  z-index: 5;
}
.brand {
  display: flex;
  align-items: center;
  gap: 12px;
}
.brand img {
  display: block;
}
.sub {
  color: var(--muted);
  font-size: 12.5px;
}
.top-right {
  display: flex;
  align-items: center;
  gap: 12px;
}
.pill {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  padding: 4px 12px;
  border-radius: 999px;
  font-weight: 600;
  font-size: 12.5px;
  text-transform: capitalize;
  background: var(--panel-2);
  color: var(--muted);
  border: 1px solid var(--line);
}
.pill::before {
  content: "";
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: currentColor;
}
.pill[data-status="healthy"] {
  color: var(--ok);
  background: var(--ok-bg);
  border-color: transparent;
}
.pill[data-status="degraded"],
.pill[data-status="starting"] {
  color: var(--warn);
  background: var(--warn-bg);
  border-color: transparent;
}
.pill[data-status="critical"],
.pill[data-status="stopping"],
.pill[data-status="unreachable"] {
  color: var(--bad);
  background: var(--bad-bg);
  border-color: transparent;
}
.live {
  display: inline-flex;
  align-items: center;
  gap: 6px;
  color: var(--muted);
  font-size: 12.5px;
}
.live i {
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: var(--faint);
}
.live[data-state="live"] i {
  background: var(--ok);
  box-shadow: 0 0 0 0 rgba(22, 163, 74, 0.5);
  animation: pulse 2s infinite;
}
.live[data-state="offline"] i {
  background: var(--bad);
}
@keyframes pulse {
  0% {
    box-shadow: 0 0 0 0 rgba(22, 163, 74, 0.45);
  }
  70% {
    box-shadow: 0 0 0 7px rgba(22, 163, 74, 0);
  }
  100% {
    box-shadow: 0 0 0 0 rgba(22, 163, 74, 0);
  }
}

.banner {
  margin: 16px 28px 0;
  padding: 10px 14px;
  border-radius: 10px;
  background: var(--bad-bg);
  color: var(--bad);
  font-weight: 550;
}
main {
  padding: 20px 28px 8px;
  max-width: 1680px;
  margin: 0 auto;
}
.foot {
  color: var(--faint);
  font-size: 12px;
  text-align: center;
  padding: 8px 0 20px;
}

.tiles {
  display: grid;
  grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
  gap: 12px;
  margin-bottom: 16px;
}
.tile {
  background: var(--panel);
  border: 1px solid var(--line);
  border-radius: var(--radius);
  padding: 12px 16px;
  box-shadow: var(--shadow);
}
.tile .k {
  color: var(--muted);
  font-size: 12px;
}
.tile .v {
  font-size: 22px;
  font-weight: 650;
  letter-spacing: -0.02em;
  margin-top: 2px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.tile .v small {
  font-size: 13px;
  color: var(--muted);
  font-weight: 500;
  margin-left: 4px;
}

.cols {
  display: grid;
  grid-template-columns: minmax(0, 1fr) 420px;
  gap: 16px;
  align-items: start;
}
@media (max-width: 1100px) {
  .cols {
    grid-template-columns: minmax(0, 1fr);
  }
}
.col-main,
.col-side {
  display: grid;
  gap: 16px;
  min-width: 0;
}
.panel {
  background: var(--panel);
  border: 1px solid var(--line);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 14px 16px 16px;
  min-width: 0;
}
.panel > header {
  display: flex;
  align-items: center;
  justify-content: space-between;
  gap: 12px;
  margin-bottom: 12px;
  flex-wrap: wrap;
}
.hint {
  color: var(--muted);
  font-size: 12.5px;
}

.nodes {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(230px, 1fr));
  gap: 12px;
}
.node-card {
  position: relative;
  border: 1px solid var(--line);
  border-radius: 10px;
  padding: 12px 14px 12px 18px;
  background: var(--panel);
  transition:
    box-shadow 0.15s,
    border-color 0.15s,
    opacity 0.2s;
  overflow: hidden;
}
.node-card::before {
  content: "";
  position: absolute;
  left: 0;
  top: 0;
  bottom: 0;
  width: 5px;
  background: var(--c, var(--faint));
}
.node-card:hover {
  box-shadow: 0 2px 10px rgba(20, 24, 40, 0.08);
}
.node-card.hit {
  border-color: var(--accent);
  box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 22%, transparent);
}
.node-card[data-health="unhealthy"] {
  border-color: color-mix(in srgb, var(--bad) 55%, var(--line));
  background: color-mix(in srgb, var(--bad-bg) 55%, var(--panel));
}
.card-top {
  display: flex;
  align-items: center;
  gap: 8px;
}
.node-id {
  font-weight: 650;
  font-size: 15px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.badge {
  font-size: 11px;
  font-weight: 600;
  padding: 1px 8px;
  border-radius: 999px;
  background: var(--panel-2);
  color: var(--muted);
  border: 1px solid var(--line);
  white-space: nowrap;
}
.badge.leader {
  background: color-mix(in srgb, var(--accent) 14%, transparent);
  color: var(--accent);
  border-color: transparent;
}
.badge.self {
  margin-left: auto;
  background: transparent;
}
.addr {
  color: var(--muted);
  margin-top: 2px;
}
.chips {
  display: flex;
  gap: 6px;
  margin-top: 8px;
  flex-wrap: wrap;
}
.chip {
  display: inline-flex;
  align-items: center;
  gap: 5px;
  font-size: 12px;
  padding: 1px 8px;
  border-radius: 6px;
  background: var(--panel-2);
  color: var(--muted);
}
.chip.h-healthy {
  color: var(--ok);
  background: var(--ok-bg);
}
.chip.h-unhealthy {
  color: var(--bad);
  background: var(--bad-bg);
  font-weight: 600;
}
.chip.h-healthy::before,
.chip.h-unhealthy::before,
.chip.h-unknown::before {
  content: "";
  width: 6px;
  height: 6px;
  border-radius: 50%;
  background: currentColor;
}
.counts {
  display: flex;
  gap: 14px;
  margin-top: 10px;
  font-size: 13px;
  color: var(--muted);
}
.counts b {
  color: var(--text);
  font-size: 16px;
  margin-right: 3px;
}
.share {
  height: 4px;
  border-radius: 4px;
  background: var(--panel-2);
  margin-top: 6px;
  overflow: hidden;
}
.share i {
  display: block;
  height: 100%;
  background: var(--c);
  border-radius: 4px;
}
.card-foot {
  display: flex;
  justify-content: space-between;
  gap: 8px;
  margin-top: 8px;
  color: var(--faint);
  font-size: 12px;
}
.card-foot .stale {
  color: var(--bad);
  font-weight: 600;
}
`;
