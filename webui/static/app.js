// The UI's shell: who is signed in, and a router over real URLs so that
// links, reloads and the browser's back button all work.
import { api, el } from './api.js';
import { dagsView } from './dags.js';
import { gridView } from './grid.js';
import { runsView } from './runs.js';
import { tiLogView } from './tilog.js';

const routes = [
  [/^\/dags\/?$/, (m, ctx) => dagsView(ctx)],
  [/^\/dags\/([^/]+)\/?$/, (m, ctx) => gridView(ctx, decodeURIComponent(m[1]))],
  [/^\/dags\/([^/]+)\/runs\/?$/, (m, ctx) => runsView(ctx, decodeURIComponent(m[1]))],
  [/^\/dags\/([^/]+)\/runs\/([^/]+)\/tasks\/([^/]+)\/?$/,
    (m, ctx) => tiLogView(ctx, decodeURIComponent(m[1]), decodeURIComponent(m[2]), decodeURIComponent(m[3]))],
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
document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || a.hasAttribute('data-external') || e.defaultPrevented || e.button !== 0 ||
      e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/dags')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

try {
  me = await api('/ui/me');
  document.getElementById('me').textContent = `${me.username} (${me.role})`;
  render();
} catch (e) {
  view.replaceChildren(el('p', { class: 'error', role: 'alert', text: e.message }));
}
