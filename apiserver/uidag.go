package apiserver

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

// The DAG page's private endpoints: the graph's structure (in Airflow 3's
// /ui/structure shape), the grid in a compact columnar form that stays small
// at thousands of tasks and runs, and a run's Gantt chart. Each answers in
// a fixed number of queries, however many tasks or runs.
func (s *Server) routesUIDag(r *router) {
	r.handle("GET /ui/structure/structure_data", auth.Viewer, s.getStructure)
	r.handle("GET /ui/grid/{dag_id}", auth.Viewer, s.getGrid)
	r.handle("GET /ui/gantt/{dag_id}/{dag_run_id}", auth.Viewer, s.getGantt)
}

// structureNode and structureEdge are Airflow 3's NodeResponse and
// EdgeResponse (airflow/api_fastapi/core_api/datamodels/ui/structure.py).
type structureNode struct {
	ID                string          `json:"id"`
	Label             string          `json:"label"`
	Type              string          `json:"type"`
	Operator          *string         `json:"operator"`
	Tooltip           *string         `json:"tooltip"`
	IsMapped          *bool           `json:"is_mapped"`
	Children          []structureNode `json:"children"`
	SetupTeardownType *string         `json:"setup_teardown_type"`
	AssetConditionTyp *string         `json:"asset_condition_type"`
}

type structureEdge struct {
	SourceID        string  `json:"source_id"`
	TargetID        string  `json:"target_id"`
	Label           *string `json:"label"`
	IsSetupTeardown *bool   `json:"is_setup_teardown"`
	IsSourceAsset   *bool   `json:"is_source_asset"`
}

