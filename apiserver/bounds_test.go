package apiserver

import (
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

// TestRangeFiltersAreAppliedOrRefused: strict bounds filter exactly, and a
// filter gust cannot apply is a 422 rather than a silently wrong page.
func TestRangeFiltersAreAppliedOrRefused(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})
	for i, d := range []string{"2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"} {
		e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": itoa(int64(i)), "logical_date": d}).want(t, 200)
	}
	var runs dagRunCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?logical_date_gt=2024-03-01T00:00:00Z", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 1 || runs.DagRuns[0].DagRunID != "1" {
		t.Errorf("logical_date_gt: %+v", runs)
	}
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/list", map[string]any{"logical_date_lt": "2024-03-02T00:00:00Z"}).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 1 || runs.DagRuns[0].DagRunID != "0" {
		t.Errorf("batch logical_date_lt: %+v", runs)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?conf_contains=x", nil).want(t, 422)
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/list", map[string]any{"duration_gte": 1}).want(t, 422)
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/~/taskInstances/list", map[string]any{"page_limit": -1}).want(t, 422)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/0/taskInstances?try_number=1", nil).want(t, 422)
	var tis tiCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/0/taskInstances?task_display_name_pattern=extr", nil).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 1 {
		t.Errorf("task_display_name_pattern: %+v", tis)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/0/taskInstances?duration_gt=0", nil).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 0 {
		t.Errorf("duration_gt=0 on tries that never ran: %+v", tis)
	}
}
