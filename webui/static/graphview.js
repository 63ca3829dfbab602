// The Graph tab: the DAG's tasks laid out by dagre (a layered layout, the
// library Airflow 2's graph used), edges with their labels, and each task
// in its state's colour for the chosen run, live while that run is going.
// A task group is one node until opened (closed at first, as in Airflow),
// then a box around its tasks; a click on either toggles it.
import { api, el, enc, stateClass, poller, withQuery, UNFINISHED } from './api.js';
import { openGroups } from './groups.js';
import { dagHeader, runPicker } from './tabs.js';

const SVG = 'http://www.w3.org/2000/svg';
const TITLE = 20; // the height of an open group's title line

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

// visibleGraph is what the graph shows with the open groups: a closed
// group is one node standing for every task inside it, an open one a box
// around its nodes; edges run between what is shown, each pair once.
function visibleGraph(structure, open) {
  const nodes = [];
  const rep = new Map(); // task id -> the id of the node that shows it
  const walk = (list, parent, closedAs) => {
    for (const n of list) {
      const isGroup = Array.isArray(n.children);
      if (closedAs) { rep.set(n.id, closedAs); if (isGroup) walk(n.children, parent, closedAs); continue; }
      if (!isGroup) { nodes.push({ ...n, kind: 'task', parent }); rep.set(n.id, n.id); continue; }
      const opened = open.has(n.id);
      nodes.push({ ...n, kind: opened ? 'box' : 'group', parent, count: countTasks(n) });
      rep.set(n.id, n.id);
      walk(n.children, opened ? n.id : parent, opened ? null : n.id);
    }
  };
  walk(structure.nodes, null, null);
  const seen = new Set();
  const edges = [];
  for (const e of structure.edges) {
    const v = rep.get(e.source_id), w = rep.get(e.target_id);
    if (!v || !w || v === w || seen.has(v + '\u0000' + w)) continue;
    seen.add(v + '\u0000' + w);
    edges.push({ ...e, source_id: v, target_id: w });
  }
  return { nodes, edges };
}

function countTasks(n) {
  return Array.isArray(n.children) ? n.children.reduce((k, c) => k + countTasks(c), 0) : 1;
}

// layoutGraph places the shown nodes (open groups as dagre's compound
// nodes) and routes their edges.
function layoutGraph(dagre, shown, direction) {
  // dagre draws a box tight around its nodes: each box grows upward by a
  // title line per open box it holds, and the margin makes room for them.
  const boxes = shown.nodes.filter((n) => n.kind === 'box');
  const below = (id) => Math.max(0, ...boxes.filter((b) => b.parent === id).map((b) => 1 + below(b.id)));
  for (const b of boxes) b.titleLines = 1 + below(b.id);
  const lines = Math.max(0, ...boxes.map((b) => b.titleLines));
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: direction, nodesep: 18, ranksep: 56, edgesep: 10, marginx: 12, marginy: 12 + TITLE * lines });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of shown.nodes) {
    if (n.kind === 'box') { g.setNode(n.id, { node: n }); continue; }
    const sub = n.kind === 'group' ? `${n.count} task${n.count === 1 ? '' : 's'}`
      : (n.operator || '') + (n.setup_teardown_type ? ' · ' + n.setup_teardown_type : '');
    const text = Math.max(n.label.length + (n.kind === 'group' ? 2 : 0), sub.length * 0.85);
    g.setNode(n.id, { width: Math.max(110, Math.ceil(text * 7.4) + 28), height: 42, node: n, sub });
  }
  for (const n of shown.nodes) if (n.parent) g.setParent(n.id, n.parent);
  shown.edges.forEach((e, i) => {
    const label = e.label || '';
    g.setEdge(e.source_id, e.target_id, { label, width: label ? label.length * 6.5 + 8 : 0, height: label ? 16 : 0, labelpos: 'c', setupTeardown: !!e.is_setup_teardown }, String(i));
  });
  dagre.layout(g);
  return g;
}

