// A DAG run's page: its details and conf, its note, its task instances
// (live while it runs), and for those who may: clear (after showing the dry
// run's list) and mark success or failed (after showing what would change).
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, dl, poller, UNFINISHED } from './api.js';
import { dagHeader } from './tabs.js';
import { panel, runTIs } from './actions.js';

const FINISHED = new Set(['success', 'failed', 'skipped', 'upstream_failed', 'removed']);

export async function runView(ctx, dagId, runId) {
  ctx.view.append(...dagHeader(ctx, dagId, ''));
  const dagPath = '/api/v2/dags/' + enc(dagId);
  const runPath = `${dagPath}/dagRuns/${enc(runId)}`;
  const page = `/dags/${enc(dagId)}/runs/${enc(runId)}`;
  const canEdit = ctx.me && ctx.me.can_edit;
  const badge = el('span', { class: 'badge', id: 'run-state' });
  const details = el('div', { class: 'run-details' });
  const tiBody = el('tbody');
  const actions = el('div', { class: 'actions' });
  ctx.view.append(el('h2', {}, 'Run ', el('span', { class: 'mono' }, runId), ' ', badge));
  if (canEdit) {
    ctx.view.append(el('div', { class: 'toolbar' },
      el('button', { type: 'button', id: 'run-clear', onclick: () => clear() }, 'Clear run'),
      el('button', { type: 'button', id: 'run-mark-success', onclick: () => mark('success') }, 'Mark success'),
      el('button', { type: 'button', id: 'run-mark-failed', onclick: () => mark('failed') }, 'Mark failed')));
  }
  ctx.view.append(actions, details);
  const note = el('textarea', { id: 'run-note', 'aria-label': 'Note', readonly: !canEdit, rows: '3' });
  const noteMsg = el('span', { class: 'muted', role: 'status' });
  ctx.view.append(el('section', { class: 'note-box' }, el('h3', {}, 'Note'), note,
    canEdit ? el('div', { class: 'toolbar' }, el('button', { type: 'button', id: 'run-note-save', onclick: async () => {
      noteMsg.textContent = '';
      try {
        await api(`${runPath}?update_mask=note`, { method: 'PATCH', body: { note: note.value } });
        noteMsg.textContent = 'Saved.';
      } catch (e) { noteMsg.textContent = e.message; }
    } }, 'Save note'), noteMsg) : null));
  ctx.view.append(el('h3', {}, 'Task instances'), el('table', { id: 'run-tis' },
    el('thead', {}, el('tr', {}, ...['Task', 'State', 'Try', 'Operator', 'Started', 'Ended', 'Duration', 'Host'].map((h) => el('th', {}, h)))),
    tiBody));

  let noteLoaded = false;
  const load = async () => {
    const [run, tis] = await Promise.all([api(runPath), runTIs(dagPath, runId)]);
    badge.className = 'badge ' + stateClass(run.state);
    badge.textContent = run.state;
    if (!noteLoaded) { note.value = run.note || ''; noteLoaded = true; }
    const version = (run.dag_versions || []).at(-1);
    details.replaceChildren(dl([
      ['Type', run.run_type], ['Run after', fmtTime(run.run_after)], ['Logical date', fmtTime(run.logical_date)],
      ['Data interval', run.data_interval_start ? `${fmtTime(run.data_interval_start)} – ${fmtTime(run.data_interval_end)}` : ''],
      ['Queued at', fmtTime(run.queued_at)], ['Started', fmtTime(run.start_date)], ['Ended', fmtTime(run.end_date)],
      ['Duration', run.start_date ? fmtDuration(between(run.start_date, run.end_date)) : ''],
      ['Triggered by', [run.triggered_by, run.triggering_user_name].filter(Boolean).join(' · ')],
      ['DAG version', version ? el('a', { href: `/dags/${enc(dagId)}/code?run_id=${enc(runId)}` }, `version ${version.version_number}`) : ''],
      ['Conf', run.conf && Object.keys(run.conf).length ? el('pre', { class: 'inline-json', id: 'run-conf' }, JSON.stringify(run.conf, null, 2)) : ''],
    ]));
    tiBody.replaceChildren(...tis.map((t) => el('tr', { 'data-task-id': t.task_id },
      el('td', {}, el('a', { href: `${page}/tasks/${enc(t.task_id)}` + (t.map_index >= 0 ? `?map_index=${t.map_index}` : '') },
        t.task_id + (t.map_index >= 0 ? ` [${t.rendered_map_index ?? t.map_index}]` : ''))),
      el('td', {}, el('span', { class: 'badge ' + stateClass(t.state) }, t.state || 'no status')),
      el('td', {}, String(t.try_number)),
      el('td', {}, t.operator_name || t.operator || ''),
      el('td', {}, fmtTime(t.start_date)), el('td', {}, fmtTime(t.end_date)),
      el('td', {}, t.start_date ? fmtDuration(t.duration ?? between(t.start_date, t.end_date)) : ''),
      el('td', {}, t.hostname || ''))));
    return run.state === 'queued' || run.state === 'running' || tis.some((t) => t.state === null || UNFINISHED.has(t.state));
  };
  const p = poller(load, 2000);
  const again = async () => { if (await load()) p.kick(); };

  const clear = () => panel(actions, {
    title: 'Clear this run', id: 'clear-panel', confirmLabel: 'Clear',
    options: [['only_failed', 'Only failed tasks', false]],
    preview: (o) => api(`${runPath}/clear`, { method: 'POST', body: { dry_run: true, only_failed: o.only_failed } }),
    act: (o) => api(`${runPath}/clear`, { method: 'POST', body: { dry_run: false, only_failed: o.only_failed } }),
    done: again,
  });
  const mark = (state) => panel(actions, {
    title: `Mark this run ${state}`, id: 'mark-panel', confirmLabel: `Mark ${state}`,
    preview: async () => {
      const tis = (await runTIs(dagPath, runId)).filter((t) => !FINISHED.has(t.state));
      return { task_instances: tis.map((t) => ({ ...t, dag_run_id: runId })), total_entries: tis.length };
    },
    act: () => api(`${runPath}?update_mask=state`, { method: 'PATCH', body: { state } }),
    done: again,
  });

  await again();
  return () => p.stop();
}
