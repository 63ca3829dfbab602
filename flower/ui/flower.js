// gust flower: the monitor's pages (workers, a worker, tasks, a task, the
// broker, the dashboard) over its own HTTP API, refreshed in place. Routes
// are in the URL's fragment so that the pages work under any url_prefix.
import { uPlot } from './vendor/chart.js';

const body = document.body;
const readOnly = body.dataset.readOnly === 'true';
const webUI = body.dataset.webui || '';
const view = document.getElementById('view');
const live = document.getElementById('live');

// ---- helpers ---------------------------------------------------------------

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

class APIError extends Error {}

async function api(path, opts = {}) {
  const r = await fetch(path, { headers: { Accept: 'application/json' }, ...opts });
  let data = null;
  try { data = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new APIError((data && data.detail) || `${r.status} ${r.statusText}`);
  return data;
}

function seen() {
  live.textContent = 'updated ' + new Date().toLocaleTimeString();
  live.classList.remove('stale');
}

function stale(err) {
  live.textContent = 'stale: ' + err.message;
  live.classList.add('stale');
}

const pad = (n) => String(n).padStart(2, '0');
function fmtTime(sec) {
  if (!sec) return '';
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function fmtDur(sec) {
  if (sec === undefined || sec === null || Number.isNaN(sec)) return '';
  if (sec < 1) return (sec * 1000).toFixed(sec < 0.01 ? 2 : 0) + ' ms';
  if (sec < 60) return sec.toFixed(2) + ' s';
  const s = Math.floor(sec);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}
function fmtBytes(n) {
  if (!n) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
const unix = (iso) => (iso ? Date.parse(iso) / 1000 : 0);
const stateCell = (s) => el('td', { class: `state state-${s}` }, s);
const esc = encodeURIComponent;

function message(box, text, ok) {
  box.replaceChildren(el('div', { class: 'msg ' + (ok ? 'ok' : 'error'), role: ok ? 'status' : 'alert' }, text));
}

// post runs one control call and says how it went in box.
async function post(box, path) {
  try {
    const r = await api(path, { method: 'POST' });
    message(box, r.message || 'done', true);
    return true;
  } catch (e) {
    message(box, e.message, false);
    return false;
  }
}

// every calls fn now and then every ms while the page shows; it returns
// the stop function the router calls when the page changes.
function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try { await fn(); seen(); } catch (e) { stale(e); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

function taskLogURL(t) {
  if (!webUI || !t.dag_id) return '';
  const q = new URLSearchParams({ try: String(t.try_number || 1) });
  if (t.map_index !== undefined && t.map_index >= 0) q.set('map_index', String(t.map_index));
  return `${webUI}/dags/${esc(t.dag_id)}/runs/${esc(t.run_id)}/tasks/${esc(t.task_id)}?${q}`;
}

// ---- workers ---------------------------------------------------------------

const selected = new Set();

function workersView(params) {
  const status = params.get('status') || 'all';
  const out = el('div', { id: 'actions-result' });
  const filter = el('select', { id: 'status-filter', 'aria-label': 'Status',
    onchange: () => { location.hash = '#/workers' + (filter.value === 'all' ? '' : '?status=' + filter.value); } },
  ...['all', 'online', 'offline'].map((s) => el('option', { value: s, selected: s === status }, s)));
  const n = el('input', { type: 'number', min: 1, value: 1, id: 'bulk-n', 'aria-label': 'Slots' });
  const act = (label, fn, cls) => el('button', { class: cls, 'data-action': label, onclick: async () => {
    if (!selected.size) { message(out, 'Select one or more workers first.', false); return; }
    if (label === 'Shut down' && !confirm(`Shut down ${[...selected].join(', ')}? Running tries finish first.`)) return;
    const results = [];
    for (const w of selected) {
      try { results.push(`${w}: ${(await api(fn(w), { method: 'POST' })).message}`); } catch (e) { results.push(`${w}: ${e.message}`); }
    }
    message(out, results.join('; '), !results.some((r) => /fail|refus|unknown|error/i.test(r)));
    refresh();
  } }, label);
  const tbody = el('tbody');
  const all = el('input', { type: 'checkbox', 'aria-label': 'Select all', onchange: () => {
    for (const c of tbody.querySelectorAll('input[type=checkbox]')) { c.checked = all.checked; c.dispatchEvent(new Event('change')); }
  } });
  const table = el('table', { id: 'workers' },
    el('thead', {}, el('tr', {}, readOnly ? null : el('th', {}, all),
      ...['Worker', 'Status', 'Uptime', 'Queues', 'Pool', 'Active', 'Processed', 'Succeeded', 'Failed', 'Retried', 'Load average', 'Last heartbeat']
        .map((h) => el('th', { class: /Active|Processed|Succeeded|Failed|Retried/.test(h) ? 'num' : '' }, h)))),
    tbody);
  view.replaceChildren(el('h1', {}, 'Workers'),
    el('div', { class: 'toolbar' }, el('label', {}, 'Status', filter),
      readOnly ? null : [el('label', {}, 'Slots', n),
        act('Grow pool', (w) => `api/worker/pool/grow/${esc(w)}?n=${n.value}`),
        act('Shrink pool', (w) => `api/worker/pool/shrink/${esc(w)}?n=${n.value}`),
        act('Shut down', (w) => `api/worker/shutdown/${esc(w)}`, 'danger')]),
    out, table);
  async function refresh() {
    const ws = Object.values(await api('api/workers'));
    ws.sort((a, b) => a.hostname.localeCompare(b.hostname));
    const rows = [];
    for (const w of ws) {
      if (status !== 'all' && w.status !== status) continue;
      const box = el('input', { type: 'checkbox', 'aria-label': 'Select ' + w.hostname, checked: selected.has(w.hostname),
        onchange: () => { if (box.checked) selected.add(w.hostname); else selected.delete(w.hostname); } });
      const pool = w.autoscale_max ? `${w.concurrency} (autoscale ${w.autoscale_max},${w.autoscale_min})` : String(w.concurrency);
      const up = w.status === 'online' && w.started_at ? Date.now() / 1000 - unix(w.started_at) : 0;
      rows.push(el('tr', { 'data-worker': w.hostname }, readOnly ? null : el('td', {}, box),
        el('td', {}, el('a', { href: '#/worker/' + esc(w.hostname) }, w.hostname)),
        stateCell(w.status), el('td', {}, up ? fmtDur(up) : ''), el('td', { class: 'wrap' }, (w.queues || []).join(', ')),
        el('td', { class: 'pool' }, pool), el('td', { class: 'num active' }, (w.running || []).length), el('td', { class: 'num' }, w.processed),
        el('td', { class: 'num' }, w.succeeded), el('td', { class: 'num' }, w.failed), el('td', { class: 'num' }, w.retried),
        el('td', {}, (w.loadavg || []).map((x) => x.toFixed(2)).join(' ')),
        el('td', {}, fmtTime(unix(w.last_heartbeat)))));
    }
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 13, class: 'muted' }, ws.length ? 'No worker matches.' : 'No worker has reported yet.')));
    tbody.replaceChildren(...rows);
  }
  return every(2000, refresh);
}

