package apiserver

import (
	"context"
	"math"
	"net/http"
	"os/user"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesTaskInstances(r *router) {
	const ti = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
	r.handle("GET "+ti, auth.Viewer, s.getTaskInstances)
	r.handle("POST "+ti+"/list", auth.Viewer, s.getTaskInstancesBatch)
	r.handle("GET "+ti+"/{task_id}", auth.Viewer, s.getTaskInstance)
	r.handle("PATCH "+ti+"/{task_id}", auth.User, s.patchTaskInstance)
	// The spec's paths with and without {map_index} overlap (…/{task_id}/tries
	// and …/{task_id}/{map_index}); ServeMux cannot tell them apart, so the
	// rest of the path is dispatched here. Roles are checked per target.
	r.handle("GET "+ti+"/{task_id}/{rest...}", auth.Viewer, s.dispatch(tiDispatchGET, map[string]handlerFunc{
		"{map_index}": s.getTaskInstance, "tries": s.getTaskInstanceTries, "tries/{task_try_number}": s.getTaskInstanceTry,
		"dependencies": s.getTaskInstanceDependencies, "listMapped": s.getMappedTaskInstances,
		"{map_index}/tries": s.getTaskInstanceTries, "{map_index}/tries/{task_try_number}": s.getTaskInstanceTry,
		"{map_index}/dependencies": s.getTaskInstanceDependencies, "logs/{try_number}": s.getLog, "{map_index}/logs/{try_number}": s.getLog,
	}))
	r.handle("PATCH "+ti+"/{task_id}/{rest...}", auth.User, s.dispatch(tiDispatchPATCH, map[string]handlerFunc{
		"dry_run": s.patchTaskInstanceDryRun, "{map_index}": s.patchTaskInstance, "{map_index}/dry_run": s.patchTaskInstanceDryRun,
	}))
	r.handle("POST /api/v2/dags/{dag_id}/clearTaskInstances", auth.User, s.postClearTaskInstances)
}

// dispatch routes the {rest...} of a path to the handler whose pattern
// (literal segments, {name} wildcards) matches it, setting the wildcards'
// path values; no match is a 404.
func (s *Server) dispatch(tables ...map[string]handlerFunc) handlerFunc {
	type route struct {
		segs []string
		h    handlerFunc
	}
	var rs []route
	for _, routes := range tables {
		for p, h := range routes {
			rs = append(rs, route{strings.Split(p, "/"), h})
		}
	}
	// Literal segments first: "tries" wins over "{map_index}".
	sort.Slice(rs, func(i, j int) bool {
		return strings.Count(strings.Join(rs[i].segs, "/"), "{") < strings.Count(strings.Join(rs[j].segs, "/"), "{")
	})
	return func(w http.ResponseWriter, r *http.Request) error {
		parts := strings.Split(r.PathValue("rest"), "/")
	next:
		for _, rt := range rs {
			if len(rt.segs) != len(parts) {
				continue
			}
			for i, seg := range rt.segs {
				if !strings.HasPrefix(seg, "{") && seg != parts[i] {
					continue next
				}
			}
			for i, seg := range rt.segs {
				if strings.HasPrefix(seg, "{") {
					r.SetPathValue(strings.Trim(seg, "{}"), parts[i])
				}
			}
			return rt.h(w, r)
		}
		return errorf(http.StatusNotFound, "Not Found")
	}
}

type tiResponse struct {
	ID               string              `json:"id"`
	TaskID           string              `json:"task_id"`
	DagID            string              `json:"dag_id"`
	DagRunID         string              `json:"dag_run_id"`
	MapIndex         int                 `json:"map_index"`
	LogicalDate      *time.Time          `json:"logical_date"`
	RunAfter         time.Time           `json:"run_after"`
	StartDate        *time.Time          `json:"start_date"`
	EndDate          *time.Time          `json:"end_date"`
	Duration         *float64            `json:"duration"`
	State            *string             `json:"state"`
	TryNumber        int                 `json:"try_number"`
	MaxTries         int                 `json:"max_tries"`
	TaskDisplayName  string              `json:"task_display_name"`
	DagDisplayName   string              `json:"dag_display_name"`
	Hostname         *string             `json:"hostname"`
	Unixname         *string             `json:"unixname"`
	Pool             string              `json:"pool"`
	PoolSlots        int                 `json:"pool_slots"`
	Queue            *string             `json:"queue"`
	PriorityWeight   *int                `json:"priority_weight"`
	Operator         *string             `json:"operator"`
	OperatorName     *string             `json:"operator_name"`
	QueuedWhen       *time.Time          `json:"queued_when"`
	ScheduledWhen    *time.Time          `json:"scheduled_when"`
	PID              *int                `json:"pid"`
	Executor         *string             `json:"executor"`
	ExecutorConfig   string              `json:"executor_config"`
	Note             *string             `json:"note"`
	RenderedMapIndex *string             `json:"rendered_map_index"`
	RenderedFields   map[string]any      `json:"rendered_fields"`
	Trigger          *struct{}           `json:"trigger"`
	TriggererJob     *struct{}           `json:"triggerer_job"`
	DagVersion       *dagVersionResponse `json:"dag_version"`
}

type tiCollection struct {
	TaskInstances []tiResponse `json:"task_instances"`
	TotalEntries  int          `json:"total_entries"`
}

// executorName is what gust reports as the executor of every try.
const executorName = "CeleryExecutor"

func unixname() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func (s *Server) tiResponse(t *metadb.TIRow, versions map[string]metadb.DagVersion) tiResponse {
	var state *string
	if t.State != "" {
		st := t.State
		state = &st
	}
	name := operatorShown(t.Operator)
	queue, weight, exec, un := t.Queue, t.PriorityWeight, executorName, unixname()
	resp := tiResponse{
		ID: hashUUID("ti", t.DagID, t.RunID, t.TaskID, strconv.Itoa(t.MapIndex)), TaskID: t.TaskID, DagID: t.DagID, DagRunID: t.RunID,
		MapIndex: t.MapIndex, LogicalDate: utcp(&t.LogicalDate), RunAfter: t.RunAfter().UTC(), StartDate: utcp(t.StartDate),
		EndDate: utcp(t.EndDate), Duration: t.Duration, State: state, TryNumber: t.TryNumber, MaxTries: t.MaxTries,
		TaskDisplayName: t.TaskID, DagDisplayName: t.DagID, Hostname: strp(t.Hostname), Unixname: &un, Pool: t.Pool,
		PoolSlots: t.PoolSlots, Queue: &queue, PriorityWeight: &weight, Operator: &name, OperatorName: &name,
		QueuedWhen: utcp(t.QueuedDttm), PID: t.PID, Executor: &exec, ExecutorConfig: "{}", Note: t.Note,
		RenderedMapIndex: t.RenderedMapIndex, RenderedFields: map[string]any{},
	}
	if v, ok := versions[t.DagHash]; ok {
		vr := versionResponse(v)
		resp.DagVersion = &vr
	}
	return resp
}

// operatorShown is the name the API shows for an operator task instances
// store: its Airflow class name (bash -> BashOperator).
func operatorShown(stored string) string {
	class := dagspec.OperatorClass(stored)
	return class[strings.LastIndexByte(class, '.')+1:]
}

// operatorsShown maps each operator name task instances store to the name
// the API shows.
func operatorsShown() map[string]string {
	out := map[string]string{}
	for _, n := range dagspec.OperatorNames() {
		out[n] = operatorShown(n)
	}
	return out
}

// storedOperators turns the API's operator names (BashOperator, or gust's
// bash) into the names task instances store; a name gust does not know is
// kept, and matches nothing.
func storedOperators(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	shown := operatorsShown()
	out := slices.Clone(names)
	for stored, s := range shown {
		if slices.Contains(names, s) {
			out = append(out, stored)
		}
	}
	return out
}

// otherExecutor reports whether an executor filter leaves out gust's only
// executor, so that no task instance matches.
func otherExecutor(executors []string) bool {
	return len(executors) > 0 && !slices.Contains(executors, executorName)
}

// tisResponse renders a page of task instances with their DAG versions.
func (s *Server) tisResponse(ctx context.Context, rows []*metadb.TIRow, total int) (tiCollection, error) {
	versions, err := versionsFor(ctx, s, rows, func(t *metadb.TIRow) string { return t.DagID })
	if err != nil {
		return tiCollection{}, err
	}
	out := tiCollection{TaskInstances: make([]tiResponse, 0, len(rows)), TotalEntries: total}
	for _, t := range rows {
		out.TaskInstances = append(out.TaskInstances, s.tiResponse(t, versions))
	}
	return out, nil
}

// tisByKey renders the given task instances (all of one run).
func (s *Server) tisByKey(ctx context.Context, keys []metadb.TIKey) (tiCollection, error) {
	if len(keys) == 0 {
		return tiCollection{TaskInstances: []tiResponse{}}, nil
	}
	f := metadb.TIFilter{DagID: keys[0].DagID, RunID: keys[0].RunID}
	want := make(map[metadb.TIKey]bool, len(keys))
	tasks := map[string]bool{}
	for _, k := range keys {
		if !tasks[k.TaskID] {
			tasks[k.TaskID] = true
			f.TaskIDs = append(f.TaskIDs, k.TaskID)
		}
		want[k] = true
	}
	// The tasks' instances asked for: map index -1 stands for every
	// instance of the task (a plain task has that one only).
	rows, _, err := metadb.ListTIsPage(ctx, s.db.Pool, f, metadb.Page{Limit: math.MaxInt32})
	if err != nil {
		return tiCollection{}, err
	}
	kept := rows[:0]
	for _, r := range rows {
		k := metadb.TIKey{DagID: r.DagID, RunID: r.RunID, TaskID: r.TaskID, MapIndex: r.MapIndex}
		if want[k] || want[metadb.TIKey{DagID: r.DagID, RunID: r.RunID, TaskID: r.TaskID, MapIndex: -1}] {
			kept = append(kept, r)
		}
	}
	return s.tisResponse(ctx, kept, len(kept))
}

func anyOrAll(v string) string {
	if v == "~" {
		return ""
	}
	return v
}

var tiStates = []string{"removed", "scheduled", "queued", "running", "success", "restarting", "failed", "up_for_retry",
	"up_for_reschedule", "upstream_failed", "skipped", "deferred", "none", "no_status"}

// tiListFilter reads the filters of the task instance lists.
func tiListFilter(q *query, dagID, runID string) metadb.TIFilter {
	f := metadb.TIFilter{DagID: anyOrAll(dagID), RunID: anyOrAll(runID), States: q.list("state"), Pools: q.list("pool"),
		Queues: q.list("queue"), TaskIDPattern: q.pattern("task_display_name_pattern"), RunIDPatt: q.pattern("run_id_pattern"),
		MapIndex:    q.optInt("map_index"),
		StartGTE:    lower(q.optTime("start_date_gte"), q.optTime("start_date_gt")),
		StartLTE:    upper(q.optTime("start_date_lte"), q.optTime("start_date_lt")),
		EndGTE:      lower(q.optTime("end_date_gte"), q.optTime("end_date_gt")),
		EndLTE:      upper(q.optTime("end_date_lte"), q.optTime("end_date_lt")),
		LogicalGTE:  lower(q.optTime("logical_date_gte"), q.optTime("logical_date_gt")),
		LogicalLTE:  upper(q.optTime("logical_date_lte"), q.optTime("logical_date_lt")),
		DurationGTE: lowerF(q.optFloat("duration_gte"), q.optFloat("duration_gt")),
		DurationLTE: upperF(q.optFloat("duration_lte"), q.optFloat("duration_lt"))}
	if f.TaskIDPattern == "" {
		f.TaskIDPattern = q.pattern("task_id_pattern") // gust's older name
	}
	f.DagIDPattern, f.PoolPattern, f.QueuePatt = q.pattern("dag_id_pattern"), q.pattern("pool_name_pattern"), q.pattern("queue_name_pattern")
	f.RunAfterGTE = lower(q.optTime("run_after_gte"), q.optTime("run_after_gt"))
	f.RunAfterLTE = upper(q.optTime("run_after_lte"), q.optTime("run_after_lt"))
	f.UpdatedGTE = lower(q.optTime("updated_at_gte"), q.optTime("updated_at_gt"))
	f.UpdatedLTE = upper(q.optTime("updated_at_lte"), q.optTime("updated_at_lt"))
	f.TryNumbers, f.DagVersions = q.ints("try_number"), q.ints("version_number")
	f.Operators = storedOperators(q.list("operator"))
	if f.OperatorPattern = q.pattern("operator_name_pattern"); f.OperatorPattern != "" {
		f.OperatorShown = operatorsShown()
	}
	f.Nothing = otherExecutor(q.list("executor"))
	return f
}

func (s *Server) getTaskInstances(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	f := tiListFilter(q, dagID, runID)
	group := q.str("task_group_id")
	if id := q.str("task_id"); id != "" {
		f.TaskIDs = []string{id}
	}
	q.oneOf("state", f.States, tiStates...)
	for i, st := range f.States {
		if st == "no_status" {
			f.States[i] = "none"
		}
	}
	page := q.page() // the primary key's order (Airflow sorts by map_index, equal for unmapped tasks)
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.checkDag(ctx, dagID); err != nil {
		return err
	}
	if dagID != "~" && runID != "~" {
		if _, err := s.loadRun(ctx, dagID, runID); err != nil {
			return err
		}
	}
	if group != "" {
		ids, err := s.groupTaskIDs(ctx, dagID, group, f.TaskIDs)
		if err != nil {
			return err
		}
		f.TaskIDs, f.Nothing = ids, f.Nothing || len(ids) == 0
	}
	rows, total, err := metadb.ListTIsPage(ctx, s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out, err := s.tisResponse(ctx, rows, total)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type tiBatchBody struct {
	DagIDs      []string   `json:"dag_ids"`
	DagRunIDs   []string   `json:"dag_run_ids"`
	TaskIDs     []string   `json:"task_ids"`
	State       []*string  `json:"state"`
	Pool        []string   `json:"pool"`
	Queue       []string   `json:"queue"`
	Executor    []string   `json:"executor"`
	PageOffset  *int       `json:"page_offset"`
	PageLimit   *int       `json:"page_limit"`
	OrderBy     *string    `json:"order_by"`
	LogicalGTE  *time.Time `json:"logical_date_gte"`
	LogicalGT   *time.Time `json:"logical_date_gt"`
	LogicalLTE  *time.Time `json:"logical_date_lte"`
	LogicalLT   *time.Time `json:"logical_date_lt"`
	RunAfterGTE *time.Time `json:"run_after_gte"`
	RunAfterGT  *time.Time `json:"run_after_gt"`
	RunAfterLTE *time.Time `json:"run_after_lte"`
	RunAfterLT  *time.Time `json:"run_after_lt"`
	StartGTE    *time.Time `json:"start_date_gte"`
	StartGT     *time.Time `json:"start_date_gt"`
	StartLTE    *time.Time `json:"start_date_lte"`
	StartLT     *time.Time `json:"start_date_lt"`
	EndGTE      *time.Time `json:"end_date_gte"`
	EndGT       *time.Time `json:"end_date_gt"`
	EndLTE      *time.Time `json:"end_date_lte"`
	EndLT       *time.Time `json:"end_date_lt"`
	DurationGTE *float64   `json:"duration_gte"`
	DurationGT  *float64   `json:"duration_gt"`
	DurationLTE *float64   `json:"duration_lte"`
	DurationLT  *float64   `json:"duration_lt"`
}

// groupTaskIDs answers a task_group_id filter as Airflow does: the ids of
// the tasks inside the group (nested groups' too) in the DAG's latest
// version, within only when that is not nil; an unknown group is a 404 in
// Airflow's words. Across all DAGs ("~") a group id means nothing, where
// Airflow fails with a 500.
func (s *Server) groupTaskIDs(ctx context.Context, dagID, group string, within []string) ([]string, error) {
	if dagID == "~" {
		return nil, errorf(http.StatusBadRequest, "task_group_id needs a dag_id: task group ids are per DAG")
	}
	_, dag, err := s.loadDag(ctx, dagID)
	if err != nil {
		return nil, err
	}
	if dag.Group(group) == nil {
		return nil, &httpError{status: http.StatusNotFound, detail: map[string]string{"reason": "not_found", "message": "Task group " + group + " not found"}}
	}
	ids := []string{}
	for _, t := range dag.Tasks {
		if dag.InGroup(t, group) && (within == nil || slices.Contains(within, t.TaskID)) {
			ids = append(ids, t.TaskID)
		}
	}
	return ids, nil
}

func (s *Server) getTaskInstancesBatch(w http.ResponseWriter, r *http.Request) error {
	var b tiBatchBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	page, err := batchPage(b.PageLimit, b.PageOffset, b.OrderBy)
	if err != nil {
		return err
	}
	f := metadb.TIFilter{Nothing: otherExecutor(b.Executor),
		RunAfterGTE: lower(b.RunAfterGTE, b.RunAfterGT), RunAfterLTE: upper(b.RunAfterLTE, b.RunAfterLT),
		DagID: anyOrAll(r.PathValue("dag_id")), RunID: anyOrAll(r.PathValue("dag_run_id")),
		DagIDsIn: b.DagIDs, RunIDsIn: b.DagRunIDs, TaskIDs: b.TaskIDs, Pools: b.Pool, Queues: b.Queue,
		StartGTE: lower(b.StartGTE, b.StartGT), StartLTE: upper(b.StartLTE, b.StartLT),
		EndGTE: lower(b.EndGTE, b.EndGT), EndLTE: upper(b.EndLTE, b.EndLT),
		LogicalGTE: lower(b.LogicalGTE, b.LogicalGT), LogicalLTE: upper(b.LogicalLTE, b.LogicalLT),
		DurationGTE: lowerF(b.DurationGTE, b.DurationGT), DurationLTE: upperF(b.DurationLTE, b.DurationLT)}
	for _, st := range b.State {
		if st == nil {
			f.States = append(f.States, "none")
		} else {
			f.States = append(f.States, *st)
		}
	}
	rows, total, err := metadb.ListTIsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out, err := s.tisResponse(r.Context(), rows, total)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// tiKey reads the path's task instance key (map_index -1 when absent).
func tiKey(r *http.Request) (metadb.TIKey, error) {
	k := metadb.TIKey{DagID: r.PathValue("dag_id"), RunID: r.PathValue("dag_run_id"), TaskID: r.PathValue("task_id"), MapIndex: -1}
	if mi := r.PathValue("map_index"); mi != "" {
		n, err := strconv.Atoi(mi)
		if err != nil {
			return k, invalid("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "path", "map_index")
		}
		k.MapIndex = n
	}
	if mi := r.URL.Query().Get("map_index"); mi != "" && r.PathValue("map_index") == "" {
		n, err := strconv.Atoi(mi)
		if err != nil {
			return k, invalid("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "query", "map_index")
		}
		k.MapIndex = n
	}
	return k, nil
}

func tiNotFound(k metadb.TIKey) error {
	return errorf(http.StatusNotFound, "The Task Instance with dag_id: `%s`, run_id: `%s`, task_id: `%s` and map_index: `%d` was not found",
		k.DagID, k.RunID, k.TaskID, k.MapIndex)
}

func (s *Server) loadTI(ctx context.Context, k metadb.TIKey) (*metadb.TIRow, map[string]metadb.DagVersion, error) {
	mi := k.MapIndex
	rows, _, err := metadb.ListTIsPage(ctx, s.db.Pool, metadb.TIFilter{DagID: k.DagID, RunID: k.RunID, TaskIDs: []string{k.TaskID}, MapIndex: &mi},
		metadb.Page{Limit: 1})
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, tiNotFound(k)
	}
	versions, err := metadb.DagVersionsOf(ctx, s.db.Pool, []string{k.DagID})
	if err != nil {
		return nil, nil, err
	}
	return rows[0], versions, nil
}

func (s *Server) getTaskInstance(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	t, versions, err := s.loadTI(r.Context(), k)
	if err != nil {
		return err
	}
	resp := s.tiResponse(t, versions)
	// The fields the latest finished try rendered (Airflow's
	// rendered_task_instance_fields); the listings leave them empty.
	rendered, err := metadb.RenderedFields(r.Context(), s.db.Pool, k)
	if err != nil {
		return err
	}
	if rendered != nil {
		resp.RenderedFields = rendered
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) getMappedTaskInstances(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	f := tiListFilter(q, k.DagID, k.RunID)
	f.TaskIDs, f.Mapped = []string{k.TaskID}, true
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.loadRun(ctx, k.DagID, k.RunID); err != nil {
		return err
	}
	rows, total, err := metadb.ListTIsPage(ctx, s.db.Pool, f, page)
	if err != nil {
		return err
	}
	if total == 0 {
		// None can be a mapped task expanded to nothing: as Airflow, 404
		// only for a task that is not there or not mapped.
		_, dag, err := s.loadDag(ctx, k.DagID)
		if err != nil {
			return err
		}
		switch t := dag.Task(k.TaskID); {
		case t == nil:
			return errorf(http.StatusNotFound, "Task id %s not found", k.TaskID)
		case t.Expand == nil:
			return errorf(http.StatusNotFound, "Task id %s is not mapped", k.TaskID)
		}
	}
	out, err := s.tisResponse(ctx, rows, total)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
