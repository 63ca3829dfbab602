package monitor

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestTaskHistory: events build a per-try history in Redis that any reader
// (a restarted flower) sees, filtered, sorted and paged, bounded by
// max_tasks.
func TestTaskHistory(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pub := NewPublisher(rdb, prefix, 1000, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil))).WithMaxTasks(5)
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ {
		worker, end := "w1", "task-succeeded"
		if i%2 == 0 {
			worker, end = "w2", "task-failed"
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		ev := Event{Hostname: worker, DagID: "d", RunID: "r", TaskID: "t", TryNumber: i}
		for j, typ := range []string{"task-received", "task-started", end} {
			ev.Type, ev.Time, ev.Runtime = typ, at.Add(time.Duration(j)*time.Second), 0
			if typ == end {
				ev.Runtime = float64(i)
			}
			pub.Event(ev)
		}
	}
	r := NewReader(rdb, prefix, time.Minute)
	var all []Task
	testenv.Eventually(t, 10*time.Second, "the history to hold the newest 5 tries", func() (bool, string) {
		all, _ = r.Tasks(context.Background(), TaskFilter{}, "", 0, 0)
		return len(all) == 5 && all[0]["try_number"] == 7, ""
	})
	cancel()
	<-done

	// A reader made afresh (a restarted flower) sees the same history.
	r2 := NewReader(rdb, prefix, time.Minute)
	failed, err := r2.Tasks(context.Background(), TaskFilter{State: "failure", Worker: "w2"}, "-runtime", 0, 0)
	if err != nil || len(failed) != 2 || failed[0]["runtime"] != 6.0 || failed[0]["state"] != "FAILURE" {
		t.Fatalf("failed tries of w2 = %v, %v", failed, err)
	}
	page, _ := r2.Tasks(context.Background(), TaskFilter{}, "runtime", 1, 2)
	if len(page) != 2 || page[0]["runtime"] != 4.0 {
		t.Errorf("page 2 by runtime = %v", page)
	}
	id := TryID("d", "r", "t", 0, 7)
	one, err := r2.Task(context.Background(), id)
	if err != nil || one == nil || one["uuid"] != id || one["received"] == nil || one["started"] == nil || one["succeeded"] == nil {
		t.Errorf("task %s = %v, %v", id, one, err)
	}
	if gone, _ := r2.Task(context.Background(), TryID("d", "r", "t", 0, 1)); gone != nil {
		t.Errorf("try 1 outlived max_tasks: %v", gone)
	}
}