// ---- one worker ------------------------------------------------------------

function workerView(name) {
  const out = el('div', { id: 'actions-result' });
  const body = el('div');
  const n = el('input', { type: 'number', min: 1, value: 1, id: 'pool-n', 'aria-label': 'Slots' });
  const amin = el('input', { type: 'number', min: 1, id: 'autoscale-min', 'aria-label': 'Autoscale min' });
  const amax = el('input', { type: 'number', min: 1, id: 'autoscale-max', 'aria-label': 'Autoscale max' });
  const queue = el('input', { id: 'queue-name', placeholder: 'queue', 'aria-label': 'Queue' });
  const base = `api/worker`;
  const w8 = esc(name);
  const controls = readOnly ? null : el('div', { class: 'toolbar' },
    el('label', {}, 'Slots', n),
    el('button', { onclick: async () => { await post(out, `${base}/pool/grow/${w8}?n=${n.value}`); refresh(); } }, 'Grow pool'),
    el('button', { onclick: async () => { await post(out, `${base}/pool/shrink/${w8}?n=${n.value}`); refresh(); } }, 'Shrink pool'),
    el('label', {}, 'Min', amin), el('label', {}, 'Max', amax),
    el('button', { onclick: async () => { await post(out, `${base}/pool/autoscale/${w8}?min=${amin.value}&max=${amax.value}`); refresh(); } }, 'Autoscale'),
    el('label', {}, 'Queue', queue),
    el('button', { onclick: async () => { await post(out, `${base}/queue/add-consumer/${w8}?queue=${esc(queue.value)}`); refresh(); } }, 'Add consumer'),
    el('button', { class: 'danger', onclick: async () => {
      if (confirm(`Shut down ${name}? Running tries finish first.`)) { await post(out, `${base}/shutdown/${w8}`); refresh(); }
    } }, 'Shut down'));
  view.replaceChildren(el('h1', {}, el('a', { href: '#/workers' }, 'Workers'), ' / ', name), controls, out, body);
  let filled = false;
  async function refresh() {
    const w = (await api('api/workers?workername=' + w8))[name];
    if (!filled && w.autoscale_max) { amin.value = w.autoscale_min; amax.value = w.autoscale_max; filled = true; }
    const now = Date.now() / 1000;
    const running = (w.running || []).map((t) => el('tr', {},
      el('td', {}, el('a', { href: '#/task/' + t.uuid }, t.dag_id)), el('td', { class: 'wrap' }, t.run_id), el('td', {}, t.task_id),
      el('td', { class: 'num' }, t.map_index >= 0 ? t.map_index : ''), el('td', { class: 'num' }, t.try_number),
      el('td', {}, fmtTime(unix(t.started))), el('td', { class: 'num' }, fmtDur(now - unix(t.started))),
      readOnly ? null : el('td', {}, el('button', { class: 'danger', onclick: async () => {
        if (confirm(`Terminate ${t.dag_id}.${t.task_id} try ${t.try_number}? It ends failed.`)) { await post(out, `api/task/revoke/${t.uuid}?terminate=true`); refresh(); }
      } }, 'Terminate'))));
    if (!running.length) running.push(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No try is running.')));
    const queues = (w.queues || []).map((q) => el('tr', {}, el('td', {}, q),
      readOnly ? null : el('td', {}, el('button', { onclick: async () => { await post(out, `${base}/queue/cancel-consumer/${w8}?queue=${esc(q)}`); refresh(); } }, 'Cancel consumer'))));
    const kv = (pairs) => el('dl', { class: 'kv' }, ...pairs.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v ?? '')]));
    const conf = Object.entries(w.config || {}).sort();
    body.replaceChildren(
      el('p', {}, 'Status: ', el('span', { class: `state state-${w.status}`, id: 'worker-status' }, w.status),
        ` · last heartbeat ${fmtTime(unix(w.last_heartbeat))}`),
      el('h2', {}, `Pool (${(w.running || []).length} running of ${w.concurrency})`),
      el('table', { id: 'pool' }, el('thead', {}, el('tr', {}, ...['DAG', 'Run', 'Task', 'Map index', 'Try', 'Started', 'Elapsed'].map((h) => el('th', {}, h)), readOnly ? null : el('th', {}))),
        el('tbody', {}, running)),
      el('div', { class: 'grid2' },
        el('div', {}, el('h2', {}, 'Queues'), el('table', { id: 'queues' }, el('tbody', {}, queues))),
        el('div', {}, el('h2', {}, 'Limits'), kv([['Concurrency', el('span', { id: 'concurrency' }, w.concurrency)],
          ['Autoscale', w.autoscale_max ? `max ${w.autoscale_max}, min ${w.autoscale_min}` : 'off'],
          ['Prefetch multiplier', (w.config || {}).prefetch_multiplier], ['Shutdown grace', (w.config || {}).shutdown_grace]])),
        el('div', {}, el('h2', {}, 'Counters'), kv([['Processed', w.processed], ['Succeeded', w.succeeded], ['Failed', w.failed], ['Retried', w.retried]])),
        el('div', {}, el('h2', {}, 'System'), kv([['Hostname', w.hostname], ['PID', w.pid], ['Version', w.version],
          ['Memory (RSS)', fmtBytes(w.memory_rss)], ['Load average', (w.loadavg || []).map((x) => x.toFixed(2)).join(' ')],
          ['Started', fmtTime(unix(w.started_at))]])),
        el('div', {}, el('h2', {}, 'Config'), kv(conf))));
  }
  return every(2000, refresh);
}

