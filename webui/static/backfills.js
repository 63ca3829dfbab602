// The Backfills tab: the DAG's backfills (pause, unpause, cancel), and a
// form to create one over a date range, with its reprocess behaviour and
// max active runs, that first shows the runs it would create (dry run).
import { api, el, enc, fmtTime, prefs, pager, withQuery } from './api.js';
import { dagHeader } from './tabs.js';

const PAGE = 25;

export async function backfillsView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Backfills'));
  const canEdit = ctx.me && ctx.me.can_edit;
  const offset = Math.max(0, parseInt(new URLSearchParams(location.search).get('offset') || '0', 10) || 0);
  const redraw = () => ctx.navigate(location.pathname + location.search, true);
  if (canEdit) ctx.view.append(createForm(dagId, redraw));
  const data = await api(`/api/v2/backfills?dag_id=${enc(dagId)}&limit=${PAGE}&offset=${offset}&order_by=-id`);
  const list = data.backfills || [];
  if (!list.length) {
    ctx.view.append(el('p', { class: 'muted' }, 'No backfills of this DAG.'));
    return;
  }
  const msg = el('p', { class: 'error', role: 'alert' });
  const act = (id, verb) => async () => {
    msg.textContent = '';
    try { await api(`/api/v2/backfills/${id}/${verb}`, { method: 'PUT' }); redraw(); } catch (e) { msg.textContent = e.message; }
  };
  ctx.view.append(msg, el('table', { id: 'backfills' },
    el('thead', {}, el('tr', {}, ...['Id', 'From', 'To', 'Reprocess', 'Max active runs', 'Created', 'Completed', 'State', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...list.map((b) => {
      const done = !!b.completed_at;
      const state = done ? 'completed' : b.is_paused ? 'paused' : 'running';
      return el('tr', { 'data-backfill-id': b.id },
        el('td', {}, String(b.id)), el('td', {}, fmtTime(b.from_date)), el('td', {}, fmtTime(b.to_date)),
        el('td', {}, b.reprocess_behavior), el('td', {}, String(b.max_active_runs)),
        el('td', {}, fmtTime(b.created_at)), el('td', {}, fmtTime(b.completed_at)), el('td', { class: 'bf-state' }, state),
        el('td', {}, canEdit && !done ? el('span', { class: 'toolbar' },
          b.is_paused ? el('button', { type: 'button', class: 'bf-unpause', onclick: act(b.id, 'unpause') }, 'Unpause')
            : el('button', { type: 'button', class: 'bf-pause', onclick: act(b.id, 'pause') }, 'Pause'),
          el('button', { type: 'button', class: 'bf-cancel', onclick: act(b.id, 'cancel') }, 'Cancel')) : ''));
    }))),
    pager(data.total_entries, offset, list.length, PAGE, (o) => ctx.navigate(withQuery({ offset: o || '' }))));
}

function createForm(dagId, done) {
  const local = prefs.tz() === 'local';
  const from = el('input', { type: 'datetime-local', id: 'bf-from', required: true, step: '1' });
  const to = el('input', { type: 'datetime-local', id: 'bf-to', required: true, step: '1' });
  const reprocess = el('select', { id: 'bf-reprocess' },
    el('option', { value: 'none' }, 'Missing runs only'),
    el('option', { value: 'failed' }, 'Missing and failed runs'),
    el('option', { value: 'completed' }, 'All runs (missing and completed)'));
  const maxActive = el('input', { type: 'number', id: 'bf-max-active', min: '1', value: '10', step: '1' });
  const backwards = el('input', { type: 'checkbox', id: 'bf-backwards' });
  const conf = el('textarea', { id: 'bf-conf', rows: '2', class: 'mono', placeholder: '{}' });
  const msg = el('p', { class: 'error', role: 'alert', id: 'bf-error' });
  const preview = el('div', { id: 'bf-preview', 'aria-live': 'polite' });
  const iso = (v) => new Date(v + (local ? '' : 'Z')).toISOString();
  const body = () => {
    if (!from.value || !to.value) throw new Error('Give both the start and the end of the range.');
    let c = {};
    if (conf.value.trim()) {
      try { c = JSON.parse(conf.value); } catch (e) { throw new Error('Run conf is not valid JSON: ' + e.message); }
    }
    const n = parseInt(maxActive.value, 10);
    if (!(n >= 1)) throw new Error('Max active runs must be at least 1.');
    return { dag_id: dagId, from_date: iso(from.value), to_date: iso(to.value), reprocess_behavior: reprocess.value,
      max_active_runs: n, run_backwards: backwards.checked, dag_run_conf: c };
  };
  const run = async (dry) => {
    msg.textContent = '';
    let b;
    try { b = body(); } catch (e) { msg.textContent = e.message; return; }
    try {
      if (dry) {
        const r = await api('/api/v2/backfills/dry_run', { method: 'POST', body: b });
        const dates = (r.backfills || []).map((x) => fmtTime(x.logical_date));
        preview.replaceChildren(el('p', {}, `${r.total_entries} run${r.total_entries === 1 ? '' : 's'} would be created`),
          el('ul', { class: 'affected' }, ...dates.slice(0, 50).map((d) => el('li', {}, d))));
      } else {
        await api('/api/v2/backfills', { method: 'POST', body: b });
        done();
      }
    } catch (e) { msg.textContent = e.message; }
  };
  const tz = local ? 'local time' : 'UTC';
  return el('details', { class: 'panel', id: 'bf-create' }, el('summary', {}, 'New backfill'),
    el('form', { class: 'trigger-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); run(false); } },
      el('div', { class: 'field' }, el('label', { for: 'bf-from' }, `From (${tz})`), from),
      el('div', { class: 'field' }, el('label', { for: 'bf-to' }, `To (${tz})`), to),
      el('div', { class: 'field' }, el('label', { for: 'bf-reprocess' }, 'Reprocess behaviour'), reprocess),
      el('div', { class: 'field' }, el('label', { for: 'bf-max-active' }, 'Max active runs'), maxActive),
      el('label', { class: 'opt' }, backwards, ' Run backwards'),
      el('div', { class: 'field' }, el('label', { for: 'bf-conf' }, 'Run conf (JSON, optional)'), conf),
      el('div', { class: 'toolbar' },
        el('button', { type: 'button', id: 'bf-dry-run', onclick: () => run(true) }, 'Show the runs'),
        el('button', { type: 'submit', class: 'primary', id: 'bf-submit' }, 'Create backfill')),
      msg, preview));
}
