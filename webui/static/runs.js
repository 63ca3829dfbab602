// The Runs tab: the DAG's runs, newest first.
import { api, el, enc, fmtTime, stateClass } from './api.js';
import { dagHeader } from './tabs.js';

export async function runsView({ view }, dagId) {
  view.append(...dagHeader(dagId, 'Runs'));
  const data = await api(`/api/v2/dags/${enc(dagId)}/dagRuns?limit=100&order_by=-run_after`);
  const runs = data.dag_runs || [];
  if (!runs.length) {
    view.append(el('p', { class: 'muted' }, 'No runs yet.'));
    return;
  }
  view.append(el('table', { id: 'runs' },
    el('thead', {}, el('tr', {}, ...['Run', 'State', 'Type', 'Run after', 'Started', 'Ended'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...runs.map((r) => el('tr', {},
      el('td', {}, r.dag_run_id),
      el('td', {}, el('span', { class: 'badge ' + stateClass(r.state) }, r.state)),
      el('td', {}, r.run_type),
      el('td', {}, fmtTime(r.run_after)),
      el('td', {}, fmtTime(r.start_date)),
      el('td', {}, fmtTime(r.end_date)))))));
}
