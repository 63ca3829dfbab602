package apiserver

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/metadb"
)

// addDags writes DAG files into a folder and parses them into the env's
// database, as the DAG processor does.
func (e *env) addDags(files map[string]string) {
	e.t.Helper()
	folder := e.t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(folder, name), []byte(src), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	p := dagprocessor.New(dagprocessor.Options{DagsFolder: folder, MinFileProcessInterval: time.Hour, DagDirListInterval: time.Hour,
		ParsingProcesses: 1, MaxActiveRunsPerDag: 16, MaxActiveTasksPerDag: 16}, e.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := p.ProcessAll(context.Background(), true); err != nil {
		e.t.Fatal(err)
	}
}

const exampleDags = `
default:
  default_args: {owner: data, start_date: 2024-01-01, retries: 2, retry_delay_sec: 30}
etl:
  description: Extract, transform, load.
  schedule: "@daily"
  catchup: false
  tags: [example, etl]
  params: {target: {type: string, default: eu, enum: [eu, us], description: Where to load}}
  tasks:
    extract: {operator: bash, bash_command: 'echo {{ params.target }}'}
    load: {operator: empty, dependencies: [extract], max_active_tis_per_dag: 2}
manual_only:
  tags: [example]
  tasks:
    only: {operator: bash, bash_command: 'true', pool: default_pool}
`

func TestDags(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags, "broken.yaml": "bad: {tasks: {a: {operator: nope}}}\n"})

	var list dagCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 2 || len(list.Dags) != 2 || list.Dags[0].DagID != "etl" {
		t.Fatalf("dags = %+v", list)
	}
	etl := list.Dags[0]
	if !etl.HasTaskConcurrencyLimits || list.Dags[1].HasTaskConcurrencyLimits {
		t.Errorf("has_task_concurrency_limits: etl %v, manual_only %v", etl.HasTaskConcurrencyLimits, list.Dags[1].HasTaskConcurrencyLimits)
	}
	if *etl.TimetableSummary != "0 0 * * *" || *etl.TimetableDescription != "At 00:00" || len(etl.Owners) != 1 || etl.Owners[0] != "data" ||
		len(etl.Tags) != 2 || (etl.NextDagrunLogicalDate == nil) != (etl.NextDagrunRunAfter == nil) {
		t.Errorf("etl = %+v", etl)
	}
	// Filters, patterns, pagination and ordering.
	e.call(auth.Viewer, "GET", "/api/v2/dags?tags=etl", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 1 || list.Dags[0].DagID != "etl" {
		t.Errorf("tags=etl: %+v", list)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags?dag_id_pattern=man%25&limit=1", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 1 || list.Dags[0].DagID != "manual_only" {
		t.Errorf("pattern: %+v", list)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags?order_by=-dag_id&limit=1&offset=0", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 2 || len(list.Dags) != 1 || list.Dags[0].DagID != "manual_only" {
		t.Errorf("order_by=-dag_id limit 1: %+v", list)
	}
	// Airflow answers a bad order_by with a 400 that the spec does not list
	// for this path: not spec-validated.
	if r := e.raw("GET", "/api/v2/dags?order_by=nope", "", "", e.tokens[auth.Viewer]); r.status != 400 ||
		!strings.Contains(string(r.body), "Ordering with 'nope' is disallowed") {
		t.Errorf("order_by=nope: %d %s", r.status, r.body)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags?limit=x", nil).want(t, 422)
	e.call(auth.Viewer, "GET", "/api/v2/dags/nope", nil).want(t, 404)

	// Pause one (a Viewer may not), then bulk.
	e.call(auth.Viewer, "PATCH", "/api/v2/dags/etl", map[string]any{"is_paused": true}).want(t, 403)
	var d dagResponse
	e.call(auth.User, "PATCH", "/api/v2/dags/etl", map[string]any{"is_paused": true}).want(t, 200).decode(t, &d)
	if !d.IsPaused {
		t.Error("PATCH is_paused did not pause")
	}
	e.call(auth.User, "PATCH", "/api/v2/dags/etl", `{"is_paused": `).want(t, 422)
	e.call(auth.User, "PATCH", "/api/v2/dags/etl", map[string]any{"is_paused": true, "bogus": 1}).want(t, 422)
	e.call(auth.User, "PATCH", "/api/v2/dags?dag_id_pattern=%25", map[string]any{"is_paused": false}).want(t, 200).decode(t, &list)
	e.call(auth.Viewer, "GET", "/api/v2/dags?paused=true", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 0 {
		t.Errorf("after bulk unpause, paused DAGs = %+v", list)
	}

	// The last run's state: a filter and an order.
	e.seedRun("etl", "old", "")
	e.seedRun("etl", "new", "")
	e.exec(`UPDATE dag_run SET state = 'success', queued_at = now() - interval '1 hour' WHERE dag_id = 'etl' AND run_id = 'old'`)
	e.exec(`UPDATE dag_run SET state = 'failed', queued_at = now() WHERE dag_id = 'etl' AND run_id = 'new'`)
	e.call(auth.Viewer, "GET", "/api/v2/dags?last_dag_run_state=failed", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 1 || list.Dags[0].DagID != "etl" {
		t.Errorf("last_dag_run_state=failed: %+v", list)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags?last_dag_run_state=success", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 0 {
		t.Errorf("last_dag_run_state=success (etl's latest run failed): %+v", list)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags?order_by=-last_run_start_date&order_by=last_run_state", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags?last_dag_run_state=bogus", nil).want(t, 422)

	// Details, tasks, versions, tags, stats.
	var det dagDetailsResponse
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/details", nil).want(t, 200).decode(t, &det)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/details", nil).want(t, 200).decode(t, &det) // twice: the cached DAG is not changed by the first
	if p, _ := det.Params["target"].(map[string]any); p == nil || p["description"] != "Where to load" {
		t.Errorf("details' params on a second read: %v", det.Params)
	}
	if det.Catchup || det.LatestDagVersion == nil || det.LatestDagVersion.VersionNumber != 1 || det.Params["target"] == nil || *det.Timezone != "UTC" {
		t.Errorf("details = %+v", det)
	}
	var tasks taskCollection
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/tasks", nil).want(t, 200).decode(t, &tasks)
	if tasks.TotalEntries != 2 || *tasks.Tasks[0].TaskID != "extract" || tasks.Tasks[0].DownstreamTaskIDs[0] != "load" ||
		*tasks.Tasks[0].Retries != 2 || tasks.Tasks[0].RetryDelay.Seconds != 30 {
		t.Errorf("tasks = %+v", tasks)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/tasks/load", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/tasks/nope", nil).want(t, 404)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagVersions", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagVersions/1", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagVersions/7", nil).want(t, 404)
	r := e.call(auth.Viewer, "GET", "/api/v2/dagTags", nil).want(t, 200)
	if !strings.Contains(string(r.body), `"tags":["etl","example"]`) {
		t.Errorf("dagTags = %s", r.body)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dagStats?dag_ids=etl", nil).want(t, 200)
	var src dagSourceResponse
	e.call(auth.Viewer, "GET", "/api/v2/dagSources/etl", nil).want(t, 200).decode(t, &src)
	if src.Content == nil || *src.Content != exampleDags || *src.VersionNumber != 1 {
		t.Errorf("dagSources = %+v", src)
	}
	if r := e.raw("GET", "/api/v2/dagSources/etl?version_number=1", "", "", e.tokens[auth.Viewer]); r.status != 200 {
		t.Errorf("dagSources version 1: %d", r.status)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dagSources/etl?version_number=9", nil).want(t, 404)
	e.call(auth.Viewer, "GET", "/api/v2/dagSources/nope", nil).want(t, 404)

	// Delete: gone, and audited.
	e.call(auth.User, "DELETE", "/api/v2/dags/manual_only", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/dags/manual_only", nil).want(t, 404)
	evs, _, err := metadb.ListEvents(context.Background(), e.db.Pool, metadb.EventFilter{DagID: "manual_only", Event: "delete_dag"}, metadb.Page{Limit: 10})
	if err != nil || len(evs) != 1 || *evs[0].Owner != "user" {
		t.Errorf("audit of the delete = %+v, %v", evs, err)
	}
}
