// The Home page, as Airflow 3's dashboard: DAG counts, the import-error
// banner, the health of the cluster's parts (workers from the jobs table:
// the api-server has no line to the monitor's Redis), and runs and task
// instances by state over a time range. It refreshes every 10 s while the
// tab is visible.
import { api, el, enc, fmtTime } from './api.js';

const RANGES = [['1h', 'Last hour', 3600e3], ['24h', 'Last 24 hours', 86400e3], ['7d', 'Last 7 days', 7 * 86400e3]];
const RUN_STATES = ['queued', 'running', 'success', 'failed'];
const RUN_TYPES = ['scheduled', 'manual', 'backfill', 'asset_triggered', 'asset_materialization'];
const TI_STATES = ['success', 'running', 'queued', 'scheduled', 'deferred', 'up_for_retry', 'up_for_reschedule',
  'restarting', 'failed', 'upstream_failed', 'skipped', 'removed', 'no_status'];
const REFRESH_MS = 10000;

const label = (s) => s.replace(/_/g, ' ');

// seg is a part of a bar n units wide: set through the CSSOM, which the
// page's CSP allows (it refuses style attributes).
function seg(cls, n, title) {
  const s = el('span', { class: 'seg ' + cls, title });
  s.style.flexGrow = String(n);
  return s;
}

// stacked draws counts as one bar of coloured parts, with a legend of
// every key and its count.
function stacked(id, title, counts, keys, cls) {
  const total = keys.reduce((n, k) => n + (counts[k] || 0), 0);
  const bar = el('div', { class: 'stackbar', role: 'img', 'aria-label': `${title}: ` + keys.map((k) => `${counts[k] || 0} ${label(k)}`).join(', ') });
  for (const k of keys) {
    const n = counts[k] || 0;
    if (n > 0) bar.append(seg(cls(k), n, `${label(k)}: ${n}`));
  }
  if (total === 0) bar.append(seg('empty', 1, 'none'));
  const legend = el('ul', { class: 'legend' }, ...keys.map((k) =>
    el('li', { 'data-key': k, class: (counts[k] || 0) === 0 ? 'zero' : '' },
      el('span', { class: 'badge ' + cls(k) }, label(k)), ' ', el('span', { class: 'count' }, String(counts[k] || 0)))));
  return el('section', { class: 'metric', id }, el('h3', {}, title, ' ', el('span', { class: 'muted total' }, `(${total})`)), bar, legend);
}

const stateCls = (k) => 'state-' + (k === 'no_status' ? 'none' : k);
const typeCls = (k) => 'runtype-' + k;

async function count(path) {
  const out = await api(path);
  return out.total_entries || 0;
}

