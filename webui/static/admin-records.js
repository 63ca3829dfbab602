// The read-only Admin pages: the audit log, import errors, jobs and the
// configuration.
import { api, el, enc, fmtTime, ApiError } from './api.js';
import { PAGE, listState, goWith, pagerBar, headRow, textOr } from './admin-common.js';

// localInput turns an ISO time into a datetime-local value (in the
// browser's zone) and back.
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
const fromLocalInput = (v) => (v ? new Date(v).toISOString() : '');

const EVENT_FILTERS = [['dag_id', 'DAG id'], ['task_id', 'Task id'], ['run_id', 'Run id'], ['event', 'Event'], ['owner', 'User']];

export async function eventsView({ view, navigate }) {
  const { q, offset, order } = listState('-when');
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: order });
  const inputs = {};
  for (const [k, label] of EVENT_FILTERS) {
    if (q.get(k)) params.set(k, q.get(k));
    inputs[k] = el('input', { type: 'search', name: k, id: 'event-' + k.replace('_', '-'), placeholder: label, 'aria-label': label, value: q.get(k) || '' });
  }
  for (const k of ['after', 'before']) {
    if (q.get(k)) params.set(k, q.get(k));
    inputs[k] = el('input', { type: 'datetime-local', name: k, id: 'event-' + k, 'aria-label': k === 'after' ? 'After' : 'Before', value: toLocalInput(q.get(k)) });
  }
  const data = await api('/api/v2/eventLogs?' + params);
  const events = data.event_logs || [];
  const filter = el('form', { class: 'toolbar', role: 'search', id: 'event-filter', onsubmit: (e) => {
    e.preventDefault();
    const changes = { offset: '' };
    for (const [k] of EVENT_FILTERS) changes[k] = inputs[k].value.trim();
    for (const k of ['after', 'before']) changes[k] = fromLocalInput(inputs[k].value);
    goWith(navigate, changes);
  } }, ...EVENT_FILTERS.map(([k]) => inputs[k]),
  el('label', {}, 'After ', inputs.after), el('label', {}, 'Before ', inputs.before),
  el('button', { type: 'submit' }, 'Filter'),
  el('a', { href: location.pathname }, 'Clear'));

  const tbody = el('tbody');
  for (const e of events) {
    const dagCell = e.dag_id ? el('a', { href: '/dags/' + enc(e.dag_id) }, e.dag_id) : textOr(null);
    tbody.append(el('tr', { 'data-event': e.event, 'data-id': String(e.event_log_id) },
      el('td', {}, fmtTime(e.when)), el('td', { class: 'event' }, e.event), el('td', { class: 'owner' }, textOr(e.owner)),
      el('td', {}, dagCell), el('td', {}, textOr(e.run_id)), el('td', {}, textOr(e.task_id)),
      el('td', { class: 'num' }, textOr(e.try_number)),
      el('td', {}, e.extra ? el('code', { class: 'extra' }, e.extra) : textOr(null))));
  }
  const cols = [['When', 'when'], ['Event', 'event'], ['User', 'owner'], ['DAG', 'dag_id'], ['Run', 'run_id'], ['Task', 'task_id'], 'Try', 'Extra'];
  view.append(el('h1', {}, 'Audit log'), filter,
    el('table', { id: 'events', class: 'admin' }, el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody),
    pagerBar(data.total_entries || 0, offset, events.length, (o) => goWith(navigate, { offset: o || '' })));
}

export async function importErrorsView({ view, navigate }) {
  const { offset, order } = listState('-timestamp');
  const data = await api(`/api/v2/importErrors?limit=${PAGE}&offset=${offset}&order_by=${enc(order)}`);
  const errors = data.import_errors || [];
  view.append(el('h1', {}, 'Import errors'));
  const sort = el('div', { class: 'toolbar' }, el('span', { class: 'muted' }, 'Sort by'),
    ...[['-timestamp', 'newest'], ['timestamp', 'oldest'], ['filename', 'file name']].map(([v, t]) =>
      el('button', { type: 'button', 'aria-pressed': String(order === v), onclick: () => goWith(navigate, { order_by: v, offset: '' }) }, t)));
  if (!errors.length) {
    view.append(el('p', { class: 'muted', id: 'no-import-errors' }, 'No import errors: every DAG file parsed.'));
  } else {
    view.append(sort);
  }
  const list = el('div', { id: 'import-errors' });
  for (const ie of errors) {
    list.append(el('section', { class: 'import-error', 'data-filename': ie.filename },
      el('h2', {}, el('span', { class: 'filename' }, ie.filename), ' ', el('span', { class: 'muted' }, fmtTime(ie.timestamp))),
      el('pre', { class: 'stack-trace' }, ie.stack_trace || '')));
  }
  view.append(list, pagerBar(data.total_entries || 0, offset, errors.length, (o) => goWith(navigate, { offset: o || '' })));
}

