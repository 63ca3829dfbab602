// The Grid tab: tasks (upstream first) × the latest runs, from one private
// call (/ui/grid). A column's bar opens the run, a cell its task instance;
// the bar's height is the run's duration. Live while anything is unfinished.
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, poller, UNFINISHED } from './api.js';
import { dagHeader } from './tabs.js';

const SIZES = [25, 50, 100];

export async function gridView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Grid'));
  const q = new URLSearchParams(location.search);
  const runs = SIZES.includes(+q.get('runs')) ? +q.get('runs') : 25;
  const size = el('select', { id: 'grid-runs', 'aria-label': 'Runs shown' },
    ...SIZES.map((n) => el('option', { value: n, selected: n === runs }, `${n} runs`)));
  size.addEventListener('change', () => ctx.navigate(location.pathname + (size.value === '25' ? '' : '?runs=' + size.value), true));
  const holder = el('div', { id: 'grid', class: 'grid-holder' });
  const status = el('span', { class: 'muted', role: 'status' });
  ctx.view.append(el('div', { class: 'toolbar' }, size, status), holder);
  const base = '/dags/' + enc(dagId);

  const load = async () => {
    const g = await api(`/ui/grid/${enc(dagId)}?limit=${runs}`);
    const cols = g.dag_runs.map((r, i) => ({ run: r, tis: g.task_instances[i] })).reverse();
    const longest = Math.max(1, ...cols.map((c) => between(c.run.start_date, c.run.end_date) || 0));
    const head = el('tr', {}, el('th', { class: 'task' }, ''), ...cols.map(({ run: r }) => {
      const dur = between(r.start_date, r.end_date);
      const h = 8 + Math.round(40 * (dur || 0) / longest);
      return el('th', { class: 'runcol' }, el('a', {
        class: 'runbar ' + stateClass(r.state), href: `${base}/runs/${enc(r.dag_run_id)}`,
        'data-run-id': r.dag_run_id, 'data-height': h,
        title: `${r.dag_run_id}: ${r.state}\nRun after ${fmtTime(r.run_after)}${dur !== null ? '\nDuration ' + fmtDuration(dur) : ''}`,
        'aria-label': `Run ${r.dag_run_id}: ${r.state}`,
      }));
    }));
    const rows = g.task_ids.map((taskId, row) => el('tr', {},
      el('th', { class: 'task', scope: 'row' }, el('a', { href: `${base}/tasks?task=${enc(taskId)}` }, taskId)),
      ...cols.map(({ run: r, tis }) => {
        const ti = tis[row];
        const state = ti ? ti[0] : null;
        const mapped = ti && ti[2] > 1 ? ` (${ti[2]} mapped)` : '';
        const label = `${taskId} in ${r.dag_run_id}: ${state || 'no status'}${mapped}`;
        return el('td', {}, el('a', {
          class: 'cell ' + stateClass(state), href: `${base}/runs/${enc(r.dag_run_id)}/tasks/${enc(taskId)}`,
          'aria-label': label, title: label + (ti && ti[1] > 1 ? `, try ${ti[1]}` : ''),
          'data-task-id': taskId, 'data-run-id': r.dag_run_id, 'data-state': state || 'none',
        }));
      })));
    holder.replaceChildren(cols.length
      ? el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, 'No runs yet.'));
    // Heights through the CSSOM: the page's CSP allows no inline style.
    for (const a of holder.querySelectorAll('.runbar')) a.style.height = a.dataset.height + 'px';
    const live = cols.some((c) => c.run.state === 'queued' || c.run.state === 'running' ||
      c.tis.some((ti) => ti && UNFINISHED.has(ti[0])));
    status.textContent = live ? 'Live: refreshing every 2 s' : '';
    return live;
  };

  const p = poller(load, 2000);
  if (await load()) p.kick();
  // A run started elsewhere shows on refocusing the window.
  const onFocus = () => p.kick(0);
  window.addEventListener('focus', onFocus);
  return () => { p.stop(); window.removeEventListener('focus', onFocus); };
}
