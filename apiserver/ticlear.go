package apiserver

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

type clearTIsBody struct {
	DryRun             *bool      `json:"dry_run"`
	StartDate          *time.Time `json:"start_date"`
	EndDate            *time.Time `json:"end_date"`
	OnlyFailed         *bool      `json:"only_failed"`
	OnlyRunning        bool       `json:"only_running"`
	ResetDagRuns       bool       `json:"reset_dag_runs"`
	TaskIDs            []any      `json:"task_ids"`
	DagRunID           *string    `json:"dag_run_id"`
	IncludeUpstream    bool       `json:"include_upstream"`
	IncludeDownstream  bool       `json:"include_downstream"`
	IncludeFuture      bool       `json:"include_future"`
	IncludePast        bool       `json:"include_past"`
	RunOnLatestVersion bool       `json:"run_on_latest_version"`
	PreventRunningTask bool       `json:"prevent_running_task"`
}

// postClearTaskInstances clears task instances of a DAG as Airflow's
// clearTaskInstances: by run or date range, task ids, failed or running
// only, with up/downstream tasks; dry_run (the default) only lists them.
func (s *Server) postClearTaskInstances(w http.ResponseWriter, r *http.Request) error {
	var b clearTIsBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	dagID := r.PathValue("dag_id")
	ctx := r.Context()
	if err := s.checkDag(ctx, dagID); err != nil {
		return err
	}
	dry := b.DryRun == nil || *b.DryRun
	req := scheduler.ClearRequest{DagID: dagID, Start: b.StartDate, End: b.EndDate, OnlyFailed: b.OnlyFailed == nil || *b.OnlyFailed,
		OnlyRunning: b.OnlyRunning, Upstream: b.IncludeUpstream, Downstream: b.IncludeDownstream, DryRun: dry}
	if b.DagRunID != nil {
		if _, err := s.loadRun(ctx, dagID, *b.DagRunID); err != nil {
			return err
		}
		req.RunID = *b.DagRunID
	}
	if len(b.TaskIDs) > 0 {
		var alts []string
		for _, t := range b.TaskIDs {
			switch v := t.(type) {
			case string:
				alts = append(alts, regexpQuote(v))
			case []any:
				// [task_id, map_index]: that instance of a mapped task.
				if len(v) == 2 {
					id, ok := v[0].(string)
					idx, isNum := v[1].(float64)
					if !ok || !isNum || idx != float64(int(idx)) {
						return errorf(http.StatusUnprocessableEntity, "task_ids: %v is not [task_id, map_index]", v)
					}
					alts = append(alts, regexpQuote(id))
					if req.MapIndexes == nil {
						req.MapIndexes = map[string][]int{}
					}
					req.MapIndexes[id] = append(req.MapIndexes[id], int(idx))
				} else {
					return errorf(http.StatusUnprocessableEntity, "task_ids: %v is not [task_id, map_index]", v)
				}
			}
		}
		req.TaskRegex = "^(" + joinAlts(alts) + ")$"
	}
	if b.PreventRunningTask && !dry {
		running, err := scheduler.Clear(ctx, s.db, scheduler.ClearRequest{DagID: dagID, RunID: req.RunID, Start: req.Start, End: req.End,
			TaskRegex: req.TaskRegex, OnlyRunning: true, Upstream: req.Upstream, Downstream: req.Downstream, DryRun: true, MapIndexes: req.MapIndexes})
		if err != nil {
			return err
		}
		if len(running) > 0 {
			return errorf(http.StatusBadRequest, "Currently running task instances can not be cleared: prevent_running_task is set")
		}
	}
	cleared, err := scheduler.Clear(ctx, s.db, req)
	if errors.Is(err, scheduler.ErrInvalidTrigger) {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	if !dry {
		s.audit(r, "post_clear_task_instances", metadb.Event{DagID: &dagID, RunID: b.DagRunID}, b)
	}
	out := tiCollection{TaskInstances: []tiResponse{}}
	byRun := map[string][]metadb.TIKey{}
	var runs []string
	for _, c := range cleared {
		if byRun[c.RunID] == nil {
			runs = append(runs, c.RunID)
		}
		byRun[c.RunID] = append(byRun[c.RunID], metadb.TIKey{DagID: c.DagID, RunID: c.RunID, TaskID: c.TaskID, MapIndex: c.MapIndex})
	}
	for _, run := range runs {
		part, err := s.tisByKey(ctx, byRun[run])
		if err != nil {
			return err
		}
		out.TaskInstances = append(out.TaskInstances, part.TaskInstances...)
	}
	out.TotalEntries = len(out.TaskInstances)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

func joinAlts(alts []string) string { return strings.Join(alts, "|") }