// ---- tasks -----------------------------------------------------------------

const taskStates = ['RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'RESCHEDULED', 'REJECTED'];
const finishedAt = (t) => t.succeeded || t.failed || t.retried || t.rescheduled || t.rejected;

function tasksView(params) {
  const p = new URLSearchParams(params);
  const limit = parseInt(p.get('limit') || '50', 10);
  const offset = parseInt(p.get('offset') || '0', 10);
  const go = (changes) => {
    const q = new URLSearchParams(p);
    for (const [k, v] of Object.entries(changes)) { if (v === '' || v === null) q.delete(k); else q.set(k, v); }
    location.hash = '#/tasks?' + q.toString();
  };
  const field = (name, input) => { input.name = name; input.value = p.get(name) || ''; return input; };
  const toLocal = (v) => v.replace(' ', 'T');
  const form = el('form', { class: 'toolbar', id: 'task-filters', onsubmit: (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const ch = { offset: '' };
    for (const k of ['state', 'dag_id', 'taskname', 'workername', 'search']) ch[k] = (f.get(k) || '').trim();
    for (const k of ['received_start', 'received_end']) ch[k] = (f.get(k) || '').replace('T', ' ');
    go(ch);
  } });
  const types = el('datalist', { id: 'task-types' });
  const workers = el('datalist', { id: 'worker-names' });
  const start = field('received_start', el('input', { type: 'datetime-local' }));
  start.value = toLocal(p.get('received_start') || '');
  const end = field('received_end', el('input', { type: 'datetime-local' }));
  end.value = toLocal(p.get('received_end') || '');
  form.append(
    el('label', {}, 'State', field('state', el('select', {}, el('option', { value: '' }, 'any'), ...taskStates.map((s) => el('option', { value: s }, s))))),
    el('label', {}, 'DAG', field('dag_id', el('input', { size: 14 }))),
    el('label', {}, 'Task (dag.task)', field('taskname', el('input', { list: 'task-types', size: 18 }))),
    el('label', {}, 'Worker', field('workername', el('input', { list: 'worker-names', size: 14 }))),
    el('label', {}, 'Received from', start), el('label', {}, 'to', end),
    el('label', {}, 'Search', field('search', el('input', { type: 'search', size: 14 }))),
    el('button', { class: 'primary', type: 'submit' }, 'Filter'),
    el('button', { type: 'button', onclick: () => { location.hash = '#/tasks'; } }, 'Clear'),
    types, workers);
  const sort = p.get('sort_by') || '';
  const cols = [['State', 'state'], ['DAG', 'dag_id'], ['Run', 'run_id'], ['Task', 'task_id'], ['Try', 'try_number'], ['Worker', 'worker'],
    ['Received', 'received'], ['Started', 'started'], ['Finished', 'timestamp'], ['Runtime', 'runtime'], ['Wait', 'wait']];
  const head = el('tr', {}, ...cols.map(([label, key]) => {
    const dir = sort === key ? 'ascending' : sort === '-' + key ? 'descending' : null;
    return el('th', { class: 'sortable', 'data-sort': key, 'aria-sort': dir, tabindex: 0,
      onclick: () => go({ sort_by: sort === '-' + key ? key : '-' + key, offset: '' }) }, label);
  }));
  const tbody = el('tbody');
  const pager = el('div', { class: 'pager' });
  view.replaceChildren(el('h1', {}, 'Tasks'), form, el('table', { id: 'tasks' }, el('thead', {}, head), tbody), pager);
  api('api/task/types').then((r) => types.replaceChildren(...r['task-types'].map((t) => el('option', { value: t })))).catch(() => {});
  api('api/workers').then((r) => workers.replaceChildren(...Object.keys(r).map((w) => el('option', { value: w })))).catch(() => {});
  async function refresh() {
    const q = new URLSearchParams();
    for (const k of ['state', 'dag_id', 'taskname', 'workername', 'search', 'received_start', 'received_end', 'sort_by']) if (p.get(k)) q.set(k, p.get(k));
    q.set('limit', String(limit + 1));
    q.set('offset', String(offset));
    const tasks = Object.values(await api('api/tasks?' + q));
    const more = tasks.length > limit;
    const rows = tasks.slice(0, limit).map((t) => el('tr', { 'data-uuid': t.uuid },
      stateCell(t.state), el('td', {}, el('a', { href: '#/task/' + t.uuid }, t.dag_id)), el('td', { class: 'wrap' }, t.run_id),
      el('td', {}, t.task_id + (t.map_index >= 0 ? ` [${t.map_index}]` : '')), el('td', { class: 'num' }, t.try_number), el('td', {}, t.worker),
      el('td', {}, fmtTime(t.received)), el('td', {}, fmtTime(t.started)), el('td', {}, fmtTime(finishedAt(t))),
      el('td', { class: 'num' }, fmtDur(t.runtime)), el('td', { class: 'num' }, fmtDur(t.wait))));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: cols.length, class: 'muted' }, 'No task matches.')));
    tbody.replaceChildren(...rows);
    const size = el('select', { 'aria-label': 'Rows per page', onchange: () => go({ limit: size.value, offset: '' }) },
      ...[25, 50, 100, 500].map((n) => el('option', { value: n, selected: n === limit }, `${n} per page`)));
    pager.replaceChildren(
      el('button', { disabled: offset === 0, onclick: () => go({ offset: String(Math.max(0, offset - limit)) }) }, '← Newer'),
      el('span', { id: 'page-info' }, tasks.length ? `${offset + 1}–${offset + Math.min(limit, tasks.length)}` : '0'),
      el('button', { disabled: !more, id: 'next-page', onclick: () => go({ offset: String(offset + limit) }) }, 'Older →'), size);
  }
  return every(3000, refresh);
}

