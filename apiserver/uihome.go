package apiserver

import (
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
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

// The dashboard's two queries, with Airflow's window: a run counts when it
// started at or after start_date (a run not started yet: now) and ended at
// or before end_date (not ended: now; no end_date: now). The task instances
// are those of the same runs.
const (
	dashboardRunCounts = `SELECT run_type, state, count(*) FROM dag_run
		WHERE coalesce(start_date, now()) >= $1 AND coalesce(end_date, now()) <= coalesce($2, now())
		GROUP BY run_type, state`
	dashboardTICounts = `SELECT coalesce(ti.state, 'no_status'), count(*) FROM task_instance ti
		JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id
		WHERE coalesce(r.start_date, now()) >= $1 AND coalesce(r.end_date, now()) <= coalesce($2, now())
		GROUP BY 1`
)

func zeroCounts(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

// getHistoricalMetrics answers the runs and task instances of a time
// range: start_date (required) to end_date (default now).
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
	rows, err := s.db.Pool.Query(ctx, dashboardRunCounts, *start, end)
	if err != nil {
		return fmt.Errorf("count runs by type and state: %w", err)
	}
	var runType, state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&runType, &state, &n}, func() error {
		out.DagRunTypes[runType] += n
		out.DagRunStates[state] += n
		return nil
	})
	if err != nil {
		return fmt.Errorf("count runs by type and state: %w", err)
	}
	rows, err = s.db.Pool.Query(ctx, dashboardTICounts, *start, end)
	if err != nil {
		return fmt.Errorf("count task instances by state: %w", err)
	}
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		out.TaskInstanceStates[state] += n
		return nil
	})
	if err != nil {
		return fmt.Errorf("count task instances by state: %w", err)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
