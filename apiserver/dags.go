package apiserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesDAGs(r *router) {
	r.handle("GET /api/v2/dags", auth.Viewer, s.getDags)
	r.handle("PATCH /api/v2/dags", auth.User, s.patchDags)
	r.handle("GET /api/v2/dags/{dag_id}", auth.Viewer, s.getDag)
	r.handle("PATCH /api/v2/dags/{dag_id}", auth.User, s.patchDag)
	r.handle("DELETE /api/v2/dags/{dag_id}", auth.User, s.deleteDag)
	r.handle("GET /api/v2/dags/{dag_id}/details", auth.Viewer, s.getDagDetails)
	r.handle("GET /api/v2/dags/{dag_id}/tasks", auth.Viewer, s.getTasks)
	r.handle("GET /api/v2/dags/{dag_id}/tasks/{task_id}", auth.Viewer, s.getTask)
	r.handle("GET /api/v2/dags/{dag_id}/dagVersions", auth.Viewer, s.getDagVersions)
	r.handle("GET /api/v2/dags/{dag_id}/dagVersions/{version_number}", auth.Viewer, s.getDagVersion)
	r.handle("GET /api/v2/dagSources/{dag_id}", auth.Viewer, s.getDagSource)
	r.handle("GET /api/v2/dagTags", auth.Viewer, s.getDagTags)
	r.handle("GET /api/v2/dagStats", auth.Viewer, s.getDagStats)
}

// dagNotFound is Airflow's 404 for a DAG.
func dagNotFound(dagID string) error {
	return errorf(http.StatusNotFound, "The Dag with ID: `%s` was not found", dagID)
}

// loadDag returns a DAG's row and its current serialized version.
func (s *Server) loadDag(ctx context.Context, dagID string) (*metadb.DagRow, *dagspec.DAG, error) {
	row, err := metadb.GetDAG(ctx, s.db.Pool, dagID)
	if errors.Is(err, metadb.ErrNotFound) {
		return nil, nil, dagNotFound(dagID)
	}
	if err != nil {
		return nil, nil, err
	}
	dag, err := s.dags.Get(ctx, s.db.Pool, row.DagHash)
	if err != nil {
		return nil, nil, err
	}
	return row, dag, nil
}

// dagFilter reads the DAG list's filters.
func dagFilter(q *query) metadb.DagFilter {
	f := metadb.DagFilter{
		Tags: q.list("tags"), Owners: q.list("owners"), DagIDPattern: q.pattern("dag_id_pattern"),
		Paused: q.optBool("paused"), IncludeStale: !q.boolOr("exclude_stale", true),
		HasImportError: q.optBool("has_import_errors"),
	}
	for _, st := range q.list("last_dag_run_state") {
		switch st {
		case tistate.RunQueued, tistate.RunRunning, tistate.RunSuccess, tistate.RunFailed:
			f.LastRunStates = append(f.LastRunStates, st)
		default:
			q.bad("last_dag_run_state", "Input should be 'queued', 'running', 'success' or 'failed'", "enum", st)
		}
	}
	if p := q.pattern("dag_display_name_pattern"); p != "" && f.DagIDPattern == "" {
		f.DagIDPattern = p // the display name is the id
	}
	switch m := q.str("tags_match_mode"); m {
	case "", "any":
	case "all":
		f.TagsMatchAll = true
	default:
		q.bad("tags_match_mode", "Input should be 'any' or 'all'", "enum", m)
	}
	return f
}

func (s *Server) listDags(ctx context.Context, f metadb.DagFilter, page metadb.Page) (dagCollection, error) {
	rows, total, err := metadb.ListDAGsPage(ctx, s.db.Pool, f, page)
	if err != nil {
		return dagCollection{}, err
	}
	out := dagCollection{Dags: make([]dagResponse, 0, len(rows)), TotalEntries: total}
	for _, d := range rows {
		out.Dags = append(out.Dags, s.dagResponse(&d.DagRow, d.HasImportErrors))
	}
	return out, nil
}