// ---- one task --------------------------------------------------------------

function taskView(id) {
  const out = el('div');
  const body = el('div');
  view.replaceChildren(el('h1', {}, el('a', { href: '#/tasks' }, 'Tasks'), ' / ', id), out, body);
  async function refresh() {
    const t = await api('api/task/info/' + esc(id));
    const fin = finishedAt(t);
    const t0 = t.queued || t.received || t.started;
    const tEnd = fin || (t.started ? Date.now() / 1000 : t.received) || t0;
    const span = Math.max(tEnd - t0, 1e-6);
    const phase = (cls, from, to, label) => (from && to && to >= from ? el('div', { class: 'phase ' + cls, title: label,
      style: `left:${((from - t0) / span) * 100}%;width:${((to - from) / span) * 100}%` }, el('span', {}, label)) : null);
    const log = taskLogURL(t);
    body.replaceChildren(
      el('p', {}, 'State: ', el('span', { class: `state state-${t.state}`, id: 'task-state' }, t.state),
        log ? [' · ', el('a', { href: log, id: 'task-log' }, 'Log in the web UI')] : null,
        !readOnly && t.state === 'STARTED' ? [' · ', el('button', { class: 'danger', onclick: async () => {
          if (confirm('Terminate this try? It ends failed.')) { await post(out, `api/task/revoke/${esc(id)}?terminate=true`); refresh(); }
        } }, 'Terminate')] : null),
      el('h2', {}, 'Timeline'),
      el('div', { class: 'timeline', id: 'timeline' },
        phase('queue', t.queued, t.received, `queued ${fmtDur(t.received - t.queued)}`),
        phase('prefetch', t.received, t.started || tEnd, `at the worker ${fmtDur((t.started || tEnd) - t.received)}`),
        phase('run end-' + t.state, t.started, tEnd, `${fin ? 'ran' : 'running'} ${fmtDur(tEnd - t.started)}`)),
      el('table', { id: 'task-info' }, el('tbody', {}, ...[
        ['UUID', t.uuid], ['Name', t.name], ['DAG', t.dag_id], ['Run', t.run_id], ['Task', t.task_id],
        ['Map index', t.map_index >= 0 ? t.map_index : ''], ['Try', t.try_number],
        ['Worker', t.worker ? el('a', { href: '#/worker/' + esc(t.worker) }, t.worker) : ''],
        ['Queued', fmtTime(t.queued)], ['Received', fmtTime(t.received)], ['Started', fmtTime(t.started)],
        ['Succeeded', fmtTime(t.succeeded)], ['Failed', fmtTime(t.failed)], ['Retried', fmtTime(t.retried)],
        ['Rescheduled', fmtTime(t.rescheduled)], ['Rejected', fmtTime(t.rejected)],
        ['Wait (queued → started)', fmtDur(t.wait)], ['Runtime', fmtDur(t.runtime)], ['Exception', t.exception],
      ].filter(([, v]) => v !== '' && v !== undefined && v !== null).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { class: 'wrap' }, v))))));
  }
  return every(3000, refresh);
}

