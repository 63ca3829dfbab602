package flower

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

// TestFlowerMetrics: /metrics has Flower's series, with Flower's names,
// fed by the event stream, and parses with Prometheus's own parser.
func TestFlowerMetrics(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := monitor.NewPublisher(rdb, prefix, 1000, time.Minute, logger)
	go func() { _ = pub.Run(ctx) }()
	s := New(Options{}, monitor.NewReader(rdb, prefix, time.Minute), logger)
	go s.metrics.follow(ctx)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	pub.Heartbeat(monitor.WorkerStatus{Hostname: "w1", Status: monitor.Online, Active: 2, LastHeartbeat: time.Now()})
	deadline := time.Now().Add(10 * time.Second)
	for try := 1; ; try++ {
		// The follower reads what comes after it started: publish until
		// it has seen a whole try.
		t0 := time.Now()
		ev := monitor.Event{Hostname: "w1", DagID: "d", RunID: "r", TaskID: "t", TryNumber: try}
		for _, e := range []struct {
			typ string
			at  time.Time
		}{{"task-received", t0}, {"task-started", t0.Add(250 * time.Millisecond)}, {"task-succeeded", t0.Add(time.Second)}} {
			ev.Type, ev.Time = e.typ, e.at
			if e.typ == "task-succeeded" {
				ev.Runtime = 0.75
			}
			pub.Event(ev)
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		runtime, prefetch := fams["flower_task_runtime_seconds"], fams["flower_task_prefetch_time_seconds"]
		online, executing := fams["flower_worker_online"], fams["flower_worker_number_of_currently_executing_tasks"]
		if runtime != nil && prefetch != nil && fams["flower_events_total"] != nil {
			h := runtime.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() < 1 || h.GetSampleSum() < 0.75 {
				t.Errorf("runtime histogram = %v", h)
			}
			if p := prefetch.GetMetric()[0].GetGauge().GetValue(); p != 0.25 {
				t.Errorf("prefetch time = %v, want 0.25", p)
			}
			if online == nil || online.GetMetric()[0].GetGauge().GetValue() != 1 || executing == nil ||
				executing.GetMetric()[0].GetGauge().GetValue() != 2 {
				t.Errorf("worker gauges: online %v, executing %v", online, executing)
			}
			for _, m := range fams["flower_events_total"].GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["worker"] != "w1" || labels["task"] != "d.t" {
					t.Errorf("event labels = %v", labels)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no task series after 10s: %v", fams)
		}
	}
}
