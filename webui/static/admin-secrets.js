// Variables and connections: what the API answers (its secrets already
// masked), with create, edit, delete (and a connection test) for Op and
// Admin. A connection's password is never shown nor pre-filled: left
// empty on edit, the stored one stays.
import { api, el, enc } from './api.js';
import { PAGE, canWrite, listState, goWith, pagerBar, headRow, alertBox, field, deleteButton, submitting, reload, textOr } from './admin-common.js';

const mask = (fields) => fields.map((m) => 'update_mask=' + enc(m)).join('&');

export async function variablesView({ view, me, navigate }) {
  const { q, offset, order } = listState('key');
  const search = q.get('search') || '';
  const write = canWrite(me);
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: order });
  if (search) params.set('variable_key_pattern', search);
  const data = await api('/api/v2/variables?' + params);
  const vars = data.variables || [];
  const msg = alertBox('variable-error');

  const searchBox = el('input', { type: 'search', id: 'variable-search', placeholder: 'Search keys', 'aria-label': 'Search variables by key', value: search });
  const searchForm = el('form', { class: 'toolbar', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    goWith(navigate, { search: searchBox.value.trim(), offset: '' });
  } }, searchBox, el('button', { type: 'submit' }, 'Search'));

  const tbody = el('tbody');
  for (const v of vars) {
    const row = el('tr', { 'data-key': v.key },
      el('td', { class: 'key' }, v.key),
      el('td', {}, el('code', { class: 'value' }, v.value)),
      el('td', {}, textOr(v.description)));
    if (!write) { tbody.append(row); continue; }
    const editRow = el('tr', { class: 'edit-row', hidden: true });
    const value = el('textarea', { name: 'value', 'aria-label': 'Value', rows: '2' });
    value.value = v.value;
    const desc = el('input', { type: 'text', name: 'description', value: v.description || '', 'aria-label': 'Description' });
    const editMsg = alertBox();
    const form = el('form', { class: 'inline-form variable-edit' },
      field('Value', value, v.value.includes('***') ? 'masked: leave it as it is to keep the stored value' : null),
      field('Description', desc), el('button', { type: 'submit' }, 'Save'),
      el('button', { type: 'button', onclick: () => { editRow.hidden = true; } }, 'Cancel'), editMsg);
    submitting(form, editMsg, async () => {
      // The value is sent only when changed: a masked one sent back
      // would replace the secret with its mask.
      const fields = ['description'];
      if (value.value !== v.value) fields.push('value');
      await api(`/api/v2/variables/${enc(v.key)}?` + mask(fields), { method: 'PATCH',
        body: { key: v.key, value: value.value, description: desc.value || null } });
      reload(navigate);
    });
    editRow.append(el('td', { colspan: '4' }, form));
    row.append(el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'edit', onclick: () => { editRow.hidden = !editRow.hidden; } }, 'Edit'),
      deleteButton('Delete', async () => {
        await api(`/api/v2/variables/${enc(v.key)}`, { method: 'DELETE' });
        reload(navigate);
      }, msg)));
    tbody.append(row, editRow);
  }
  const cols = [['Key', 'key'], 'Value', ['Description', 'description']];
  if (write) cols.push('');
  view.append(el('h1', {}, 'Variables'), searchForm);
  if (write) view.append(variableCreate(navigate));
  view.append(msg, el('table', { id: 'variables', class: 'admin' },
    el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody),
  pagerBar(data.total_entries || 0, offset, vars.length, (o) => goWith(navigate, { offset: o || '' })));
}

