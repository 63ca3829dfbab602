// The DAG page's header: the DAG's name, its pause switch and Trigger
// button for those who may use them, a line of facts, and the tabs.
import { api, el, enc, fmtTime } from './api.js';

export const TABS = [
  ['Grid', ''], ['Graph', '/graph'], ['Gantt', '/gantt'], ['Runs', '/runs'], ['Tasks', '/tasks'],
  ['Code', '/code'], ['Details', '/details'], ['Events', '/events'], ['Backfills', '/backfills'],
];

export function dagHeader({ me }, dagId, current) {
  const base = '/dags/' + enc(dagId);
  const canEdit = me && me.can_edit;
  const facts = el('p', { class: 'muted dag-facts' });
  const h1 = el('h1', { class: 'dag-title' }, el('a', { href: '/dags' }, 'DAGs'), ' / ', el('span', { id: 'dag-id' }, dagId));
  const tools = el('div', { class: 'toolbar dag-tools' });
  if (canEdit) {
    const sw = el('input', { type: 'checkbox', role: 'switch', class: 'switch pause-switch', id: 'dag-pause', disabled: true, 'aria-label': 'Pause ' + dagId });
    const err = el('span', { class: 'error', role: 'alert' });
    const label = (paused) => {
      sw.checked = !paused;
      sw.title = paused ? 'Paused' : 'Active';
      sw.setAttribute('aria-label', (paused ? 'Unpause ' : 'Pause ') + dagId);
    };
    sw.addEventListener('change', async () => {
      sw.disabled = true;
      err.textContent = '';
      try {
        label((await api(base.replace('/dags/', '/api/v2/dags/'), { method: 'PATCH', body: { is_paused: !sw.checked } })).is_paused);
      } catch (e) { sw.checked = !sw.checked; err.textContent = e.message; } finally { sw.disabled = false; }
    });
    tools.append(sw, err, el('a', { href: base + '/trigger', class: 'button trigger', id: 'dag-trigger' }, 'Trigger'));
    fill(dagId, facts, (dag) => { label(dag.is_paused); sw.disabled = false; });
  } else {
    fill(dagId, facts, () => {});
  }
  const tab = ([name, path]) => el('a', { href: base + path, 'aria-current': current === name ? 'page' : null }, name);
  return [
    el('div', { class: 'dag-head' }, h1, tools),
    facts,
    el('nav', { class: 'tabs', 'aria-label': 'DAG views' }, ...TABS.map(tab)),
  ];
}

// fill writes the DAG's schedule, next run, owners and tags into facts once
// the DAG is read; a DAG that is gone says so.
function fill(dagId, facts, then) {
  api('/api/v2/dags/' + enc(dagId)).then((dag) => {
    const parts = [];
    if (dag.is_paused) parts.push('Paused');
    parts.push('Schedule: ' + (dag.timetable_description || dag.timetable_summary || 'none'));
    if (dag.next_dagrun_run_after) parts.push('Next run: ' + fmtTime(dag.next_dagrun_run_after));
    if ((dag.owners || []).length) parts.push('Owner: ' + dag.owners.join(', '));
    facts.replaceChildren(parts.join(' · '), ...(dag.tags || []).map((t) => el('span', { class: 'tag' }, t.name)));
    then(dag);
  }).catch((e) => { facts.replaceChildren(el('span', { class: 'error' }, e.message)); });
}

// runPicker reads the DAG's latest 25 runs and builds a select of them
// (and of the run the URL names, when it is older), set to that run or
// the latest; none labels an option for no run at all.
export async function runPicker(dagId, id, none = '') {
  const runs = (await api(`/api/v2/dags/${enc(dagId)}/dagRuns?limit=25&order_by=-run_after`)).dag_runs || [];
  const runId = new URLSearchParams(location.search).get('run_id') || (runs[0] ? runs[0].dag_run_id : '');
  const select = el('select', { id, 'aria-label': 'Run shown' }, none ? el('option', { value: '' }, none) : null,
    ...runs.map((r) => el('option', { value: r.dag_run_id, selected: r.dag_run_id === runId },
      `${r.dag_run_id} · ${r.state} · ${fmtTime(r.run_after)}`)));
  if (runId && !runs.some((r) => r.dag_run_id === runId)) select.append(el('option', { value: runId, selected: true }, runId));
  return { select, runId };
}