// getStructure answers ?dag_id's tasks as nodes and its dependencies as
// edges, in the order the grid lists tasks.
func (s *Server) getStructure(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	dagID := q.str("dag_id")
	if err := q.err(); err != nil {
		return err
	}
	if dagID == "" {
		return errorf(http.StatusUnprocessableEntity, "dag_id is required")
	}
	_, dag, err := s.loadDag(r.Context(), dagID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": structureNodes(dag), "edges": structureEdges(dag)})
	return nil
}

// structureNodes nests the DAG's tasks in its task groups, as Airflow's
// task_group_to_dict: a group is a node with children, placed where its
// first task comes in the grid's order.
func structureNodes(dag *dagspec.DAG) []structureNode {
	type slot struct {
		node *structureNode
		kids []*slot
	}
	root := &slot{}
	groups := map[string]*slot{}
	var place func(groupID string) *slot
	place = func(groupID string) *slot {
		if groupID == "" {
			return root
		}
		if sl, ok := groups[groupID]; ok {
			return sl
		}
		g := dag.Group(groupID)
		if g == nil { // a task naming a group the DAG lacks: keep it at the top
			return root
		}
		parent := place(g.Parent)
		n := &structureNode{ID: g.GroupID, Label: dag.Label(g.GroupID, g.Parent), Type: "task", Children: []structureNode{}}
		if g.Tooltip != "" {
			tip := g.Tooltip
			n.Tooltip = &tip
		}
		if g.IsMapped {
			n.IsMapped = &g.IsMapped
		}
		sl := &slot{node: n}
		groups[groupID] = sl
		parent.kids = append(parent.kids, sl)
		return sl
	}
	for _, t := range gridOrder(dag) {
		op := operatorShown(t.Operator)
		parent := place(t.TaskGroup)
		n := &structureNode{ID: t.TaskID, Label: dag.Label(t.TaskID, t.TaskGroup), Type: "task", Operator: &op}
		if st := setupTeardownType(t); st != "" {
			n.SetupTeardownType = &st
		}
		if t.Expand != nil {
			mapped := true
			n.IsMapped = &mapped
		}
		parent.kids = append(parent.kids, &slot{node: n})
	}
	var build func(sl *slot) []structureNode
	build = func(sl *slot) []structureNode {
		out := make([]structureNode, 0, len(sl.kids))
		for _, k := range sl.kids {
			n := *k.node
			if n.Children != nil {
				n.Children = build(k)
			}
			out = append(out, n)
		}
		return out
	}
	return build(root)
}

// setupTeardownType is Airflow's setup_teardown_type of a task: "setup",
// "teardown" or "".
func setupTeardownType(t *dagspec.Task) string {
	switch {
	case t.IsSetup:
		return "setup"
	case t.IsTeardown:
		return "teardown"
	}
	return ""
}

// structureEdges are the DAG's dependencies, task to task; an edge from a
// setup to its teardown is marked is_setup_teardown, as in Airflow.
func structureEdges(dag *dagspec.DAG) []structureEdge {
	edges := make([]structureEdge, 0, len(dag.Tasks))
	for _, t := range gridOrder(dag) {
		for _, u := range t.Upstream {
			e := structureEdge{SourceID: u, TargetID: t.TaskID}
			if up := dag.Task(u); t.IsTeardown && up != nil && up.IsSetup {
				yes := true
				e.IsSetupTeardown = &yes
			}
			edges = append(edges, e)
		}
	}
	return edges
}

// gridOrder lists a DAG's tasks upstream first (Kahn's order), ties kept
// in the DAG's own order, as Airflow's grid lists them top to bottom.
func gridOrder(dag *dagspec.DAG) []*dagspec.Task {
	index := make(map[string]int, len(dag.Tasks))
	for i, t := range dag.Tasks {
		index[t.TaskID] = i
	}
	waiting := make([]int, len(dag.Tasks))
	down := make([][]int, len(dag.Tasks))
	for i, t := range dag.Tasks {
		for _, u := range t.Upstream {
			if j, ok := index[u]; ok {
				waiting[i]++
				down[j] = append(down[j], i)
			}
		}
	}
	// ready is a min-heap of task indexes: the earliest ready task in the
	// DAG's order comes next, in O(n log n) however wide the DAG.
	ready := &intHeap{}
	for i := range dag.Tasks {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*dagspec.Task, 0, len(dag.Tasks))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, dag.Tasks[i])
		for _, j := range down[i] {
			if waiting[j]--; waiting[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	if len(out) < len(dag.Tasks) { // a cycle cannot be stored; keep every task all the same
		return dag.Tasks
	}
	return out
}

// getGrid answers a DAG's latest runs (limit, default 25, at most 100,
// newest first; or the one run_id) and every task's state in each:
//
//	{"dag_runs": [...], "task_ids": [...],
//	 "task_instances": [[null | [state, try_number, instances], ...] per run]}
//
// where each run's row is aligned with task_ids (upstream first) and state
// is null for a task instance with no state; instances > 1 is a mapped task,
// whose state is the most pressing of its instances'. Two queries.
func (s *Server) getGrid(w http.ResponseWriter, r *http.Request) error {
	dagID := r.PathValue("dag_id")
	q := newQuery(r)
	limit := min(q.intOr("limit", 25, 1), maxPageLimit)
	runID := q.str("run_id")
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	_, dag, err := s.loadDag(ctx, dagID)
	if err != nil {
		return err
	}
	var runs []*metadb.DagRun
	if runID != "" {
		run, err := metadb.GetDagRun(ctx, s.db.Pool, dagID, runID)
		if errors.Is(err, metadb.ErrNotFound) {
			return runNotFound(dagID, runID)
		} else if err != nil {
			return err
		}
		runs = []*metadb.DagRun{run}
	} else {
		byDag, err := metadb.RecentRuns(ctx, s.db.Pool, []string{dagID}, limit)
		if err != nil {
			return err
		}
		runs = byDag[dagID]
	}
	ids := make([]string, len(runs))
	col := make(map[string]int, len(runs))
	for i, run := range runs {
		ids[i] = run.RunID
		col[run.RunID] = i
	}
	cells, err := metadb.GridCells(ctx, s.db.Pool, dagID, ids)
	if err != nil {
		return err
	}
	order := gridOrder(dag)
	taskIDs := make([]string, len(order))
	row := make(map[string]int, len(order))
	for i, t := range order {
		taskIDs[i] = t.TaskID
		row[t.TaskID] = i
	}
	table := make([][]*metadb.GridCell, len(runs))
	for i := range table {
		table[i] = make([]*metadb.GridCell, len(order))
	}
	for i := range cells {
		c := &cells[i]
		if j, ok := row[c.TaskID]; ok { // else a task the DAG no longer has
			table[col[c.RunID]][j] = c
		}
	}
	resp, err := s.runsResponse(ctx, runs, len(runs))
	if err != nil {
		return err
	}
	groups, groupOf, groupTable := gridGroups(dag, order, table)
	writeJSON(w, http.StatusOK, map[string]any{"dag_runs": resp.DagRuns, "task_ids": taskIDs, "task_instances": gridTable(table),
		"task_group_ids": groupOf, "task_groups": groups, "group_instances": gridTable(groupTable)})
	return nil
}

// gridGroup is a task group as the grid lists it.
type gridGroup struct {
	GroupID string `json:"group_id"`
	Label   string `json:"label"`
	Parent  string `json:"parent_group_id"`
	Tooltip string `json:"tooltip"`
}

// gridGroups answers the DAG's task groups (parents first), each task's
// group aligned with order, and each group's cell in each run: the most
// pressing state of the task instances inside it (nested groups' too),
// their count as its instances.
func gridGroups(dag *dagspec.DAG, order []*dagspec.Task, table [][]*metadb.GridCell) ([]gridGroup, []string, [][]*metadb.GridCell) {
	groups := make([]gridGroup, len(dag.TaskGroups))
	col := make(map[string]int, len(dag.TaskGroups))
	for i, g := range dag.TaskGroups {
		groups[i] = gridGroup{GroupID: g.GroupID, Label: dag.Label(g.GroupID, g.Parent), Parent: g.Parent, Tooltip: g.Tooltip}
		col[g.GroupID] = i
	}
	groupOf := make([]string, len(order))
	chains := make([][]int, len(order)) // each task's groups, innermost first
	for i, t := range order {
		groupOf[i] = t.TaskGroup
		for g, n := t.TaskGroup, 0; g != "" && n <= len(groups); n++ {
			j, ok := col[g]
			if !ok {
				break
			}
			chains[i] = append(chains[i], j)
			g = groups[j].Parent
		}
	}
	out := make([][]*metadb.GridCell, len(table))
	for r, cells := range table {
		out[r] = make([]*metadb.GridCell, len(groups))
		for i, c := range cells {
			if c == nil {
				continue
			}
			for _, j := range chains[i] {
				if g := out[r][j]; g == nil {
					out[r][j] = &metadb.GridCell{State: c.State, TryNumber: c.TryNumber, Instances: c.Instances}
				} else {
					g.State, g.TryNumber, g.Instances = metadb.MostPressing(g.State, c.State), max(g.TryNumber, c.TryNumber), g.Instances+c.Instances
				}
			}
		}
	}
	return groups, groupOf, out
}

// gridTable writes the grid's cells as JSON by hand: at 100 runs x 1,000
// tasks, encoding/json's reflection over 100,000 small arrays was half the
// answer's time.
func gridTable(table [][]*metadb.GridCell) json.RawMessage {
	n := 0
	if len(table) > 0 {
		n = len(table) * len(table[0])
	}
	b := make([]byte, 0, 16+n*20)
	b = append(b, '[')
	for i, cells := range table {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, c := range cells {
			if j > 0 {
				b = append(b, ',')
			}
			if c == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			if c.State == "" {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendQuote(b, c.State) // states are plain ASCII words
			}
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(c.TryNumber), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(c.Instances), 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// ganttTI is one task instance's bar: when it was queued, started, ended.
type ganttTI struct {
	TaskID    string     `json:"task_id"`
	MapIndex  int        `json:"map_index"`
	TryNumber int        `json:"try_number"`
	State     *string    `json:"state"`
	QueuedDt  *time.Time `json:"queued_dttm"`
	StartDate *time.Time `json:"start_date"`
	EndDate   *time.Time `json:"end_date"`
}

// getGantt answers a run's tries with their queued, start and end times,
// upstream first, each task instance's earlier recorded tries before its
// current one (as Airflow 3.1's Gantt): {"dag_id", "run_id",
// "task_instances"}. Three queries.
func (s *Server) getGantt(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	_, dag, err := s.loadDag(ctx, dagID)
	if err != nil {
		return err
	}
	if _, err := metadb.GetDagRun(ctx, s.db.Pool, dagID, runID); errors.Is(err, metadb.ErrNotFound) {
		return runNotFound(dagID, runID)
	} else if err != nil {
		return err
	}
	tis, err := allTIs(ctx, s, metadb.TIFilter{DagID: dagID, RunID: runID})
	if err != nil {
		return err
	}
	rank := make(map[string]int, len(dag.Tasks))
	for i, t := range gridOrder(dag) {
		rank[t.TaskID] = i
	}
	rankOf := func(taskID string) int {
		if r, ok := rank[taskID]; ok {
			return r
		}
		return len(rank) // a task the DAG no longer has goes last
	}
	slices.SortStableFunc(tis, func(a, b *metadb.TIRow) int {
		if ra, rb := rankOf(a.TaskID), rankOf(b.TaskID); ra != rb {
			return ra - rb
		}
		return a.MapIndex - b.MapIndex
	})
	tries, err := metadb.TriesOfRun(ctx, s.db.Pool, dagID, runID)
	if err != nil {
		return err
	}
	earlier := map[metadb.TIKey][]metadb.RunTry{}
	for _, t := range tries {
		k := metadb.TIKey{TaskID: t.TaskID, MapIndex: t.MapIndex}
		earlier[k] = append(earlier[k], t)
	}
	out := make([]ganttTI, 0, len(tis)+len(tries))
	for _, t := range tis {
		// Each earlier try (recorded in the history) is a bar of its own, before the current one.
		for _, h := range earlier[metadb.TIKey{TaskID: t.TaskID, MapIndex: t.MapIndex}] {
			if h.TryNumber < t.TryNumber {
				out = append(out, ganttTI{TaskID: t.TaskID, MapIndex: t.MapIndex, TryNumber: h.TryNumber, State: strp(h.State),
					QueuedDt: utcp(h.QueuedDttm), StartDate: utcp(h.StartDate), EndDate: utcp(h.EndDate)})
			}
		}
		out = append(out, ganttTI{TaskID: t.TaskID, MapIndex: t.MapIndex, TryNumber: t.TryNumber, State: strp(t.State),
			QueuedDt: utcp(t.QueuedDttm), StartDate: utcp(t.StartDate), EndDate: utcp(t.EndDate)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dag_id": dagID, "run_id": runID, "task_instances": out})
	return nil
}

// allTIs reads every task instance the filter selects, a page at a time.
func allTIs(ctx context.Context, s *Server, f metadb.TIFilter) ([]*metadb.TIRow, error) {
	const page = 5000
	var out []*metadb.TIRow
	for off := 0; ; off += page {
		tis, _, err := metadb.ListTIsPage(ctx, s.db.Pool, f, metadb.Page{Limit: page, Offset: off})
		if err != nil {
			return nil, err
		}
		out = append(out, tis...)
		if len(tis) < page {
			return out, nil
		}
	}
}

// intHeap is a min-heap of ints for container/heap.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