func (s *Server) getDags(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := dagFilter(q)
	page := q.page("dag_id")
	if err := q.err(); err != nil {
		return err
	}
	out, err := s.listDags(r.Context(), f, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type dagPatchBody struct {
	IsPaused *bool `json:"is_paused"`
}

// checkUpdateMask accepts only the fields a PATCH can change.
func checkUpdateMask(q *query, allowed ...string) error {
	for _, f := range q.list("update_mask") {
		ok := false
		for _, a := range allowed {
			ok = ok || f == a
		}
		if !ok {
			return errorf(http.StatusBadRequest, "Only %s field(s) can be updated, got %q", strings.Join(allowed, ", "), f)
		}
	}
	return nil
}

// patchDags pauses or unpauses every DAG that the filters select (the
// page of them), as Airflow's bulk PATCH /dags.
func (s *Server) patchDags(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := dagFilter(q)
	page := q.page("dag_id")
	if err := q.err(); err != nil {
		return err
	}
	if err := checkUpdateMask(q, "is_paused"); err != nil {
		return err
	}
	var body dagPatchBody
	if err := decodeBody(r, &body, "is_paused"); err != nil {
		return err
	}
	if body.IsPaused == nil {
		return invalid("Input should be a valid boolean", "bool_type", "body", "is_paused")
	}
	ctx := r.Context()
	sel, err := s.listDags(ctx, f, page)
	if err != nil {
		return err
	}
	for i := range sel.Dags {
		d := &sel.Dags[i]
		if err := metadb.SetPaused(ctx, s.db.Pool, d.DagID, *body.IsPaused); err != nil {
			return err
		}
		d.IsPaused = *body.IsPaused
		s.audit(r, "patch_dags", metadb.Event{DagID: &d.DagID}, body)
	}
	writeJSON(w, http.StatusOK, sel)
	return nil
}

func (s *Server) getDag(w http.ResponseWriter, r *http.Request) error {
	row, err := metadb.GetDAG(r.Context(), s.db.Pool, r.PathValue("dag_id"))
	if errors.Is(err, metadb.ErrNotFound) {
		return dagNotFound(r.PathValue("dag_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.dagResponse(row, s.hasImportErrors(r.Context(), row.Fileloc)))
	return nil
}

func (s *Server) hasImportErrors(ctx context.Context, fileloc string) bool {
	has, err := metadb.HasImportError(ctx, s.db.Pool, fileloc)
	if err != nil {
		s.logger.Warn("cannot read import errors", "err", err)
	}
	return has
}

func (s *Server) patchDag(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	if err := checkUpdateMask(q, "is_paused"); err != nil {
		return err
	}
	var body dagPatchBody
	if err := decodeBody(r, &body, "is_paused"); err != nil {
		return err
	}
	if body.IsPaused == nil {
		return invalid("Input should be a valid boolean", "bool_type", "body", "is_paused")
	}
	dagID := r.PathValue("dag_id")
	if err := metadb.SetPaused(r.Context(), s.db.Pool, dagID, *body.IsPaused); err != nil {
		if errors.Is(err, metadb.ErrNotFound) {
			return dagNotFound(dagID)
		}
		return err
	}
	s.audit(r, "patch_dag", metadb.Event{DagID: &dagID}, body)
	return s.getDag(w, r)
}

func (s *Server) deleteDag(w http.ResponseWriter, r *http.Request) error {
	dagID := r.PathValue("dag_id")
	ctx := r.Context()
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		var running int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM task_instance WHERE dag_id = $1 AND state = 'running'`, dagID).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return errorf(http.StatusConflict, "Task instances of dag with id: '%s' are still running", dagID)
		}
		_, err := metadb.DeleteDAG(ctx, tx, dagID)
		return err
	})
	if errors.Is(err, metadb.ErrNotFound) {
		return dagNotFound(dagID)
	}
	if err != nil {
		return err
	}
	s.audit(r, "delete_dag", metadb.Event{DagID: &dagID}, nil)
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

// timeDelta is the spec's TimeDelta.
type timeDelta struct {
	Type         string `json:"__type"`
	Days         int    `json:"days"`
	Seconds      int    `json:"seconds"`
	Microseconds int    `json:"microseconds"`
}

func newTimeDelta(sec float64) *timeDelta {
	if sec <= 0 {
		return nil
	}
	d := time.Duration(sec * float64(time.Second))
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	return &timeDelta{Type: "TimeDelta", Days: days, Seconds: int(d / time.Second), Microseconds: int((d % time.Second) / time.Microsecond)}
}

type dagDetailsResponse struct {
	dagResponse
	Catchup                   bool                `json:"catchup"`
	DagRunTimeout             *timeDelta          `json:"dag_run_timeout"`
	AssetExpression           map[string]any      `json:"asset_expression"`
	DocMD                     *string             `json:"doc_md"`
	StartDate                 *time.Time          `json:"start_date"`
	EndDate                   *time.Time          `json:"end_date"`
	IsPausedUponCreation      *bool               `json:"is_paused_upon_creation"`
	Params                    map[string]any      `json:"params"`
	RenderTemplateAsNativeObj bool                `json:"render_template_as_native_obj"`
	TemplateSearchPath        []string            `json:"template_search_path"`
	Timezone                  *string             `json:"timezone"`
	LastParsed                *time.Time          `json:"last_parsed"`
	DefaultArgs               map[string]any      `json:"default_args"`
	OwnerLinks                map[string]string   `json:"owner_links"`
	IsFavorite                bool                `json:"is_favorite"`
	ActiveRunsCount           int                 `json:"active_runs_count"`
	LatestDagVersion          *dagVersionResponse `json:"latest_dag_version"`
	Concurrency               int                 `json:"concurrency"`
}

// paramsResponse shows params as Airflow 3 serializes them: each a
// {"value", "description", "schema"} object.
func paramsResponse(ps map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range ps {
		schema := maps.Clone(dagspec.ParamSchema(v)) // the DAG is cached: change a copy
		desc, _ := schema["description"].(string)
		delete(schema, "description")
		delete(schema, dagspec.ParamMarker)
		var d any
		if desc != "" {
			d = desc
		}
		out[k] = map[string]any{"__class": "airflow.sdk.definitions.param.Param", "value": dagspec.ParamDefault(v), "description": d, "schema": schema}
	}
	return out
}

func (s *Server) getDagDetails(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	row, dag, err := s.loadDag(ctx, r.PathValue("dag_id"))
	if err != nil {
		return err
	}
	versions, err := metadb.DagVersionsOf(ctx, s.db.Pool, []string{row.DagID})
	if err != nil {
		return err
	}
	queued, running, err := metadb.CountActiveRuns(ctx, s.db.Pool, row.DagID, false)
	if err != nil {
		return err
	}
	d := dagDetailsResponse{dagResponse: s.dagResponse(row, s.hasImportErrors(ctx, row.Fileloc)),
		Catchup: dag.Catchup != nil && *dag.Catchup, DagRunTimeout: newTimeDelta(dag.DagrunTimeoutSec),
		StartDate: utcp(dag.StartDate), EndDate: utcp(dag.EndDate), IsPausedUponCreation: dag.IsPausedUponCreation,
		Params: paramsResponse(dag.Params), TemplateSearchPath: nil, LastParsed: utcp(&row.LastParsedTime),
		ActiveRunsCount: queued + running, Concurrency: row.MaxActiveTasks, DefaultArgs: map[string]any{},
		OwnerLinks: map[string]string{}}
	if dag.AssetSchedule != nil {
		d.AssetExpression = assetExpression(dag.AssetSchedule)
	}
	tz := dag.Timezone
	if tz == "" {
		tz = "UTC"
	}
	d.Timezone = &tz
	if dag.Description != "" {
		d.DocMD = nil
	}
	if v, ok := versions[row.DagHash]; ok {
		vr := versionResponse(v)
		d.LatestDagVersion = &vr
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

type taskResponse struct {
	TaskID                  *string        `json:"task_id"`
	TaskDisplayName         *string        `json:"task_display_name"`
	Owner                   *string        `json:"owner"`
	StartDate               *time.Time     `json:"start_date"`
	EndDate                 *time.Time     `json:"end_date"`
	TriggerRule             *string        `json:"trigger_rule"`
	DependsOnPast           bool           `json:"depends_on_past"`
	WaitForDownstream       bool           `json:"wait_for_downstream"`
	Retries                 *float64       `json:"retries"`
	Queue                   *string        `json:"queue"`
	Pool                    *string        `json:"pool"`
	PoolSlots               *float64       `json:"pool_slots"`
	ExecutionTimeout        *timeDelta     `json:"execution_timeout"`
	RetryDelay              *timeDelta     `json:"retry_delay"`
	RetryExponentialBackoff float64        `json:"retry_exponential_backoff"`
	PriorityWeight          *float64       `json:"priority_weight"`
	WeightRule              *string        `json:"weight_rule"`
	UIColor                 *string        `json:"ui_color"`
	UIFgColor               *string        `json:"ui_fgcolor"`
	TemplateFields          []string       `json:"template_fields"`
	DownstreamTaskIDs       []string       `json:"downstream_task_ids"`
	DocMD                   *string        `json:"doc_md"`
	OperatorName            *string        `json:"operator_name"`
	Params                  map[string]any `json:"params"`
	ClassRef                map[string]any `json:"class_ref"`
	IsMapped                *bool          `json:"is_mapped"`
	ExtraLinks              []string       `json:"extra_links"`
}

type taskCollection struct {
	Tasks        []taskResponse `json:"tasks"`
	TotalEntries int            `json:"total_entries"`
}

func fp(f float64) *float64 { return &f }

func taskResp(dag *dagspec.DAG, t *dagspec.Task, downstream []string) taskResponse {
	id, op := t.TaskID, dagspec.OperatorClass(t.Operator)
	name := op
	if i := strings.LastIndex(op, "."); i >= 0 {
		name = op[i+1:]
	}
	mod := strings.TrimSuffix(op, "."+name)
	fields := dagspec.TemplateFields(t.Operator)
	if py := t.Python; py != nil && py.Class != "" {
		// A DAG file's own class (or one gust's airflow package writes).
		mod, name = "", py.Class
		if i := strings.LastIndex(py.Class, "."); i >= 0 {
			mod, name = py.Class[:i], py.Class[i+1:]
		}
		fields = slices.Sorted(maps.Keys(py.TemplateFields))
		if fields == nil {
			fields = []string{}
		}
	}
	owner, rule, pool, weight := t.Owner, t.TriggerRule, t.Pool, t.WeightRule
	queue := t.Queue
	if queue == "" {
		queue = "default"
	}
	backoff := 0.0
	if t.RetryExponentialBackoff {
		backoff = 2
	}
	mapped := t.Expand != nil
	if downstream == nil {
		downstream = []string{}
	}
	return taskResponse{
		TaskID: &id, TaskDisplayName: &id, Owner: &owner, StartDate: utcp(dag.StartDate), EndDate: utcp(dag.EndDate),
		TriggerRule: &rule, DependsOnPast: t.DependsOnPast, WaitForDownstream: t.WaitForDownstream,
		Retries: fp(float64(t.Retries)), Queue: &queue, Pool: &pool, PoolSlots: fp(float64(t.PoolSlots)),
		ExecutionTimeout: newTimeDelta(t.ExecutionTimeoutSec), RetryDelay: newTimeDelta(t.RetryDelaySec),
		RetryExponentialBackoff: backoff, PriorityWeight: fp(float64(t.PriorityWeight)), WeightRule: &weight,
		TemplateFields: fields, DownstreamTaskIDs: downstream, OperatorName: &name,
		Params: paramsResponse(t.Params), ClassRef: map[string]any{"module_path": mod, "class_name": name},
		IsMapped: &mapped, ExtraLinks: []string{},
	}
}

func downstreamOf(dag *dagspec.DAG) map[string][]string {
	down := map[string][]string{}
	for _, t := range dag.Tasks {
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	for _, ids := range down {
		sort.Strings(ids)
	}
	return down
}

func (s *Server) getTasks(w http.ResponseWriter, r *http.Request) error {
	_, dag, err := s.loadDag(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		return err
	}
	order := r.URL.Query().Get("order_by")
	if order == "" {
		order = "task_id"
	}
	desc := strings.HasPrefix(order, "-")
	field := strings.TrimPrefix(order, "-")
	down := downstreamOf(dag)
	tasks := make([]taskResponse, 0, len(dag.Tasks))
	for _, t := range dag.Tasks {
		tasks = append(tasks, taskResp(dag, t, down[t.TaskID]))
	}
	key := map[string]func(t taskResponse) string{
		"task_id":       func(t taskResponse) string { return *t.TaskID },
		"owner":         func(t taskResponse) string { return *t.Owner },
		"pool":          func(t taskResponse) string { return *t.Pool },
		"queue":         func(t taskResponse) string { return *t.Queue },
		"operator_name": func(t taskResponse) string { return *t.OperatorName },
		"trigger_rule":  func(t taskResponse) string { return *t.TriggerRule },
	}[field]
	if key == nil {
		return errorf(http.StatusBadRequest, "Ordering with '%s' is disallowed or the attribute does not exist on the model", field)
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		if desc {
			return key(tasks[i]) > key(tasks[j])
		}
		return key(tasks[i]) < key(tasks[j])
	})
	writeJSON(w, http.StatusOK, taskCollection{Tasks: tasks, TotalEntries: len(tasks)})
	return nil
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	_, dag, err := s.loadDag(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		return err
	}
	t := dag.Task(r.PathValue("task_id"))
	if t == nil {
		return errorf(http.StatusNotFound, "Task with id %s not found", r.PathValue("task_id"))
	}
	writeJSON(w, http.StatusOK, taskResp(dag, t, downstreamOf(dag)[t.TaskID]))
	return nil
}

type dagVersionCollection struct {
	DagVersions  []dagVersionResponse `json:"dag_versions"`
	TotalEntries int                  `json:"total_entries"`
}

func (s *Server) versionsOf(ctx context.Context, dagID string) ([]metadb.DagVersion, error) {
	if _, err := metadb.GetDAG(ctx, s.db.Pool, dagID); errors.Is(err, metadb.ErrNotFound) {
		return nil, dagNotFound(dagID)
	} else if err != nil {
		return nil, err
	}
	byHash, err := metadb.DagVersionsOf(ctx, s.db.Pool, []string{dagID})
	if err != nil {
		return nil, err
	}
	vs := make([]metadb.DagVersion, 0, len(byHash))
	for _, v := range byHash {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
	return vs, nil
}

func (s *Server) getDagVersions(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	vs, err := s.versionsOf(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		return err
	}
	if len(page.OrderBy) > 0 && strings.HasPrefix(page.OrderBy[0], "-") {
		for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
			vs[i], vs[j] = vs[j], vs[i]
		}
	}
	out := dagVersionCollection{DagVersions: []dagVersionResponse{}, TotalEntries: len(vs)}
	for i := page.Offset; i < len(vs) && i < page.Offset+page.Limit; i++ {
		out.DagVersions = append(out.DagVersions, versionResponse(vs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDagVersion(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.versionsOf(r.Context(), r.PathValue("dag_id"))
	if err != nil {
		return err
	}
	n := r.PathValue("version_number")
	for _, v := range vs {
		if fmt.Sprint(v.Number) == n {
			writeJSON(w, http.StatusOK, versionResponse(v))
			return nil
		}
	}
	return errorf(http.StatusNotFound, "The DagVersion with dag_id: `%s` and version_number: `%s` was not found", r.PathValue("dag_id"), n)
}

func (s *Server) getDagTags(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("name")
	pattern := q.pattern("tag_name_pattern")
	if err := q.err(); err != nil {
		return err
	}
	tags, total, err := metadb.ListTagsPage(r.Context(), s.db.Pool, pattern, page)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tags, "total_entries": total})
	return nil
}

type dagStatsState struct {
	State string `json:"state"`
	Count int    `json:"count"`
}

type dagStats struct {
	DagID          string          `json:"dag_id"`
	DagDisplayName string          `json:"dag_display_name"`
	Stats          []dagStatsState `json:"stats"`
}

// getDagStats counts runs per state for each DAG, every state listed.
func (s *Server) getDagStats(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ids := newQuery(r).list("dag_ids")
	dagIDs, err := metadb.ActiveDagIDs(ctx, s.db.Pool, ids)
	if err != nil {
		return err
	}
	counts, err := metadb.RunStateCounts(ctx, s.db.Pool, dagIDs)
	if err != nil {
		return err
	}
	out := make([]dagStats, 0, len(dagIDs))
	for _, id := range dagIDs {
		st := dagStats{DagID: id, DagDisplayName: id}
		for _, state := range []string{"queued", "running", "success", "failed"} {
			st.Stats = append(st.Stats, dagStatsState{State: state, Count: counts[id][state]})
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"dags": out, "total_entries": len(out)})
	return nil
}

type dagSourceResponse struct {
	Content        *string `json:"content"`
	DagID          string  `json:"dag_id"`
	VersionNumber  *int    `json:"version_number"`
	DagDisplayName string  `json:"dag_display_name"`
}

// getDagSource serves the DAG file's text as stored with a version (the
// current one by default), as JSON or, when asked, text/plain.
func (s *Server) getDagSource(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	version := q.intOr("version_number", 0, 1)
	if err := q.err(); err != nil {
		return err
	}
	dagID := r.PathValue("dag_id")
	if err := s.checkDag(r.Context(), dagID); err != nil {
		return err
	}
	src, n, err := metadb.DagSource(r.Context(), s.db.Pool, dagID, version)
	if errors.Is(err, metadb.ErrNotFound) {
		return errorf(http.StatusNotFound, "The source code of Dag %s, version %d was not found", dagID, version)
	}
	if err != nil {
		return err
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "text/plain"):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(src))
	case accept == "" || strings.Contains(accept, "application/json") || strings.Contains(accept, "*/*"):
		writeJSON(w, http.StatusOK, dagSourceResponse{Content: &src, DagID: dagID, VersionNumber: &n, DagDisplayName: dagID})
	default:
		return errorf(http.StatusNotAcceptable, "Invalid Accept header")
	}
	return nil
}