// ---- broker ----------------------------------------------------------------

function brokerView() {
  const note = el('div');
  const tbody = el('tbody');
  const num = (v, digits = 0) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
  view.replaceChildren(el('h1', {}, 'Broker'), note,
    el('table', { id: 'broker-queues' }, el('thead', {}, el('tr', {},
      ...['Queue', 'Ready', 'Unacked', 'Consumers', 'Publish /s', 'Deliver /s', 'Free slots', 'Served by (free slots)']
        .map((h, i) => el('th', { class: i && i < 7 ? 'num' : '' }, h)))), tbody));
  async function refresh() {
    const b = await api('api/broker');
    note.replaceChildren(b.management ? '' : el('div', { class: 'msg note' },
      'RabbitMQ\'s management API is not available' + (b.management_error ? ` (${b.management_error})` : '') +
      ': unacknowledged messages, rates and the queues no worker serves need [flower] broker_api.'));
    const rows = b.queues.map((q) => el('tr', { 'data-queue': q.name }, el('td', {}, q.name), el('td', { class: 'num ready' }, q.messages),
      el('td', { class: 'num' }, num(q.messages_unacknowledged)), el('td', { class: 'num consumers' }, q.consumers),
      el('td', { class: 'num' }, num(q.publish_rate, 1)), el('td', { class: 'num' }, num(q.deliver_rate, 1)),
      el('td', { class: 'num' }, q.free_slots),
      el('td', { class: 'wrap' }, q.workers.length ? q.workers.map((w, i) => [i ? ', ' : '', el('a', { href: '#/worker/' + esc(w.hostname) }, w.hostname), ` (${w.free_slots})`])
        : el('span', { class: 'state state-offline' }, 'no worker'))));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No queue yet.')));
    tbody.replaceChildren(...rows);
  }
  return every(2000, refresh);
}

