package flower

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

func TestFlowerTaskAPI(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	pub := monitor.NewPublisher(rdb, prefix, 100, time.Minute, logger)
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()
	now := time.Now()
	for i, end := range []string{"task-succeeded", "task-failed"} {
		ev := monitor.Event{Hostname: "w1", DagID: "etl", RunID: "r1", TaskID: []string{"load", "extract"}[i], MapIndex: -1, TryNumber: 1}
		for _, typ := range []string{"task-received", "task-started", end} {
			ev.Type, ev.Time = typ, now
			pub.Event(ev)
		}
	}
	srv := httptest.NewServer(New(Options{}, monitor.NewReader(rdb, prefix, time.Minute), logger).Handler())
	defer srv.Close()
	get := func(path string, v any) int {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			_ = json.NewDecoder(resp.Body).Decode(v)
		}
		return resp.StatusCode
	}
	var tasks map[string]map[string]any
	testenv.Eventually(t, 10*time.Second, "both tries in /api/tasks", func() (bool, string) {
		tasks = nil
		get("/api/tasks", &tasks)
		return len(tasks) == 2, ""
	})
	cancel()
	<-done
	var failed map[string]map[string]any
	if code := get("/api/tasks?state=FAILURE&workername=w1&limit=10", &failed); code != 200 || len(failed) != 1 {
		t.Fatalf("failed tries: %d %v", code, failed)
	}
	id := monitor.TryID("etl", "r1", "extract", -1, 1)
	if failed[id] == nil || failed[id]["name"] != "etl.extract" || failed[id]["worker"] != "w1" {
		t.Errorf("failed = %v, want %s", failed, id)
	}
	var info map[string]any
	if code := get("/api/task/info/"+id, &info); code != 200 || info["state"] != "FAILURE" {
		t.Errorf("task info: %d %v", code, info)
	}
	if code := get("/api/task/info/nope", nil); code != 404 {
		t.Errorf("unknown task: %d", code)
	}
	var types map[string][]string
	if code := get("/api/task/types", &types); code != 200 || len(types["task-types"]) != 2 {
		t.Errorf("task types: %d %v", code, types)
	}
	if code := get("/api/tasks?limit=x", nil); code != 400 {
		t.Errorf("bad limit: %d", code)
	}
}