export async function jobsView({ view, navigate }) {
  const { q, offset, order } = listState('-id');
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: order });
  const type = q.get('job_type') || '';
  const alive = q.get('is_alive') || '';
  if (type) params.set('job_type', type);
  if (alive) params.set('is_alive', alive);
  const data = await api('/api/v2/jobs?' + params);
  const jobs = data.jobs || [];
  const typeSel = el('select', { id: 'job-type', 'aria-label': 'Job type' },
    ...[['', 'All types'], ['SchedulerJob', 'Scheduler'], ['DagProcessorJob', 'DAG processor'], ['WorkerJob', 'Worker']].map(([v, t]) =>
      el('option', { value: v, selected: v === type }, t)));
  const aliveSel = el('select', { id: 'job-alive', 'aria-label': 'Alive' },
    ...[['', 'Alive or not'], ['true', 'Alive'], ['false', 'Not alive']].map(([v, t]) => el('option', { value: v, selected: v === alive }, t)));
  const apply = () => goWith(navigate, { job_type: typeSel.value, is_alive: aliveSel.value, offset: '' });
  typeSel.addEventListener('change', apply);
  aliveSel.addEventListener('change', apply);
  const tbody = el('tbody');
  for (const j of jobs) {
    tbody.append(el('tr', { 'data-job-id': String(j.id), 'data-job-type': j.job_type || '' },
      el('td', { class: 'num' }, String(j.id)), el('td', {}, textOr(j.job_type)), el('td', {}, textOr(j.hostname)),
      el('td', {}, el('span', { class: 'badge ' + (j.state === 'running' ? 'state-running' : 'state-none') }, j.state || 'none')),
      el('td', {}, fmtTime(j.start_date)), el('td', {}, fmtTime(j.latest_heartbeat)), el('td', {}, textOr(fmtTime(j.end_date)))));
  }
  const cols = [['Id', 'id'], ['Type', 'job_type'], ['Host', 'hostname'], ['State', 'state'], ['Started', 'start_date'],
    ['Latest heartbeat', 'latest_heartbeat'], ['Ended', 'end_date']];
  view.append(el('h1', {}, 'Jobs'), el('div', { class: 'toolbar' }, typeSel, aliveSel),
    el('table', { id: 'jobs', class: 'admin' }, el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody),
    pagerBar(data.total_entries || 0, offset, jobs.length, (o) => goWith(navigate, { offset: o || '' })));
}

export async function configView({ view, me }) {
  view.append(el('h1', {}, 'Configuration'));
  if (!me || me.role !== 'Admin') {
    view.append(el('p', { class: 'notice', id: 'config-refused', role: 'status' }, 'Admins only: the configuration is shown to Admins.'));
    return;
  }
  let data;
  try {
    data = await api('/api/v2/config');
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      view.append(el('p', { class: 'notice', id: 'config-refused', role: 'status' }, e.message),
        el('p', { class: 'muted' }, 'Set [api] expose_config = True (GUST__API__EXPOSE_CONFIG) to show it here.'));
      return;
    }
    throw e;
  }
  const sections = data.sections || [];
  const nav = el('nav', { class: 'toolbar', 'aria-label': 'Sections' },
    ...sections.map((s) => el('button', { type: 'button', class: 'link',
      onclick: () => document.getElementById('section-' + s.name).scrollIntoView() }, s.name)));
  view.append(nav);
  for (const s of sections) {
    const tbody = el('tbody');
    for (const o of s.options || []) {
      tbody.append(el('tr', { 'data-key': o.key }, el('td', { class: 'key' }, o.key), el('td', {}, el('code', {}, String(o.value ?? '')))));
    }
    view.append(el('section', { class: 'config-section', id: 'section-' + s.name },
      el('h2', {}, '[' + s.name + ']'),
      el('table', { class: 'admin config' }, el('thead', {}, el('tr', {}, el('th', {}, 'Option'), el('th', {}, 'Value'))), tbody)));
  }
}
