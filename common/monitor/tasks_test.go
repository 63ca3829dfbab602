package monitor

import (
	"context"
	"fmt"
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
	// Try 8 runs still: it has a wait (queued 3 s before it started) and no runtime.
	at := t0.Add(8 * time.Minute)
	for j, typ := range []string{"task-received", "task-started"} {
		pub.Event(Event{Type: typ, Time: at.Add(time.Duration(j) * time.Second), Queued: at.Add(-2 * time.Second),
			Hostname: "w3", DagID: "d", RunID: "r", TaskID: "t", TryNumber: 8})
	}
	r := NewReader(rdb, prefix, time.Minute)
	var all []Task
	testenv.Eventually(t, 10*time.Second, "the history to hold the newest 5 tries", func() (bool, string) {
		all, _ = r.Tasks(context.Background(), TaskFilter{}, "", 0, 0)
		return len(all) == 5 && all[0]["try_number"] == 8, ""
	})
	cancel()
	<-done

	// A reader made afresh (a restarted flower) sees the same history.
	r2 := NewReader(rdb, prefix, time.Minute)
	failed, err := r2.Tasks(context.Background(), TaskFilter{State: "failure", Worker: "w2"}, "-runtime", 0, 0)
	if err != nil || len(failed) != 2 || failed[0]["runtime"] != 6.0 || failed[0]["state"] != "FAILURE" {
		t.Fatalf("failed tries of w2 = %v, %v", failed, err)
	}
	// Sorted by an indexed field, pages come from its index; the running
	// try, without a runtime, follows the others.
	tries := func(ts []Task) []any {
		out := []any{}
		for _, x := range ts {
			out = append(out, x["try_number"])
		}
		return out
	}
	for _, c := range []struct {
		sort          string
		offset, limit int
		want          string
	}{
		{"runtime", 1, 2, "[5 6]"},
		{"-runtime", 0, 0, "[7 6 5 4 8]"},
		{"-runtime", 3, 5, "[4 8]"},
		{"-started", 0, 2, "[8 7]"},
		{"received", 0, 3, "[4 5 6]"},
		{"-wait", 0, 1, "[8]"},
		{"state", 0, 0, "[6 4 8 7 5]"}, // not indexed: read whole, sorted (FAILURE, STARTED, SUCCESS), newest first among equals
	} {
		page, err := r2.Tasks(context.Background(), TaskFilter{}, c.sort, c.offset, c.limit)
		if got := fmt.Sprint(tries(page)); err != nil || got != c.want {
			t.Errorf("sort_by=%s offset %d limit %d: tries %s, want %s (%v)", c.sort, c.offset, c.limit, got, c.want, err)
		}
	}
	if w, _ := r2.Task(context.Background(), TryID("d", "r", "t", 0, 8)); w == nil || w["wait"] != 3.0 {
		t.Errorf("try 8's wait = %v, want 3 (queued -> started)", w)
	}
	if types, err := r2.TaskTypes(context.Background()); err != nil || fmt.Sprint(types) != "[d.t]" {
		t.Errorf("task types = %v, %v", types, err)
	}
	// Trimming drops the trimmed tries from the sort indexes too.
	if n, _ := rdb.ZCard(context.Background(), sortIndexKey(prefix, "runtime")).Result(); n != 4 {
		t.Errorf("the runtime index holds %d tries, want the 4 finished ones kept", n)
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
