// The Admin pages, one URL each (/admin/{page}): pools, variables,
// connections, users, the audit log, import errors, jobs and config.
import { el } from './api.js';
import { poolsView } from './admin-pools.js';
import { variablesView, connectionsView } from './admin-secrets.js';
import { usersView } from './admin-users.js';
import { eventsView, importErrorsView, jobsView, configView } from './admin-records.js';

const PAGES = {
  pools: poolsView,
  variables: variablesView,
  connections: connectionsView,
  users: usersView,
  events: eventsView,
  'import-errors': importErrorsView,
  jobs: jobsView,
  config: configView,
};

export async function adminView(ctx, page) {
  const view = PAGES[page];
  if (!view) {
    ctx.view.append(el('h1', {}, 'Admin'), el('p', {}, 'No such page: ', el('code', {}, page)));
    return null;
  }
  const box = el('div', { class: 'admin-page', id: 'admin-' + page });
  ctx.view.append(box);
  return view({ ...ctx, view: box });
}
