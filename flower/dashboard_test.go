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

func TestReservoirPercentiles(t *testing.T) {
	var r reservoir
	if p50, p95 := r.percentiles(); p50 != 0 || p95 != 0 {
		t.Errorf("empty: %v %v", p50, p95)
	}
	for i := 1; i <= 100; i++ {
		r.add(float64(i))
	}
	if p50, p95 := r.percentiles(); p50 != 51 || p95 != 96 {
		t.Errorf("1..100: p50 %v p95 %v, want 51 and 96", p50, p95)
	}
	for i := 0; i < 3*maxSlotValues; i++ {
		r.add(1000)
	}
	if len(r.vals) != maxSlotValues || r.seen != 100+3*maxSlotValues {
		t.Errorf("kept %d values of %d seen, want %d kept", len(r.vals), r.seen, maxSlotValues)
	}
	if p50, _ := r.percentiles(); p50 != 1000 {
		t.Errorf("p50 after a flood of 1000s = %v", p50)
	}
}

func TestMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	in := []monitor.Sample{
		{Time: t0, Interval: 10, Succeeded: 1, RuntimeP95: 2, Queues: map[string]int{"a": 5}},
		{Time: t0.Add(10 * time.Second), Interval: 10, Succeeded: 2, Failed: 1, RuntimeP95: 7, Queues: map[string]int{"a": 3, "b": 1}, Running: map[string]int{"w": 2}},
		{Time: t0.Add(20 * time.Second), Interval: 10, Succeeded: 4},
	}
	out := merge(in, 2)
	if len(out) != 2 || out[0].Succeeded != 3 || out[0].Failed != 1 || out[0].Interval != 20 || out[0].RuntimeP95 != 7 ||
		out[0].Queues["a"] != 5 || out[0].Queues["b"] != 1 || out[0].Running["w"] != 2 || out[1].Succeeded != 4 {
		t.Errorf("merge = %+v", out)
	}
	if in[0].Queues["b"] != 0 {
		t.Error("merge changed its input")
	}
}

// TestDashboardPoints: events make a point per interval; of two flowers
// on one Redis only one records each point; the API answers the window.
func TestDashboardPoints(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reader := monitor.NewReader(rdb, prefix, time.Minute)
	a := New(Options{SampleInterval: 10 * time.Second}, reader, logger)
	b := New(Options{SampleInterval: 10 * time.Second}, reader, logger)
	start := time.Now().Add(-time.Minute).Truncate(10 * time.Second)
	for _, s := range []*Server{a, b} {
		for i, typ := range []string{"task-succeeded", "task-succeeded", "task-failed", "task-retried"} {
			s.dash.observe(monitor.Event{Type: typ, Time: start.Add(time.Duration(i) * time.Second), Runtime: float64(i + 1)})
		}
		s.dash.observeWait(start.Add(time.Second), 0.25)
		// An event of the next interval stays for the next point.
		s.dash.observe(monitor.Event{Type: "task-succeeded", Time: start.Add(11 * time.Second), Runtime: 9})
	}
	for _, s := range []*Server{a, b} {
		if err := s.dash.record(ctx, start); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := reader.Samples(ctx, start.Add(-time.Hour))
	if err != nil || len(pts) != 1 {
		t.Fatalf("points = %+v, %v; want one (the second flower's claim loses)", pts, err)
	}
	p := pts[0]
	if !p.Time.Equal(start) || p.Succeeded != 2 || p.Failed != 1 || p.Retried != 1 || p.RuntimeP50 != 3 || p.RuntimeP95 != 4 || p.WaitP50 != 0.25 {
		t.Errorf("point = %+v", p)
	}
	if err := a.dash.record(ctx, start.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/dashboard?window=600", nil))
	var got struct {
		Interval float64
		Samples  []monitor.Sample
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got.Interval != 10 || len(got.Samples) != 2 || got.Samples[1].Succeeded != 1 {
		t.Errorf("/api/dashboard: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{"0", "x", "86401"} {
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/dashboard?window="+bad, nil))
		if w.Code != 400 {
			t.Errorf("window=%s: %d", bad, w.Code)
		}
	}
}
