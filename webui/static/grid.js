// The Grid tab: tasks (upstream first) × the latest runs, from one private
// call (/ui/grid). A column's bar opens the run, a cell its task instance;
// the bar's height is the run's duration. Task groups are rows that open
// and close (closed at first, as in Airflow), their cells the most pressing
// state inside them. Live while anything is unfinished.
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, poller, UNFINISHED } from './api.js';
import { openGroups } from './groups.js';
import { dagHeader } from './tabs.js';

// gridTree nests the grid's task rows in their groups: a group comes where
// its first task does, its tasks and groups under it.
function gridTree(g) {
  const groups = g.task_groups || [];
  const index = new Map(groups.map((x, i) => [x.group_id, i]));
  const top = [];
  const made = new Map();
  const place = (gid) => {
    if (!gid || !index.has(gid)) return top;
    if (made.has(gid)) return made.get(gid).kids;
    const gr = groups[index.get(gid)];
    const n = { group: true, id: gid, col: index.get(gid), label: gr.label, tooltip: gr.tooltip, kids: [] };
    place(gr.parent_group_id).push(n);
    made.set(gid, n);
    return n.kids;
  };
  g.task_ids.forEach((id, row) => {
    const gid = (g.task_group_ids || [])[row] || '';
    const label = gid && id.startsWith(gid + '.') ? id.slice(gid.length + 1) : id;
    place(gid).push({ group: false, id, row, label });
  });
  return top;
}

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
  const toolbar = el('div', { class: 'toolbar' }, size, status);
  ctx.view.append(toolbar, holder);
  const base = '/dags/' + enc(dagId);

  const open = openGroups(dagId);
  let last = null;
  const render = (g) => {
    const cols = g.dag_runs.map((r, i) => ({ run: r, tis: g.task_instances[i], groups: (g.group_instances || [])[i] || [] })).reverse();
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
    const taskRow = (n, depth) => el('tr', {},
      el('th', { class: 'task', scope: 'row', 'data-depth': depth, title: n.id }, el('a', { href: `${base}/tasks?task=${enc(n.id)}` }, n.label)),
      ...cols.map(({ run: r, tis }) => {
        const ti = tis[n.row];
        const state = ti ? ti[0] : null;
        const mapped = ti && ti[2] > 1 ? ` (${ti[2]} mapped)` : '';
        const label = `${n.id} in ${r.dag_run_id}: ${state || 'no status'}${mapped}`;
        return el('td', {}, el('a', {
          class: 'cell ' + stateClass(state), href: `${base}/runs/${enc(r.dag_run_id)}/tasks/${enc(n.id)}`,
          'aria-label': label, title: label + (ti && ti[1] > 1 ? `, try ${ti[1]}` : ''),
          'data-task-id': n.id, 'data-run-id': r.dag_run_id, 'data-state': state || 'none',
        }));
      }));
    const groupRow = (n, depth) => el('tr', { class: 'group-row' },
      el('th', { class: 'task group', scope: 'row', 'data-depth': depth },
        el('button', {
          type: 'button', class: 'group-toggle', 'data-group-id': n.id, 'aria-expanded': open.has(n.id) ? 'true' : 'false',
          title: n.tooltip || n.id, onclick: () => { open.toggle(n.id); render(last); },
        }, n.label)),
      ...cols.map(({ run: r, groups }) => {
        const c = groups[n.col];
        const state = c ? c[0] : null;
        const label = `Group ${n.id} in ${r.dag_run_id}: ${state || 'no status'}`;
        return el('td', {}, el('span', {
          class: 'cell group ' + stateClass(state), role: 'img', 'aria-label': label, title: label,
          'data-group-id': n.id, 'data-run-id': r.dag_run_id, 'data-state': state || 'none',
        }));
      }));
    const rows = [];
    const walk = (nodes, depth) => {
      for (const n of nodes) {
        if (!n.group) { rows.push(taskRow(n, depth)); continue; }
        rows.push(groupRow(n, depth));
        if (open.has(n.id)) walk(n.kids, depth + 1);
      }
    };
    walk(gridTree(g), 0);
    holder.replaceChildren(cols.length
      ? el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, 'No runs yet.'));
    // Heights and indents through the CSSOM: the page's CSP allows no inline style.
    for (const a of holder.querySelectorAll('.runbar')) a.style.height = a.dataset.height + 'px';
    for (const th of holder.querySelectorAll('th[data-depth]')) th.style.paddingLeft = (0.25 + 1.1 * th.dataset.depth) + 'rem';
    const ids = (g.task_groups || []).map((x) => x.group_id);
    groupButtons.hidden = !ids.length;
    expandAll.onclick = () => { open.setAll(ids); render(last); };
    collapseAll.onclick = () => { open.setAll([]); render(last); };
    return cols;
  };
  const expandAll = el('button', { type: 'button', id: 'grid-expand' }, 'Expand all');
  const collapseAll = el('button', { type: 'button', id: 'grid-collapse' }, 'Collapse all');
  const groupButtons = el('span', { class: 'group-buttons', hidden: true }, expandAll, collapseAll);
  toolbar.append(groupButtons);

  const load = async () => {
    last = await api(`/ui/grid/${enc(dagId)}?limit=${runs}`);
    const cols = render(last);
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
