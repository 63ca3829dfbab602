// What the Admin pages share: the URL's paging and sorting, the pager,
// sortable headers, form fields, a two-click delete and error messages.
import { el, ApiError } from './api.js';

export const PAGE = 25;

// canWrite: the roles that may change pools, variables and connections.
export const canWrite = (me) => !!me && (me.role === 'Op' || me.role === 'Admin');

// listState reads offset and order_by from the URL (order_by's default
// when absent).
export function listState(defaultOrder) {
  const q = new URLSearchParams(location.search);
  return {
    q,
    offset: Math.max(0, parseInt(q.get('offset') || '0', 10) || 0),
    order: q.get('order_by') || defaultOrder,
  };
}

// goWith navigates to the current page with its query changed (empty
// values removed; a filter change goes back to the first page).
export function goWith(navigate, changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) p.delete(k); else p.set(k, String(v));
  }
  const s = p.toString();
  navigate(location.pathname + (s ? '?' + s : ''));
}

// pagerBar is Previous / "m–n of total" / Next.
export function pagerBar(total, offset, shown, go) {
  return el('div', { class: 'toolbar pager' },
    el('button', { type: 'button', class: 'prev', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - PAGE)) }, 'Previous'),
    el('span', { class: 'muted page-info' }, total ? `${offset + 1}–${offset + shown} of ${total}` : 'None'),
    el('button', { type: 'button', class: 'next', disabled: offset + PAGE >= total, onclick: () => go(offset + PAGE) }, 'Next'));
}

// headRow draws the header; a column [label, field] sorts by field (a
// click toggles its direction), a plain label does not.
export function headRow(cols, order, go) {
  const tr = el('tr');
  for (const c of cols) {
    if (!Array.isArray(c)) { tr.append(el('th', {}, c)); continue; }
    const [label, field] = c;
    const dir = order === field ? 'ascending' : order === '-' + field ? 'descending' : null;
    const next = order === field ? '-' + field : field;
    tr.append(el('th', { 'aria-sort': dir || 'none' },
      el('button', { type: 'button', class: 'sort', 'data-field': field, onclick: () => go(next) },
        label, dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '')));
  }
  return tr;
}

// errorText is what a failed call shows: the API's detail, never JSON.
export const errorText = (e) => (e instanceof ApiError ? e.message : String(e && e.message ? e.message : e));

export const alertBox = (id) => el('p', { class: 'error', role: 'alert', id });

// field is a labelled input.
export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', {}, label), input, hint ? el('span', { class: 'muted hint' }, hint) : null);
}

// deleteButton asks once more on the first click ("Really delete?") and
// calls action on the second; a refusal shows in msg.
export function deleteButton(label, action, msg, attrs = {}) {
  let armed = false;
  const b = el('button', { type: 'button', class: 'danger delete', ...attrs, onclick: async () => {
    if (!armed) {
      armed = true;
      b.textContent = 'Really delete?';
      b.classList.add('armed');
      return;
    }
    b.disabled = true;
    msg.textContent = '';
    try { await action(); } catch (e) {
      msg.textContent = errorText(e);
      b.disabled = false;
      armed = false;
      b.textContent = label;
      b.classList.remove('armed');
    }
  } }, label);
  return b;
}

// submitting runs a form's action with its button disabled and the API's
// refusal shown in msg.
export function submitting(form, msg, action) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.textContent = '';
    const buttons = form.querySelectorAll('button[type="submit"]');
    buttons.forEach((b) => { b.disabled = true; });
    try { await action(); } catch (err) { msg.textContent = errorText(err); } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

// reload draws the page again in place (after a write).
export const reload = (navigate) => navigate(location.pathname + location.search, true);

// textOr shows a value, or a muted dash for none.
export const textOr = (v) => (v === null || v === undefined || v === '' ? el('span', { class: 'muted' }, '—') : String(v));
