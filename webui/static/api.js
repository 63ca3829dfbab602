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

export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

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
