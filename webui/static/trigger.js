// The Trigger page: a form built from the DAG's params and their JSON
// schemas (type, enum as a select, minimum / maximum, required,
// description, default), kept in step with a JSON editor of the whole conf
// (CodeMirror, loaded on this page only); an optional logical date, run id
// and note. Invalid input is explained next to its field before anything
// is sent; what the API still refuses is shown as its message.
import { api, el, enc, prefs } from './api.js';
import { dagHeader } from './tabs.js';

const types = (schema) => [].concat(schema && schema.type ? schema.type : []);

// kindOf picks the form control for a param's schema.
function kindOf(schema, value) {
  if (schema && Array.isArray(schema.enum) && schema.enum.length) return 'enum';
  const t = types(schema).filter((x) => x !== 'null');
  const k = t[0] || (value === null || value === undefined ? 'string' : Array.isArray(value) ? 'array' : typeof value);
  if (k === 'integer' || k === 'number' || k === 'boolean' || k === 'array' || k === 'object') return k;
  if (k === 'string' && schema && (schema.format === 'date' || schema.format === 'date-time')) return schema.format;
  return 'string';
}

// check answers what is wrong with value under schema, or ''.
export function check(schema, value, required) {
  const nullable = types(schema).includes('null') || !types(schema).length;
  if (value === null || value === undefined || value === '') {
    return required && !nullable ? 'A value is required.' : '';
  }
  if (schema && Array.isArray(schema.enum) && schema.enum.length && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return 'Must be one of ' + schema.enum.map((e) => JSON.stringify(e)).join(', ') + '.';
  }
  const t = types(schema).filter((x) => x !== 'null');
  if (t.length) {
    const ok = t.some((x) => (x === 'integer' ? Number.isInteger(value) : x === 'number' ? typeof value === 'number'
      : x === 'array' ? Array.isArray(value) : x === 'object' ? typeof value === 'object' && !Array.isArray(value)
        : typeof value === x));
    if (!ok) return `Must be ${t.join(' or ')}.`;
  }
  if (typeof value === 'number' && schema) {
    if (schema.minimum !== undefined && value < schema.minimum) return `Must be at least ${schema.minimum}.`;
    if (schema.maximum !== undefined && value > schema.maximum) return `Must be at most ${schema.maximum}.`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `Must be more than ${schema.exclusiveMinimum}.`;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `Must be less than ${schema.exclusiveMaximum}.`;
  }
  if (typeof value === 'string' && schema) {
    if (schema.minLength !== undefined && value.length < schema.minLength) return `At least ${schema.minLength} characters.`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `At most ${schema.maxLength} characters.`;
    if (schema.pattern) { try { if (!new RegExp(schema.pattern, 'u').test(value)) return `Must match ${schema.pattern}.`; } catch { /* a pattern JS cannot read: the API checks it */ } }
  }
  return '';
}

