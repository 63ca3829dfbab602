// The UI's shell: who is signed in, the time zone and theme switches, and a
// router over real URLs so that links, reloads and Back all work.
import { api, el, prefs } from './api.js';
import { homeView } from './home.js';
import { dagsView } from './dags.js';
import { gridView } from './grid.js';
import { graphView } from './graphview.js';
import { ganttView } from './gantt.js';
import { runsView } from './runs.js';
import { tasksView, codeView, detailsView, eventsView } from './dagtabs.js';
import { backfillsView } from './backfills.js';
import { triggerView } from './trigger.js';
import { runView } from './run.js';
import { tiView } from './ti.js';
import { adminView } from './admin.js';

const d = decodeURIComponent;
const routes = [
  [/^\/home\/?$/, (m, ctx) => homeView(ctx)],
  [/^\/dags\/?$/, (m, ctx) => dagsView(ctx)],
  [/^\/dags\/([^/]+)\/?$/, (m, ctx) => gridView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/graph\/?$/, (m, ctx) => graphView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/gantt\/?$/, (m, ctx) => ganttView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/runs\/?$/, (m, ctx) => runsView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/tasks\/?$/, (m, ctx) => tasksView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/code\/?$/, (m, ctx) => codeView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/details\/?$/, (m, ctx) => detailsView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/events\/?$/, (m, ctx) => eventsView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/backfills\/?$/, (m, ctx) => backfillsView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/trigger\/?$/, (m, ctx) => triggerView(ctx, d(m[1]))],
  [/^\/dags\/([^/]+)\/runs\/([^/]+)\/?$/, (m, ctx) => runView(ctx, d(m[1]), d(m[2]))],
  [/^\/dags\/([^/]+)\/runs\/([^/]+)\/tasks\/([^/]+)\/?$/, (m, ctx) => tiView(ctx, d(m[1]), d(m[2]), d(m[3]))],
  [/^\/admin\/([^/]+)\/?$/, (m, ctx) => adminView(ctx, d(m[1]))],
];

const view = document.getElementById('view');
let cleanup = null;
let me = null;

export function navigate(url, replace = false) {
  // The same URL again (a filter submitted twice) adds no history entry.
  if (replace || url === location.pathname + location.search) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// Each render draws into its own box: a render overtaken by a newer one
// (a quick Back, a double click) writes only into a detached box and is
// cleaned up as soon as it returns.
let generation = 0;

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  const gen = ++generation;
  const box = el('div');
  view.replaceChildren(box);
  const path = location.pathname;
  for (const a of document.querySelectorAll('nav.main a')) {
    const href = a.getAttribute('href');
    a.toggleAttribute('aria-current', path === href || (href === '/dags' && path.startsWith('/dags/')));
  }
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) {
      let done = null;
      try {
        done = (await fn(m, { view: box, me, navigate })) || null;
      } catch (e) {
        box.replaceChildren(el('p', { class: 'error', role: 'alert', text: e.message }));
      }
      if (gen === generation) cleanup = done;
      else if (done) done();
      return;
    }
  }
  box.replaceChildren(el('p', { text: 'Page not found.' }));
}

// Same-origin links to UI pages navigate without a reload.
const uiPath = /^\/(home|dags|admin)(\/|$)/;
document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || a.hasAttribute('data-external') || a.hasAttribute('download') || e.defaultPrevented || e.button !== 0 ||
      e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !uiPath.test(url.pathname)) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

// UTC or local time, light or dark: kept in the browser, applied at once.
const tz = document.getElementById('tz');
tz.value = prefs.tz();
tz.addEventListener('change', () => { prefs.setTz(tz.value); render(); });
const theme = document.getElementById('theme');
const applyTheme = () => {
  const dark = prefs.dark();
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  theme.setAttribute('aria-pressed', String(dark));
  theme.textContent = dark ? 'Light' : 'Dark';
  theme.setAttribute('aria-label', dark ? 'Light theme' : 'Dark theme');
};
applyTheme();
theme.addEventListener('click', () => { prefs.setDark(!prefs.dark()); applyTheme(); });

try {
  me = await api('/ui/me');
  document.getElementById('me').textContent = `${me.username} (${me.role})`;
  document.getElementById('nav-users').hidden = me.role !== 'Admin';
  render();
} catch (e) {
  view.replaceChildren(el('p', { class: 'error', role: 'alert', text: e.message }));
}
