/**
 * The dashboard's script, first half: state, helpers, the refresh loop, and the views of the nodes and the
 * partition grid. Served (with app-live.ts appended, in the same scope) as `GET /ui/app.js`, a module script with no
 * dependencies. It is kept as text because the package build compiles only TypeScript: this way it ships in dist/
 * like everything else. It is written without template literals, so it embeds here verbatim (String.raw).
 */

export const APP_JS_VIEW = String.raw`'use strict';
// ClusterKit dashboard. Polls this node's read API (/cluster, /consensus/stats, /health/detailed), follows its
// event stream (/events/stream), and locates keys with /locate. Plain DOM, no dependencies, no inline HTML.

const POLL_MS = 1000;
const BASE = location.pathname.replace(/\/ui\/?$/, '');
// Distinct hues; red is left out on purpose: it means "unhealthy" here.
const PALETTE = [
  '#6366f1',
  '#14b8a6',
  '#f59e0b',
  '#0ea5e9',
  '#a855f7',
  '#84cc16',
  '#ec4899',
  '#f97316',
  '#06b6d4',
  '#10b981',
  '#d946ef',
  '#eab308',
  '#3b82f6',
  '#64748b',
  '#8b5cf6',
  '#22c55e',
];
const HISTORY_TYPES =
  'nodeJoin,nodeRejoin,nodeLeave,nodeUpdate,rebalanceStart,rebalanceComplete,clusterHealthChange,customDataChange';
const MAX_ROWS = 300;

// A token in the fragment (#token=...) is kept for this tab and sent as a Bearer token; the fragment never
// reaches a server or a log.
const TOKEN = (function () {
  const m = /(?:^|&)token=([^&]*)/.exec(location.hash.slice(1));
  try {
    if (m) {
      sessionStorage.setItem('clusterkit-token', decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('clusterkit-token');
  } catch (err) {
    console.warn('session storage unavailable', err);
    return m ? decodeURIComponent(m[1]) : null;
  }
})();

const S = {
  cluster: null,
  consensus: null,
  health: null,
  selfId: null,
  reachable: null,
  colors: new Map(),
  gridSig: '',
  owners: null,
  focus: null,
  lookup: null,
  rows: [],
  logId: null,
  cursor: null,
  failures: 0,
};

// ---------------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------------

function $(id) {
  return document.getElementById(id);
}

function append(el, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c) append(el, x);
    return;
  }
  el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
}

/** Replaces the children of el (arrays are flattened, null skipped). */
function fill(el) {
  el.replaceChildren();
  for (let i = 1; i < arguments.length; i++) append(el, arguments[i]);
}

/** h('div', {class: 'x', text: 'y', style: {'--c': 'red'}, 'data-id': 1}, ...children) */
function h(tag, attrs) {
  const el = document.createElement(tag);
  for (const k of Object.keys(attrs || {})) {
    const v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'style') for (const p of Object.keys(v)) el.style.setProperty(p, v[p]);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}

function colorOf(id) {
  if (!S.colors.has(id)) S.colors.set(id, PALETTE[S.colors.size % PALETTE.length]);
  return S.colors.get(id);
}

function pad(n) {
  return n < 10 ? '0' + n : String(n);
}

function clockTime(ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

function fmtMs(ms) {
  if (!(ms >= 0)) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  const m = Math.floor(ms / 60000);
  if (m < 60) return m + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

function ago(iso) {
  const t = Date.parse(iso);
  if (!(t > 0)) return 'unknown';
  const d = Date.now() - t;
  if (d < 5000) return 'just now';
  if (d < 60000) return Math.round(d / 1000) + ' s ago';
  if (d < 3600000) return Math.round(d / 60000) + ' min ago';
  if (d < 86400000) return Math.round(d / 3600000) + ' h ago';
  return Math.round(d / 86400000) + ' d ago';
}

function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

function headers(extra) {
  const out = Object.assign({ Accept: 'application/json' }, extra || {});
  if (TOKEN) out.Authorization = 'Bearer ' + TOKEN;
  return out;
}

async function getJson(path) {
  const res = await fetch(BASE + path, { headers: headers(), cache: 'no-cache', credentials: 'same-origin' });
  const body = await res.json().catch(function () {
    return null;
  });
  if (!res.ok) {
    const err = new Error(body && body.error ? body.error.message : 'HTTP ' + res.status);
    err.status = res.status;
    throw err;
  }
  return body;
}

function sleep(ms) {
  return new Promise(function (resolve) {
    setTimeout(resolve, ms);
  });
}

function setBanner(text) {
  const b = $('banner');
  b.hidden = !text;
  b.textContent = text || '';
}

function setLive(state) {
  const el = $('live');
  el.dataset.state = state;
  el.lastElementChild.textContent = state === 'live' ? 'live' : state === 'offline' ? 'offline' : 'connecting…';
}

// ---------------------------------------------------------------------------------------------------------------
// State refresh
// ---------------------------------------------------------------------------------------------------------------

let refreshing = false;
let refreshAgain = false;
let refreshTimer = 0;

function kick(delay) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay === undefined ? 100 : delay);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const r = await Promise.all([getJson('/cluster'), getJson('/consensus/stats'), getJson('/health/detailed')]);
    S.cluster = r[0].cluster;
    S.consensus = r[1];
    S.health = r[2];
    S.selfId = r[2].node_id;
    S.reachable = true;
    setBanner(S.cluster.formed ? null : 'This node is not a member of a cluster yet.');
    render();
  } catch (err) {
    S.reachable = false;
    if (err.status === 401 || err.status === 403) {
      setBanner('This node wants a read token: open the dashboard as ' + location.pathname + '#token=<read token>.');
    } else setBanner('Lost contact with this node (' + err.message + '). Retrying…');
    renderTop();
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      kick(30);
    } else kick(POLL_MS);
  }
}

function model() {
  const c = S.cluster;
  const parts = Object.values(c.partition_map.partitions).sort(function (a, b) {
    return a.index - b.index;
  });
  const byId = new Map();
  const primaries = new Map();
  const replicas = new Map();
  for (const n of c.nodes) {
    byId.set(n.id, n);
    primaries.set(n.id, 0);
    replicas.set(n.id, 0);
  }
  for (const p of parts) {
    if (p.primary_node) primaries.set(p.primary_node, (primaries.get(p.primary_node) || 0) + 1);
    for (const r of p.replica_nodes) replicas.set(r, (replicas.get(r) || 0) + 1);
  }
  return { parts: parts, nodes: c.nodes, byId: byId, primaries: primaries, replicas: replicas };
}

function render() {
  const m = model();
  for (const n of m.nodes) colorOf(n.id);
  renderTop();
  renderTiles(m);
  renderNodes(m);
  renderGrid(m);
  renderRaft();
  const l = S.lookup;
  if (l && l.result && l.result.table_version !== S.cluster.table_version) void locate(l.key);
  else applyHighlights();
}

function renderTop() {
  const c = S.cluster;
  if (c) {
    $('cluster-name').textContent = c.name;
    document.title = c.name + ' · ClusterKit';
    $('cluster-sub').textContent =
      (c.formed ? 'cluster ' + String(c.id).slice(0, 8) : 'not formed') + ' · served by ' + S.selfId;
  }
  const status = S.reachable === false ? 'unreachable' : S.health ? S.health.status : 'unknown';
  const pill = $('health');
  pill.dataset.status = status;
  pill.textContent = status;
}

function tile(label, value, small) {
  return h(
    'div',
    { class: 'tile' },
    h('div', { class: 'k', text: label }),
    h('div', { class: 'v' }, String(value), small ? h('small', { text: small }) : null),
  );
}

function renderTiles(m) {
  const c = S.cluster;
  const s = S.consensus;
  const healthy = m.nodes.filter(function (n) {
    return n.healthy !== false;
  }).length;
  const leader = c.leader ? c.leader.leader_id : '—';
  fill(
    $('tiles'),
    tile(
      'Nodes',
      healthy === m.nodes.length ? m.nodes.length : healthy + ' / ' + m.nodes.length,
      healthy === m.nodes.length ? 'all healthy' : 'healthy',
    ),
    tile('Partitions', c.config.partition_count, 'RF ' + c.config.replication_factor),
    tile('Leader', leader, 'term ' + c.term),
    tile('Table', 'v' + c.table_version, 'revision ' + c.revision),
    tile('Commit index', s.running ? s.commit_index : '—', s.running ? 'applied ' + s.applied_index : 'raft stopped'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------------------------

const ROLE = { leader: 'leader', voter: 'voter', nonvoter: 'non-voter', none: 'joining' };

function healthOf(n) {
  return n.healthy === true ? 'healthy' : n.healthy === false ? 'unhealthy' : 'unknown';
}

function contactOf(n) {
  if (n.id === S.selfId) return { text: 'this node', title: '' };
  const p = (S.consensus.progress || []).find(function (x) {
    return x.id === n.id;
  });
  if (p) {
    return p.last_contact_ms < 0
      ? { text: 'no contact yet', title: 'The leader has not heard from this node yet' }
      : {
          text: p.last_contact_ms < 250 ? 'in contact' : 'contact ' + fmtMs(p.last_contact_ms) + ' ago',
          title: 'Last answer to the leader (this node)',
          stale: p.last_contact_ms > 1000,
        };
  }
  return { text: 'contact —', title: 'Only the leader tracks when it last heard from each node' };
}

function renderNodes(m) {
  const total = Math.max(1, m.parts.length);
  const cards = m.nodes.map(function (n) {
    const health = healthOf(n);
    const prim = m.primaries.get(n.id) || 0;
    const reps = m.replicas.get(n.id) || 0;
    const share = Math.round((prim / total) * 100);
    const contact = contactOf(n);
    return h(
      'div',
      {
        class: 'node-card',
        'data-node-id': n.id,
        'data-role': n.raft_role,
        'data-health': health,
        title: n.name !== n.id ? n.name : null,
        style: { '--c': colorOf(n.id) },
      },
      h(
        'div',
        { class: 'card-top' },
        h('span', { class: 'node-id', text: n.id }),
        h('span', {
          class: 'badge' + (n.raft_role === 'leader' ? ' leader' : ''),
          text: ROLE[n.raft_role] || n.raft_role,
        }),
        n.id === S.selfId ? h('span', { class: 'badge self', text: 'this node' }) : null,
      ),
      h('div', { class: 'addr mono', text: n.http_addr }),
      h(
        'div',
        { class: 'chips' },
        h('span', { class: 'chip h-' + health, text: health }),
        n.zone ? h('span', { class: 'chip', text: 'zone ' + n.zone }) : null,
        n.weight !== 1 ? h('span', { class: 'chip', text: 'weight ' + n.weight }) : null,
      ),
      h(
        'div',
        { class: 'counts' },
        h('span', { class: 'n-primaries' }, h('b', { text: prim }), prim === 1 ? 'primary' : 'primaries'),
        h('span', { class: 'n-replicas' }, h('b', { text: reps }), reps === 1 ? 'replica' : 'replicas'),
      ),
      h('div', { class: 'share', title: share + '% of the primaries' }, h('i', { style: { width: share + '%' } })),
      h(
        'div',
        { class: 'card-foot' },
        h('span', { class: contact.stale ? 'stale' : null, text: contact.text, title: contact.title || null }),
        h('span', { text: 'joined ' + ago(n.joined_at) }),
      ),
    );
  });
  fill($('nodes'), cards.length ? cards : h('div', { class: 'empty', text: 'No members.' }));
  const unhealthy = m.nodes.filter(function (n) {
    return n.healthy === false;
  }).length;
  $('nodes-hint').textContent =
    plural(m.nodes.length, 'member', 'members') +
    (unhealthy ? ' · ' + unhealthy + ' unhealthy' : '') +
    ' · hover a node to see its partitions';
}

// ---------------------------------------------------------------------------------------------------------------
// Partition grid
// ---------------------------------------------------------------------------------------------------------------

function riskOf(p, owners, byId) {
  const bad = owners.filter(function (id) {
    const n = byId.get(id);
    return !n || n.healthy === false;
  });
  if (owners.length === 0 || bad.length === 0) return { risk: null, bad: bad };
  if (bad.length === owners.length) return { risk: 'orphan', bad: bad };
  if (bad.indexOf(p.primary_node) >= 0) return { risk: 'primary', bad: bad };
  return { risk: 'replica', bad: bad };
}

function renderGrid(m) {
  const sig =
    S.cluster.table_version +
    '|' +
    m.nodes
      .map(function (n) {
        return n.id + ':' + n.healthy;
      })
      .join(',');
  if (sig === S.gridSig) return;
  S.gridSig = sig;
  const before = S.owners;
  const owners = new Map();
  const cells = m.parts.map(function (p) {
    const list = p.primary_node ? [p.primary_node].concat(p.replica_nodes) : [];
    owners.set(p.index, list);
    const r = riskOf(p, list, m.byId);
    const moved = before !== null && before.has(p.index) && before.get(p.index).join(',') !== list.join(',');
    const title =
      p.id +
      '\nprimary: ' +
      (p.primary_node || 'none') +
      '\nreplicas: ' +
      (p.replica_nodes.join(', ') || 'none') +
      '\nepoch: ' +
      p.epoch +
      (r.bad.length ? '\nunhealthy: ' + r.bad.join(', ') : '');
    return h(
      'div',
      {
        class: 'cell' + (p.primary_node ? '' : ' unassigned') + (moved ? ' moved' : ''),
        'data-partition': p.index,
        'data-primary': p.primary_node || '',
        'data-replicas': p.replica_nodes.join(','),
        'data-epoch': p.epoch,
        'data-risk': r.risk,
        title: title,
        style: p.primary_node ? { '--c': colorOf(p.primary_node) } : null,
      },
      String(p.index),
      p.replica_nodes.length
        ? h(
            'span',
            { class: 'reps' },
            p.replica_nodes.map(function (id) {
              return h('i', { style: { '--r': colorOf(id) } });
            }),
          )
        : null,
    );
  });
  S.owners = owners;
  const grid = $('grid');
  grid.classList.toggle('dense', m.parts.length > 256);
  fill(grid, cells);
  const legend = m.nodes.map(function (n) {
    return h('span', null, h('i', { style: { '--c': colorOf(n.id) } }), n.id);
  });
  legend.push(h('span', null, h('i', { class: 'risk-replica' }), 'replica unhealthy'));
  legend.push(h('span', null, h('i', { class: 'risk-primary' }), 'primary unhealthy'));
  legend.push(h('span', null, h('i', { class: 'risk-orphan' }), 'no healthy owner'));
  fill($('legend'), legend);
}

/** Hovered node: its partitions stay lit. Located key: its cell and owner cards are outlined. */
function applyHighlights() {
  const grid = $('grid');
  const hit = S.lookup && S.lookup.result ? S.lookup.result : null;
  grid.classList.toggle('focus', S.focus !== null);
  for (const cell of grid.children) {
    const index = Number(cell.dataset.partition);
    const list = (S.owners && S.owners.get(index)) || [];
    cell.classList.toggle('mine', S.focus !== null && list.indexOf(S.focus) >= 0);
    cell.classList.toggle('hit', hit !== null && hit.index === index);
  }
  const ids = hit
    ? hit.owners.map(function (o) {
        return o.id;
      })
    : [];
  for (const card of $('nodes').children) card.classList.toggle('hit', ids.indexOf(card.dataset.nodeId) >= 0);
}
`;
