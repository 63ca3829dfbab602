package apiserver

import (
	"strconv"
	"testing"

	"github.com/gust-sched/gust/auth"
)

func TestBackfills(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})
	body := map[string]any{"dag_id": "etl", "from_date": "2024-01-01T00:00:00Z", "to_date": "2024-01-03T00:00:00Z",
		"dag_run_conf": map[string]any{"target": "us"}, "max_active_runs": 2}

	var dry struct {
		Backfills []dryRunBackfill `json:"backfills"`
		Total     int              `json:"total_entries"`
	}
	e.call(auth.User, "POST", "/api/v2/backfills/dry_run", body).want(t, 200).decode(t, &dry)
	if dry.Total != 3 || dry.Backfills[0].LogicalDate.Format("2006-01-02") != "2024-01-01" {
		t.Fatalf("dry run = %+v", dry)
	}
	var runs dagRunCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 0 {
		t.Fatalf("the dry run created runs: %+v", runs)
	}

	var b backfillResponse
	e.call(auth.Viewer, "POST", "/api/v2/backfills", body).want(t, 403)
	e.call(auth.User, "POST", "/api/v2/backfills", body).want(t, 200).decode(t, &b)
	if b.DagID != "etl" || b.MaxActiveRuns != 2 || b.IsPaused || b.CompletedAt != nil || b.ReprocessBehavior != "none" {
		t.Errorf("backfill = %+v", b)
	}
	e.call(auth.User, "POST", "/api/v2/backfills", body).want(t, 409)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?run_type=backfill", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 3 || runs.DagRuns[0].Conf["target"] != "us" || *runs.DagRuns[0].TriggeredBy != "backfill" {
		t.Errorf("backfill runs = %+v", runs)
	}
	id := itoa(b.ID)
	e.call(auth.User, "PUT", "/api/v2/backfills/"+id+"/pause", nil).want(t, 200).decode(t, &b)
	if !b.IsPaused {
		t.Error("pause did not pause")
	}
	e.call(auth.User, "PUT", "/api/v2/backfills/"+id+"/unpause", nil).want(t, 200).decode(t, &b)
	var list struct {
		Backfills []backfillResponse `json:"backfills"`
		Total     int                `json:"total_entries"`
	}
	e.call(auth.Viewer, "GET", "/api/v2/backfills?dag_id=etl", nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Backfills[0].IsPaused {
		t.Errorf("list = %+v", list)
	}
	e.call(auth.User, "PUT", "/api/v2/backfills/"+id+"/cancel", nil).want(t, 200).decode(t, &b)
	if b.CompletedAt == nil || !b.IsPaused {
		t.Errorf("cancelled = %+v", b)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?run_type=backfill&state=failed", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 3 {
		t.Errorf("queued runs of a cancelled backfill: %d failed, want 3", runs.TotalEntries)
	}
	e.call(auth.User, "PUT", "/api/v2/backfills/"+id+"/cancel", nil).want(t, 409)
	e.call(auth.Viewer, "GET", "/api/v2/backfills/9999", nil).want(t, 404)

	// Reprocessing failed runs makes a new backfill of the same dates.
	body["reprocess_behavior"] = "failed"
	e.call(auth.User, "POST", "/api/v2/backfills/dry_run", body).want(t, 200).decode(t, &dry)
	if dry.Total != 3 {
		t.Errorf("dry run reprocessing failed runs = %+v", dry)
	}
	body["reprocess_behavior"] = "sometimes"
	e.call(auth.User, "POST", "/api/v2/backfills", body).want(t, 422)
	e.call(auth.User, "POST", "/api/v2/backfills", map[string]any{"dag_id": "manual_only", "from_date": "2024-01-01T00:00:00Z",
		"to_date": "2024-01-02T00:00:00Z"}).want(t, 400)
	e.call(auth.User, "POST", "/api/v2/backfills", map[string]any{"dag_id": "nope", "from_date": "2024-01-01T00:00:00Z",
		"to_date": "2024-01-02T00:00:00Z"}).want(t, 404)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
