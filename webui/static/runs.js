// The Runs tab: the DAG's runs, newest first, filtered by state and type,
// paged on the server; each opens its run page.
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, pager, withQuery } from './api.js';
import { dagHeader } from './tabs.js';

const PAGE = 50;
const STATES = ['queued', 'running', 'success', 'failed'];
const TYPES = ['manual', 'scheduled', 'backfill', 'asset_triggered'];

export async function runsView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Runs'));
  const q = new URLSearchParams(location.search);
  const state = STATES.includes(q.get('state')) ? q.get('state') : '';
  const type = TYPES.includes(q.get('run_type')) ? q.get('run_type') : '';
  const offset = Math.max(0, parseInt(q.get('offset') || '0', 10) || 0);
  const pick = (id, label, value, options) => {
    const s = el('select', { id, 'aria-label': label }, el('option', { value: '' }, 'All ' + label.toLowerCase()),
      ...options.map((o) => el('option', { value: o, selected: o === value }, o)));
    return s;
  };
  const stateSel = pick('runs-state', 'States', state, STATES);
  const typeSel = pick('runs-type', 'Types', type, TYPES);
  const refilter = () => ctx.navigate(withQuery({ state: stateSel.value, run_type: typeSel.value, offset: '' }));
  stateSel.addEventListener('change', refilter);
  typeSel.addEventListener('change', refilter);
  ctx.view.append(el('div', { class: 'toolbar' }, stateSel, typeSel));

  const p = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: '-run_after' });
  if (state) p.set('state', state);
  if (type) p.set('run_type', type);
  const data = await api(`/api/v2/dags/${enc(dagId)}/dagRuns?${p}`);
  const runs = data.dag_runs || [];
  if (!runs.length) {
    ctx.view.append(el('p', { class: 'muted' }, state || type ? 'No runs match.' : 'No runs yet.'));
    return;
  }
  ctx.view.append(el('table', { id: 'runs' },
    el('thead', {}, el('tr', {}, ...['Run', 'State', 'Type', 'Run after', 'Logical date', 'Started', 'Ended', 'Duration', 'Note'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...runs.map((r) => el('tr', { 'data-run-id': r.dag_run_id },
      el('td', {}, el('a', { href: `/dags/${enc(dagId)}/runs/${enc(r.dag_run_id)}` }, r.dag_run_id)),
      el('td', {}, el('span', { class: 'badge ' + stateClass(r.state) }, r.state)),
      el('td', {}, r.run_type),
      el('td', {}, fmtTime(r.run_after)),
      el('td', {}, fmtTime(r.logical_date)),
      el('td', {}, fmtTime(r.start_date)),
      el('td', {}, fmtTime(r.end_date)),
      el('td', {}, r.start_date ? fmtDuration(between(r.start_date, r.end_date)) : ''),
      el('td', { class: 'note' }, r.note || ''))))),
    pager(data.total_entries, offset, runs.length, PAGE, (o) => ctx.navigate(withQuery({ offset: o || '' }))));
}
