// The Home page (being written).
import { el } from './api.js';

export async function homeView({ view }) {
  view.append(el('h1', {}, 'Home'), el('p', {}, el('a', { href: '/dags' }, 'DAGs')));
}
