// The DAG list: search, filters, pagination, pause switches, recent runs
// (one /ui call for the page) and the Trigger form.
import { api, el, enc, fmtTime, stateClass, ApiError } from './api.js';

const PAGE = 25;

export async function dagsView({ view, me, navigate }) {
  const q = new URLSearchParams(location.search);
  const search = q.get('search') || '';
  const tag = q.get('tag') || '';
  const status = q.get('status') || 'all';
  const offset = Math.max(0, parseInt(q.get('offset') || '0', 10) || 0);
  const canEdit = me && me.can_edit;

  const go = (changes) => {
    const p = new URLSearchParams({ search, tag, status, offset: String(offset), ...changes });
    for (const [k, v] of [...p]) if (!v || (k === 'status' && v === 'all') || (k === 'offset' && v === '0')) p.delete(k);
    const s = p.toString();
    navigate('/dags' + (s ? '?' + s : ''));
  };

  const searchBox = el('input', { type: 'search', id: 'dag-search', placeholder: 'Search DAGs', 'aria-label': 'Search DAGs', value: search });
  const tagBox = el('input', { type: 'search', id: 'dag-tag', placeholder: 'Tag', 'aria-label': 'Filter by tag', value: tag });
  const statusSel = el('select', { id: 'dag-status', 'aria-label': 'Active or paused' },
    ...[['all', 'All'], ['active', 'Active'], ['paused', 'Paused']].map(([v, t]) =>
      el('option', { value: v, selected: v === status }, t)));
  const filterForm = el('form', { class: 'toolbar', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    go({ search: searchBox.value.trim(), tag: tagBox.value.trim(), status: statusSel.value, offset: '0' });
  } }, searchBox, tagBox, statusSel, el('button', { type: 'submit' }, 'Filter'));
  statusSel.addEventListener('change', () => filterForm.requestSubmit());

  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: 'dag_id' });
  if (search) params.set('dag_id_pattern', search);
  if (tag) params.append('tags', tag);
  if (status !== 'all') params.set('paused', status === 'paused' ? 'true' : 'false');
  const data = await api('/api/v2/dags?' + params);
  const dags = data.dags || [];

  let recent = {};
  if (dags.length) {
    const rp = new URLSearchParams({ dag_runs_limit: '10' });
    for (const d of dags) rp.append('dag_ids', d.dag_id);
    const rr = await api('/ui/dags/recent_dag_runs?' + rp);
    for (const d of rr.dags) recent[d.dag_id] = d.latest_dag_runs;
  }

  const bulkMsg = el('span', { class: 'error', role: 'alert', id: 'bulk-error' });
  const selected = new Set();
  const bulk = (paused) => async () => {
    bulkMsg.textContent = '';
    try {
      for (const id of selected) {
        await api('/api/v2/dags/' + enc(id), { method: 'PATCH', body: { is_paused: paused } });
      }
      navigate(location.pathname + location.search, true);
    } catch (e) { bulkMsg.textContent = e.message; }
  };
  const bulkBar = canEdit ? el('div', { class: 'toolbar' },
    el('button', { type: 'button', id: 'bulk-pause', onclick: bulk(true) }, 'Pause selected'),
    el('button', { type: 'button', id: 'bulk-unpause', onclick: bulk(false) }, 'Unpause selected'),
    bulkMsg) : null;

  const tbody = el('tbody');
  for (const d of dags) {
    const runs = recent[d.dag_id] || [];
    const last = runs[0];
    const row = el('tr', { 'data-dag-id': d.dag_id });
    const cells = [];
    if (canEdit) {
      cells.push(el('td', {}, el('input', { type: 'checkbox', 'aria-label': 'Select ' + d.dag_id, onchange: (e) => {
        if (e.target.checked) selected.add(d.dag_id); else selected.delete(d.dag_id);
      } })));
      const sw = el('input', { type: 'checkbox', role: 'switch', class: 'switch pause-switch', checked: !d.is_paused,
        'aria-label': (d.is_paused ? 'Unpause ' : 'Pause ') + d.dag_id, title: d.is_paused ? 'Paused' : 'Active' });
      const swErr = el('span', { class: 'error', role: 'alert' });
      sw.addEventListener('change', async () => {
        sw.disabled = true;
        swErr.textContent = '';
        try {
          const out = await api('/api/v2/dags/' + enc(d.dag_id), { method: 'PATCH', body: { is_paused: !sw.checked } });
          sw.checked = !out.is_paused;
          sw.setAttribute('aria-label', (out.is_paused ? 'Unpause ' : 'Pause ') + d.dag_id);
          sw.title = out.is_paused ? 'Paused' : 'Active';
        } catch (e) {
          sw.checked = !sw.checked;
          swErr.textContent = e.message;
        } finally { sw.disabled = false; }
      });
      cells.push(el('td', {}, sw, swErr));
    }
    cells.push(
      el('td', {}, el('a', { href: '/dags/' + enc(d.dag_id), class: 'dag-link' }, d.dag_id)),
      el('td', {}, d.timetable_description || d.timetable_summary || ''),
      el('td', {}, fmtTime(d.next_dagrun_run_after || d.next_dagrun_logical_date)),
      el('td', {}, (d.owners || []).join(', ')),
      el('td', {}, ...(d.tags || []).map((t) => el('span', { class: 'tag' }, t.name))),
      el('td', {},
        last ? el('span', { class: 'badge last-run ' + stateClass(last.state) }, last.state) : el('span', { class: 'muted' }, 'no runs'),
        ' ',
        el('span', { class: 'marks', 'aria-label': 'Recent runs' }, ...runs.slice().reverse().map((r) =>
          el('span', { class: 'mark ' + stateClass(r.state), title: `${r.dag_run_id}: ${r.state}` })))),
    );
    if (canEdit) {
      const formRow = el('tr', { hidden: true });
      cells.push(el('td', {}, el('button', { type: 'button', class: 'trigger', 'aria-label': 'Trigger ' + d.dag_id,
        onclick: () => { formRow.hidden = !formRow.hidden; if (!formRow.hidden) formRow.querySelector('textarea').focus(); } }, 'Trigger')));
      row.append(...cells);
      tbody.append(row);
      formRow.append(el('td', { colspan: String(cells.length) }, triggerForm(d.dag_id, () => navigate(location.pathname + location.search, true))));
      tbody.append(formRow);
    } else {
      row.append(...cells);
      tbody.append(row);
    }
  }

  const head = el('tr', {});
  if (canEdit) head.append(el('th', {}, el('span', { class: 'muted' }, '')), el('th', {}, 'Active'));
  head.append(...['DAG', 'Schedule', 'Next run', 'Owners', 'Tags', 'Last run'].map((h) => el('th', {}, h)));
  if (canEdit) head.append(el('th', {}, ''));

  const total = data.total_entries || 0;
  const pager = el('div', { class: 'toolbar' },
    el('button', { type: 'button', disabled: offset <= 0, onclick: () => go({ offset: String(Math.max(0, offset - PAGE)) }) }, 'Previous'),
    el('span', { class: 'muted' }, total ? `${offset + 1}–${offset + dags.length} of ${total}` : 'No DAGs'),
    el('button', { type: 'button', disabled: offset + PAGE >= total, onclick: () => go({ offset: String(offset + PAGE) }) }, 'Next'));

  view.append(...[el('h1', {}, 'DAGs'), filterForm, bulkBar, el('table', { id: 'dags' }, el('thead', {}, head), tbody), pager].filter(Boolean));
}

// triggerForm posts a run with optional conf; a 400/422 shows its detail.
function triggerForm(dagId, done) {
  const conf = el('textarea', { 'aria-label': 'Run configuration (JSON) for ' + dagId, placeholder: '{}' });
  const msg = el('p', { class: 'error trigger-error', role: 'alert' });
  return el('form', { class: 'trigger-form', onsubmit: async (e) => {
    e.preventDefault();
    msg.textContent = '';
    let body = { logical_date: null };
    const text = conf.value.trim();
    if (text) {
      try { body.conf = JSON.parse(text); } catch (err) { msg.textContent = 'conf is not valid JSON: ' + err.message; return; }
    }
    try {
      await api('/api/v2/dags/' + enc(dagId) + '/dagRuns', { method: 'POST', body });
      done();
    } catch (err) {
      msg.textContent = err instanceof ApiError ? err.message : String(err);
    }
  } }, el('label', {}, 'Configuration (JSON, optional)', conf), el('button', { type: 'submit', class: 'trigger-submit' }, 'Trigger run'), msg);
}
