package apiserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/metadb"
)

// seedUI adds to seed's 1,000 DAGs the two the web UI issue names: "wide",
// 1,000 tasks (ten chains of 100) with 100 runs of 1,000 task instances,
// and "long", one task with 10,000 runs.
func seedUI(b *testing.B, db *metadb.DB) {
	ctx := context.Background()
	task := `jsonb_build_object('task_id', 't' || i, 'operator', 'bash', 'bash_command', 'true',
		'upstream', CASE WHEN i >= 10 THEN jsonb_build_array('t' || (i - 10)) ELSE '[]'::jsonb END,
		'retries', 0, 'retry_delay_sec', 300, 'trigger_rule', 'all_success', 'pool', 'default_pool', 'pool_slots', 1,
		'priority_weight', 1, 'weight_rule', 'downstream', 'effective_priority', 1, 'do_xcom_push', true)`
	stmts := []string{
		`INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data, source)
			SELECT 'h-wide', 'wide', '/dags/wide.yaml', jsonb_build_object('dag_id', 'wide', 'fileloc', '/dags/wide.yaml',
				'schedule', '@daily', 'tasks', jsonb_agg(` + task + ` ORDER BY i)), 'wide: {}' FROM generate_series(0, 999) i`,
		`INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data, source)
			SELECT 'h-long', 'long', '/dags/long.yaml', jsonb_build_object('dag_id', 'long', 'fileloc', '/dags/long.yaml',
				'schedule', '@hourly', 'tasks', jsonb_agg(` + task + `)), 'long: {}' FROM generate_series(0, 0) i`,
		`INSERT INTO dag (dag_id, fileloc, owners, tags, schedule_interval, dag_hash, next_dagrun)
			SELECT dag_id, fileloc, 'airflow', ARRAY['ui'], '@daily', dag_hash, now() FROM serialized_dag WHERE dag_id IN ('wide', 'long')`,
		`INSERT INTO dag_run (dag_id, run_id, logical_date, data_interval_start, data_interval_end, state, run_type, dag_hash, queued_at, start_date, end_date)
			SELECT 'wide', 'scheduled__' || r, timestamp '2024-01-01' + r * interval '1 day', timestamp '2024-01-01' + r * interval '1 day',
				timestamp '2024-01-02' + r * interval '1 day', CASE WHEN r = 100 THEN 'running' ELSE 'success' END, 'scheduled', 'h-wide',
				now(), now() - interval '1 hour', CASE WHEN r = 100 THEN NULL ELSE now() END
			FROM generate_series(1, 100) r`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number, operator, pool, queue, queued_dttm, start_date, end_date, duration)
			SELECT 'wide', 'scheduled__' || r, 't' || t, CASE WHEN r = 100 AND t >= 500 THEN NULL ELSE 'success' END, 1, 'bash',
				'default_pool', 'default', now() - interval '50 minutes', now() - interval '40 minutes', now(), 2400
			FROM generate_series(1, 100) r, generate_series(0, 999) t`,
		`INSERT INTO dag_run (dag_id, run_id, logical_date, data_interval_start, data_interval_end, state, run_type, dag_hash, queued_at, start_date, end_date)
			SELECT 'long', 'scheduled__' || r, timestamp '2024-01-01' + r * interval '1 hour', timestamp '2024-01-01' + r * interval '1 hour',
				timestamp '2024-01-01' + (r + 1) * interval '1 hour', 'success', 'scheduled', 'h-long', now(), now(), now()
			FROM generate_series(1, 10000) r`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number, operator, pool, queue, start_date, end_date, duration)
			SELECT 'long', run_id, 't0', 'success', 1, 'bash', 'default_pool', 'default', now(), now(), 1 FROM dag_run WHERE dag_id = 'long'`,
		`ANALYZE`,
	}
	for _, st := range stmts {
		if _, err := db.Pool.Exec(ctx, st); err != nil {
			b.Fatalf("seed: %v\n%s", err, st)
		}
	}
}

