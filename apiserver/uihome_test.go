package apiserver

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
)

func TestHistoricalMetrics(t *testing.T) {
	e := setup(t)
	e.exec(`INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data) VALUES ('h', 'etl', '/d/etl.yaml', '{}')`)
	e.exec(`INSERT INTO dag (dag_id, fileloc, dag_hash) VALUES ('etl', '/d/etl.yaml', 'h')`)
	// run (start, end in hours ago; nil: none), state, type, and its TIs.
	run := func(id string, start, end *int, state, runType string, tis ...any) {
		t.Helper()
		ago := func(h *int) *time.Time {
			if h == nil {
				return nil
			}
			v := time.Now().Add(-time.Duration(*h) * time.Hour)
			return &v
		}
		e.exec(`INSERT INTO dag_run (dag_id, run_id, logical_date, state, run_type, dag_hash, start_date, end_date)
			VALUES ('etl', $1, now() - random() * interval '1000 days', $2, $3, 'h', $4, $5)`, id, state, runType, ago(start), ago(end))
		for i, s := range tis {
			e.exec(`INSERT INTO task_instance (dag_id, run_id, task_id, state, operator, pool, queue)
				VALUES ('etl', $1, $2, $3, 'bash', 'default_pool', 'default')`, id, "t"+string(rune('a'+i)), s)
		}
	}
	h := func(v int) *int { return &v }
	run("old", h(50), h(49), "success", "scheduled", "success")         // before a 24 h window
	run("done", h(5), h(4), "failed", "scheduled", "success", "failed") // inside
	run("going", h(2), nil, "running", "manual", "running", nil, "up_for_retry")
	run("waiting", nil, nil, "queued", "backfill", nil)
	run("recent", h(30), h(1), "success", "manual", "skipped") // started before the window

	get := func(query string) historicalMetrics {
		t.Helper()
		r := e.raw("GET", "/ui/dashboard/historical_metrics_data?"+query, "", "", e.tokens[auth.Viewer]).want(t, 200)
		var raw map[string]json.RawMessage
		r.decode(t, &raw)
		if len(raw) != 3 || raw["dag_run_types"] == nil || raw["dag_run_states"] == nil || raw["task_instance_states"] == nil {
			t.Fatalf("shape %s", r.body)
		}
		var m historicalMetrics
		r.decode(t, &m)
		return m
	}
	start := url.QueryEscape(time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339))
	m := get("start_date=" + start)
	if want := map[string]int{"backfill": 1, "scheduled": 1, "manual": 1, "asset_triggered": 0, "asset_materialization": 0}; !reflect.DeepEqual(m.DagRunTypes, want) {
		t.Errorf("run types %v, want %v", m.DagRunTypes, want)
	}
	if want := map[string]int{"queued": 1, "running": 1, "success": 0, "failed": 1}; !reflect.DeepEqual(m.DagRunStates, want) {
		t.Errorf("run states %v, want %v", m.DagRunStates, want)
	}
	wantTI := map[string]int{"no_status": 2, "removed": 0, "scheduled": 0, "queued": 0, "running": 1, "success": 1,
		"restarting": 0, "failed": 1, "up_for_retry": 1, "up_for_reschedule": 0, "upstream_failed": 0, "skipped": 0, "deferred": 0}
	if !reflect.DeepEqual(m.TaskInstanceStates, wantTI) {
		t.Errorf("task instance states %v, want %v", m.TaskInstanceStates, wantTI)
	}
	// A week with an end 3 hours ago: the runs ended by then.
	week := url.QueryEscape(time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339))
	end := url.QueryEscape(time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339))
	m = get("start_date=" + week + "&end_date=" + end)
	if want := map[string]int{"queued": 0, "running": 0, "success": 1, "failed": 1}; !reflect.DeepEqual(m.DagRunStates, want) {
		t.Errorf("a week to 3 h ago: run states %v, want %v", m.DagRunStates, want)
	}

	for _, q := range []string{"", "start_date=yesterday"} {
		if r := e.raw("GET", "/ui/dashboard/historical_metrics_data?"+q, "", "", e.tokens[auth.Viewer]); r.status != 422 {
			t.Errorf("?%s: %d %s, want 422", q, r.status, r.body)
		}
	}
	if r := e.raw("GET", "/ui/dashboard/historical_metrics_data?start_date="+start, "", "", ""); r.status != 401 {
		t.Errorf("without a session: %d, want 401", r.status)
	}
}