// field builds one param's control: get() reads its value (undefined when
// it cannot be read), set(v) shows v, show(msg) puts an error next to it.
function field(name, p, onInput) {
  const schema = p.schema || {};
  const kind = kindOf(schema, p.value);
  const id = 'param-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
  const required = p.value === null && !types(schema).includes('null') && types(schema).length > 0;
  const err = el('span', { class: 'field-error error', id: id + '-error', role: 'alert' });
  let input;
  let get;
  let set;
  if (kind === 'enum') {
    input = el('select', { id }, ...(required ? [] : [el('option', { value: '' }, '—')]),
      ...schema.enum.map((v, i) => el('option', { value: String(i) }, v === null ? 'null' : String(v))));
    get = () => (input.value === '' ? null : schema.enum[+input.value]);
    set = (v) => { const i = schema.enum.findIndex((e) => JSON.stringify(e) === JSON.stringify(v)); input.value = i < 0 ? '' : String(i); };
  } else if (kind === 'boolean') {
    input = el('input', { type: 'checkbox', id });
    get = () => input.checked;
    set = (v) => { input.checked = !!v; };
  } else if (kind === 'integer' || kind === 'number') {
    input = el('input', { type: 'number', id, step: kind === 'integer' ? '1' : 'any', min: schema.minimum, max: schema.maximum });
    get = () => (input.value.trim() === '' ? null : Number(input.value));
    set = (v) => { input.value = v === null || v === undefined ? '' : String(v); };
  } else if (kind === 'array' || kind === 'object') {
    input = el('textarea', { id, rows: '3', class: 'mono' });
    get = () => { const t = input.value.trim(); if (!t) return null; try { return JSON.parse(t); } catch { return undefined; } };
    set = (v) => { input.value = v === null || v === undefined ? '' : JSON.stringify(v); };
  } else {
    input = el('input', { type: kind === 'date' ? 'date' : kind === 'date-time' ? 'datetime-local' : 'text', id, step: kind === 'date-time' ? '1' : null });
    get = () => (input.value === '' ? null : kind === 'date-time' ? new Date(input.value).toISOString() : input.value);
    set = (v) => { input.value = v === null || v === undefined ? '' : kind === 'date-time' ? String(v).replace(/Z$|[+-]\d\d:\d\d$/, '').slice(0, 19) : String(v); };
  }
  input.setAttribute('aria-describedby', id + '-error' + (p.description ? ' ' + id + '-desc' : ''));
  if (required) input.setAttribute('aria-required', 'true');
  input.addEventListener(kind === 'boolean' || kind === 'enum' ? 'change' : 'input', onInput);
  set(p.value);
  const label = el('label', { for: id }, schema.title || name, required ? el('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
  const range = schema.minimum !== undefined || schema.maximum !== undefined
    ? ` (${schema.minimum ?? '…'} to ${schema.maximum ?? '…'})` : '';
  const row = el('div', { class: 'field', 'data-param': name }, label, input,
    p.description || range ? el('small', { class: 'muted', id: id + '-desc' }, (p.description || '') + range) : null, err);
  const show = (msg) => { err.textContent = msg; input.setAttribute('aria-invalid', msg ? 'true' : 'false'); };
  return { name, row, get, set, show, check: () => { const v = get(); return v === undefined ? 'Not valid JSON.' : check(schema, v, required); } };
}

export async function triggerView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, ''));
  if (!ctx.me || !ctx.me.can_edit) {
    ctx.view.append(el('p', { class: 'error', role: 'alert' }, 'Your role may not trigger DAG runs.'));
    return null;
  }
  const details = await api(`/api/v2/dags/${enc(dagId)}/details`);
  const params = details.params || {};
  const form = el('form', { id: 'trigger-form', class: 'trigger-form', novalidate: true });
  const formMsg = el('p', { class: 'error', role: 'alert', id: 'trigger-error' });
  let syncing = false;
  const fields = [];
  const conf = () => {
    const out = {};
    for (const f of fields) { const v = f.get(); if (v !== undefined) out[f.name] = v; }
    return out;
  };
  let editor = null;
  const toEditor = () => { if (editor && !syncing) { syncing = true; editor.set(JSON.stringify(conf(), null, 2)); syncing = false; } };
  for (const [name, p] of Object.entries(params)) {
    const f = field(name, p, () => { f.show(f.check()); toEditor(); });
    fields.push(f);
  }
  ctx.view.append(el('h2', {}, 'Trigger ', el('span', { class: 'mono' }, dagId)));
  if (fields.length) form.append(el('fieldset', { id: 'params' }, el('legend', {}, 'Params'), ...fields.map((f) => f.row)));
  else form.append(el('p', { class: 'muted' }, 'This DAG has no params.'));

  // The conf as JSON: what is sent. Editing it updates the fields it names.
  const confErr = el('span', { class: 'field-error error', id: 'conf-error', role: 'alert' });
  const editorBox = el('div', { class: 'json-editor', id: 'conf-editor' });
  const mod = await import('./vendor/editor.js');
  editor = mod.jsonEditor(editorBox, JSON.stringify(conf(), null, 2), {
    label: 'Run configuration (JSON)',
    nonce: document.querySelector('meta[name="csp-nonce"]').content,
    onChange: (text) => {
      if (syncing) return;
      let parsed;
      try { parsed = JSON.parse(text); } catch (e) { confErr.textContent = 'Not valid JSON: ' + e.message; return; }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) { confErr.textContent = 'The configuration must be a JSON object.'; return; }
      confErr.textContent = '';
      syncing = true;
      for (const f of fields) if (f.name in parsed) { f.set(parsed[f.name]); f.show(f.check()); }
      syncing = false;
    },
  });
  const logical = el('input', { type: 'datetime-local', id: 'trigger-logical-date', step: '1' });
  const runId = el('input', { type: 'text', id: 'trigger-run-id', placeholder: 'manual__<time> when empty' });
  const note = el('textarea', { id: 'trigger-note', rows: '2' });
  form.append(
    el('div', { class: 'field' }, el('label', { for: 'conf-editor' }, 'Configuration (JSON)'), editorBox, confErr),
    el('details', { class: 'advanced' }, el('summary', {}, 'Logical date, run id and note'),
      el('div', { class: 'field' }, el('label', { for: 'trigger-logical-date' }, `Logical date (${prefs.tz() === 'utc' ? 'UTC' : 'local time'}; empty: none, as Airflow 3's manual runs)`), logical),
      el('div', { class: 'field' }, el('label', { for: 'trigger-run-id' }, 'Run id'), runId),
      el('div', { class: 'field' }, el('label', { for: 'trigger-note' }, 'Note'), note)),
    el('div', { class: 'toolbar' }, el('button', { type: 'submit', class: 'primary', id: 'trigger-submit' }, 'Trigger'),
      el('a', { href: '/dags/' + enc(dagId) }, 'Cancel')),
    formMsg);
  ctx.view.append(form);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formMsg.textContent = '';
    let body;
    try { body = JSON.parse(editor.text()); } catch (err) { confErr.textContent = 'Not valid JSON: ' + err.message; editor.focus(); return; }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) { confErr.textContent = 'The configuration must be a JSON object.'; return; }
    let bad = null;
    for (const f of fields) {
      const msg = f.name in body ? check(params[f.name].schema || {}, body[f.name], false) : f.check();
      f.show(msg);
      if (msg && !bad) bad = f;
    }
    if (bad) { bad.row.querySelector('input, select, textarea').focus(); formMsg.textContent = 'Some params need fixing.'; return; }
    const post = { conf: body, logical_date: null };
    if (logical.value) {
      const local = prefs.tz() === 'local';
      post.logical_date = new Date(logical.value + (local ? '' : 'Z')).toISOString();
    }
    if (runId.value.trim()) post.dag_run_id = runId.value.trim();
    if (note.value.trim()) post.note = note.value.trim();
    const submit = form.querySelector('#trigger-submit');
    submit.disabled = true;
    try {
      const run = await api(`/api/v2/dags/${enc(dagId)}/dagRuns`, { method: 'POST', body: post });
      ctx.navigate(`/dags/${enc(dagId)}/runs/${enc(run.dag_run_id)}`);
    } catch (err) {
      formMsg.textContent = err.message;
      // Name the field the API's answer is about, when it names one.
      for (const f of fields) if (err.message.includes(`'${f.name}'`) || err.message.includes(`conf.${f.name}`)) f.show(err.message);
    } finally { submit.disabled = false; }
  });
  return () => editor && editor.destroy();
}