export async function graphView(ctx, dagId) {
  ctx.view.append(...dagHeader(ctx, dagId, 'Graph'));
  const q = new URLSearchParams(location.search);
  const direction = q.get('direction') === 'TB' ? 'TB' : 'LR';
  // The run list only: the chosen run's states come from one grid column.
  const [dagre, structure, picked] = await Promise.all([
    import('./vendor/graph.js'),
    api('/ui/structure/structure_data?dag_id=' + enc(dagId)),
    runPicker(dagId, 'graph-run', 'No run (structure only)'),
  ]);
  const runSel = picked.select;
  let runId = picked.runId;
  const base = '/dags/' + enc(dagId);
  const setQuery = (changes) => history.replaceState(null, '', withQuery(changes));
  const dirSel = el('select', { id: 'graph-direction', 'aria-label': 'Direction' },
    el('option', { value: 'LR', selected: direction === 'LR' }, 'Left to right'),
    el('option', { value: 'TB', selected: direction === 'TB' }, 'Top to bottom'));
  let scale = 1;
  const zoom = (f) => () => { scale = f === 0 ? 1 : Math.min(3, Math.max(0.1, scale * f)); size(); };
  const status = el('span', { class: 'muted', role: 'status' });
  ctx.view.append(el('div', { class: 'toolbar' }, runSel, dirSel,
    el('button', { type: 'button', onclick: zoom(1.25), 'aria-label': 'Zoom in' }, '+'),
    el('button', { type: 'button', onclick: zoom(0.8), 'aria-label': 'Zoom out' }, '−'),
    el('button', { type: 'button', onclick: zoom(0), 'aria-label': 'Actual size' }, '1:1'),
    status));
  const holder = el('div', { id: 'graph', class: 'graph-holder' });
  ctx.view.append(holder);
  if (!structure.nodes.length) {
    holder.append(el('p', { class: 'muted' }, 'This DAG has no tasks.'));
    return null;
  }

  const open = openGroups(dagId);
  let last = null; // the chosen run's grid column, to paint a new layout at once
  const byTask = new Map();
  const byGroup = new Map();
  const draw = () => {
    const t0 = performance.now();
    const g = layoutGraph(dagre, visibleGraph(structure, open), direction);
    const { width, height } = g.graph();
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Graph of ${dagId}` },
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))));
    size = () => { root.setAttribute('width', Math.ceil(width * scale)); root.setAttribute('height', Math.ceil(height * scale)); };
    size();
    const toggle = (id) => (ev) => { ev.preventDefault(); open.toggle(id); draw(); };
    const boxes = svg('g', { class: 'boxes' });
    const edges = svg('g', { class: 'edges' });
    const nodes = svg('g', { class: 'nodes' });
    byTask.clear();
    byGroup.clear();
    for (const id of g.nodes()) {
      const n = g.node(id);
      if (n.node.kind !== 'box') continue;
      const a = svg('a', { href: '#', class: 'box', 'data-group-id': id, role: 'button', 'aria-expanded': 'true' },
        svg('title', {}, n.node.tooltip || id),
        svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2 - TITLE * n.node.titleLines, width: n.width, height: n.height + TITLE * n.node.titleLines, rx: 7 }),
        svg('text', { x: n.x - n.width / 2 + 10, y: n.y - n.height / 2 - TITLE * n.node.titleLines + 15, class: 'box-label' }, '− ' + n.node.label));
      a.addEventListener('click', toggle(id));
      boxes.append(a);
    }
    for (const e of g.edges()) {
      const d = g.edge(e);
      const pts = d.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`);
      edges.append(svg('path', { d: 'M' + pts.join(' L'), class: d.setupTeardown ? 'edge setup-teardown' : 'edge', 'marker-end': 'url(#arrow)', 'data-source': e.v, 'data-target': e.w }));
      if (d.label) edges.append(svg('text', { x: d.x, y: d.y + 4, class: 'edge-label', 'text-anchor': 'middle' }, d.label));
    }
    for (const id of g.nodes()) {
      const n = g.node(id);
      if (n.node.kind === 'box') continue;
      const group = n.node.kind === 'group';
      const a = svg('a', group ? { href: '#', class: 'node group state-none', 'data-group-id': id, role: 'button', 'aria-expanded': 'false' }
        : { href: '#', class: 'node state-none', 'data-task-id': id, role: 'link' },
        svg('title', {}, n.node.tooltip || id),
        svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: group ? 9 : 5 }),
        svg('text', { x: n.x - n.width / 2 + 12, y: n.y - 3, class: 'node-label' }, (group ? '+ ' : '') + n.node.label),
        svg('text', { x: n.x - n.width / 2 + 12, y: n.y + 13, class: 'node-op' }, n.sub));
      if (group) {
        a.addEventListener('click', toggle(id));
        byGroup.set(id, a);
      } else {
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          ctx.navigate(runId ? `${base}/runs/${enc(runId)}/tasks/${enc(id)}` : `${base}/tasks?task=${enc(id)}`);
        });
        byTask.set(id, a);
      }
      nodes.append(a);
    }
    root.append(boxes, edges, nodes);
    holder.replaceChildren(root);
    holder.dataset.layoutMs = String(Math.round(performance.now() - t0));
    paint(last);
  };
  let size = () => {};

  // paint colours each shown task and closed group by its state in the
  // chosen run (a group's: the most pressing inside it).
  const paint = (one) => {
    const row = one && runId ? one.task_instances[0] : null;
    const states = new Map((one ? one.task_ids : []).map((id, i) => [id, row && row[i] ? row[i][0] : null]));
    const grow = one && runId ? (one.group_instances || [])[0] || [] : [];
    (one ? one.task_groups || [] : []).forEach((gr, i) => states.set(gr.group_id, grow[i] ? grow[i][0] : null));
    for (const [id, a] of [...byTask, ...byGroup]) {
      const st = runId ? states.get(id) || null : null;
      a.setAttribute('class', 'node ' + (byGroup.has(id) ? 'group ' : '') + stateClass(st));
      a.dataset.state = st || 'none';
      a.querySelector('title').textContent = runId ? `${id}: ${st || 'no status'}` : id;
    }
  };
  draw();
  const load = async () => {
    if (!runId) { last = null; paint(null); status.textContent = ''; return false; }
    const one = await api(`/ui/grid/${enc(dagId)}?run_id=${enc(runId)}`);
    const run = one.dag_runs[0];
    last = one;
    paint(one);
    const live = run.state === 'queued' || run.state === 'running' || one.task_instances[0].some((t) => t && UNFINISHED.has(t[0]));
    status.textContent = `${run.dag_run_id}: ${run.state}${live ? ' · live' : ''}`;
    return live;
  };
  let p = poller(load, 2000);
  const restart = async () => { p.stop(); p = poller(load, 2000); if (await load()) p.kick(); };
  runSel.addEventListener('change', () => { runId = runSel.value; setQuery({ run_id: runId }); restart(); });
  dirSel.addEventListener('change', () => { setQuery({ direction: dirSel.value === 'TB' ? 'TB' : '' }); ctx.navigate(location.pathname + location.search, true); });
  await restart();
  return () => p.stop();
}
