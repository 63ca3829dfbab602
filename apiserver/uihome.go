package apiserver

import (
	"net/http"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// The Home page's private endpoint, as Airflow 3's /ui/dashboard.
func (s *Server) routesUIHome(r *router) {
	r.handle("GET /ui/dashboard/historical_metrics_data", auth.Viewer, s.getHistoricalMetrics)
}

// historicalMetrics is Airflow's HistoricalMetricDataResponse: runs by
// type and by state, and their task instances by state ("no_status" for
// none), every known key present.
type historicalMetrics struct {
	DagRunTypes        map[string]int `json:"dag_run_types"`
	DagRunStates       map[string]int `json:"dag_run_states"`
	TaskInstanceStates map[string]int `json:"task_instance_states"`
}

// The keys Airflow always answers (its DagRunType, DagRunState and
// TaskInstanceState values).
var (
	dashboardRunTypes  = []string{"backfill", "scheduled", "manual", "asset_triggered", "asset_materialization"}
	dashboardRunStates = []string{"queued", "running", "success", "failed"}
	dashboardTIStates  = []string{"no_status", "removed", "scheduled", "queued", "running", "success", "restarting",
		"failed", "up_for_retry", "up_for_reschedule", "upstream_failed", "skipped", "deferred"}
)

func zeroCounts(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

// getHistoricalMetrics answers the runs and task instances of a time
// range: start_date (required) to end_date (default now), in Airflow's
// window (see metadb.CountRunsByTypeAndState).
func (s *Server) getHistoricalMetrics(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	start := q.optTime("start_date")
	end := q.optTime("end_date")
	if q.str("start_date") == "" {
		q.issues = append(q.issues, validationIssue{Loc: []any{"query", "start_date"}, Msg: "Field required", Type: "missing"})
	}
	if err := q.err(); err != nil {
		return err
	}
	out := historicalMetrics{DagRunTypes: zeroCounts(dashboardRunTypes), DagRunStates: zeroCounts(dashboardRunStates),
		TaskInstanceStates: zeroCounts(dashboardTIStates)}
	ctx := r.Context()
	runs, err := metadb.CountRunsByTypeAndState(ctx, s.db.Pool, *start, end)
	if err != nil {
		return err
	}
	for _, c := range runs {
		out.DagRunTypes[c.RunType] += c.N
		out.DagRunStates[c.State] += c.N
	}
	tis, err := metadb.CountTIsByState(ctx, s.db.Pool, *start, end)
	if err != nil {
		return err
	}
	for state, n := range tis {
		out.TaskInstanceStates[state] += n
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
