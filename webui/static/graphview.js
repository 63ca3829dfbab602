// The Graph tab: the DAG's tasks laid out by dagre (a layered layout, the
// library Airflow 2's graph used), edges with their labels, and each task
// in its state's colour for the chosen run, live while that run is going.
import { api, el, enc, stateClass, poller, withQuery, UNFINISHED } from './api.js';
import { dagHeader, runPicker } from './tabs.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

// layoutGraph places the structure's nodes and routes its edges.
function layoutGraph(dagre, structure, direction) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: direction, nodesep: 18, ranksep: 56, edgesep: 10, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of structure.nodes) {
    const text = Math.max(n.label.length, (n.operator || '').length * 0.85);
    g.setNode(n.id, { width: Math.max(110, Math.ceil(text * 7.4) + 28), height: 42, node: n });
  }
  structure.edges.forEach((e, i) => {
    const label = e.label || '';
    g.setEdge(e.source_id, e.target_id, { label, width: label ? label.length * 6.5 + 8 : 0, height: label ? 16 : 0, labelpos: 'c' }, String(i));
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

  const t0 = performance.now();
  const g = layoutGraph(dagre, structure, direction);
  const { width, height } = g.graph();
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Graph of ${dagId}` },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))));
  const size = () => { root.setAttribute('width', Math.ceil(width * scale)); root.setAttribute('height', Math.ceil(height * scale)); };
  size();
  const edges = svg('g', { class: 'edges' });
  for (const e of g.edges()) {
    const d = g.edge(e);
    const pts = d.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`);
    edges.append(svg('path', { d: 'M' + pts.join(' L'), class: 'edge', 'marker-end': 'url(#arrow)', 'data-source': e.v, 'data-target': e.w }));
    if (d.label) edges.append(svg('text', { x: d.x, y: d.y + 4, class: 'edge-label', 'text-anchor': 'middle' }, d.label));
  }
  const nodes = svg('g', { class: 'nodes' });
  const byTask = new Map();
  for (const id of g.nodes()) {
    const n = g.node(id);
    const a = svg('a', { href: '#', class: 'node state-none', 'data-task-id': id, role: 'link' },
      svg('title', {}, id),
      svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 5 }),
      svg('text', { x: n.x - n.width / 2 + 12, y: n.y - 3, class: 'node-label' }, id),
      svg('text', { x: n.x - n.width / 2 + 12, y: n.y + 13, class: 'node-op' }, n.node.operator || ''));
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      ctx.navigate(runId ? `${base}/runs/${enc(runId)}/tasks/${enc(id)}` : `${base}/tasks?task=${enc(id)}`);
    });
    nodes.append(a);
    byTask.set(id, a);
  }
  root.append(edges, nodes);
  holder.append(root);
  holder.dataset.layoutMs = String(Math.round(performance.now() - t0));

  // paint colours each task by its state in the chosen run.
  const paint = (ids, row) => {
    const states = new Map(ids.map((id, i) => [id, row && row[i] ? row[i][0] : null]));
    for (const [id, a] of byTask) {
      const st = runId ? states.get(id) || null : null;
      a.setAttribute('class', 'node ' + stateClass(st));
      a.dataset.state = st || 'none';
      a.querySelector('title').textContent = runId ? `${id}: ${st || 'no status'}` : id;
    }
  };
  const load = async () => {
    if (!runId) { paint([], null); status.textContent = ''; return false; }
    const one = await api(`/ui/grid/${enc(dagId)}?run_id=${enc(runId)}`);
    const run = one.dag_runs[0];
    paint(one.task_ids, one.task_instances[0]);
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
