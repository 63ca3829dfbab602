package apiserver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
)

func TestBounds(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	if got := lower(&t0, &t1); !got.Equal(t1.Add(time.Microsecond)) {
		t.Errorf("lower(gte t0, gt t1) = %v, want t1+1µs", got)
	}
	if got := lower(&t1, &t0); !got.Equal(t1) {
		t.Errorf("lower(gte t1, gt t0) = %v, want t1", got)
	}
	if got := upper(nil, &t1); !got.Equal(t1.Add(-time.Microsecond)) {
		t.Errorf("upper(lt t1) = %v", got)
	}
	if lower(nil, nil) != nil || upper(nil, nil) != nil {
		t.Error("no bounds should give none")
	}
	two := 2.0
	if got := lowerF(nil, &two); *got <= 2 || *got > 2.0000001 {
		t.Errorf("lowerF(gt 2) = %v", *got)
	}
}

// TestRangeFiltersAreAppliedOrRefused: strict bounds filter exactly, every
// filter of the spec gust can apply selects the right rows, and one it
// cannot (task groups, partitions) is a 422 rather than a silently wrong page.
func TestRangeFiltersAreAppliedOrRefused(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})
	for i, d := range []string{"2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"} {
		e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": itoa(int64(i)), "logical_date": d,
			"conf": map[string]any{"target": []string{"eu", "us"}[i]}}).want(t, 200)
	}
	// Run 0 ran for 90 s; its extract task is on its second try in pool p1.
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `UPDATE dag_run SET state = 'success', start_date = '2024-03-01T01:00:00Z',
		end_date = '2024-03-01T01:01:30Z' WHERE run_id = '0'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE task_instance SET try_number = 2, pool = 'p1', duration = 4.5
		WHERE run_id = '0' AND task_id = 'extract'`); err != nil {
		t.Fatal(err)
	}
	runIDs := func(path string, body any) []string {
		t.Helper()
		return listed(t, e, path, body, func(c dagRunCollection) ([]string, int) {
			var ids []string
			for _, r := range c.DagRuns {
				ids = append(ids, r.DagRunID)
			}
			return ids, c.TotalEntries
		})
	}
	for _, tc := range []struct {
		path string
		body any
		want []string
	}{
		{"/api/v2/dags/etl/dagRuns?logical_date_gt=2024-03-01T00:00:00Z", nil, []string{"1"}},
		{"/api/v2/dags/~/dagRuns/list", map[string]any{"logical_date_lt": "2024-03-02T00:00:00Z"}, []string{"0"}},
		{"/api/v2/dags/etl/dagRuns?conf_contains=us", nil, []string{"1"}},
		{"/api/v2/dags/~/dagRuns/list", map[string]any{"conf_contains": "eu"}, []string{"0"}},
		{"/api/v2/dags/etl/dagRuns?duration_gte=90", nil, []string{"0"}},
		{"/api/v2/dags/etl/dagRuns?duration_gt=90", nil, nil},
		{"/api/v2/dags/~/dagRuns/list", map[string]any{"duration_lte": 100}, []string{"0"}},
		{"/api/v2/dags/etl/dagRuns?updated_at_lte=2024-03-01T01:01:30Z", nil, []string{"0"}},
		{"/api/v2/dags/etl/dagRuns?triggering_user_name_pattern=us%25", nil, []string{"0", "1"}},
		{"/api/v2/dags/etl/dagRuns?triggering_user_name_pattern=admin", nil, nil},
		{"/api/v2/dags/etl/dagRuns?dag_version=1", nil, []string{"0", "1"}},
		{"/api/v2/dags/etl/dagRuns?dag_version=2", nil, nil},
		{"/api/v2/dags/etl/dagRuns?bundle_version=abc", nil, nil},
		{"/api/v2/dags/etl/dagRuns?partition_key_pattern=%25", nil, nil},
	} {
		if got := runIDs(tc.path, tc.body); !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: runs %v, want %v", tc.path, tc.body, got, tc.want)
		}
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?dag_version=one", nil).want(t, 422)
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/~/taskInstances/list", map[string]any{"page_limit": -1}).want(t, 422)
	// No task groups yet: a named group is Airflow's 404, and across DAGs a group means nothing.
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/0/taskInstances?task_group_id=g", nil).want(t, 404)
	e.call(auth.Viewer, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?task_group_id=g", nil).want(t, 400)

	tiKeys := func(path string, body any) []string {
		t.Helper()
		return listed(t, e, path, body, func(c tiCollection) ([]string, int) {
			var keys []string
			for _, ti := range c.TaskInstances {
				keys = append(keys, ti.DagRunID+"/"+ti.TaskID)
			}
			return keys, c.TotalEntries
		})
	}
	all := "/api/v2/dags/~/dagRuns/~/taskInstances"
	for _, tc := range []struct {
		path string
		body any
		want []string
	}{
		{"/api/v2/dags/etl/dagRuns/0/taskInstances?task_display_name_pattern=extr", nil, []string{"0/extract"}},
		{"/api/v2/dags/etl/dagRuns/0/taskInstances?duration_gt=0", nil, []string{"0/extract"}},
		{"/api/v2/dags/etl/dagRuns/0/taskInstances?duration_gt=4.5", nil, nil},
		{all + "?try_number=2", nil, []string{"0/extract"}},
		{all + "?try_number=0&try_number=2", nil, []string{"0/extract", "0/load", "1/extract", "1/load"}},
		{all + "?operator=EmptyOperator", nil, []string{"0/load", "1/load"}},
		{all + "?operator=bash&run_id_pattern=1", nil, []string{"1/extract"}},
		{all + "?operator=PythonOperator", nil, nil},
		{all + "?operator_name_pattern=bash%25", nil, []string{"0/extract", "1/extract"}},
		{all + "?pool_name_pattern=P1", nil, []string{"0/extract"}},
		{all + "?pool_name_pattern=x%20|%20defa_lt", nil, []string{"0/load", "1/extract", "1/load"}},
		{all + "?queue_name_pattern=def", nil, []string{"0/extract", "0/load", "1/extract", "1/load"}},
		{all + "?dag_id_pattern=nothing%20|%20et", nil, []string{"0/extract", "0/load", "1/extract", "1/load"}},
		{all + "?run_after_lte=2024-03-02T00:00:00Z&dag_id_pattern=etl", nil, nil}, // manual runs are due when queued (now)
		{all + "?run_after_lte=2100-01-01T00:00:00Z&task_id=load", nil, []string{"0/load", "1/load"}},
		{all + "?updated_at_gte=2100-01-01T00:00:00Z", nil, nil},
		{all + "?version_number=1&task_id=load", nil, []string{"0/load", "1/load"}},
		{all + "?version_number=7", nil, nil},
		{all + "?executor=LocalExecutor", nil, nil},
		{all + "/list", map[string]any{"executor": []string{"CeleryExecutor"}, "pool": []string{"p1"}}, []string{"0/extract"}},
		{all + "/list", map[string]any{"executor": []string{"KubernetesExecutor"}}, nil},
		{all + "/list", map[string]any{"run_after_lte": "2000-01-01T00:00:00Z"}, nil},
	} {
		if got := tiKeys(tc.path, tc.body); !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: task instances %v, want %v", tc.path, tc.body, got, tc.want)
		}
	}
	e.call(auth.Viewer, "GET", all+"?try_number=x", nil).want(t, 422)
}

// listed calls a listing as a Viewer (GET, or POST of body for the .../list
// forms) and returns its rows' keys, checking total_entries against them.
func listed[C any](t *testing.T, e *env, path string, body any, keys func(C) ([]string, int)) []string {
	t.Helper()
	method := "GET"
	if body != nil {
		method = "POST"
	}
	var c C
	e.call(auth.Viewer, method, path, body).want(t, 200).decode(t, &c)
	got, total := keys(c)
	if total != len(got) {
		t.Errorf("%s: total_entries %d for %v", path, total, got)
	}
	return got
}