// ---- dashboard -------------------------------------------------------------

const palette = ['#1f6feb', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#6e7781', '#d1242f', '#116329'];

function dashboardView(params) {
  const windowSec = parseInt(params.get('window') || '3600', 10);
  const pick = el('select', { id: 'window', 'aria-label': 'Window', onchange: () => { location.hash = '#/dashboard?window=' + pick.value; } },
    ...[[900, 'last 15 minutes'], [3600, 'last hour'], [21600, 'last 6 hours'], [86400, 'last 24 hours']]
      .map(([v, l]) => el('option', { value: v, selected: v === windowSec }, l)));
  const grid = el('div', { class: 'charts' });
  const note = el('div');
  view.replaceChildren(el('h1', {}, 'Dashboard'), el('div', { class: 'toolbar' }, el('label', {}, 'Window', pick)), note, grid);
  const charts = {};
  // draw makes or refreshes one chart; its series are fixed by names, so a
  // new queue or worker rebuilds it.
  function draw(key, title, xs, series, fmt) {
    const names = series.map((s) => s.label).join('\u0000');
    let c = charts[key];
    if (c && c.names !== names) { c.plot.destroy(); c.box.remove(); c = null; }
    if (!c) {
      const box = el('div', { class: 'chart', id: 'chart-' + key }, el('h2', {}, title));
      grid.append(box);
      const width = Math.max(420, Math.min(720, box.clientWidth || 600));
      const plot = new uPlot({ width, height: 220,
        scales: { x: { time: true } },
        axes: [{}, { size: 70, values: (u, vals) => vals.map(fmt) }],
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 1.5, value: (u, v) => (v === null ? '–' : fmt(v)) }))],
      }, [xs, ...series.map((s) => s.data)], box);
      c = charts[key] = { plot, box, names };
    } else {
      c.plot.setData([xs, ...series.map((s) => s.data)]);
    }
  }
  const perSec = (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(2)) + '/s';
  const count = (v) => (Number.isInteger(v) ? String(v) : '');
  const secs = (v) => fmtDur(v);
  async function refresh() {
    const d = await api('api/dashboard?window=' + windowSec);
    const s = d.samples;
    note.replaceChildren(s.length ? '' : el('div', { class: 'msg note' },
      `No point yet: the dashboard takes one every ${d.interval} s ([flower] sample_interval) and keeps 24 hours.`));
    const xs = s.map((p) => unix(p.time) + p.interval);
    const keys = (field) => [...new Set(s.flatMap((p) => Object.keys(p[field] || {})))].sort();
    draw('rate', 'Tries finished per second', xs, [
      { label: 'succeeded', data: s.map((p) => p.succeeded / p.interval) },
      { label: 'failed', data: s.map((p) => p.failed / p.interval) },
      { label: 'retried', data: s.map((p) => p.retried / p.interval) }], perSec);
    draw('queues', 'Queue depth (ready messages)', xs, keys('queues').map((q) => ({ label: q, data: s.map((p) => (p.queues ? p.queues[q] ?? 0 : null)) })), count);
    draw('running', 'Running tries per worker', xs, keys('running').map((w) => ({ label: w, data: s.map((p) => (p.running || {})[w] ?? 0) })), count);
    draw('runtime', 'Runtime', xs, [
      { label: 'p50', data: s.map((p) => (p.succeeded + p.failed + p.retried ? p.runtime_p50 : null)) },
      { label: 'p95', data: s.map((p) => (p.succeeded + p.failed + p.retried ? p.runtime_p95 : null)) }], secs);
    draw('wait', 'Wait (queued → started)', xs, [
      { label: 'p50', data: s.map((p) => (p.wait_p50 || p.wait_p95 ? p.wait_p50 : null)) },
      { label: 'p95', data: s.map((p) => (p.wait_p50 || p.wait_p95 ? p.wait_p95 : null)) }], secs);
  }
  const stop = every(5000, refresh);
  return () => { stop(); for (const c of Object.values(charts)) c.plot.destroy(); };
}

