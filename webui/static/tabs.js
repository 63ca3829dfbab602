// The DAG page's header and tabs (Grid, Runs).
import { el, enc } from './api.js';

export function dagHeader(dagId, current) {
  const base = '/dags/' + enc(dagId);
  const tab = (name, href) => el('a', { href, 'aria-current': current === name ? 'page' : null }, name);
  return [
    el('h1', {}, el('a', { href: '/dags' }, 'DAGs'), ' / ', dagId),
    el('nav', { class: 'tabs', 'aria-label': 'DAG views' }, tab('Grid', base), tab('Runs', base + '/runs')),
  ];
}
