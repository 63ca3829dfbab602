// The UI's one way to the API: same-origin fetch with the session cookie,
// the CSRF header on writes, and errors carrying the API's detail as text.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

// detailText renders FastAPI's {"detail": ...}: a string, or 422's list.
export function detailText(body, status) {
  const d = body && body.detail;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) {
    return d.map((e) => `${(e.loc || []).join('.')}: ${e.msg}`).join('; ');
  }
  return `HTTP ${status}`;
}

export function toLogin() {
  location.assign('/auth/login?next=' + encodeURIComponent(location.pathname + location.search));
}

export async function api(path, { method = 'GET', body, accept = 'application/json', signal } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = cookie('_csrf');
  const res = await fetch(path, {
    method, headers, signal, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    toLogin();
    throw new ApiError(401, 'Not authenticated');
  }
  if (accept === 'text/plain' && res.ok) {
    return { text: await res.text(), token: res.headers.get('Airflow-Continuation-Token') };
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, detailText(data, res.status));
  return data;
}

// el builds an element; children that are strings become text nodes, so
// data is never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

// prefs are the viewer's choices, kept in the browser: times in UTC or in
// the browser's zone, and the light or dark theme (the system's by default).
export const prefs = {
  tz: () => (localStorage.getItem('gust.tz') === 'local' ? 'local' : 'utc'),
  setTz: (v) => localStorage.setItem('gust.tz', v === 'local' ? 'local' : 'utc'),
  dark: () => {
    const v = localStorage.getItem('gust.theme');
    return v ? v === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  },
  setDark: (on) => localStorage.setItem('gust.theme', on ? 'dark' : 'light'),
};

const pad = (n) => String(n).padStart(2, '0');

// fmtTime shows an API timestamp to the second, in UTC ("Z") or local time
// (with its offset), as the header's switch says.
export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  if (prefs.tz() === 'utc') return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

// fmtDuration shows seconds as Airflow's UI does: 0.42s, 12s, 3m 4s, 2h 5m.
export function fmtDuration(sec) {
  if (sec === null || sec === undefined || isNaN(sec)) return '';
  if (sec < 10) return `${Math.round(sec * 100) / 100}s`;
  if (sec < 60) return `${Math.round(sec)}s`;
  const s = Math.round(sec);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

// between is the seconds from a to b (b defaults to now), or null.
export function between(a, b) {
  if (!a) return null;
  const t0 = Date.parse(a);
  const t1 = b ? Date.parse(b) : Date.now();
  return isNaN(t0) || isNaN(t1) ? null : Math.max(0, (t1 - t0) / 1000);
}

// dl is a definition list of [label, value] pairs; empty values show "—".
export function dl(pairs, attrs = {}) {
  const out = el('dl', { class: 'kv', ...attrs });
  for (const [k, v] of pairs) {
    out.append(el('dt', {}, k), el('dd', {}, v === null || v === undefined || v === '' ? '—' : v));
  }
  return out;
}

// UNFINISHED are the task instance states that may still change by themselves.
export const UNFINISHED = new Set(['queued', 'scheduled', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred', 'restarting']);

export const stateClass = (s) => 'state-' + (s || 'none');

export const enc = encodeURIComponent;

// poller calls fn every ms while it returns true, until stopped.
export function poller(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    let again = false;
    try { again = await fn(); } catch (e) { again = !(e instanceof ApiError && e.status < 500); }
    if (again && !stopped) timer = setTimeout(tick, ms);
  };
  return {
    kick(delay = ms) { if (!stopped && timer === null) timer = setTimeout(tick, delay); },
    stop() { stopped = true; if (timer) clearTimeout(timer); },
  };
}

// pager is the Previous / "m–n of total" / Next bar of a paged list; go
// gets the new offset.
export function pager(total, offset, shown, limit, go) {
  return el('div', { class: 'toolbar pager' },
    el('button', { type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, 'Previous'),
    el('span', { class: 'muted' }, total ? `${offset + 1}–${offset + shown} of ${total}` : 'None'),
    el('button', { type: 'button', disabled: offset + limit >= total, onclick: () => go(offset + limit) }, 'Next'));
}

// withQuery is the current path with changes to its query (empty values
// removed).
export function withQuery(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) p.delete(k); else p.set(k, String(v));
  }
  const s = p.toString();
  return location.pathname + (s ? '?' + s : '');
}
