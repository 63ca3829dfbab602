// A task instance's log, one try at a time, read on while the try runs.
import { api, el, enc, stateClass, poller } from './api.js';
import { dagHeader } from './tabs.js';

const UNFINISHED = new Set(['queued', 'scheduled', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred', 'restarting']);

export async function tiLogView({ view }, dagId, runId, taskId) {
  view.append(...dagHeader(dagId, ''));
  const base = `/api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}`;
  let ti = await api(base);
  const title = el('h2', {}, `${taskId} · ${runId} `);
  const badge = el('span', { class: 'badge ' + stateClass(ti.state), id: 'ti-state' }, ti.state || 'no status');
  title.append(badge);
  const tries = el('div', { class: 'tries', role: 'group', 'aria-label': 'Try' });
  const pre = el('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Log' });
  const msg = el('p', { class: 'muted', role: 'status' });
  view.append(title, tries, msg, pre);

  const q = new URLSearchParams(location.search);
  let shown = parseInt(q.get('try') || '', 10) || ti.try_number || 1;

  const drawTries = () => {
    tries.replaceChildren(el('span', { class: 'muted' }, 'Try'));
    for (let n = 1; n <= Math.max(ti.try_number || 1, 1); n++) {
      tries.append(el('button', { type: 'button', 'aria-pressed': n === shown ? 'true' : 'false', onclick: () => {
        shown = n;
        const p = new URLSearchParams(location.search);
        p.set('try', String(n));
        history.replaceState(null, '', location.pathname + '?' + p);
        refresh();
      } }, String(n)));
    }
  };

  const refresh = async () => {
    ti = await api(base);
    badge.className = 'badge ' + stateClass(ti.state);
    badge.textContent = ti.state || 'no status';
    drawTries();
    const live = shown === ti.try_number && UNFINISHED.has(ti.state);
    if (!ti.try_number) {
      msg.textContent = 'This task has not run yet.';
      pre.textContent = '';
    } else {
      try {
        pre.textContent = await api(`${base}/logs/${shown}?full_content=true`, { accept: 'text/plain' });
        msg.textContent = live ? 'Running: the log refreshes every few seconds.' : '';
      } catch (e) {
        msg.textContent = e.message;
      }
    }
    return live || !ti.try_number;
  };
  const p = poller(refresh, 2000);
  if (await refresh()) p.kick();
  return () => p.stop();
}
