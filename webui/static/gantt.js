// The Gantt tab: one run's task instances on a time axis, each a bar from
// start to end (to now while running), its queued time before it in a
// lighter shade. Live while the run is going.
import { api, el, enc, fmtTime, fmtDuration, between, stateClass, poller, withQuery, UNFINISHED } from './api.js';
import { dagHeader, runPicker } from './tabs.js';

export async function ganttView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Gantt'));
  const base = '/dags/' + enc(dagId);
  const picked = await runPicker(dagId, 'gantt-run');
  const runSel = picked.select;
  let runId = picked.runId;
  if (!runId) {
    ctx.view.append(el('p', { class: 'muted' }, 'No runs yet.'));
    return null;
  }
  const status = el('span', { class: 'muted', role: 'status' });
  const holder = el('div', { id: 'gantt', class: 'gantt' });
  ctx.view.append(el('div', { class: 'toolbar' }, runSel, status), holder);

  const load = async () => {
    const data = await api(`/ui/gantt/${enc(dagId)}/${enc(runId)}`);
    const tis = data.task_instances;
    const now = Date.now();
    const t = (s) => (s ? Date.parse(s) : null);
    const starts = tis.flatMap((x) => [t(x.queued_dttm), t(x.start_date)]).filter((v) => v !== null);
    const ends = tis.map((x) => t(x.end_date) || (x.start_date ? now : null)).filter((v) => v !== null);
    if (!starts.length) {
      holder.replaceChildren(el('p', { class: 'muted' }, 'No task of this run has started yet.'));
      return tis.some((x) => x.state === null || UNFINISHED.has(x.state));
    }
    const lo = Math.min(...starts);
    const hi = Math.max(lo + 1000, ...ends);
    const pct = (v) => `${(100 * (v - lo) / (hi - lo)).toFixed(3)}%`;
    const axis = el('div', { class: 'gantt-axis' }, el('span', {}, fmtTime(new Date(lo).toISOString())),
      el('span', {}, fmtDuration((hi - lo) / 1000)), el('span', {}, fmtTime(new Date(hi).toISOString())));
    // One row per task instance; each of its tries is a bar on that row.
    const rowOf = new Map();
    const rows = [];
    for (const x of tis) {
      const label = x.task_id + (x.map_index >= 0 ? ` [${x.map_index}]` : '');
      let track = rowOf.get(label);
      if (!track) {
        track = el('div', { class: 'gantt-track' });
        rowOf.set(label, track);
        rows.push(el('div', { class: 'gantt-row' }, el('a', { class: 'gantt-label', href: `${base}/runs/${enc(runId)}/tasks/${enc(x.task_id)}` }, label), track));
      }
      const qd = t(x.queued_dttm);
      const sd = t(x.start_date);
      const ed = t(x.end_date) || (sd ? now : null);
      if (qd !== null && (sd === null || qd < sd)) {
        track.append(el('span', { class: 'gantt-bar queued-part', 'data-left': pct(qd), 'data-width': pct(lo + (sd ?? now) - qd),
          title: `${label}: queued ${fmtDuration(((sd ?? now) - qd) / 1000)}` }));
      }
      if (sd !== null) {
        track.append(el('a', { class: 'gantt-bar ' + stateClass(x.state), 'data-left': pct(sd), 'data-width': pct(lo + Math.max(ed - sd, 0)),
          href: `${base}/runs/${enc(runId)}/tasks/${enc(x.task_id)}?try=${x.try_number}`, 'data-task-id': x.task_id, 'data-try': x.try_number,
          title: `${label}: ${x.state || 'no status'}, try ${x.try_number}\n${fmtTime(x.start_date)} – ${x.end_date ? fmtTime(x.end_date) : 'now'} (${fmtDuration(between(x.start_date, x.end_date))})` }));
      }
    }
    holder.replaceChildren(axis, ...rows);
    for (const b of holder.querySelectorAll('.gantt-bar')) { b.style.left = b.dataset.left; b.style.width = b.dataset.width; }
    const live = tis.some((x) => x.state === null || UNFINISHED.has(x.state));
    status.textContent = live ? 'Live: refreshing every 2 s' : '';
    return live;
  };
  let p = poller(load, 2000);
  const restart = async () => { p.stop(); p = poller(load, 2000); if (await load()) p.kick(); };
  runSel.addEventListener('change', () => {
    runId = runSel.value;
    history.replaceState(null, '', withQuery({ run_id: runId }));
    restart();
  });
  await restart();
  return () => p.stop();
}
