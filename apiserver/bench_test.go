package apiserver

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

// queryCounter counts the queries a pool sends.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// seed fills a database the size issue 10 names: 1,000 DAGs, 10,000 runs
// (10 per DAG) and 200,000 task instances, one run of which has 1,000
// tasks, in a few statements.
func seed(b *testing.B, db *metadb.DB) {
	ctx := context.Background()
	stmts := []string{
		`INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data, source)
			SELECT 'h' || i, 'dag_' || lpad(i::text, 4, '0'), '/dags/f' || (i % 50) || '.yaml',
				jsonb_build_object('dag_id', 'dag_' || lpad(i::text, 4, '0'), 'fileloc', '/dags/f' || (i % 50) || '.yaml',
					'schedule', '@daily', 'tasks', jsonb_build_array(jsonb_build_object('task_id', 't0', 'operator', 'empty',
					'retries', 0, 'retry_delay_sec', 300, 'trigger_rule', 'all_success', 'pool', 'default_pool', 'pool_slots', 1,
					'priority_weight', 1, 'weight_rule', 'downstream', 'effective_priority', 1, 'do_xcom_push', true))),
				'x: 1' FROM generate_series(1, 1000) i`,
		`INSERT INTO dag (dag_id, fileloc, description, owners, tags, schedule_interval, dag_hash, next_dagrun)
			SELECT dag_id, fileloc, 'seeded', 'airflow', ARRAY['t' || (random() * 20)::int, 'bench'], '@daily', dag_hash, now()
			FROM serialized_dag`,
		`INSERT INTO dag_run (dag_id, run_id, logical_date, data_interval_start, data_interval_end, state, run_type, dag_hash, queued_at, start_date, end_date)
			SELECT d.dag_id, 'scheduled__' || r, timestamp '2024-01-01' + r * interval '1 day', timestamp '2024-01-01' + r * interval '1 day',
				timestamp '2024-01-02' + r * interval '1 day', 'success', 'scheduled', d.dag_hash, now(), now(), now()
			FROM dag d, generate_series(1, 10) r`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number, operator, pool, queue, start_date, end_date, duration)
			SELECT r.dag_id, r.run_id, 't' || t, 'success', 1, 'empty', 'default_pool', 'default', now(), now(), 1.5
			FROM dag_run r, generate_series(0, 18) t WHERE r.dag_id <> 'dag_0001' OR r.run_id <> 'scheduled__1'`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, state, try_number, operator, pool, queue, start_date, end_date, duration)
			SELECT 'dag_0001', 'scheduled__1', 't' || t, 'success', 1, 'empty', 'default_pool', 'default', now(), now(), 1.5
			FROM generate_series(0, 999) t`,
		// A 1 MiB log in 200 chunks of ~5 KiB, as heartbeats ship them.
		`INSERT INTO task_log (dag_id, run_id, task_id, map_index, try_number, seq, pos, content)
			SELECT 'dag_0001', 'scheduled__1', 't0', -1, 1, c, (c - 1) * 5248,
				string_agg('[2024-01-02T00:00:0' || (l % 10) || '.000Z] {gust} INFO - line ' || l || ' of chunk ' || c || repeat('.', 40), E'\n') || E'\n'
			FROM generate_series(1, 200) c, generate_series(1, 64) l GROUP BY c`,
		`ANALYZE`,
	}
	for _, st := range stmts {
		if _, err := db.Pool.Exec(ctx, st); err != nil {
			b.Fatalf("seed: %v\n%s", err, st)
		}
	}
}

// BenchmarkAPI measures the API's answers on a seeded database: latency
// percentiles over sequential requests and queries per request (which must
// not grow with the page size).
//
//	go test ./apiserver -run '^$' -bench API -benchtime 1x -v
//
// benchAPI is an api-server on a fresh database filled by seeders, with a
// Viewer's token and a counter of the queries it sends; the servers stop
// when the benchmark ends.
type benchAPI struct {
	url, token string
	queries    *queryCounter
	seedTime   time.Duration
}

func newBenchAPI(b *testing.B, seeders ...func(*testing.B, *metadb.DB)) *benchAPI {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testenv.Database(b))
	if err != nil {
		b.Fatal(err)
	}
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	db := metadb.FromPool(pool)
	if _, err := db.Migrate(ctx, 128); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, seed := range seeders {
		seed(b, db)
	}
	seedTime := time.Since(start)
	key, _ := secrets.GenerateKey()
	kr, _ := secrets.NewKeyring(key)
	s, err := New(Options{Version: "bench", JWTSecret: testSecret, JWTExpiration: time.Hour, DefaultQueue: "default"},
		db, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	b.Cleanup(srv.Close)
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := metadb.CreateUser(ctx, pool, &metadb.User{Username: "bench", Role: auth.Viewer.String()}, string(h)); err != nil {
		b.Fatal(err)
	}
	token, err := s.tokens.Issue("bench", auth.Viewer)
	if err != nil {
		b.Fatal(err)
	}
	return &benchAPI{url: srv.URL, token: token, queries: counter, seedTime: seedTime}
}

func BenchmarkAPI(b *testing.B) {
	api := newBenchAPI(b, seed)
	token, counter, seedTime := api.token, api.queries, api.seedTime
	host, _ := os.Hostname()
	b.Logf("API bench on %s: %s %s/%s, %d CPUs; seeded 1,000 DAGs, 10,000 runs, 200,000 task instances in %s; one api-server, sequential requests over loopback",
		host, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), seedTime.Round(time.Millisecond))

	for _, ep := range []struct{ name, path string }{
		{"dag_list_limit_100", "/api/v2/dags?limit=100"},
		{"dag_list_limit_10", "/api/v2/dags?limit=10"},
		{"dag_list_tag_filter", "/api/v2/dags?limit=100&tags=bench&dag_id_pattern=dag_0%25"},
		{"run_list_all_dags", "/api/v2/dags/~/dagRuns?limit=100&order_by=-run_after"},
		{"ti_list_1000_task_run", "/api/v2/dags/dag_0001/dagRuns/scheduled__1/taskInstances?limit=1000"},
		{"ti_list_100_of_run", "/api/v2/dags/dag_0001/dagRuns/scheduled__1/taskInstances?limit=100"},
		{"ti_list_all_runs", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=100&state=success"},
		{"log_page_1MiB_try", "/api/v2/dags/dag_0001/dagRuns/scheduled__1/taskInstances/t0/logs/1"},
	} {
		b.Run(ep.name, func(b *testing.B) {
			const n = 200
			lat := make([]time.Duration, 0, n)
			q0 := counter.n.Load()
			for i := 0; i < n; i++ {
				req, _ := http.NewRequest("GET", api.url+ep.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", ep.path, resp.StatusCode)
				}
			}
			queries := float64(counter.n.Load()-q0) / n
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p50, p99 := lat[n/2], lat[n*99/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
			b.ReportMetric(queries, "queries/req")
			b.Logf("%-24s p50 %6.1f ms  p99 %6.1f ms  %.1f queries/request", ep.name,
				float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000, queries)
		})
	}
	_ = fmt.Sprint
}
