// The Graph tab's layout library: dagre's layered layout.
export { layout, graphlib } from '@dagrejs/dagre';