function variableCreate(navigate) {
  const key = el('input', { type: 'text', name: 'key', required: true, 'aria-label': 'Key' });
  const value = el('textarea', { name: 'value', rows: '2', 'aria-label': 'Value' });
  const desc = el('input', { type: 'text', name: 'description', 'aria-label': 'Description' });
  const msg = alertBox('variable-create-error');
  const form = el('form', { class: 'inline-form', id: 'variable-create' },
    field('Key', key), field('Value', value), field('Description', desc), el('button', { type: 'submit' }, 'Create variable'), msg);
  submitting(form, msg, async () => {
    await api('/api/v2/variables', { method: 'POST', body: { key: key.value.trim(), value: value.value, description: desc.value || null } });
    reload(navigate);
  });
  const file = el('input', { type: 'file', accept: 'application/json,.json', 'aria-label': 'Variables file (JSON)' });
  const fileMsg = alertBox('variable-import-error');
  const importForm = el('form', { class: 'inline-form', id: 'variable-import' },
    field('Import a JSON file of {"key": value}', file), el('button', { type: 'submit' }, 'Import'), fileMsg);
  submitting(importForm, fileMsg, async () => {
    if (!file.files.length) throw new Error('Choose a file first.');
    let obj;
    try { obj = JSON.parse(await file.files[0].text()); } catch (e) { throw new Error('The file is not valid JSON: ' + e.message); }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('The file must hold one JSON object of keys and values.');
    const entities = Object.entries(obj).map(([k, v]) => ({ key: k, value: typeof v === 'string' ? v : JSON.stringify(v) }));
    const out = await api('/api/v2/variables', { method: 'PATCH',
      body: { actions: [{ action: 'create', entities, action_on_existence: 'overwrite' }] } });
    const errs = (out && out.create && out.create.errors) || [];
    if (errs.length) throw new Error(errs.map((x) => x.error).join('; '));
    reload(navigate);
  });
  return el('details', { class: 'create' }, el('summary', {}, 'New variable'), form, importForm);
}

export async function connectionsView({ view, me, navigate }) {
  const { q, offset, order } = listState('connection_id');
  const search = q.get('search') || '';
  const write = canWrite(me);
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset), order_by: order });
  if (search) params.set('connection_id_pattern', search);
  const data = await api('/api/v2/connections?' + params);
  const conns = data.connections || [];
  const msg = alertBox('connection-error');

  const searchBox = el('input', { type: 'search', id: 'connection-search', placeholder: 'Search ids', 'aria-label': 'Search connections by id', value: search });
  const searchForm = el('form', { class: 'toolbar', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    goWith(navigate, { search: searchBox.value.trim(), offset: '' });
  } }, searchBox, el('button', { type: 'submit' }, 'Search'));

  const tbody = el('tbody');
  for (const c of conns) {
    const row = el('tr', { 'data-conn-id': c.connection_id },
      el('td', { class: 'conn-id' }, c.connection_id), el('td', {}, c.conn_type), el('td', {}, textOr(c.host)),
      el('td', {}, textOr(c.port)), el('td', {}, textOr(c.login)), el('td', {}, textOr(c.schema)), el('td', {}, textOr(c.description)));
    if (!write) { tbody.append(row); continue; }
    const editRow = el('tr', { class: 'edit-row', hidden: true },
      el('td', { colspan: '8' }, connectionForm(c, () => reload(navigate), () => { editRow.hidden = true; })));
    row.append(el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'edit', onclick: () => { editRow.hidden = !editRow.hidden; } }, 'Edit'),
      deleteButton('Delete', async () => {
        await api(`/api/v2/connections/${enc(c.connection_id)}`, { method: 'DELETE' });
        reload(navigate);
      }, msg)));
    tbody.append(row, editRow);
  }
  const cols = [['Connection id', 'connection_id'], ['Type', 'conn_type'], ['Host', 'host'], ['Port', 'port'], 'Login', 'Schema', ['Description', 'description']];
  if (write) cols.push('');
  view.append(el('h1', {}, 'Connections'), searchForm);
  if (write) {
    view.append(el('details', { class: 'create' }, el('summary', {}, 'New connection'), connectionForm(null, () => reload(navigate))));
  }
  view.append(msg, el('table', { id: 'connections', class: 'admin' },
    el('thead', {}, headRow(cols, order, (o) => goWith(navigate, { order_by: o, offset: '' }))), tbody),
  pagerBar(data.total_entries || 0, offset, conns.length, (o) => goWith(navigate, { offset: o || '' })));
}

