// The Grid tab: tasks × the latest runs (/ui/grid), each cell a task instance in its
// state's colour, linking to its log. Polls while a run is unfinished.
import { api, el, enc, fmtTime, stateClass, poller } from './api.js';
import { dagHeader } from './tabs.js';

const RUNS = 25;
const UNFINISHED = new Set(['queued', 'running']);

export async function gridView({ view }, dagId) {
  view.append(...dagHeader(dagId, 'Grid'));
  const holder = el('div', { id: 'grid' });
  view.append(holder);
  const tasks = (await api('/api/v2/dags/' + enc(dagId) + '/tasks')).tasks || [];

  // One private call a refresh: the runs and every task's state in them.
  const load = async () => {
    const grid = await api(`/ui/grid/${enc(dagId)}?limit=${RUNS}`);
    const runs = grid.dag_runs.slice().reverse();
    const tis = grid.task_instances;
    const byKey = new Map(tis.map((t) => [t.dag_run_id + '\u0000' + t.task_id, t]));
    const head = el('tr', {}, el('th', {}, ''), ...runs.map((r) =>
      el('th', {}, el('span', { class: 'runbar ' + stateClass(r.state), title: `${r.dag_run_id}: ${r.state} (${fmtTime(r.run_after)})`,
        'data-run-id': r.dag_run_id }))));
    const rows = tasks.map((t) => el('tr', {}, el('th', { class: 'task', scope: 'row' }, t.task_id), ...runs.map((r) => {
      const ti = byKey.get(r.dag_run_id + '\u0000' + t.task_id);
      const state = ti ? ti.state : null;
      const mapped = ti && ti.instances > 1 ? ` (${ti.instances} mapped)` : '';
      return el('td', {}, el('a', {
        class: 'cell ' + stateClass(state),
        href: `/dags/${enc(dagId)}/runs/${enc(r.dag_run_id)}/tasks/${enc(t.task_id)}`,
        'aria-label': `${t.task_id} in ${r.dag_run_id}: ${state || 'no status'}${mapped}`,
        title: `${t.task_id} · ${r.dag_run_id}: ${state || 'no status'}${mapped}`,
        'data-task-id': t.task_id, 'data-run-id': r.dag_run_id, 'data-state': state || 'none',
      }));
    })));
    holder.replaceChildren(runs.length
      ? el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, 'No runs yet.'));
    return runs.some((r) => UNFINISHED.has(r.state));
  };

  const p = poller(load, 2000);
  if (await load()) p.kick();
  // A run triggered elsewhere shows up on the next visit; within the page,
  // refocusing the window re-checks once.
  const onFocus = () => p.kick(0);
  window.addEventListener('focus', onFocus);
  return () => { p.stop(); window.removeEventListener('focus', onFocus); };
}
