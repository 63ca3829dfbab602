package metadb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gust-sched/gust/metadb"
)

// startTry schedules, queues and claims try 1 of dagID/runID/task.
func startTry(t *testing.T, ctx context.Context, db *metadb.DB, dagID, runID, task string) (metadb.TryKey, metadb.LogResume) {
	t.Helper()
	try := metadb.TryKey{TIKey: metadb.TIKey{DagID: dagID, RunID: runID, TaskID: task, MapIndex: -1}, TryNumber: 1}
	if _, err := metadb.ApplyDecisions(ctx, db.Pool, dagID, runID, []metadb.Decision{{TaskID: task, MapIndex: -1, To: "scheduled", NewTry: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := metadb.MarkQueued(ctx, db.Pool, 1, []metadb.TryKey{try}); err != nil {
		t.Fatal(err)
	}
	_, resume, ok, err := metadb.Claim(ctx, db.Pool, try, "w", 1)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return try, resume
}

func readLog(t *testing.T, ctx context.Context, db *metadb.DB, try metadb.TryKey, from int64, max int) *metadb.LogPage {
	t.Helper()
	p, err := metadb.ReadTaskLog(ctx, db.Pool, try, from, max)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTaskLogChunks: chunks ride the heartbeat and the result; re-sent
// chunks and stale tails are no-ops; a reader continues from a position,
// sees only whole lines while the try runs, and the marker where bytes
// were left out; the callback mark holds the end of the log until the
// callback's text arrives; a deleted run takes its logs with it.
func TestTaskLogChunks(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "d", "r1", "a")
	try, resume := startTry(t, ctx, db, "d", "r1", "a")
	if resume != (metadb.LogResume{NextSeq: 1}) {
		t.Fatalf("resume of a fresh try: %+v", resume)
	}
	chunk := func(seq int, pos int64, s string) metadb.LogChunk {
		return metadb.LogChunk{Try: try, Seq: seq, Pos: pos, Content: s}
	}
	c1 := chunk(1, 0, "one\ntw")
	if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try}, c1); err != nil {
		t.Fatal(err)
	}
	p := readLog(t, ctx, db, try, 0, 0)
	if p.Text != "one\n" || p.Next != 4 || p.Ended {
		t.Fatalf("running, first read: %+v", p)
	}
	// The unacknowledged first chunk is sent again with the second.
	c2 := chunk(2, 6, "o\nthree\n")
	if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try}, c1, c2); err != nil {
		t.Fatal(err)
	}
	p = readLog(t, ctx, db, try, p.Next, 0)
	if p.Text != "two\nthree\n" || p.Next != 14 {
		t.Fatalf("running, second read: %+v", p)
	}
	// The head is full: a tail from offset 100 on; an older tail is ignored.
	tail := chunk(metadb.LogTailSeq, 100, "last\n")
	if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try}, tail); err != nil {
		t.Fatal(err)
	}
	if err := metadb.AppendTaskLog(ctx, db.Pool, []metadb.LogChunk{chunk(metadb.LogTailSeq, 90, "old\n")}, nil); err != nil {
		t.Fatal(err)
	}
	p = readLog(t, ctx, db, try, p.Next, 0)
	if want := metadb.LogLeftOut(86) + "\nlast\n"; p.Text != want || p.Next != 105 {
		t.Fatalf("tail read: %+v, want %q", p, want)
	}
	// The result with the last chunk and the callback mark: not the end yet.
	fin := []metadb.LogChunk{chunk(metadb.LogTailSeq, 100, "last\nresult\n"), chunk(metadb.LogCallbackSeq, 112, "")}
	if ok, err := metadb.Finish(ctx, db.Pool, try, "success", nil, fin...); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	p = readLog(t, ctx, db, try, 105, 0)
	if p.Text != "result\n" || p.Ended {
		t.Fatalf("after the result, callback running: %+v", p)
	}
	if err := metadb.AppendTaskLog(ctx, db.Pool, []metadb.LogChunk{chunk(metadb.LogTailSeq, 100, "last\nresult\ncallback")}, []metadb.TryKey{try}); err != nil {
		t.Fatal(err)
	}
	p = readLog(t, ctx, db, try, 0, 0)
	want := "one\ntwo\nthree\n" + metadb.LogLeftOut(86) + "\nlast\nresult\ncallback"
	if p.Text != want || !p.Ended || p.Next != 120 {
		t.Fatalf("whole log: %+v, want %q", p, want)
	}
	// Pages: whole chunks up to max bytes, then the rest.
	p = readLog(t, ctx, db, try, 0, 3)
	if p.Text != "one\ntw" || p.Ended || p.Next != 6 {
		t.Fatalf("first page: %+v", p)
	}
	p = readLog(t, ctx, db, try, p.Next, 3)
	if p.Text != "o\nthree\n" || p.Ended {
		t.Fatalf("second page: %+v", p)
	}
	// Tries that do not exist.
	for _, n := range []int{0, 2} {
		bad := try
		bad.TryNumber = n
		if _, err := metadb.ReadTaskLog(ctx, db.Pool, bad, 0, 0); !errors.Is(err, metadb.ErrNoSuchTry) {
			t.Errorf("try %d: %v, want ErrNoSuchTry", n, err)
		}
	}
	if _, err := metadb.ReadTaskLog(ctx, db.Pool, metadb.TryKey{TIKey: metadb.TIKey{DagID: "d", RunID: "r1", TaskID: "x", MapIndex: -1}, TryNumber: 1}, 0, 0); !errors.Is(err, metadb.ErrNotFound) {
		t.Errorf("unknown task instance: %v", err)
	}
	// Chunks of a run that is gone are dropped, and do not fail the
	// statement; the run's logs went with it.
	if err := metadb.DeleteDagRun(ctx, db.Pool, "d", "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try}, chunk(3, 14, "late\n")); err != nil {
		t.Fatalf("heartbeat with a deleted run's chunk: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM task_log`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("task_log rows after the run was deleted: %d %v", n, err)
	}
}

// TestTaskLogResume: a rescheduled sensor claims its try again and learns
// where the stored log ends.
func TestTaskLogResume(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "d", "r1", "s")
	try, _ := startTry(t, ctx, db, "d", "r1", "s")
	logs := []metadb.LogChunk{{Try: try, Seq: 1, Pos: 0, Content: "poke 1\n"}, {Try: try, Seq: 2, Pos: 7, Content: "not yet\n"}}
	if ok, err := metadb.Finish(ctx, db.Pool, try, "up_for_reschedule", nil, logs...); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if p := readLog(t, ctx, db, try, 0, 0); p.Ended || p.Text != "poke 1\nnot yet\n" {
		t.Fatalf("a sensor waiting for its next poke: %+v", p)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE task_instance SET state = 'queued' WHERE task_id = 's'`); err != nil {
		t.Fatal(err)
	}
	_, resume, ok, err := metadb.Claim(ctx, db.Pool, try, "w", 1)
	if err != nil || !ok {
		t.Fatalf("claim again: %v %v", ok, err)
	}
	if want := (metadb.LogResume{End: 15, NextSeq: 3, HeadSize: 15}); resume != want {
		t.Fatalf("resume %+v, want %+v", resume, want)
	}
}
