package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func TestDagRunsAndTaskInstances(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})

	// Trigger: conf checked against params (400), duplicate run id (409),
	// unknown DAG (404), a Viewer may not (403), bad body (422).
	var run dagRunResponse
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": "r1", "conf": map[string]any{"target": "us"},
		"logical_date": "2024-03-01T00:00:00Z", "note": "first"}).want(t, 200).decode(t, &run)
	if run.DagRunID != "r1" || run.State != "queued" || run.RunType != "manual" || run.Conf["target"] != "us" || *run.Note != "first" ||
		len(run.DagVersions) != 1 || *run.TriggeringUserName != "user" || *run.TriggeredBy != "rest_api" {
		t.Errorf("triggered run = %+v", run)
	}
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": "r1"}).want(t, 409)
	if r := e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"conf": map[string]any{"target": "mars"}}).want(t, 400); !strings.Contains(string(r.body), "target") {
		t.Errorf("bad param: %s", r.body)
	}
	e.call(auth.User, "POST", "/api/v2/dags/nope/dagRuns", map[string]any{}).want(t, 404)
	e.call(auth.Viewer, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{}).want(t, 403)
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", `{"conf": [1, 2]}`).want(t, 422)
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", `not json`).want(t, 422)
	// A null logical date (Airflow 3's manual run) is accepted.
	// A null logical date (Airflow 3's manual run) is accepted; the answer
	// is the run as stored (microseconds, as PostgreSQL keeps them).
	var posted, got map[string]any
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": "r2", "logical_date": nil}).want(t, 200).decode(t, &posted)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r2", nil).want(t, 200).decode(t, &got)
	for _, k := range []string{"logical_date", "queued_at", "data_interval_start", "data_interval_end", "run_after"} {
		if posted[k] != got[k] {
			t.Errorf("%s: trigger answered %v, the stored run has %v", k, posted[k], got[k])
		}
	}

	// Listing: per DAG, across DAGs with ~, the batch form, filters.
	var runs dagRunCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?order_by=-run_after", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 2 || runs.DagRuns[0].DagRunID != "r2" {
		t.Errorf("runs = %+v", runs)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/~/dagRuns?run_id_pattern=r1", nil).want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 1 {
		t.Errorf("~ with pattern: %+v", runs)
	}
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/list", map[string]any{"dag_ids": []string{"etl"}, "states": []string{"queued"}, "page_limit": 1}).
		want(t, 200).decode(t, &runs)
	if runs.TotalEntries != 2 || len(runs.DagRuns) != 1 {
		t.Errorf("batch: %+v", runs)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns?state=bogus", nil).want(t, 422)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/nope", nil).want(t, 404)

	// Task instances of a run.
	var tis tiCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances", nil).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 2 || tis.TaskInstances[0].State != nil || tis.TaskInstances[0].MaxTries != 2 || *tis.TaskInstances[0].Queue != "default" {
		t.Errorf("tis = %+v", tis)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances?task_id_pattern=extr%25", nil).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 2 {
		t.Errorf("~/~ extract: %d", tis.TotalEntries)
	}
	e.call(auth.Viewer, "POST", "/api/v2/dags/~/dagRuns/~/taskInstances/list", map[string]any{"dag_run_ids": []string{"r1"}, "task_ids": []string{"load"}}).
		want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 1 || tis.TaskInstances[0].TaskID != "load" {
		t.Errorf("batch tis = %+v", tis)
	}
	var ti tiResponse
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract", nil).want(t, 200).decode(t, &ti)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/-1", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/nope", nil).want(t, 404)
	var deps struct {
		Dependencies []taskDependency `json:"dependencies"`
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/load/dependencies", nil).want(t, 200).decode(t, &deps)
	if !strings.Contains(string(mustJSON(t, deps)), "Trigger Rule") || !strings.Contains(string(mustJSON(t, deps)), "Dagrun Running") {
		t.Errorf("dependencies of load = %+v", deps)
	}

	// Mark: dry run first, then for real, with a note; audited.
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/dry_run",
		map[string]any{"new_state": "success", "include_downstream": true}).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 2 {
		t.Errorf("dry run of mark with downstream: %+v", tis)
	}
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract", map[string]any{"new_state": "success"}).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 1 || *tis.TaskInstances[0].State != "success" {
		t.Errorf("mark success: %+v", tis)
	}
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract?update_mask=note", map[string]any{"note": "checked"}).want(t, 200)
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract", map[string]any{"new_state": "running"}).want(t, 422)
	e.call(auth.Viewer, "PATCH", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract", map[string]any{"new_state": "failed"}).want(t, 403)
	var tries struct {
		TaskInstances []tiHistory `json:"task_instances"`
		TotalEntries  int         `json:"total_entries"`
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/tries", nil).want(t, 200).decode(t, &tries)

	// A try a worker finished is recorded as it ended; one with no record
	// is listed by number as failed, with no dates.
	e.exec(`UPDATE task_instance SET try_number = 3, state = 'running', hostname = 'w2', start_date = now()
		WHERE dag_id = 'etl' AND run_id = 'r1' AND task_id = 'extract'`)
	e.exec(`INSERT INTO task_instance_history (dag_id, run_id, task_id, map_index, try_number, state, hostname, start_date, end_date, duration)
		VALUES ('etl', 'r1', 'extract', -1, 2, 'failed', 'w1', now() - interval '2 minutes', now() - interval '1 minute', 60)`)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/tries", nil).want(t, 200).decode(t, &tries)
	if len(tries.TaskInstances) != 3 {
		t.Fatalf("tries: %+v", tries)
	}
	if t1, t2, t3 := tries.TaskInstances[0], tries.TaskInstances[1], tries.TaskInstances[2]; *t1.State != "failed" || t1.StartDate != nil ||
		*t2.State != "failed" || *t2.Hostname != "w1" || t2.StartDate == nil || *t2.Duration != 60 || *t3.State != "running" || *t3.Hostname != "w2" {
		t.Errorf("tries: %+v %+v %+v", t1, t2, t3)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/tries/2", nil).want(t, 200)
	e.exec(`UPDATE task_instance SET state = 'success' WHERE dag_id = 'etl' AND run_id = 'r1' AND task_id = 'extract'`)

	// Clear: the dry run lists, the real one resets.
	e.call(auth.User, "POST", "/api/v2/dags/etl/clearTaskInstances", map[string]any{"dag_run_id": "r1", "only_failed": false}).want(t, 200).decode(t, &tis)
	if tis.TotalEntries != 1 || tis.TaskInstances[0].TaskID != "extract" {
		t.Errorf("clear dry run = %+v", tis)
	}
	e.call(auth.User, "POST", "/api/v2/dags/etl/clearTaskInstances", map[string]any{"dag_run_id": "r1", "only_failed": false, "dry_run": false}).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract", nil).want(t, 200).decode(t, &ti)
	if ti.State != nil || *ti.Note != "checked" {
		t.Errorf("after clear: state %v note %v", ti.State, ti.Note)
	}
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns/r1/clear", map[string]any{}).want(t, 200)

	// Run state and note; the stream that waits for the run.
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1", map[string]any{"state": "failed", "note": "given up"}).want(t, 200).decode(t, &run)
	if run.State != "failed" || *run.Note != "given up" {
		t.Errorf("patched run = %+v", run)
	}
	e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r1", map[string]any{"state": "running"}).want(t, 422)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/load", nil).want(t, 200).decode(t, &ti)
	if ti.State == nil || *ti.State != "skipped" {
		t.Errorf("load after the run was marked failed: %v, want skipped", ti.State)
	}
	r := e.raw("GET", "/api/v2/dags/etl/dagRuns/r1/wait?interval=0.1", "", "", e.tokens[auth.Viewer])
	if r.status != 200 || !strings.Contains(string(r.body), `"state":"failed"`) || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("wait on a finished run: %d %s", r.status, r.body)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		e.call(auth.User, "PATCH", "/api/v2/dags/etl/dagRuns/r2", map[string]any{"state": "success"})
	}()
	r = e.raw("GET", "/api/v2/dags/etl/dagRuns/r2/wait?interval=0.05", "", "", e.tokens[auth.Viewer])
	lines := 0
	last := map[string]any{}
	for sc := bufio.NewScanner(bytes.NewReader(r.body)); sc.Scan(); lines++ {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("wait line %q: %v", sc.Text(), err)
		}
	}
	if lines < 2 || last["state"] != "success" {
		t.Errorf("wait streamed %d lines ending %v", lines, last)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r2/wait", nil).want(t, 422)

	// Delete a run, then it is gone; every write above is in the audit log.
	e.call(auth.User, "DELETE", "/api/v2/dags/etl/dagRuns/r2", nil).want(t, http.StatusNoContent)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r2", nil).want(t, 404)
	evs, _, err := metadb.ListEvents(context.Background(), e.db.Pool, metadb.EventFilter{DagID: "etl"}, metadb.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Event] = true
	}
	for _, want := range []string{"trigger_dag_run", "patch_task_instance", "post_clear_task_instances", "patch_dag_run", "delete_dag_run"} {
		if !seen[want] {
			t.Errorf("no %s event in the audit log (%v)", want, seen)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