export async function homeView({ view, navigate }) {
  const q = new URLSearchParams(location.search);
  const range = RANGES.find(([v]) => v === q.get('range')) || RANGES[1];

  const banner = el('div', { id: 'import-error-banner', class: 'banner', role: 'alert', hidden: true });
  const dagBox = el('section', { class: 'cards', id: 'dag-counts', 'aria-label': 'DAGs' });
  const healthBox = el('section', { id: 'health', 'aria-label': 'Health' });
  const historyBox = el('div', { id: 'history' });
  const updated = el('p', { class: 'muted', id: 'home-updated', role: 'status' });
  const switcher = el('div', { class: 'toolbar range', role: 'group', 'aria-label': 'Time range' },
    ...RANGES.map(([v, t]) => el('button', { type: 'button', 'data-range': v, 'aria-pressed': String(v === range[0]),
      onclick: () => navigate('/home' + (v === '24h' ? '' : '?range=' + v)) }, t)));

  view.append(el('h1', {}, 'Home'), banner,
    el('h2', {}, 'DAGs'), dagBox,
    el('h2', {}, 'Health'), healthBox,
    el('div', { class: 'history-head' }, el('h2', {}, 'Runs and task instances'), switcher), historyBox, updated);

  const section = async (box, draw) => {
    try { await draw(); } catch (e) {
      box.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    }
  };

  const drawBanner = async () => {
    const n = await count('/api/v2/importErrors?limit=1');
    banner.hidden = n === 0;
    banner.replaceChildren(n === 0 ? '' : el('span', {},
      `${n} DAG file${n === 1 ? '' : 's'} failed to import. `,
      el('a', { href: '/admin/import-errors' }, 'See the import errors')));
  };

  const drawDags = async () => {
    const [all, active, paused, failed] = await Promise.all([
      count('/api/v2/dags?limit=1'), count('/api/v2/dags?limit=1&paused=false'),
      count('/api/v2/dags?limit=1&paused=true'), count('/api/v2/dags?limit=1&last_dag_run_state=failed')]);
    const card = (id, n, text, href, cls = '') => el('a', { class: 'card ' + cls, id, href },
      el('span', { class: 'n' }, String(n)), el('span', { class: 'what' }, text));
    dagBox.replaceChildren(
      card('dags-all', all, 'DAGs', '/dags'),
      card('dags-active', active, 'active', '/dags?status=active'),
      card('dags-paused', paused, 'paused', '/dags?status=paused'),
      card('dags-failed', failed, 'last run failed', '/dags?status=failed', failed ? 'bad' : ''));
  };

  const drawHealth = async () => {
    const [h, workers, schedulers] = await Promise.all([
      api('/api/v2/monitor/health'),
      api('/api/v2/jobs?job_type=WorkerJob&is_alive=true&order_by=hostname&limit=100'),
      count('/api/v2/jobs?job_type=SchedulerJob&is_alive=true&limit=1')]);
    const status = (s) => el('span', { class: 'badge health-' + (s || 'none') }, s || 'not run by gust');
    const row = (id, name, s, hb, note) => el('tr', { 'data-component': id },
      el('th', { scope: 'row' }, name), el('td', { class: 'status' }, status(s)),
      el('td', {}, hb ? fmtTime(hb) : el('span', { class: 'muted' }, '—')), el('td', { class: 'muted' }, note || ''));
    const proc = h.dag_processor || {};
    const ws = workers.jobs || [];
    const wsRows = ws.map((j) => el('li', { 'data-worker': j.hostname || '' },
      el('span', { class: 'badge health-healthy' }, j.hostname || `job ${j.id}`), ' ',
      el('span', { class: 'muted' }, 'heartbeat ' + fmtTime(j.latest_heartbeat))));
    healthBox.replaceChildren(
      el('table', { class: 'health admin' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Component'), el('th', {}, 'Status'), el('th', {}, 'Latest heartbeat'), el('th', {}, ''))),
        el('tbody', {},
          row('metadatabase', 'Metadata database', h.metadatabase && h.metadatabase.status, null),
          row('scheduler', 'Scheduler', h.scheduler && h.scheduler.status, h.scheduler && h.scheduler.latest_scheduler_heartbeat,
            `${schedulers} alive`),
          row('dag_processor', 'DAG processor', proc.status, proc.latest_dag_processor_heartbeat),
          row('triggerer', 'Triggerer', h.triggerer && h.triggerer.status, h.triggerer && h.triggerer.latest_triggerer_heartbeat,
            h.triggerer && h.triggerer.status ? '' : 'gust has no triggerer'),
          el('tr', { 'data-component': 'workers' }, el('th', { scope: 'row' }, 'Workers'),
            el('td', { class: 'status' }, status(ws.length ? 'healthy' : 'unhealthy')),
            el('td', { colspan: '2' }, ws.length
              ? el('ul', { class: 'workers', id: 'workers' }, ...wsRows)
              : el('span', { class: 'muted' }, 'no worker has sent a heartbeat lately'),
            el('a', { href: '/admin/jobs?job_type=WorkerJob', class: 'more' }, 'all worker jobs'))))));
  };

  const drawHistory = async () => {
    const end = new Date();
    const start = new Date(end.getTime() - range[2]);
    const m = await api('/ui/dashboard/historical_metrics_data?start_date=' + enc(start.toISOString()) + '&end_date=' + enc(end.toISOString()));
    historyBox.replaceChildren(
      stacked('run-states', 'DAG runs by state', m.dag_run_states || {}, RUN_STATES, stateCls),
      stacked('run-types', 'DAG runs by type', m.dag_run_types || {}, RUN_TYPES, typeCls),
      stacked('ti-states', 'Task instances by state', m.task_instance_states || {}, TI_STATES, stateCls));
  };

  const refresh = async () => {
    await Promise.all([section(banner, drawBanner), section(dagBox, drawDags), section(healthBox, drawHealth),
      section(historyBox, drawHistory)]);
    updated.textContent = 'Updated ' + fmtTime(new Date().toISOString()) + ' · refreshes every 10 s while this tab is visible';
  };
  await refresh();

  // Poll only while the tab is visible; coming back refreshes at once.
  let timer = null;
  let running = false;
  let stopped = false;
  const schedule = () => {
    if (!stopped && timer === null && document.visibilityState === 'visible') timer = setTimeout(tick, REFRESH_MS);
  };
  const tick = async () => {
    timer = null;
    if (running || stopped) return;
    running = true;
    try { await refresh(); } finally { running = false; }
    schedule();
  };
  const onVisibility = () => {
    if (document.visibilityState === 'visible') {
      if (timer === null && !running) tick();
    } else if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  schedule();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
