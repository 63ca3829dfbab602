// A task instance's page: its log per try (a live tail while the try runs,
// that stops following when the reader scrolls up; a download), details
// and every try, rendered templates, XComs, why it is not running yet, and
// for those who may: clear and mark, each after showing what would change.
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, dl, poller, withQuery, UNFINISHED } from './api.js';
import { dagHeader } from './tabs.js';
import { panel } from './actions.js';

const TABS = ['Logs', 'Details', 'Rendered', 'XCom', 'Dependencies'];

export async function tiView(ctx, dagId, runId, taskId) {
  ctx.view.append(...dagHeader(ctx, dagId, ''));
  const q = new URLSearchParams(location.search);
  const mapIndex = q.has('map_index') ? parseInt(q.get('map_index'), 10) : -1;
  const tab = TABS.includes(q.get('tab')) ? q.get('tab') : 'Logs';
  const runPath = `/api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}`;
  const base = `${runPath}/taskInstances/${enc(taskId)}` + (mapIndex >= 0 ? '/' + mapIndex : '');
  const canEdit = ctx.me && ctx.me.can_edit;
  let ti;
  try {
    ti = await api(base);
  } catch (e) {
    // A mapped task has no instance without a map index: list its
    // instances instead, as Airflow's mapped task view does.
    if (e.status !== 404 || mapIndex >= 0) throw e;
    const mapped = await api(`${base}/listMapped?limit=1000&order_by=map_index`).catch(() => null);
    if (!mapped) throw e;
    mappedView(ctx, dagId, runId, taskId, mapped);
    return;
  }

  const badge = el('span', { class: 'badge ' + stateClass(ti.state), id: 'ti-state' }, ti.state || 'no status');
  ctx.view.append(el('h2', {}, el('a', { href: `/dags/${enc(dagId)}/runs/${enc(runId)}` }, runId), ' / ',
    el('span', { class: 'mono' }, taskId + (mapIndex >= 0 ? ` [${mapIndex}]` : '')), ' ', badge));
  const actions = el('div', { class: 'actions' });
  if (canEdit) {
    ctx.view.append(el('div', { class: 'toolbar' },
      el('button', { type: 'button', id: 'ti-clear', onclick: () => clear() }, 'Clear'),
      el('button', { type: 'button', id: 'ti-mark-success', onclick: () => mark('success') }, 'Mark success'),
      el('button', { type: 'button', id: 'ti-mark-failed', onclick: () => mark('failed') }, 'Mark failed')), actions);
  }
  ctx.view.append(el('nav', { class: 'tabs subtabs', 'aria-label': 'Task instance views' }, ...TABS.map((t) =>
    el('a', { href: withQuery({ tab: t === 'Logs' ? '' : t, try: '' }), 'aria-current': t === tab ? 'page' : null }, t))));
  const body = el('div', { class: 'ti-body' });
  ctx.view.append(body);

  const refreshBadge = async () => {
    ti = await api(base);
    badge.className = 'badge ' + stateClass(ti.state);
    badge.textContent = ti.state || 'no status';
    return ti;
  };
  let stop = () => {};
  const redraw = () => ctx.navigate(location.pathname + location.search, true);

  const options = [['include_upstream', 'Upstream', false], ['include_downstream', 'Downstream', true],
    ['include_past', 'Past', false], ['include_future', 'Future', false]];
  const clear = () => panel(actions, {
    title: 'Clear this task instance', id: 'clear-panel', confirmLabel: 'Clear',
    options: [...options, ['only_failed', 'Only failed', false]],
    preview: (o) => api(`/api/v2/dags/${enc(dagId)}/clearTaskInstances`, { method: 'POST', body: clearBody(o, true) }),
    act: (o) => api(`/api/v2/dags/${enc(dagId)}/clearTaskInstances`, { method: 'POST', body: clearBody(o, false) }),
    done: redraw,
  });
  const clearBody = (o, dryRun) => ({
    dry_run: dryRun, dag_run_id: runId, task_ids: mapIndex >= 0 ? [[taskId, mapIndex]] : [taskId],
    include_upstream: o.include_upstream, include_downstream: o.include_downstream,
    include_past: o.include_past, include_future: o.include_future, only_failed: o.only_failed, reset_dag_runs: true,
  });
  const mark = (state) => panel(actions, {
    title: `Mark ${state}`, id: 'mark-panel', confirmLabel: `Mark ${state}`, options,
    preview: (o) => api(`${base}/dry_run`, { method: 'PATCH', body: { new_state: state, ...o } }),
    act: (o) => api(base, { method: 'PATCH', body: { new_state: state, ...o } }),
    done: redraw,
  });

  if (tab === 'Logs') stop = await logs(body, base, ti, refreshBadge);
  else if (tab === 'Details') await details(body, base, ti);
  else if (tab === 'Rendered') rendered(body, ti);
  else if (tab === 'XCom') await xcoms(body, base);
  else await dependencies(body, base);
  return () => stop();
}

