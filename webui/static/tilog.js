// A task instance's log, one try at a time. A try's log is read in pages
// with the API's continuation token; while the try runs, new lines are
// fetched every few seconds and appended.
import { api, el, enc, stateClass, poller } from './api.js';
import { dagHeader } from './tabs.js';

const UNFINISHED = new Set(['queued', 'scheduled', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred', 'restarting']);

export async function tiLogView({ view }, dagId, runId, taskId) {
  view.append(...dagHeader(dagId, ''));
  const base = `/api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}`;
  let ti = await api(base);
  const badge = el('span', { class: 'badge ' + stateClass(ti.state), id: 'ti-state' }, ti.state || 'no status');
  const title = el('h2', {}, `${taskId} · ${runId} `, badge);
  const tries = el('div', { class: 'tries', role: 'group', 'aria-label': 'Try' });
  const pre = el('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Log' });
  const msg = el('p', { class: 'muted', role: 'status' });
  view.append(title, tries, msg, pre);

  const q = new URLSearchParams(location.search);
  let shown = parseInt(q.get('try') || '', 10) || ti.try_number || 1;
  let token = null; // where the shown try's log reads on; null: from the start
  let ended = false; // the shown try's log is complete
  let gen = 0; // bumped on a try switch, so a read in flight is dropped

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
        p2.stop();
        p2 = poller(refresh, 2000);
        refresh().then((again) => { if (again) p2.kick(); });
      } }, String(n)));
    }
  };

  // readOn appends what the shown try has logged since the last read.
  const readOn = async () => {
    const g = gen;
    for (let pages = 0; pages < 20 && !ended; pages++) {
      const path = `${base}/logs/${shown}` + (token ? '?token=' + enc(token) : '');
      const page = await api(path, { accept: 'text/plain' });
      if (g !== gen) return;
      if (page.text) pre.append(document.createTextNode(page.text));
      token = page.token;
      if (!page.token) { ended = true; return; }
      if (!page.text) return;
    }
  };

  const refresh = async () => {
    ti = await api(base);
    badge.className = 'badge ' + stateClass(ti.state);
    badge.textContent = ti.state || 'no status';
    drawTries();
    const unfinished = ti.state === null || UNFINISHED.has(ti.state);
    if (!ti.try_number) {
      msg.textContent = 'This task has not run yet.';
      return unfinished;
    }
    try {
      await readOn();
      const live = !ended && shown === ti.try_number && unfinished;
      msg.textContent = live ? 'Running: new lines appear every few seconds.' : '';
      return !ended;
    } catch (e) {
      msg.textContent = e.message;
      return unfinished;
    }
  };
  let p2 = poller(refresh, 2000);
  if (await refresh()) p2.kick();
  return () => p2.stop();
}
