// The DAG page's plainer tabs: Tasks, Code (the source of any version, or
// of the version a run used), Details and Events (the DAG's audit log).
import { api, el, enc, fmtTime, fmtDuration, dl, pager, withQuery } from './api.js';
import { dagHeader } from './tabs.js';

export async function tasksView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Tasks'));
  const data = await api(`/api/v2/dags/${enc(dagId)}/tasks`);
  const want = new URLSearchParams(location.search).get('task');
  const body = el('tbody');
  for (const t of data.tasks) {
    const row = el('tr', { 'data-task-id': t.task_id, class: t.task_id === want ? 'selected' : null },
      el('td', {}, t.task_id),
      el('td', {}, t.operator_name || ''),
      el('td', {}, t.trigger_rule || ''),
      el('td', {}, String(t.retries ?? '')),
      el('td', {}, t.pool || ''),
      el('td', {}, t.queue || ''),
      el('td', {}, (t.downstream_task_ids || []).join(', ')));
    body.append(row);
  }
  ctx.view.append(el('table', { id: 'tasks' },
    el('thead', {}, el('tr', {}, ...['Task', 'Operator', 'Trigger rule', 'Retries', 'Pool', 'Queue', 'Downstream'].map((h) => el('th', {}, h)))),
    body));
  const sel = body.querySelector('tr.selected');
  if (sel) sel.scrollIntoView({ block: 'center' });
}

export async function codeView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Code'));
  const q = new URLSearchParams(location.search);
  let version = parseInt(q.get('version') || '', 10) || 0;
  const runId = q.get('run_id');
  if (runId && !version) { // the version the run used
    const run = await api(`/api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}`);
    const vs = run.dag_versions || [];
    if (vs.length) version = vs[vs.length - 1].version_number;
  }
  const versions = (await api(`/api/v2/dags/${enc(dagId)}/dagVersions?order_by=-version_number&limit=100`)).dag_versions || [];
  const src = await api(`/api/v2/dagSources/${enc(dagId)}` + (version ? '?version_number=' + version : ''));
  const sel = el('select', { id: 'code-version', 'aria-label': 'DAG version' },
    ...versions.map((v) => el('option', { value: v.version_number, selected: v.version_number === src.version_number },
      `Version ${v.version_number} · ${fmtTime(v.created_at)}`)));
  sel.addEventListener('change', () => ctx.navigate(withQuery({ version: sel.value, run_id: '' }), true));
  const latest = versions.length && versions[0].version_number === src.version_number;
  ctx.view.append(
    el('div', { class: 'toolbar' }, sel, el('span', { class: 'muted' }, latest ? 'latest version' : 'an earlier version'),
      runId ? el('span', { class: 'muted' }, `used by run ${runId}`) : null),
    el('pre', { class: 'code', id: 'code', tabindex: '0', 'aria-label': 'DAG source' }, src.content || ''));
}

export async function detailsView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Details'));
  const d = await api(`/api/v2/dags/${enc(dagId)}/details`);
  const td = (x) => (x ? fmtDuration(x.days * 86400 + x.seconds + (x.microseconds || 0) / 1e6) : '');
  ctx.view.append(dl([
    ['DAG id', d.dag_id], ['Description', d.description], ['Paused', d.is_paused ? 'yes' : 'no'],
    ['Schedule', d.timetable_description || d.timetable_summary], ['Timetable', d.timetable_summary],
    ['Start date', fmtTime(d.start_date)], ['End date', fmtTime(d.end_date)], ['Catchup', d.catchup ? 'yes' : 'no'],
    ['Next run after', fmtTime(d.next_dagrun_run_after)], ['Next logical date', fmtTime(d.next_dagrun_logical_date)],
    ['Last parsed', fmtTime(d.last_parsed_time)], ['File', d.fileloc], ['Owners', (d.owners || []).join(', ')],
    ['Tags', (d.tags || []).map((t) => t.name).join(', ')], ['Max active runs', d.max_active_runs],
    ['Max active tasks', d.max_active_tasks], ['Max consecutive failed runs', d.max_consecutive_failed_dag_runs],
    ['Run timeout', td(d.dag_run_timeout)], ['Template search path', (d.template_search_path || []).join(', ')],
    ['Latest version', d.latest_dag_version ? String(d.latest_dag_version.version_number) : ''],
    ['Params', d.params && Object.keys(d.params).length ? el('pre', { class: 'inline-json' }, JSON.stringify(d.params, null, 2)) : ''],
    ['Documentation', d.doc_md ? el('pre', { class: 'doc' }, d.doc_md) : ''],
  ], { id: 'details' }));
}

const EVENTS = 50;

export async function eventsView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Events'));
  const offset = Math.max(0, parseInt(new URLSearchParams(location.search).get('offset') || '0', 10) || 0);
  const data = await api(`/api/v2/eventLogs?dag_id=${enc(dagId)}&order_by=-when&limit=${EVENTS}&offset=${offset}`);
  const rows = data.event_logs.map((e) => el('tr', {},
    el('td', {}, fmtTime(e.when)), el('td', {}, e.event), el('td', {}, e.owner || ''),
    el('td', {}, e.run_id || ''), el('td', {}, e.task_id || ''), el('td', { class: 'extra' }, e.extra || '')));
  ctx.view.append(
    rows.length ? el('table', { id: 'events' },
      el('thead', {}, el('tr', {}, ...['When', 'Event', 'User', 'Run', 'Task', 'Extra'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)) : el('p', { class: 'muted' }, 'No events for this DAG.'),
    pager(data.total_entries, offset, rows.length, EVENTS, (o) => ctx.navigate(withQuery({ offset: o || '' }))));
}
