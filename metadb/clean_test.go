package metadb_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/metadb"
)

// TestClean: db clean counts, then deletes, finished runs ended before the
// timestamp with what goes with them, keeping each DAG's latest scheduled
// run, old audit entries and dead jobs; a dry run deletes nothing.
func TestClean(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "d", "old", "a")
	seedRun(t, ctx, db, "d", "new", "a")
	seedRun(t, ctx, db, "e", "sched", "a")
	try, _ := startTry(t, ctx, db, "d", "old", "a")
	if ok, err := metadb.Finish(ctx, db.Pool, try, "success", nil, metadb.LogChunk{Try: try, Seq: 1, Content: "hello\n"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	_, err := db.Pool.Exec(ctx, `UPDATE dag_run SET state = 'success', end_date = now() - interval '10 days',
		run_type = CASE WHEN dag_id = 'e' THEN 'scheduled' ELSE run_type END WHERE run_id IN ('old', 'sched');
		UPDATE dag_run SET state = 'success', end_date = now() WHERE run_id = 'new'`)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"old", "recent"} {
		if err := metadb.AddEvent(ctx, db.Pool, &metadb.Event{Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	job, err := metadb.RegisterJob(ctx, db.Pool, "WorkerJob", "h", 1)
	if err != nil {
		t.Fatal(err)
	}
	live, err := metadb.RegisterJob(ctx, db.Pool, "WorkerJob", "h", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE event_log SET dttm = now() - interval '10 days' WHERE event = 'old';
		UPDATE job SET state = 'success', latest_heartbeat = now() - interval '10 days' WHERE id = `+itoa(job)+`;
		UPDATE job SET latest_heartbeat = now() - interval '5 minutes' WHERE id = `+itoa(live)); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-24 * time.Hour)
	want := map[string]int64{"dag_run": 1, "job": 1, "log": 1, "task_log": 0}
	for _, dry := range []bool{true, false} {
		res, err := metadb.Clean(ctx, db, metadb.CleanOptions{Before: before, DryRun: dry, BatchSize: map[bool]int{true: 0, false: 1}[dry]})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range res {
			got[r.Table] = r.Rows
			if r.Table == "dag_run" && (r.With["task_instance"] != 1 || r.With["task_log"] != 1) {
				t.Errorf("dry=%v: with the runs: %v", dry, r.With)
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("dry=%v: %s: %d rows, want %d", dry, k, got[k], v)
			}
		}
	}
	var runs []string
	rows, _ := db.Pool.Query(ctx, `SELECT dag_id || '/' || run_id FROM dag_run ORDER BY 1`)
	runs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || strings.Join(runs, " ") != "d/new e/sched" {
		t.Fatalf("runs left: %v %v", runs, err)
	}
	var logs, events, jobs int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM task_log), (SELECT count(*) FROM event_log), (SELECT count(*) FROM job)`).
		Scan(&logs, &events, &jobs); err != nil || logs != 0 || events != 1 || jobs != 1 {
		t.Fatalf("left: %d logs, %d events, %d jobs, %v", logs, events, jobs, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
