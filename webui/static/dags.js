// The DAG list: search, filters, pagination, pause switches, recent runs
// (one /ui call for the page), bulk pause and the Trigger buttons.
import { api, el, enc, fmtTime, stateClass, pager } from './api.js';

const PAGE = 25;
const SORTS = [['dag_id', 'DAG id (A–Z)'], ['-dag_id', 'DAG id (Z–A)'], ['next_dagrun', 'Next run'],
  ['-last_run_start_date', 'Latest run first'], ['last_run_state', 'Last run state']];

export async function dagsView({ view, me, navigate }) {
  const q = new URLSearchParams(location.search);
  const search = q.get('search') || '';
  const tag = q.get('tag') || '';
  const status = q.get('status') || 'all';
  const sort = SORTS.some(([v]) => v === q.get('sort')) ? q.get('sort') : 'dag_id';
  const offset = Math.max(0, parseInt(q.get('offset') || '0', 10) || 0);
  const canEdit = me && me.can_edit;

  const go = (changes) => {
    const p = new URLSearchParams({ search, tag, status, sort, offset: String(offset), ...changes });
    for (const [k, v] of [...p]) if (!v || (k === 'status' && v === 'all') || (k === 'sort' && v === 'dag_id') || (k === 'offset' && v === '0')) p.delete(k);
    const s = p.toString();
    navigate('/dags' + (s ? '?' + s : ''));
  };

  const searchBox = el('input', { type: 'search', id: 'dag-search', placeholder: 'Search DAGs', 'aria-label': 'Search DAGs', value: search });
  const tagBox = el('input', { type: 'search', id: 'dag-tag', placeholder: 'Tag', 'aria-label': 'Filter by tag', value: tag });
  const statusSel = el('select', { id: 'dag-status', 'aria-label': 'Active or paused' },
    ...[['all', 'All'], ['active', 'Active'], ['paused', 'Paused'], ['failed', 'Last run failed']].map(([v, t]) =>
      el('option', { value: v, selected: v === status }, t)));
  const sortSel = el('select', { id: 'dag-sort', 'aria-label': 'Sort by' },
    ...SORTS.map(([v, t]) => el('option', { value: v, selected: v === sort }, t)));
  const filterForm = el('form', { class: 'toolbar', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    go({ search: searchBox.value.trim(), tag: tagBox.value.trim(), status: statusSel.value, sort: sortSel.value, offset: '0' });
  } }, searchBox, tagBox, statusSel, sortSel, el('button', { type: 'submit' }, 'Filter'));
  statusSel.addEventListener('change', () => filterForm.requestSubmit());
  sortSel.addEventListener('change', () => filterForm.requestSubmit());

  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: sort });
  if (search) params.set('dag_id_pattern', search);
  if (tag) params.append('tags', tag);
  if (status === 'active' || status === 'paused') params.set('paused', status === 'paused' ? 'true' : 'false');
  if (status === 'failed') params.set('last_dag_run_state', 'failed');
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
          el('a', { class: 'mark ' + stateClass(r.state), href: `/dags/${enc(d.dag_id)}/runs/${enc(r.dag_run_id)}`,
            title: `${r.dag_run_id}: ${r.state}`, 'aria-label': `Run ${r.dag_run_id}: ${r.state}` })))),
    );
    if (canEdit) {
      cells.push(el('td', {}, el('a', { href: '/dags/' + enc(d.dag_id) + '/trigger', class: 'button trigger', 'aria-label': 'Trigger ' + d.dag_id }, 'Trigger')));
    }
    row.append(...cells);
    tbody.append(row);
  }

  const head = el('tr', {});
  if (canEdit) head.append(el('th', {}, el('span', { class: 'muted' }, '')), el('th', {}, 'Active'));
  head.append(...['DAG', 'Schedule', 'Next run', 'Owners', 'Tags', 'Last run'].map((h) => el('th', {}, h)));
  if (canEdit) head.append(el('th', {}, ''));

  const pagerBar = pager(data.total_entries || 0, offset, dags.length, PAGE, (o) => go({ offset: String(o) }));
  view.append(...[el('h1', {}, 'DAGs'), filterForm, bulkBar, el('table', { id: 'dags' }, el('thead', {}, head), tbody), pagerBar].filter(Boolean));
}
