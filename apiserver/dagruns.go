package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

func (s *Server) routesDagRuns(r *router) {
	r.handle("GET /api/v2/dags/{dag_id}/dagRuns", auth.Viewer, s.getDagRuns)
	r.handle("POST /api/v2/dags/{dag_id}/dagRuns", auth.User, s.triggerDagRun)
	r.handle("POST /api/v2/dags/{dag_id}/dagRuns/list", auth.Viewer, s.getDagRunsBatch)
	r.handle("GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", auth.Viewer, s.getDagRun)
	r.handle("PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", auth.User, s.patchDagRun)
	r.handle("DELETE /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", auth.User, s.deleteDagRun)
	r.handle("POST /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear", auth.User, s.clearDagRun)
	r.handle("GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/wait", auth.Viewer, s.waitDagRun)
}

func runNotFound(dagID, runID string) error {
	return errorf(http.StatusNotFound, "The DagRun with dag_id: `%s` and run_id: `%s` was not found", dagID, runID)
}

// versionsFor loads the versions of the DAGs that rows belong to, in one
// query whatever the page size.
func versionsFor[T any](ctx context.Context, s *Server, rows []T, dagID func(T) string) (map[string]metadb.DagVersion, error) {
	seen := map[string]bool{}
	var ids []string
	for _, r := range rows {
		if id := dagID(r); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return metadb.DagVersionsOf(ctx, s.db.Pool, ids)
}

// runsResponse renders runs with their DAG versions (one query for all).
func (s *Server) runsResponse(ctx context.Context, runs []*metadb.DagRun, total int) (dagRunCollection, error) {
	versions, err := versionsFor(ctx, s, runs, func(r *metadb.DagRun) string { return r.DagID })
	if err != nil {
		return dagRunCollection{}, err
	}
	out := dagRunCollection{DagRuns: make([]dagRunResponse, 0, len(runs)), TotalEntries: total}
	for _, r := range runs {
		out.DagRuns = append(out.DagRuns, runResponse(r, versions))
	}
	return out, nil
}

func (s *Server) runResponse(ctx context.Context, r *metadb.DagRun) (dagRunResponse, error) {
	c, err := s.runsResponse(ctx, []*metadb.DagRun{r}, 1)
	if err != nil {
		return dagRunResponse{}, err
	}
	return c.DagRuns[0], nil
}

// checkDag answers 404 unless the DAG exists ("~" stands for every DAG).
func (s *Server) checkDag(ctx context.Context, dagID string) error {
	if dagID == "~" {
		return nil
	}
	if _, err := metadb.GetDAG(ctx, s.db.Pool, dagID); errors.Is(err, metadb.ErrNotFound) {
		return dagNotFound(dagID)
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Server) getDagRuns(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	dagID := r.PathValue("dag_id")
	f := metadb.RunFilter{
		States: q.list("state"), RunTypes: q.list("run_type"),
		RunIDPattern: q.pattern("run_id_pattern"), DagIDPattern: q.pattern("dag_id_pattern"),
		LogicalGTE:   lower(q.optTime("logical_date_gte"), q.optTime("logical_date_gt")),
		LogicalLTE:   upper(q.optTime("logical_date_lte"), q.optTime("logical_date_lt")),
		StartGTE:     lower(q.optTime("start_date_gte"), q.optTime("start_date_gt")),
		StartLTE:     upper(q.optTime("start_date_lte"), q.optTime("start_date_lt")),
		EndGTE:       lower(q.optTime("end_date_gte"), q.optTime("end_date_gt")),
		EndLTE:       upper(q.optTime("end_date_lte"), q.optTime("end_date_lt")),
		RunAfterGTE:  lower(q.optTime("run_after_gte"), q.optTime("run_after_gt")),
		RunAfterLTE:  upper(q.optTime("run_after_lte"), q.optTime("run_after_lt")),
		UpdatedGTE:   lower(q.optTime("updated_at_gte"), q.optTime("updated_at_gt")),
		UpdatedLTE:   upper(q.optTime("updated_at_lte"), q.optTime("updated_at_lt")),
		DurationGTE:  lowerF(q.optFloat("duration_gte"), q.optFloat("duration_gt")),
		DurationLTE:  upperF(q.optFloat("duration_lte"), q.optFloat("duration_lt")),
		ConfContains: q.str("conf_contains"), TriggeringUserPattern: q.pattern("triggering_user_name_pattern"),
		DagVersions: q.ints("dag_version"),
	}
	// gust's runs have no bundle version and no partition key: a filter on either matches nothing.
	f.Nothing = q.str("bundle_version") != "" || q.str("partition_key_pattern") != ""
	q.oneOf("state", f.States, "queued", "running", "success", "failed")
	q.oneOf("run_type", f.RunTypes, "backfill", "scheduled", "manual", "asset_triggered", "asset_materialization")
	if dagID != "~" {
		f.DagIDs = []string{dagID}
	}
	page := q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	if err := s.checkDag(r.Context(), dagID); err != nil {
		return err
	}
	runs, total, err := metadb.ListRunsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out, err := s.runsResponse(r.Context(), runs, total)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// runsBatchBody is DAGRunsBatchBody.
type runsBatchBody struct {
	OrderBy     *string    `json:"order_by"`
	PageOffset  *int       `json:"page_offset"`
	PageLimit   *int       `json:"page_limit"`
	DagIDs      []string   `json:"dag_ids"`
	States      []*string  `json:"states"`
	RunAfterGTE *time.Time `json:"run_after_gte"`
	RunAfterGT  *time.Time `json:"run_after_gt"`
	RunAfterLTE *time.Time `json:"run_after_lte"`
	RunAfterLT  *time.Time `json:"run_after_lt"`
	LogicalGTE  *time.Time `json:"logical_date_gte"`
	LogicalGT   *time.Time `json:"logical_date_gt"`
	LogicalLTE  *time.Time `json:"logical_date_lte"`
	LogicalLT   *time.Time `json:"logical_date_lt"`
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
	ConfContain *string    `json:"conf_contains"`
}

// getDagRunsBatch is POST .../dagRuns/list: the listing with its filters in
// a body, across DAGs (the path's dag_id must be "~", as Airflow's).
func (s *Server) getDagRunsBatch(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("dag_id") != "~" {
		return errorf(http.StatusBadRequest, "Listing DAG runs of one DAG in a batch is not supported: use ~ as the dag_id and list the DAGs in dag_ids")
	}
	var b runsBatchBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	page, err := batchPage(b.PageLimit, b.PageOffset, b.OrderBy)
	if err != nil {
		return err
	}
	f := metadb.RunFilter{DagIDs: b.DagIDs, LogicalGTE: lower(b.LogicalGTE, b.LogicalGT), LogicalLTE: upper(b.LogicalLTE, b.LogicalLT),
		StartGTE: lower(b.StartGTE, b.StartGT), StartLTE: upper(b.StartLTE, b.StartLT), EndGTE: lower(b.EndGTE, b.EndGT),
		EndLTE: upper(b.EndLTE, b.EndLT), RunAfterGTE: lower(b.RunAfterGTE, b.RunAfterGT), RunAfterLTE: upper(b.RunAfterLTE, b.RunAfterLT),
		DurationGTE: lowerF(b.DurationGTE, b.DurationGT), DurationLTE: upperF(b.DurationLTE, b.DurationLT)}
	if b.ConfContain != nil {
		f.ConfContains = *b.ConfContain
	}
	for _, st := range b.States {
		if st != nil {
			f.States = append(f.States, *st)
		}
	}
	runs, total, err := metadb.ListRunsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out, err := s.runsResponse(r.Context(), runs, total)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// triggerBody is TriggerDAGRunPostBody.
type triggerBody struct {
	DagRunID          *string         `json:"dag_run_id"`
	DataIntervalStart *time.Time      `json:"data_interval_start"`
	DataIntervalEnd   *time.Time      `json:"data_interval_end"`
	LogicalDate       *time.Time      `json:"logical_date"`
	RunAfter          *time.Time      `json:"run_after"`
	Conf              json.RawMessage `json:"conf"`
	Note              *string         `json:"note"`
	PartitionKey      *string         `json:"partition_key"`
}

// triggerDagRun creates a manual run. A null or absent logical_date means
// "now" (Airflow 3 would leave it null; gust's runs always have one, so
// templates such as {{ ds }} keep working).
func (s *Server) triggerDagRun(w http.ResponseWriter, r *http.Request) error {
	var b triggerBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	var conf map[string]any
	if len(b.Conf) > 0 && string(b.Conf) != "null" {
		if err := json.Unmarshal(b.Conf, &conf); err != nil {
			return invalid("Input should be a valid dictionary", "dict_type", "body", "conf")
		}
	}
	if (b.DataIntervalStart == nil) != (b.DataIntervalEnd == nil) {
		return invalid("Value error, Either both data_interval_start and data_interval_end must be provided or both must be None",
			"value_error", "body")
	}
	dagID := r.PathValue("dag_id")
	req := scheduler.TriggerRequest{DagID: dagID, Conf: conf, LogicalDate: b.LogicalDate, TriggeredBy: caller(r.Context()).Username,
		DefaultQueue: s.opts.DefaultQueue, AllowFuture: s.opts.AllowTriggerInFuture,
		DataIntervalStart: b.DataIntervalStart, DataIntervalEnd: b.DataIntervalEnd}
	if b.DagRunID != nil {
		req.RunID = *b.DagRunID
	}
	if b.Note != nil {
		req.Note = *b.Note
	}
	run, err := scheduler.Trigger(r.Context(), s.db, req)
	switch {
	case errors.Is(err, metadb.ErrNotFound):
		return dagNotFound(dagID)
	case errors.Is(err, metadb.ErrDuplicateRun):
		return errorf(http.StatusConflict, "%s", err.Error())
	case errors.Is(err, scheduler.ErrInvalidTrigger):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	s.audit(r, "trigger_dag_run", metadb.Event{DagID: &run.DagID, RunID: &run.RunID, LogicalDate: &run.LogicalDate}, map[string]any{"conf": conf})
	resp, err := s.runResponse(r.Context(), run)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) loadRun(ctx context.Context, dagID, runID string) (*metadb.DagRun, error) {
	run, err := metadb.GetDagRun(ctx, s.db.Pool, dagID, runID)
	if errors.Is(err, metadb.ErrNotFound) {
		return nil, runNotFound(dagID, runID)
	}
	return run, err
}

func (s *Server) getDagRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.loadRun(r.Context(), r.PathValue("dag_id"), r.PathValue("dag_run_id"))
	if err != nil {
		return err
	}
	resp, err := s.runResponse(r.Context(), run)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

type runPatchBody struct {
	State *string         `json:"state"`
	Note  json.RawMessage `json:"note"`
}

func (s *Server) patchDagRun(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	if err := checkUpdateMask(q, "state", "note"); err != nil {
		return err
	}
	var b runPatchBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	mask := map[string]bool{}
	for _, f := range q.list("update_mask") {
		mask[f] = true
	}
	useField := func(name string, present bool) bool { return present && (len(mask) == 0 || mask[name]) }
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	ctx := r.Context()
	if _, err := s.loadRun(ctx, dagID, runID); err != nil {
		return err
	}
	if useField("state", b.State != nil) {
		switch *b.State {
		case tistate.RunQueued, tistate.RunSuccess, tistate.RunFailed:
		default:
			return invalid("Input should be 'queued', 'success' or 'failed'", "enum", "body", "state")
		}
		if _, err := scheduler.MarkRun(ctx, s.db, dagID, runID, *b.State); err != nil {
			return err
		}
	}
	if useField("note", len(b.Note) > 0) {
		var note *string
		if string(b.Note) != "null" {
			var n string
			if err := json.Unmarshal(b.Note, &n); err != nil {
				return invalid("Input should be a valid string", "string_type", "body", "note")
			}
			note = &n
		}
		if err := metadb.SetRunNote(ctx, s.db.Pool, dagID, runID, note); err != nil {
			return err
		}
	}
	s.audit(r, "patch_dag_run", metadb.Event{DagID: &dagID, RunID: &runID}, b)
	return s.getDagRun(w, r)
}

func (s *Server) deleteDagRun(w http.ResponseWriter, r *http.Request) error {
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	err := metadb.DeleteDagRun(r.Context(), s.db.Pool, dagID, runID)
	if errors.Is(err, metadb.ErrNotFound) {
		return runNotFound(dagID, runID)
	}
	if err != nil {
		return err
	}
	s.audit(r, "delete_dag_run", metadb.Event{DagID: &dagID, RunID: &runID}, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type runClearBody struct {
	DryRun             *bool `json:"dry_run"`
	OnlyFailed         bool  `json:"only_failed"`
	RunOnLatestVersion bool  `json:"run_on_latest_version"`
}

// clearDagRun clears a run's task instances (only the failed ones with
// only_failed); dry_run, the default, lists what would be cleared.
func (s *Server) clearDagRun(w http.ResponseWriter, r *http.Request) error {
	var b runClearBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	dryRun := b.DryRun == nil || *b.DryRun
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	ctx := r.Context()
	if _, err := s.loadRun(ctx, dagID, runID); err != nil {
		return err
	}
	cleared, err := scheduler.Clear(ctx, s.db, scheduler.ClearRequest{DagID: dagID, RunID: runID, OnlyFailed: b.OnlyFailed, DryRun: dryRun})
	if err != nil {
		return err
	}
	if dryRun {
		keys := make([]metadb.TIKey, 0, len(cleared))
		for _, c := range cleared {
			keys = append(keys, metadb.TIKey{DagID: c.DagID, RunID: c.RunID, TaskID: c.TaskID, MapIndex: c.MapIndex})
		}
		out, err := s.tisByKey(ctx, keys)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	s.audit(r, "clear_dag_run", metadb.Event{DagID: &dagID, RunID: &runID}, b)
	return s.getDagRun(w, r)
}

// waitDagRun streams the run's state as NDJSON every interval seconds
// until it finishes, then its final state with the XCom results asked for
// (?result=task_id, repeatable).
func (s *Server) waitDagRun(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	raw := q.str("interval")
	interval, err := strconv.ParseFloat(raw, 64)
	if raw == "" {
		q.issues = append(q.issues, validationIssue{Loc: []any{"query", "interval"}, Msg: "Field required", Type: "missing"})
	} else if err != nil || interval <= 0 {
		q.bad("interval", "Input should be greater than 0", "greater_than", raw)
	}
	results := q.list("result")
	if err := q.err(); err != nil {
		return err
	}
	dagID, runID := r.PathValue("dag_id"), r.PathValue("dag_run_id")
	ctx := r.Context()
	run, err := s.loadRun(ctx, dagID, runID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	tick := time.NewTicker(time.Duration(interval * float64(time.Second)))
	defer tick.Stop()
	for {
		if tistate.RunFinished(run.State) {
			line := map[string]any{"state": run.State}
			if len(results) > 0 {
				res, err := s.xcomResults(ctx, dagID, runID, results)
				if err != nil {
					s.logger.Warn("wait: cannot read results", "err", err)
				} else {
					line["results"] = res
				}
			}
			_ = enc.Encode(line)
			return nil
		}
		if err := enc.Encode(map[string]any{"state": run.State}); err != nil {
			return nil // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if run, err = metadb.GetDagRun(ctx, s.db.Pool, dagID, runID); err != nil {
			if errors.Is(err, metadb.ErrNotFound) || errors.Is(err, context.Canceled) {
				return nil
			}
			s.logger.Warn("wait: cannot read the run", "err", err)
			return nil
		}
	}
}

// xcomResults returns each task's return_value XCom.
func (s *Server) xcomResults(ctx context.Context, dagID, runID string, tasks []string) (map[string]any, error) {
	out := map[string]any{}
	for _, t := range tasks {
		xs, err := metadb.ListXComs(ctx, s.db.Pool, dagID, runID, t)
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			if x.Key == "return_value" {
				out[t] = x.Value
			}
		}
	}
	return out, nil
}
