/**
 * The dashboard's script, second half: the key lookup, the Raft view, the event list (fed by the history in
 * `GET /events` and then by `GET /events/stream`), and start-up. Appended to app-view.ts's script (same scope).
 */

export const APP_JS_LIVE = String.raw`// ---------------------------------------------------------------------------------------------------------------
// Key lookup
// ---------------------------------------------------------------------------------------------------------------

async function locate(key) {
  try {
    S.lookup = { key: key, result: await getJson('/locate?key=' + encodeURIComponent(key)), error: null };
  } catch (err) {
    S.lookup = { key: key, result: null, error: err.message };
  }
  renderLookup();
  applyHighlights();
}

function ownerChip(o) {
  return h(
    'span',
    {
      class: 'owner ' + o.role + (o.healthy === false ? ' unhealthy' : ''),
      'data-owner': o.id,
      style: { '--c': colorOf(o.id) },
      title: o.role + (o.http_addr ? ' · ' + o.http_addr : '') + (o.healthy === false ? ' · unhealthy' : ''),
    },
    h('i'),
    o.id,
  );
}

function renderLookup() {
  const box = $('lookup-result');
  const l = S.lookup;
  box.hidden = !l;
  if (!l) return;
  if (!l.result) {
    box.className = 'lookup-result error';
    box.removeAttribute('data-partition');
    fill(box, 'Could not locate ', h('span', { class: 'mono', text: l.key }), ': ' + l.error);
    return;
  }
  const r = l.result;
  box.className = 'lookup-result';
  box.dataset.partition = r.index;
  box.dataset.primary = r.primary || '';
  box.dataset.owners = r.owners
    .map(function (o) {
      return o.id;
    })
    .join(',');
  fill(
    box,
    h('span', { class: 'mono', text: r.key }),
    h('span', { class: 'arrow', text: '→' }),
    h('b', { class: 'partition', text: r.partition }),
    h('span', { class: 'arrow', text: '·' }),
    r.owners.length ? r.owners.map(ownerChip) : h('span', { text: 'no owner' }),
    h('span', { class: 'hint', text: 'epoch ' + r.epoch + ' · table v' + r.table_version }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Raft
// ---------------------------------------------------------------------------------------------------------------

function kvItem(label, value) {
  return h('div', null, h('dt', { text: label }), h('dd', { text: value }));
}

function renderRaft() {
  const s = S.consensus;
  const box = $('raft');
  if (!s.running) {
    $('raft-hint').textContent = '';
    fill(box, h('p', { class: 'note', text: 'Raft is not running on this node.' }));
    return;
  }
  $('raft-hint').textContent =
    plural(s.voters, 'voter', 'voters') +
    ' · ' +
    plural(s.non_voters, 'non-voter', 'non-voters') +
    ' · snapshot @' +
    s.snapshot_index;
  const kv = h(
    'dl',
    { class: 'kv' },
    kvItem('Role', s.role),
    kvItem('Term', s.term),
    kvItem('Leader', s.leader || '—'),
    kvItem('Commit index', s.commit_index),
    kvItem('Applied index', s.applied_index),
    kvItem('Last log index', s.last_log_index),
  );
  if (s.role !== 'leader') {
    const leader = S.cluster.leader;
    const note = h('p', { class: 'note' }, 'Replication progress is tracked by the leader. ');
    if (leader && leader.leader_ip) {
      append(
        note,
        h('a', {
          href: location.protocol + '//' + leader.leader_ip + '/ui',
          text: 'Open ' + leader.leader_id + '’s dashboard',
        }),
      );
    }
    fill(box, kv, note);
    return;
  }
  const last = Math.max(1, s.last_log_index);
  const rows = s.members.map(function (mem) {
    const p =
      mem.id === s.node_id
        ? { match_index: s.last_log_index, lag: 0, last_contact_ms: 0, self: true }
        : s.progress.find(function (x) {
            return x.id === mem.id;
          }) || { match_index: 0, lag: s.last_log_index, last_contact_ms: -1 };
    const pct = Math.min(100, Math.round((p.match_index / last) * 100));
    return h(
      'tr',
      { 'data-node-id': mem.id },
      h('td', null, h('b', { text: mem.id })),
      h('td', { text: mem.voter ? 'voter' : 'non-voter' }),
      h('td', { text: p.match_index }),
      h(
        'td',
        { style: { width: '30%' } },
        h('div', { class: 'bar' }, h('i', { style: { width: pct + '%', '--c': colorOf(mem.id) } })),
      ),
      h('td', { class: p.lag > 64 ? 'lagging' : null, text: p.lag }),
      h('td', {
        class: p.last_contact_ms > 1000 || p.last_contact_ms < 0 ? 'stale' : null,
        text: p.self ? 'self' : p.last_contact_ms < 0 ? 'never' : fmtMs(p.last_contact_ms),
      }),
    );
  });
  const table = h(
    'table',
    { class: 'progress' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Node', 'Role', 'Match', 'Replicated', 'Lag', 'Contact'].map(function (t) {
          return h('th', { text: t });
        }),
      ),
    ),
    h('tbody', null, rows),
  );
  fill(box, kv, table);
}

// ---------------------------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------------------------

const PARTITION_EVENTS = ['partitionChange', 'partitionPromote', 'partitionDrop'];
const LEAVE_TEXT = {
  graceful_shutdown: ' left gracefully',
  health_check_failure: ' was removed: it failed its health checks',
  removed_by_admin: ' was removed by an operator',
};
const TRIGGER_TEXT = {
  node_join: 'a node joined',
  node_rejoin: 'a node rejoined',
  node_leave: 'a node left',
  node_update: 'a node changed',
};

function findRebalanceRow(index) {
  for (let i = S.rows.length - 1; i >= 0 && i >= S.rows.length - 50; i--) {
    const r = S.rows[i];
    if (r.kind === 'rebalance' && r.index === index) return r;
  }
  return null;
}

function addEvent(e, fresh) {
  const t = e.type;
  if (PARTITION_EVENTS.indexOf(t) >= 0 || t === 'rebalanceStart' || t === 'rebalanceComplete') {
    let row = findRebalanceRow(e.index);
    if (!row) {
      row = { kind: 'rebalance', type: 'rebalance', seq: e.seq, at: e.at_ms, index: e.index, parts: [], open: false };
      S.rows.push(row);
    }
    if (t === 'rebalanceStart') row.start = e.data;
    else if (t === 'rebalanceComplete') row.complete = e.data;
    // A promotion is also delivered as a partitionChange without a copy: partitionPromote already says it.
    else if (!(t === 'partitionChange' && e.data.needs_copy === false)) row.parts.push(e);
    row.fresh = row.fresh || fresh;
  } else {
    S.rows.push({ kind: 'event', type: t, seq: e.seq, at: e.at_ms, index: e.index, data: e.data, fresh: fresh });
  }
  if (S.rows.length > MAX_ROWS) S.rows.splice(0, S.rows.length - MAX_ROWS);
}

function addNote(text) {
  S.rows.push({ kind: 'note', type: 'note', seq: 0, at: Date.now(), index: null, text: text, fresh: true });
}

function partText(e) {
  const d = e.data;
  if (e.type === 'partitionPromote') {
    return (
      d.partition_id + ': ' + d.node + ' promoted to primary' + (d.old_primary ? ' (was ' + d.old_primary + ')' : '')
    );
  }
  if (e.type === 'partitionDrop') return d.partition_id + ': ' + d.node + ' drops its copy';
  const from = d.copy_from_nodes.length ? ' from ' + d.copy_from_nodes.join(', ') : ' (starts empty)';
  return d.partition_id + ': ' + d.copy_to_node + ' copies it' + (d.is_primary ? ' as primary' : '') + from;
}

function describe(row) {
  const d = row.data || {};
  const node = d.node ? h('b', { text: d.node }) : null;
  switch (row.type) {
    case 'nodeJoin':
      return {
        tone: 'join',
        text: d.is_bootstrap
          ? [node, ' bootstrapped the cluster']
          : [node, ' joined · ' + plural(d.cluster_size, 'node', 'nodes')],
      };
    case 'nodeRejoin':
      return {
        tone: 'join',
        text: [
          node,
          ' rejoined after ' + fmtMs(d.offline_duration) + ' offline · ' + plural(d.cluster_size, 'node', 'nodes'),
        ],
      };
    case 'nodeLeave':
      return {
        tone: 'leave',
        text: [
          node,
          (LEAVE_TEXT[d.reason] || ' left (' + d.reason + ')') +
            ' · held ' +
            plural(d.partitions_owned.length, 'primary', 'primaries') +
            ', ' +
            plural(d.partitions_replica.length, 'replica', 'replicas') +
            ' · ' +
            plural(d.cluster_size, 'node', 'nodes') +
            ' left',
        ],
      };
    case 'nodeUpdate':
      return { tone: 'info', text: [node, ' updated its ' + (d.changed_fields || []).join(', ')] };
    case 'clusterHealthChange': {
      const ids = d.unhealthy_node_ids || [];
      return {
        tone: d.status === 'healthy' ? 'join' : d.status === 'degraded' ? 'warn' : 'leave',
        text: [
          'Cluster ',
          h('b', { text: d.status }),
          ' (was ' + d.previous_status + ')' + (ids.length ? ': ' + ids.join(', ') + ' unhealthy' : ''),
        ],
      };
    }
    case 'customDataChange':
      return {
        tone: 'data',
        text: [
          'Custom data ',
          h('span', { class: 'mono', text: d.key }),
          d.deleted ? ' deleted' : ' set (' + d.size + ' B)',
          ' · rev ' + d.revision,
        ],
      };
    case 'rebalance': {
      const info = row.complete || row.start;
      if (!info)
        return { tone: 'rebalance', text: [plural(row.parts.length, 'partition change', 'partition changes')] };
      const why = info.trigger === 'manual' ? 'manual: ' + info.reason : TRIGGER_TEXT[info.trigger] || info.trigger;
      if (row.complete) {
        const c = row.complete;
        return {
          tone: 'rebalance',
          title: 'Duration: from the cause (a join request, the first failed health check, a call) to the new table',
          text: [
            'Rebalance (' + why + '): ',
            h('b', { text: plural(c.partitions_moved, 'partition', 'partitions') + ' moved' }),
            ', ' + plural(c.copies, 'copy', 'copies') + ' in ' + fmtMs(c.duration) + ' · table v' + c.table_version,
          ],
        };
      }
      return {
        tone: 'rebalance',
        text: [
          'Rebalance started (' +
            why +
            '): ' +
            plural(row.start.partitions_to_move, 'partition', 'partitions') +
            ' to move',
        ],
      };
    }
    case 'note':
      return { tone: 'warn', text: [row.text] };
    default:
      return { tone: 'info', text: [row.type] };
  }
}

let eventsTimer = 0;

function renderEventsSoon() {
  if (eventsTimer) return;
  eventsTimer = setTimeout(function () {
    eventsTimer = 0;
    renderEvents();
  }, 50);
}

function renderEvents() {
  const items = [];
  for (let i = S.rows.length - 1; i >= 0; i--) {
    const row = S.rows[i];
    const desc = describe(row);
    const li = h(
      'li',
      {
        class: 'event' + (row.fresh ? ' fresh' : ''),
        'data-type': row.type,
        'data-tone': desc.tone,
        'data-seq': row.seq,
        'data-node': row.data && row.data.node ? row.data.node : null,
        title: desc.title || null,
      },
      h('span', { class: 'dot' }),
      h(
        'div',
        null,
        h('div', { class: 'title' }, desc.text),
        h('div', { class: 'meta', text: clockTime(row.at) + (row.index ? ' · raft index ' + row.index : '') }),
      ),
    );
    row.fresh = false;
    if (row.kind === 'rebalance' && row.parts.length) {
      const details = h(
        'details',
        null,
        h('summary', { text: plural(row.parts.length, 'partition event', 'partition events') }),
        h(
          'ul',
          null,
          row.parts.slice(0, 200).map(function (e) {
            return h('li', { text: partText(e) });
          }),
        ),
      );
      details.open = row.open;
      details.addEventListener('toggle', function () {
        row.open = details.open;
      });
      li.lastElementChild.appendChild(details);
    }
    items.push(li);
  }
  const list = $('events');
  fill(list, items.length ? items : h('li', { class: 'empty', text: 'No events yet.' }));
  $('events-hint').textContent = S.selfId ? 'as seen by ' + S.selfId : '';
}

async function loadHistory() {
  const page = await getJson('/events?limit=200&types=' + HISTORY_TYPES);
  S.logId = page.log_id;
  S.cursor = page.next_after;
  for (const e of page.events) addEvent(e, false);
  renderEvents();
}

function onBlock(block) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line === '' || line.charAt(0) === ':') continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data = data ? data + '\n' + value : value;
  }
  if (!data) return;
  const msg = JSON.parse(data);
  if (event === 'ready') {
    if (S.logId !== null && msg.log_id !== S.logId) {
      S.rows = [];
      addNote('The node restarted: its event log starts again.');
    } else if (msg.truncated)
      addNote('Some events were missed (the node keeps a bounded log); the views above are current.');
    S.logId = msg.log_id;
    if (S.cursor === null) S.cursor = msg.last_seq;
    setLive('live');
    renderEvents();
    return;
  }
  S.cursor = msg.seq;
  addEvent(msg, true);
  renderEventsSoon();
  kick();
}

async function streamOnce() {
  const hdrs = headers({ Accept: 'text/event-stream' });
  if (S.logId !== null && S.cursor !== null) hdrs['Last-Event-ID'] = S.logId + ':' + S.cursor;
  const res = await fetch(BASE + '/events/stream', { headers: hdrs, cache: 'no-store', credentials: 'same-origin' });
  if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
  S.failures = 0;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return;
    buf += chunk.value;
    let at = buf.indexOf('\n\n');
    while (at >= 0) {
      onBlock(buf.slice(0, at));
      buf = buf.slice(at + 2);
      at = buf.indexOf('\n\n');
    }
  }
}

async function follow() {
  for (;;) {
    try {
      await streamOnce();
    } catch (err) {
      S.failures++;
      console.warn('event stream', err);
    }
    setLive(S.reachable === false ? 'offline' : 'connecting');
    await sleep(Math.min(10000, 500 * Math.pow(2, Math.min(S.failures, 5))));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------------------------

function start() {
  $('lookup').addEventListener('submit', function (ev) {
    ev.preventDefault();
    const key = $('lookup-key').value;
    if (key === '') {
      S.lookup = null;
      renderLookup();
      applyHighlights();
    } else void locate(key);
  });
  const nodes = $('nodes');
  nodes.addEventListener('mouseover', function (ev) {
    const card = ev.target.closest('.node-card');
    const id = card ? card.dataset.nodeId : null;
    if (id !== S.focus) {
      S.focus = id;
      applyHighlights();
    }
  });
  nodes.addEventListener('mouseleave', function () {
    S.focus = null;
    applyHighlights();
  });
  renderEvents();
  void refresh();
  loadHistory()
    .catch(function (err) {
      console.warn('event history', err);
    })
    .finally(function () {
      void follow();
    });
}

start();
`;