// ---- router ----------------------------------------------------------------

const routes = [
  [/^\/?$/, (m, q) => workersView(q), 'workers'],
  [/^\/workers\/?$/, (m, q) => workersView(q), 'workers'],
  [/^\/worker\/([^/]+)$/, (m) => workerView(decodeURIComponent(m[1])), 'workers'],
  [/^\/tasks\/?$/, (m, q) => tasksView(q), 'tasks'],
  [/^\/task\/([^/]+)$/, (m) => taskView(decodeURIComponent(m[1])), 'tasks'],
  [/^\/broker\/?$/, () => brokerView(), 'broker'],
  [/^\/dashboard\/?$/, (m, q) => dashboardView(q), 'dashboard'],
];

let stopPage = null;
function render() {
  if (stopPage) { stopPage(); stopPage = null; }
  const hash = location.hash.replace(/^#/, '') || '/workers';
  const [path, query = ''] = hash.split('?');
  const q = new URLSearchParams(query);
  for (const [re, fn, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('nav.main a')) a.toggleAttribute('aria-current', a.dataset.route === nav);
    stopPage = fn(m, q);
    return;
  }
  view.replaceChildren(el('h1', {}, 'Not found'), el('p', {}, el('a', { href: '#/workers' }, 'Workers')));
}

window.addEventListener('hashchange', render);
render();
