// The write actions of the run and task instance pages: each shows what it
// would change (the API's dry run) and acts only when confirmed.
import { api, el, stateClass } from './api.js';

// tiList shows the task instances a dry run answered.
function tiList(tis, total) {
  if (!tis.length) return el('p', { class: 'muted' }, 'Nothing would change.');
  const shown = tis.slice(0, 50);
  return el('div', {},
    el('p', {}, `${total ?? tis.length} task instance${(total ?? tis.length) === 1 ? '' : 's'} would change:`),
    el('ul', { class: 'affected' }, ...shown.map((t) => el('li', {},
      el('span', { class: 'badge ' + stateClass(t.state) }, t.state || 'no status'), ' ',
      `${t.task_id}${t.map_index >= 0 ? ` [${t.map_index}]` : ''} · ${t.dag_run_id}`))),
    tis.length > shown.length ? el('p', { class: 'muted' }, `and ${tis.length - shown.length} more`) : null);
}

// panel is an inline confirmation box: title, options (checkboxes, which
// re-run the preview), the preview, Confirm and Cancel. preview(opts)
// answers {task_instances, total_entries}; act(opts) does it; done() runs
// after a successful act.
export function panel(host, { title, id, options = [], preview, act, done, confirmLabel = 'Confirm' }) {
  host.replaceChildren();
  const msg = el('p', { class: 'error', role: 'alert' });
  const list = el('div', { class: 'preview', 'aria-live': 'polite' }, el('p', { class: 'muted' }, 'Checking what would change…'));
  const boxes = options.map(([key, label, on]) => el('label', { class: 'opt' },
    el('input', { type: 'checkbox', name: key, checked: !!on }), ' ', label));
  const opts = () => Object.fromEntries(boxes.map((b) => { const i = b.querySelector('input'); return [i.name, i.checked]; }));
  const confirm = el('button', { type: 'button', class: 'primary confirm', disabled: true }, confirmLabel);
  const refresh = async () => {
    confirm.disabled = true;
    msg.textContent = '';
    try {
      const r = await preview(opts());
      list.replaceChildren(tiList(r.task_instances || [], r.total_entries));
      confirm.disabled = false;
    } catch (e) { list.replaceChildren(); msg.textContent = e.message; }
  };
  for (const b of boxes) b.querySelector('input').addEventListener('change', refresh);
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    msg.textContent = '';
    try {
      await act(opts());
      host.replaceChildren();
      done();
    } catch (e) { msg.textContent = e.message; confirm.disabled = false; }
  });
  const box = el('section', { class: 'panel', id, 'aria-label': title },
    el('h3', {}, title), boxes.length ? el('div', { class: 'opts' }, ...boxes) : null, list, msg,
    el('div', { class: 'toolbar' }, confirm, el('button', { type: 'button', class: 'cancel', onclick: () => host.replaceChildren() }, 'Cancel')));
  host.append(box);
  refresh();
  return box;
}

// markPreview lists what a run's mark would change: its unfinished task
// instances (success or failed marks only those, as Airflow does).
export async function runTIs(dagPath, runId) {
  const out = [];
  for (let offset = 0; ; offset += 100) {
    const page = await api(`${dagPath}/dagRuns/${encodeURIComponent(runId)}/taskInstances?limit=100&offset=${offset}`);
    out.push(...page.task_instances);
    if (out.length >= page.total_entries || !page.task_instances.length) return out;
  }
}
