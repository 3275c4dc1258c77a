/**
 * The dashboard's HTML page and icon. Served by every node at `GET /ui`; the page loads `ui/style.css` and
 * `ui/app.js` relative to itself, so it also works behind a reverse proxy that mounts the API under a prefix.
 * Nothing is fetched from anywhere else (no CDN, no web fonts): the page works offline and under a strict CSP.
 */

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>ClusterKit dashboard</title>
<link rel="icon" href="ui/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="ui/style.css">
<script type="module" src="ui/app.js"></script>
</head>
<body>
<header class="top">
  <div class="brand">
    <img src="ui/icon.svg" alt="" width="30" height="30">
    <div>
      <h1 id="cluster-name">ClusterKit</h1>
      <div class="sub" id="cluster-sub">connecting…</div>
    </div>
  </div>
  <div class="top-right">
    <span id="health" class="pill" data-status="unknown" title="Cluster health as this node sees it">…</span>
    <span id="live" class="live" data-state="connecting" title="Event stream"><i></i><span>connecting</span></span>
  </div>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main>
  <section class="tiles" id="tiles" aria-label="Summary"></section>
  <div class="cols">
    <div class="col-main">
      <section class="panel" aria-labelledby="nodes-title">
        <header><h2 id="nodes-title">Nodes</h2><span class="hint" id="nodes-hint"></span></header>
        <div id="nodes" class="nodes"></div>
      </section>
      <section class="panel" aria-labelledby="grid-title">
        <header>
          <h2 id="grid-title">Partitions</h2>
          <form id="lookup" class="lookup" autocomplete="off">
            <input id="lookup-key" type="search" placeholder="Locate a key, e.g. user:123" aria-label="Key to locate" spellcheck="false">
            <button type="submit">Locate</button>
          </form>
        </header>
        <div id="lookup-result" class="lookup-result" hidden></div>
        <div id="grid" class="grid"></div>
        <div id="legend" class="legend"></div>
      </section>
    </div>
    <div class="col-side">
      <section class="panel" aria-labelledby="raft-title">
        <header><h2 id="raft-title">Raft</h2><span class="hint" id="raft-hint"></span></header>
        <div id="raft"></div>
      </section>
      <section class="panel events-panel" aria-labelledby="events-title">
        <header><h2 id="events-title">Events</h2><span class="hint" id="events-hint"></span></header>
        <ol id="events" class="events"></ol>
      </section>
    </div>
  </div>
</main>
<footer class="foot">Read-only view served by this node · updates live</footer>
</body>
</html>
`;

export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="8" fill="#4f46e5"/>
<circle cx="16" cy="9" r="3.6" fill="#fff"/>
<circle cx="9" cy="21.5" r="3.6" fill="#c7d2fe"/>
<circle cx="23" cy="21.5" r="3.6" fill="#a5b4fc"/>
<path d="M16 9 9 21.5h14z" fill="none" stroke="#fff" stroke-width="1.6" stroke-linejoin="round" opacity=".7"/>
</svg>
`;
