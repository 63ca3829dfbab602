// Pools: slots and their use as a stacked bar; create, edit, delete for
// Op and Admin.
import { api, el, enc } from './api.js';
import { PAGE, canWrite, listState, goWith, pagerBar, headRow, alertBox, field, deleteButton, submitting, reload, textOr } from './admin-common.js';

// The parts of a pool's slots, as Airflow's pool bar, with their colours.
const PARTS = [
  ['running_slots', 'running', 'state-running'],
  ['queued_slots', 'queued', 'state-queued'],
  ['scheduled_slots', 'scheduled', 'state-scheduled'],
  ['deferred_slots', 'deferred', 'state-deferred'],
  ['open_slots', 'open', 'open'],
];

// seg is a part of the bar n slots wide (through the CSSOM: the page's CSP
// refuses style attributes).
function seg(cls, n, title) {
  const s = el('span', { class: 'seg ' + cls, title });
  s.style.flexGrow = String(n);
  return s;
}

export function slotBar(p) {
  const total = PARTS.reduce((n, [k]) => n + Math.max(0, p[k] || 0), 0);
  const bar = el('div', { class: 'slotbar', role: 'img',
    'aria-label': PARTS.map(([k, name]) => `${p[k] || 0} ${name}`).join(', ') });
  for (const [k, name, cls] of PARTS) {
    const n = Math.max(0, p[k] || 0);
    if (n > 0) bar.append(seg(cls, n, `${name}: ${n}`));
  }
  if (total === 0) bar.append(seg('empty', 1, 'no slots'));
  const legend = el('div', { class: 'slotlegend' },
    el('span', { 'data-part': 'occupied' }, `occupied ${p.occupied_slots}`),
    ...PARTS.map(([k, name, cls]) => el('span', { class: 'badge ' + cls, 'data-part': name }, `${name} ${p[k] || 0}`)));
  return el('div', { class: 'slots' }, bar, legend);
}

export async function poolsView({ view, me, navigate }) {
  const { offset, order } = listState('name');
  const write = canWrite(me);
  const data = await api(`/api/v2/pools?limit=${PAGE}&offset=${offset}&order_by=${enc(order)}`);
  const pools = data.pools || [];
  const msg = alertBox('pool-error');

  const tbody = el('tbody');
  for (const p of pools) {
    const row = el('tr', { 'data-pool': p.name },
      el('td', { class: 'name' }, p.name),
      el('td', { class: 'num total-slots' }, String(p.slots)),
      el('td', {}, slotBar(p)),
      el('td', {}, textOr(p.description)),
      el('td', {}, p.include_deferred ? 'yes' : 'no'));
    if (write) {
      const editRow = el('tr', { class: 'edit-row', hidden: true });
      const isDefault = p.name === 'default_pool';
      const slots = el('input', { type: 'number', name: 'slots', min: '-1', value: String(p.slots), required: true, 'aria-label': 'Slots' });
      const desc = el('input', { type: 'text', name: 'description', value: p.description || '', disabled: isDefault,
        'aria-label': 'Description', title: isDefault ? 'default_pool keeps its description' : null });
      const defer = el('input', { type: 'checkbox', name: 'include_deferred', checked: p.include_deferred });
      const editMsg = alertBox();
      const form = el('form', { class: 'inline-form pool-edit' },
        field('Slots', slots), field('Description', desc), field('Count deferred tasks', defer),
        el('button', { type: 'submit' }, 'Save'),
        el('button', { type: 'button', onclick: () => { editRow.hidden = true; } }, 'Cancel'), editMsg);
      submitting(form, editMsg, async () => {
        const mask = isDefault ? ['slots', 'include_deferred'] : ['slots', 'description', 'include_deferred'];
        const body = { name: p.name, slots: parseInt(slots.value, 10), include_deferred: defer.checked };
        if (!isDefault) body.description = desc.value || null;
        await api(`/api/v2/pools/${enc(p.name)}?` + mask.map((m) => 'update_mask=' + m).join('&'), { method: 'PATCH', body });
        reload(navigate);
      });
      editRow.append(el('td', { colspan: '6' }, form));
      row.append(el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'edit', onclick: () => { editRow.hidden = !editRow.hidden; } }, 'Edit'),
        deleteButton('Delete', async () => {
          await api(`/api/v2/pools/${enc(p.name)}`, { method: 'DELETE' });
          reload(navigate);
        }, msg)));
      tbody.append(row, editRow);
    } else {
      tbody.append(row);
    }
  }
  const cols = [['Pool', 'name'], 'Slots', 'Use', 'Description', 'Deferred count'];
  if (write) cols.push('');
  const table = el('table', { id: 'pools', class: 'admin' },
    el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody);

  view.append(el('h1', {}, 'Pools'));
  if (write) view.append(createForm(navigate));
  view.append(msg, table, pagerBar(data.total_entries || 0, offset, pools.length, (o) => goWith(navigate, { offset: o || '' })));
}

function createForm(navigate) {
  const name = el('input', { type: 'text', name: 'name', required: true, 'aria-label': 'Pool name' });
  const slots = el('input', { type: 'number', name: 'slots', min: '-1', value: '1', required: true, 'aria-label': 'Slots' });
  const desc = el('input', { type: 'text', name: 'description', 'aria-label': 'Description' });
  const defer = el('input', { type: 'checkbox', name: 'include_deferred' });
  const msg = alertBox('pool-create-error');
  const form = el('form', { class: 'inline-form', id: 'pool-create' },
    field('Name', name), field('Slots', slots, '-1: unlimited'), field('Description', desc), field('Count deferred tasks', defer),
    el('button', { type: 'submit' }, 'Create pool'), msg);
  const box = el('details', { class: 'create' }, el('summary', {}, 'New pool'), form);
  submitting(form, msg, async () => {
    await api('/api/v2/pools', { method: 'POST', body: { name: name.value.trim(), slots: parseInt(slots.value, 10),
      description: desc.value || null, include_deferred: defer.checked } });
    reload(navigate);
  });
  return box;
}
