// Users (Admin only), through the FAB auth manager's API: list, create,
// change role, deactivate / activate, reset password, delete.
import { api, el, enc, fmtTime } from './api.js';
import { PAGE, listState, goWith, pagerBar, headRow, alertBox, field, deleteButton, submitting, reload, textOr } from './admin-common.js';

const ROLES = ['Viewer', 'User', 'Op', 'Admin'];
const BASE = '/auth/fab/v1/users';

const roleSelect = (value, attrs = {}) => el('select', { name: 'role', ...attrs },
  ...ROLES.map((r) => el('option', { value: r, selected: r === value }, r)));

export async function usersView({ view, me, navigate }) {
  view.append(el('h1', {}, 'Users'));
  if (!me || me.role !== 'Admin') {
    view.append(el('p', { class: 'notice', id: 'admins-only', role: 'status' }, 'Admins only: ask an Admin to manage users.'));
    return;
  }
  const { offset, order } = listState('username');
  const data = await api(`${BASE}?limit=${PAGE}&offset=${offset}&order_by=${enc(order)}`);
  const users = data.users || [];
  const msg = alertBox('user-error');

  const patch = async (u, body, fields) => {
    msg.textContent = '';
    await api(`${BASE}/${enc(u.username)}?update_mask=${fields.join(',')}`, { method: 'PATCH', body });
    reload(navigate);
  };
  const tbody = el('tbody');
  for (const u of users) {
    const role = (u.roles && u.roles[0] && u.roles[0].name) || '';
    const self = u.username === me.username;
    const rowMsg = alertBox();
    const sel = roleSelect(role, { 'aria-label': 'Role of ' + u.username, class: 'role-select' });
    sel.addEventListener('change', async () => {
      sel.disabled = true;
      try { await patch(u, { roles: [{ name: sel.value }] }, ['roles']); } catch (e) {
        rowMsg.textContent = e.message;
        sel.value = role;
        sel.disabled = false;
      }
    });
    const toggle = el('button', { type: 'button', class: 'toggle-active', onclick: async () => {
      toggle.disabled = true;
      try { await patch(u, { active: !u.active }, ['active']); } catch (e) {
        rowMsg.textContent = e.message;
        toggle.disabled = false;
      }
    } }, u.active ? 'Deactivate' : 'Activate');
    const pwRow = el('tr', { class: 'edit-row', hidden: true });
    const pw = el('input', { type: 'password', name: 'password', required: true, autocomplete: 'new-password', 'aria-label': 'New password for ' + u.username });
    const pwMsg = alertBox();
    const pwForm = el('form', { class: 'inline-form password-form' }, field('New password', pw),
      el('button', { type: 'submit' }, 'Set password'),
      el('button', { type: 'button', onclick: () => { pwRow.hidden = true; } }, 'Cancel'), pwMsg);
    submitting(pwForm, pwMsg, () => patch(u, { password: pw.value }, ['password']));
    pwRow.append(el('td', { colspan: '9' }, pwForm));
    const name = [u.first_name, u.last_name].filter(Boolean).join(' ');
    tbody.append(el('tr', { 'data-username': u.username, class: u.active ? '' : 'inactive' },
      el('td', { class: 'username' }, u.username, self ? el('span', { class: 'muted' }, ' (you)') : null),
      el('td', {}, textOr(name)), el('td', {}, textOr(u.email)),
      el('td', {}, sel),
      el('td', { class: 'active' }, u.active ? 'active' : el('span', { class: 'badge state-failed' }, 'inactive')),
      el('td', {}, textOr(fmtTime(u.last_login))), el('td', { class: 'num' }, String(u.fail_login_count ?? '')),
      el('td', {}, textOr(fmtTime(u.created_on))),
      el('td', { class: 'actions' }, toggle,
        el('button', { type: 'button', class: 'reset-password', onclick: () => { pwRow.hidden = !pwRow.hidden; if (!pwRow.hidden) pw.focus(); } }, 'Reset password'),
        deleteButton('Delete', async () => {
          await api(`${BASE}/${enc(u.username)}`, { method: 'DELETE' });
          reload(navigate);
        }, rowMsg), rowMsg)),
    pwRow);
  }
  const cols = [['Username', 'username'], 'Name', ['E-mail', 'email'], ['Role', 'role'], ['Status', 'active'],
    ['Last login', 'last_login'], ['Failed logins', 'fail_login_count'], ['Created', 'created_on'], ''];
  view.append(createForm(navigate), msg, el('table', { id: 'users', class: 'admin' },
    el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody),
  pagerBar(data.total_entries || 0, offset, users.length, (o) => goWith(navigate, { offset: o || '' })));
}

function createForm(navigate) {
  const input = (name, label, attrs = {}) => el('input', { type: 'text', name, 'aria-label': label, ...attrs });
  const username = input('username', 'Username', { required: true, autocomplete: 'off' });
  const role = roleSelect('Viewer', { 'aria-label': 'Role' });
  const password = el('input', { type: 'password', name: 'password', required: true, autocomplete: 'new-password', 'aria-label': 'Password' });
  const email = el('input', { type: 'email', name: 'email', 'aria-label': 'E-mail' });
  const first = input('first_name', 'First name');
  const last = input('last_name', 'Last name');
  const msg = alertBox('user-create-error');
  const form = el('form', { class: 'inline-form', id: 'user-create' },
    field('Username', username), field('Role', role), field('Password', password), field('E-mail', email),
    field('First name', first), field('Last name', last), el('button', { type: 'submit' }, 'Create user'), msg);
  submitting(form, msg, async () => {
    const body = { username: username.value.trim(), password: password.value, roles: [{ name: role.value }] };
    if (email.value) body.email = email.value;
    if (first.value) body.first_name = first.value;
    if (last.value) body.last_name = last.value;
    await api(BASE, { method: 'POST', body });
    reload(navigate);
  });
  return el('details', { class: 'create' }, el('summary', {}, 'New user'), form);
}
