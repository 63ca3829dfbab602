package flower

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

// BenchmarkFlower measures the monitor's API at issue 12's size: 200
// workers' statuses and 100,000 tries of history in Redis.
//
//	go test ./flower -run '^$' -bench Flower -benchtime 1x -v
func BenchmarkFlower(b *testing.B) {
	url, prefix := testenv.Redis(b)
	opts, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	pub := monitor.NewPublisher(rdb, prefix, 10000, time.Hour, logger)
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = pub.Run(pctx); close(done) }()
	for w := 0; w < 200; w++ {
		pub.Heartbeat(monitor.WorkerStatus{Hostname: fmt.Sprintf("w%03d", w), Status: monitor.Online, Queues: []string{"default"},
			Concurrency: 16, Active: w % 16, Processed: int64(w * 500), LastHeartbeat: time.Now()})
		time.Sleep(time.Millisecond) // one status per flush: the publisher keeps the latest only
	}
	t0 := time.Now().Add(-time.Hour)
	for i := 0; i < 100000; i++ {
		end := "task-succeeded"
		if i%10 == 0 {
			end = "task-failed"
		}
		ev := monitor.Event{Hostname: fmt.Sprintf("w%03d", i%200), DagID: fmt.Sprintf("dag_%d", i%50), RunID: "r", TaskID: fmt.Sprintf("t%d", i), MapIndex: -1, TryNumber: 1}
		for j, typ := range []string{"task-received", "task-started", end} {
			ev.Type, ev.Time, ev.Runtime = typ, t0.Add(time.Duration(i)*30*time.Millisecond+time.Duration(j)*time.Millisecond), 0.5
			pub.Event(ev)
		}
		if (i+1)%1000 == 0 {
			// Let the publisher write a batch before its buffer (4,096
			// events) would drop the oldest.
			want := int64(i + 1)
			testenv.Eventually(b, 30*time.Second, "a batch of history", func() (bool, string) {
				n, _ := rdb.ZCard(ctx, prefix+"tasks").Result()
				return n >= want, fmt.Sprint(n)
			})
		}
	}
	testenv.Eventually(b, 60*time.Second, "the history to hold 100,000 tries", func() (bool, string) {
		n, _ := rdb.ZCard(ctx, prefix+"tasks").Result()
		return n >= 100000, fmt.Sprint(n)
	})
	stop()
	<-done
	// A day of dashboard points at the default 10 s step.
	reader := monitor.NewReader(rdb, prefix, time.Hour)
	for t := time.Now().Add(-monitor.SampleRetention).Truncate(10 * time.Second); t.Before(time.Now()); t = t.Add(10 * time.Second) {
		p := monitor.Sample{Time: t, Interval: 10, Succeeded: 300, Failed: 3, Queues: map[string]int{"default": 40, "other": 2}, Running: map[string]int{}}
		for w := 0; w < 200; w += 4 {
			p.Running[fmt.Sprintf("w%03d", w)] = w % 16
		}
		if err := reader.AddSample(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	s := New(Options{}, monitor.NewReader(rdb, prefix, time.Hour), logger)
	// A running flower reads the day's points once at start (dashboard.run).
	t1 := time.Now()
	if _, err := s.dash.samples(ctx, time.Now().Add(-monitor.SampleRetention)); err != nil {
		b.Fatal(err)
	}
	b.Logf("reading a day of dashboard points at start: %s", time.Since(t1).Round(time.Millisecond))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	host, _ := os.Hostname()
	b.Logf("flower bench on %s: %s %s/%s, %d CPUs; 200 workers, 100,000 tries of history in Redis (seeded in %s); sequential requests",
		host, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Since(start).Round(time.Millisecond))
	id := monitor.TryID("dag_7", "r", "t57", -1, 1)
	for _, ep := range []struct{ name, path string }{
		{"workers", "/api/workers"},
		{"tasks_page", "/api/tasks?limit=100"},
		{"tasks_failed_page", "/api/tasks?state=FAILURE&limit=100"},
		{"tasks_worker_page", "/api/tasks?workername=w007&limit=100"},
		{"task_info", "/api/task/info/" + id},
		{"metrics", "/metrics"},
		{"task_types", "/api/task/types"},
		{"tasks_by_runtime", "/api/tasks?sort_by=-runtime&limit=50"},
		{"tasks_search", "/api/tasks?search=dag_7&limit=50"},
		{"dashboard_hour", "/api/dashboard"},
		{"dashboard_day", "/api/dashboard?window=86400"},
		{"page", "/"},
	} {
		b.Run(ep.name, func(b *testing.B) {
			const n = 50
			lat := make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				t1 := time.Now()
				resp, err := http.Get(srv.URL + ep.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", ep.path, resp.StatusCode)
				}
				lat = append(lat, time.Since(t1))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p50, p99 := lat[n/2], lat[n*99/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
			b.Logf("%-18s p50 %7.1f ms  p99 %7.1f ms", ep.name, float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000)
		})
	}
}
