// The Admin pages (being written): pools, variables, connections, users,
// the audit log, import errors, jobs and config.
import { el } from './api.js';

export async function adminView({ view }, page) {
  view.append(el('h1', {}, 'Admin'), el('p', { class: 'muted' }, `The ${page} page is not built yet.`));
}
