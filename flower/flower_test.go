package flower

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

func TestRoutes(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	pub := monitor.NewPublisher(rdb, prefix, 100, time.Minute, logger)
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()
	pub.Heartbeat(monitor.WorkerStatus{Hostname: "w<1>", Status: monitor.Online, Queues: []string{"a", "b"}, Concurrency: 3, Succeeded: 2, LastHeartbeat: time.Now()})
	pub.Event(monitor.Event{Type: "task-succeeded", Hostname: "w<1>", DagID: "d", TaskID: "t", TryNumber: 1, Time: time.Now()})
	cancel()
	<-done

	srv := httptest.NewServer(New(Options{}, monitor.NewReader(rdb, prefix, time.Minute), logger).Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/api/workers")
	var byName map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &byName); code != 200 || err != nil || len(byName) != 1 || byName["w<1>"] == nil {
		t.Fatalf("/api/workers: %d %s", code, body)
	}
	w1 := byName["w<1>"]
	for _, k := range []string{"hostname", "status", "queues", "concurrency", "active", "processed", "succeeded", "failed", "last_heartbeat",
		"stats", "active_queues", "registered", "active", "timestamp"} {
		if _, ok := w1[k]; !ok {
			t.Errorf("/api/workers entry lacks %q: %v", k, w1)
		}
	}
	if pool := w1["stats"].(map[string]any)["pool"].(map[string]any); pool["max-concurrency"] != 3.0 {
		t.Errorf("stats.pool = %v, want max-concurrency 3 (Flower's shape)", pool)
	}
	var status map[string]bool
	if code, body := get("/api/workers?status=true"); code != 200 || json.Unmarshal([]byte(body), &status) != nil || len(status) != 1 || !status["w<1>"] {
		t.Errorf("/api/workers?status=true: %d %q", code, body)
	}
	if code, _ := get("/api/workers?workername=nope"); code != 404 {
		t.Errorf("unknown workername: %d", code)
	}
	code, body = get("/api/events?limit=5")
	if code != 200 || !strings.Contains(body, `"task-succeeded"`) {
		t.Errorf("/api/events: %d %s", code, body)
	}
	if code, body = get("/api/events?limit=zero"); code != 400 || !strings.Contains(body, "limit") {
		t.Errorf("bad limit: %d %s", code, body)
	}
	code, body = get("/")
	if code != 200 || !strings.Contains(body, `src="static/flower.js"`) || !strings.Contains(body, `<base href="/">`) {
		t.Errorf("/: %d, not the pages' shell:\n%s", code, body)
	}
	for _, path := range []string{"/static/flower.js", "/static/vendor/chart.js", "/static/flower.css"} {
		if code, body := get(path); code != 200 || len(body) < 500 {
			t.Errorf("%s: %d, %d bytes", path, code, len(body))
		}
	}
	if code, _ = get("/nope"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}