// BenchmarkAPIWebUI measures the data of the web UI's views on a seeded
// database (1,000 DAGs; "wide": 1,000 tasks x 100 runs; "long": 10,000
// runs): server time per view (the sum of the calls the view makes when it
// opens), percentiles over sequential loads, queries per load, and the
// bytes the browser receives. The targets: the DAG list <= 150 ms,
// the grid of 100 runs x 1,000 tasks <= 300 ms, the graph of 1,000 tasks
// <= 500 ms.
//
//	go test ./apiserver -run '^$' -bench APIWebUI -benchtime 1x -v
func BenchmarkAPIWebUI(b *testing.B) {
	api := newBenchAPI(b, seed, seedUI)
	counter, token, seedTime := api.queries, api.token, api.seedTime
	host, _ := os.Hostname()
	b.Logf("web UI data bench on %s: %s %s/%s, %d CPUs; seeded 1,002 DAGs, 20,100 runs, 310,000 task instances in %s; sequential loads over loopback",
		host, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), seedTime.Round(time.Millisecond))

	first25 := url.Values{"dag_runs_limit": {"10"}}
	for i := 1; i <= 25; i++ {
		first25.Add("dag_ids", fmt.Sprintf("dag_%04d", i))
	}
	for _, view := range []struct {
		name   string
		paths  []string
		target time.Duration
	}{
		{"dag_list_page", []string{"/api/v2/dags?limit=25&offset=0&order_by=dag_id", "/ui/dags/recent_dag_runs?" + first25.Encode()}, 150 * time.Millisecond},
		{"dag_list_failed_sorted", []string{"/api/v2/dags?limit=25&last_dag_run_state=failed&order_by=-last_run_start_date"}, 150 * time.Millisecond},
		{"grid_100_runs_x_1000_tasks", []string{"/ui/grid/wide?limit=100"}, 300 * time.Millisecond},
		{"grid_of_10000_run_dag", []string{"/ui/grid/long?limit=100"}, 300 * time.Millisecond},
		{"graph_1000_tasks", []string{"/ui/structure/structure_data?dag_id=wide", "/api/v2/dags/wide/dagRuns?limit=25&order_by=-run_after", "/ui/grid/wide?run_id=scheduled__100"}, 500 * time.Millisecond},
		{"gantt_1000_tis", []string{"/api/v2/dags/wide/dagRuns?limit=25&order_by=-run_after", "/ui/gantt/wide/scheduled__100"}, 0},
		{"runs_tab_10000_runs", []string{"/api/v2/dags/long/dagRuns?limit=50&offset=0&order_by=-run_after"}, 0},
		{"run_page_1000_tis", []string{"/api/v2/dags/wide/dagRuns/scheduled__100", "/api/v2/dags/wide/dagRuns/scheduled__100/taskInstances?limit=100&offset=0"}, 0},
	} {
		b.Run(view.name, func(b *testing.B) {
			const n = 30
			lat := make([]time.Duration, 0, n)
			var bytes int64
			q0 := counter.n.Load()
			for i := 0; i < n; i++ {
				t0 := time.Now()
				for _, p := range view.paths {
					req, _ := http.NewRequest("GET", api.url+p, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					nb, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("%s: %d", p, resp.StatusCode)
					}
					if i == 0 {
						bytes += nb
					}
				}
				lat = append(lat, time.Since(t0))
			}
			queries := float64(counter.n.Load()-q0) / n
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p50, p95 := lat[n/2], lat[n*95/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95_ms")
			b.ReportMetric(queries, "queries/view")
			b.ReportMetric(float64(bytes)/1024, "KiB/view")
			verdict := ""
			if view.target > 0 {
				verdict = fmt.Sprintf("  target %s: %s", view.target, map[bool]string{true: "met", false: "MISSED"}[p95 <= view.target])
			}
			first, _, _ := strings.Cut(view.paths[0], "?")
			b.Logf("%-28s p50 %6.1f ms  p95 %6.1f ms  %4.1f queries  %7.1f KiB  (%d calls: %s ...)%s", view.name,
				float64(p50.Microseconds())/1000, float64(p95.Microseconds())/1000, queries, float64(bytes)/1024,
				len(view.paths), first, verdict)
		})
	}
}