// logs reads the shown try's log in pages with the API's continuation
// token; while the try runs, new lines are fetched every 2 s and appended,
// and the view follows them unless the reader has scrolled up.
async function logs(body, base, first, refreshBadge) {
  let ti = first;
  const tries = el('div', { class: 'tries', role: 'group', 'aria-label': 'Try' });
  const pre = el('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Log' });
  const msg = el('p', { class: 'muted', role: 'status' });
  const follow = el('label', { class: 'opt' }, el('input', { type: 'checkbox', id: 'log-follow', checked: true }), ' Follow');
  const followBox = follow.querySelector('input');
  const download = el('button', { type: 'button', id: 'log-download' }, 'Download');
  body.append(el('div', { class: 'toolbar' }, tries, follow, download), msg, pre);

  let shown = parseInt(new URLSearchParams(location.search).get('try') || '', 10) || ti.try_number || 1;
  let token = null; // where the shown try's log reads on; null: from the start
  let ended = false; // the shown try's log is complete
  let gen = 0; // bumped on a try switch, so a read in flight is dropped

  // Scrolling up stops following; scrolling back to the end resumes.
  pre.addEventListener('scroll', () => {
    const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8;
    if (followBox.checked !== atEnd) followBox.checked = atEnd;
  });
  followBox.addEventListener('change', () => { if (followBox.checked) pre.scrollTop = pre.scrollHeight; });
  download.addEventListener('click', async () => {
    const page = await api(`${base}/logs/${shown}?full_content=true`, { accept: 'text/plain' });
    const a = el('a', { href: URL.createObjectURL(new Blob([page.text], { type: 'text/plain' })),
      download: `${ti.dag_id}__${ti.dag_run_id}__${ti.task_id}__try${shown}.log` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });

  const drawTries = () => {
    tries.replaceChildren(el('span', { class: 'muted' }, 'Try'));
    for (let n = 1; n <= Math.max(ti.try_number || 1, 1); n++) {
      tries.append(el('button', { type: 'button', 'aria-pressed': n === shown ? 'true' : 'false', onclick: () => {
        if (n === shown) return;
        shown = n;
        gen++;
        token = null;
        ended = false;
        pre.textContent = '';
        const p = new URLSearchParams(location.search);
        p.set('try', String(n));
        history.replaceState(null, '', location.pathname + '?' + p);
        restart();
      } }, String(n)));
    }
  };

  const readOn = async () => {
    const g = gen;
    for (let pages = 0; pages < 20 && !ended; pages++) {
      const path = `${base}/logs/${shown}` + (token ? '?token=' + enc(token) : '');
      const page = await api(path, { accept: 'text/plain' });
      if (g !== gen) return;
      if (page.text) {
        pre.append(document.createTextNode(page.text));
        if (followBox.checked) pre.scrollTop = pre.scrollHeight;
      }
      token = page.token;
      if (!page.token) { ended = true; return; }
      if (!page.text) return;
    }
  };

  const refresh = async () => {
    const latest = ti.try_number;
    ti = await refreshBadge();
    // A new try (a retry, a clear) is followed when the latest was shown.
    if (ti.try_number > latest && shown === latest && !new URLSearchParams(location.search).has('try')) {
      shown = ti.try_number;
      gen++;
      token = null;
      ended = false;
      pre.textContent = '';
    }
    drawTries();
    const unfinished = ti.state === null || UNFINISHED.has(ti.state);
    if (!ti.try_number) {
      msg.textContent = 'This task has not run yet.';
      return unfinished;
    }
    try {
      await readOn();
      const live = !ended && shown === ti.try_number && unfinished;
      msg.textContent = live ? 'Running: new lines appear every 2 s.' : '';
      return !ended || unfinished;
    } catch (e) {
      msg.textContent = e.message;
      return unfinished;
    }
  };
  let p = poller(refresh, 2000);
  const restart = async () => { p.stop(); p = poller(refresh, 2000); if (await refresh()) p.kick(); };
  await restart();
  return () => p.stop();
}

async function details(body, base, ti) {
  const tries = (await api(`${base}/tries`)).task_instances || [];
  body.append(dl([
    ['Task', ti.task_id], ['Map index', ti.map_index >= 0 ? String(ti.map_index) + (ti.rendered_map_index != null ? ` (${ti.rendered_map_index})` : '') : ''], ['State', ti.state || 'no status'],
    ['Try', `${ti.try_number} of ${ti.max_tries + 1}`], ['Operator', ti.operator_name || ti.operator],
    ['Host', ti.hostname], ['PID', ti.pid === null ? '' : String(ti.pid)], ['Queue', ti.queue],
    ['Pool', `${ti.pool} (${ti.pool_slots} slot${ti.pool_slots === 1 ? '' : 's'})`], ['Priority weight', ti.priority_weight],
    ['Executor', ti.executor], ['Scheduled', fmtTime(ti.scheduled_when)], ['Queued', fmtTime(ti.queued_when)],
    ['Started', fmtTime(ti.start_date)], ['Ended', fmtTime(ti.end_date)],
    ['Waited in queue', ti.queued_when && ti.start_date ? fmtDuration(between(ti.queued_when, ti.start_date)) : ''],
    ['Duration', ti.start_date ? fmtDuration(ti.duration ?? between(ti.start_date, ti.end_date)) : ''],
    ['DAG version', ti.dag_version ? String(ti.dag_version.version_number) : ''], ['Note', ti.note],
  ], { id: 'ti-details' }));
  if (tries.length) {
    body.append(el('h3', {}, 'Tries'), el('table', { id: 'ti-tries' },
      el('thead', {}, el('tr', {}, ...['Try', 'State', 'Host', 'Started', 'Ended', 'Duration'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...tries.map((t) => el('tr', {},
        el('td', {}, String(t.try_number)), el('td', {}, el('span', { class: 'badge ' + stateClass(t.state) }, t.state || 'no status')),
        el('td', {}, t.hostname || ''), el('td', {}, fmtTime(t.start_date)), el('td', {}, fmtTime(t.end_date)),
        el('td', {}, t.start_date ? fmtDuration(t.duration ?? between(t.start_date, t.end_date)) : ''))))));
  }
}

function rendered(body, ti) {
  const fields = Object.entries(ti.rendered_fields || {});
  if (!fields.length) {
    body.append(el('p', { class: 'muted' }, ti.try_number ? 'This task has no templated fields.' : 'Templates are rendered when the task runs.'));
    return;
  }
  body.append(dl(fields.map(([k, v]) => [k, el('pre', { class: 'inline-json' }, typeof v === 'string' ? v : JSON.stringify(v, null, 2))]), { id: 'ti-rendered' }));
}

async function xcoms(body, base) {
  const list = (await api(`${base}/xcomEntries?limit=100`)).xcom_entries || [];
  if (!list.length) {
    body.append(el('p', { class: 'muted' }, 'No XComs.'));
    return;
  }
  const values = await Promise.all(list.slice(0, 50).map((x) =>
    api(`${base}/xcomEntries/${enc(x.key)}?stringify=false`).then((v) => v.value, (e) => `(${e.message})`)));
  body.append(el('table', { id: 'ti-xcoms' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Key'), el('th', {}, 'Value'), el('th', {}, 'Stored'))),
    el('tbody', {}, ...list.slice(0, 50).map((x, i) => el('tr', {}, el('td', { class: 'mono' }, x.key),
      el('td', {}, el('pre', { class: 'inline-json' }, typeof values[i] === 'string' ? values[i] : JSON.stringify(values[i], null, 2))),
      el('td', {}, fmtTime(x.timestamp)))))));
}

// dependencies shows the API's answer: for a finished task instance, its
// state is the one dependency not met, as in Airflow.
async function dependencies(body, base) {
  const deps = (await api(`${base}/dependencies`)).dependencies || [];
  if (!deps.length) {
    body.append(el('p', { class: 'muted' }, 'Nothing holds this task instance back.'));
    return;
  }
  body.append(el('table', { id: 'ti-deps' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Dependency'), el('th', {}, 'Reason'))),
    el('tbody', {}, ...deps.map((d) => el('tr', {}, el('td', {}, d.name), el('td', {}, d.reason))))));
}

// mappedView lists a mapped task's instances in one run, each linking to
// its own page.
function mappedView(ctx, dagId, runId, taskId, mapped) {
  const page = `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}`;
  const counts = {};
  for (const t of mapped.task_instances) counts[t.state || 'no status'] = (counts[t.state || 'no status'] || 0) + 1;
  ctx.view.append(
    el('h2', {}, el('a', { href: `/dags/${enc(dagId)}/runs/${enc(runId)}` }, runId), ' / ',
      el('span', { class: 'mono' }, taskId), ' ', el('span', { class: 'muted' }, `mapped, ${mapped.total_entries} instances`)),
    el('p', { id: 'mapped-summary' }, Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(' · ')),
    el('table', { id: 'mapped-tis' },
      el('thead', {}, el('tr', {}, ...['Map index', 'Name', 'State', 'Try', 'Started', 'Duration'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...mapped.task_instances.map((t) => el('tr', {},
        el('td', {}, el('a', { href: `${page}?map_index=${t.map_index}` }, String(t.map_index))),
        el('td', { class: 'mono' }, t.rendered_map_index ?? ''),
        el('td', {}, el('span', { class: 'badge ' + stateClass(t.state) }, t.state || 'no status')),
        el('td', {}, String(t.try_number)),
        el('td', {}, fmtTime(t.start_date)),
        el('td', {}, t.duration == null ? '' : fmtDuration(t.duration)))))));
}