// connectionForm creates (c null) or edits a connection, and tests what
// the form holds.
function connectionForm(c, done, cancel) {
  const input = (name, label, attrs = {}) => el('input', { type: 'text', name, 'aria-label': label, ...attrs });
  const id = input('connection_id', 'Connection id', { required: true, value: c ? c.connection_id : '', readonly: !!c });
  const type = input('conn_type', 'Connection type', { required: true, value: c ? c.conn_type : '', placeholder: 'http, postgres, …' });
  const host = input('host', 'Host', { value: c && c.host || '' });
  const port = el('input', { type: 'number', name: 'port', 'aria-label': 'Port', min: '0', max: '65535', value: c && c.port !== null ? String(c.port) : '' });
  const login = input('login', 'Login', { value: c && c.login || '' });
  const schema = input('schema', 'Schema', { value: c && c.schema || '' });
  // Never pre-filled, never echoed: autocomplete off so the browser does
  // not fill in the UI's own login either.
  const password = el('input', { type: 'password', name: 'password', 'aria-label': 'Password', autocomplete: 'new-password',
    placeholder: c ? 'unchanged' : '' });
  const extra = el('textarea', { name: 'extra', rows: '3', 'aria-label': 'Extra (JSON)', placeholder: '{}' });
  extra.value = c && c.extra ? c.extra : '';
  const desc = input('description', 'Description', { value: c && c.description || '' });
  const msg = alertBox();
  const testMsg = el('p', { class: 'test-result', role: 'status' });
  const body = () => {
    const text = extra.value.trim();
    if (text) {
      try { JSON.parse(text); } catch (e) { throw new Error('Extra is not valid JSON: ' + e.message); }
    }
    const b = { connection_id: id.value.trim(), conn_type: type.value.trim(), host: host.value || null,
      port: port.value === '' ? null : parseInt(port.value, 10), login: login.value || null, schema: schema.value || null,
      extra: text || null, description: desc.value || null };
    if (password.value !== '') b.password = password.value;
    return b;
  };
  const form = el('form', { class: 'inline-form connection-form', id: c ? null : 'connection-create' },
    field('Connection id', id), field('Type', type), field('Host', host), field('Port', port), field('Login', login),
    field('Schema', schema), field('Password', password, c ? 'leave empty to keep the stored password' : null),
    field('Extra (JSON)', extra), field('Description', desc),
    el('div', { class: 'toolbar' },
      el('button', { type: 'submit' }, c ? 'Save' : 'Create connection'),
      el('button', { type: 'button', class: 'test', onclick: async () => {
        testMsg.textContent = 'Testing…';
        testMsg.className = 'test-result muted';
        try {
          const out = await api('/api/v2/connections/test', { method: 'POST', body: body() });
          testMsg.textContent = out.message || (out.status ? 'Connection works' : 'Connection failed');
          testMsg.className = 'test-result ' + (out.status ? 'ok' : 'error');
        } catch (e) {
          testMsg.textContent = e.message;
          testMsg.className = 'test-result error';
        }
      } }, 'Test'),
      cancel ? el('button', { type: 'button', onclick: cancel }, 'Cancel') : null),
    msg, testMsg);
  submitting(form, msg, async () => {
    const b = body();
    if (c) {
      // The password is in the mask only when a new one was typed.
      const fields = ['conn_type', 'host', 'port', 'login', 'schema', 'extra', 'description'];
      if ('password' in b) fields.push('password');
      await api(`/api/v2/connections/${enc(c.connection_id)}?` + mask(fields), { method: 'PATCH', body: b });
    } else {
      await api('/api/v2/connections', { method: 'POST', body: b });
    }
    done();
  });
  return form;
}
