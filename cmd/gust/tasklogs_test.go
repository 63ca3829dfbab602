package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-sched/gust/metadb"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTasksLogsAndDbClean: `tasks logs` prints a try's log from the
// database, --follow until the try ends; `db clean` counts (dry run), then
// deletes the old run and its log with it.
func TestTasksLogsAndDbClean(t *testing.T) {
	in := setup(t, true)
	in.writeDAG("one.yaml", `
one:
  schedule: null
  tasks:
    a: {operator: bash, bash_command: 'echo hi'}
`)
	in.mustRun("dags", "reserialize")
	in.mustRun("dags", "trigger", "one", "--run-id", "r1", "--logical-date", "2024-01-01")
	if msg := in.fails("tasks", "logs", "one", "r1", "a"); !strings.Contains(msg, "has not run yet") {
		t.Errorf("before the first try: %s", msg)
	}
	ctx := context.Background()
	db, err := metadb.Open(ctx, in.sqlConn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	try := metadb.TryKey{TIKey: metadb.TIKey{DagID: "one", RunID: "r1", TaskID: "a", MapIndex: -1}, TryNumber: 1}
	if _, err := metadb.ApplyDecisions(ctx, db.Pool, "one", "r1", []metadb.Decision{{TaskID: "a", MapIndex: -1, To: "scheduled", NewTry: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := metadb.MarkQueued(ctx, db.Pool, 1, []metadb.TryKey{try}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := metadb.Claim(ctx, db.Pool, try, "w", 1); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try}, metadb.LogChunk{Try: try, Seq: 1, Content: "first\n"}); err != nil {
		t.Fatal(err)
	}
	if out := in.mustRun("tasks", "logs", "one", "r1", "a"); out != "first\n" {
		t.Errorf("running, no follow: %q", out)
	}
	if msg := in.fails("tasks", "logs", "one", "r1", "a", "--try", "2"); !strings.Contains(msg, "has no try 2") {
		t.Errorf("--try 2: %s", msg)
	}
	if msg := in.fails("tasks", "logs", "one", "r1", "nope"); !strings.Contains(msg, "not found") {
		t.Errorf("unknown task: %s", msg)
	}

	// --follow prints until the try ends.
	var out, errOut syncBuffer
	done := make(chan int, 1)
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	go func() {
		done <- run(fctx, []string{"gust", "tasks", "logs", "one", "r1", "a", "-f"}, &out, &errOut, in.environ)
	}()
	for deadline := time.Now().Add(30 * time.Second); out.String() != "first\n"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("follow printed %q", out.String())
		}
	}
	if ok, err := metadb.Finish(ctx, db.Pool, try, "success", nil, metadb.LogChunk{Try: try, Seq: 2, Pos: 6, Content: "second\n"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	select {
	case code := <-done:
		if code != 0 || out.String() != "first\nsecond\n" {
			t.Errorf("follow: exit %d, %q, %s", code, out.String(), errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("follow did not end with the try; printed %q", out.String())
	}

	// db clean: nothing before the run ended; after, the run and its log.
	if _, err := db.Pool.Exec(ctx, `UPDATE dag_run SET state = 'success', end_date = '2024-01-02T00:00:00Z'`); err != nil {
		t.Fatal(err)
	}
	if msg := in.fails("db", "clean", "--clean-before-timestamp", "2024-02-01"); !strings.Contains(msg, "--yes") {
		t.Errorf("without --yes: %s", msg)
	}
	out2 := in.mustRun("db", "clean", "--clean-before-timestamp", "2024-01-01 12:00:00+01:00", "--dry-run")
	if !strings.Contains(out2, "dag_run: 0 rows would be deleted") {
		t.Errorf("dry run before the end: %s", out2)
	}
	out2 = in.mustRun("db", "clean", "--clean-before-timestamp", "2024-02-01", "--dry-run", "-t", "dag_run,bogus")
	if !strings.Contains(out2, "dag_run: 1 rows would be deleted (with 1 task_instance, 0 xcom, 2 task_log rows)") || strings.Contains(out2, "job:") {
		t.Errorf("dry run: %s", out2)
	}
	if out := in.mustRun("tasks", "logs", "one", "r1", "a"); out != "first\nsecond\n" {
		t.Errorf("a dry run deleted: %q", out)
	}
	if msg := in.fails("db", "clean", "--clean-before-timestamp", "2024-02-01", "-t", "bogus", "--yes"); !strings.Contains(msg, "no tables selected") {
		t.Errorf("only unknown tables: %s", msg)
	}
	out2 = in.mustRun("db", "clean", "--clean-before-timestamp", "2024-02-01", "--yes")
	if !strings.Contains(out2, "dag_run: 1 rows deleted (with 1 task_instance, 0 xcom, 2 task_log rows)") {
		t.Errorf("clean: %s", out2)
	}
	if msg := in.fails("tasks", "logs", "one", "r1", "a"); !strings.Contains(msg, "not found") {
		t.Errorf("after clean: %s", msg)
	}
}
