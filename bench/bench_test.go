// Package bench measures gust end to end against the real services with
// two scheduler and two worker processes: no-op task throughput and the
// delay from one task's success to its downstream's start along a chain.
//
//	make bench   (go test ./bench -run '^$' -bench . -benchtime 1x -v)
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/internal/testenv"
)

func gustBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("GUST_BIN"); p != "" {
		return p
	}
	bin, err := testenv.BuildGust(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return bin
}

func startCluster(b *testing.B) *testenv.Cluster {
	c := testenv.NewCluster(b, gustBinary(b),
		"GUST__CORE__PARALLELISM=512",
		"GUST__CORE__MAX_ACTIVE_TASKS_PER_DAG=512",
		"GUST__CORE__DEFAULT_POOL_TASK_SLOT_COUNT=1024",
		"GUST__SCHEDULER__PARSING_PROCESSES=1",
	)
	// GUST_BENCH_PPROF=1 serves each process's profiles (go tool pprof
	// http://127.0.0.1:8801/debug/pprof/profile): the schedulers on 8801
	// and 8802, the workers on 8803 and 8804.
	base := c.Env
	start := func(port int, name string, args ...string) {
		if os.Getenv("GUST_BENCH_PPROF") != "" {
			c.Env = append(slices.Clip(base), "GUST__DEBUG__PPROF=true", fmt.Sprintf("GUST__METRICS__PORT=%d", port))
			b.Logf("%s: pprof on 127.0.0.1:%d", name, port)
		}
		c.Start(name, args...)
	}
	start(8801, "scheduler-1", "scheduler")
	start(8802, "scheduler-2", "scheduler")
	start(8803, "worker-1", "worker", "-c", "16", "--hostname", "bench-w1")
	start(8804, "worker-2", "worker", "-c", "16", "--hostname", "bench-w2")
	c.Env = base
	return c
}

func waitParsed(b *testing.B, c *testenv.Cluster, dagID string) {
	testenv.Eventually(b, 60*time.Second, "DAG "+dagID+" to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "plain")
		return err == nil && strings.Contains(out, dagID), out
	})
}

func header(b *testing.B) {
	host, _ := os.Hostname()
	b.Logf("gust bench on %s: %s %s/%s, %d CPUs; 2 schedulers + 2 workers (-c 16) as processes; PostgreSQL, RabbitMQ, Redis on loopback",
		host, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// BenchmarkThroughput runs 2,000 independent no-op bash tasks in one run and
// reports tasks per second from trigger to run success.
func BenchmarkThroughput(b *testing.B) {
	header(b)
	const n = 2000
	c := startCluster(b)
	var dag strings.Builder
	dag.WriteString("throughput:\n  schedule: null\n  max_active_tasks: 2000\n  default_args: {start_date: 2024-01-01}\n  tasks:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&dag, "    t%04d: {operator: bash, bash_command: 'true'}\n", i)
	}
	c.WriteDAG("throughput.yaml", dag.String())
	waitParsed(b, c, "throughput")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The machine's limit first: bash -c true, 4 at a time, as the
		// two workers' tries would run with nothing around them.
		raw, rawCPU := rawBash(b, n, 4)
		db0 := dbStats(b, c)
		cpu0 := cpuTime(b)
		elapsed := runAll(b, c, "throughput", fmt.Sprintf("bench_%d", i), n)
		perTask := (cpuTime(b) - cpu0) / n
		b.Logf("database work per task: %s", dbStats(b, c).perTask(db0, n))
		rate := float64(n) / elapsed.Seconds()
		b.ReportMetric(rate, "tasks/s")
		b.ReportMetric(raw, "raw-bash/s")
		b.ReportMetric(float64(perTask.Microseconds())/1000, "cpu-ms/task")
		b.ReportMetric(float64((perTask-rawCPU).Microseconds())/1000, "orchestration-cpu-ms/task")
		b.Logf("throughput: %d bash true tasks in %s = %.1f tasks/s; raw bash -c true (4 at a time) %.1f/s: %.0f%% of the machine's limit",
			n, elapsed.Round(time.Millisecond), rate, raw, 100*rate/raw)
		b.Logf("machine CPU per task %s, of which a bare bash -c true %s: orchestration (gust, PostgreSQL, RabbitMQ, Redis) %s",
			perTask.Round(10*time.Microsecond), rawCPU.Round(10*time.Microsecond), (perTask - rawCPU).Round(10*time.Microsecond))
	}
}

// BenchmarkPythonTasks runs 1,000 independent no-op TaskFlow tasks (@task
// functions in a Python DAG file, on the workers' warm Python processes)
// and 1,000 bash `true` tasks on the same cluster, one run after the other,
// and reports both rates: a no-op @task should cost no more than a bash one.
func BenchmarkPythonTasks(b *testing.B) {
	header(b)
	const n = 1000
	c := startCluster(b)
	var yaml strings.Builder
	yaml.WriteString("bash_noop:\n  schedule: null\n  max_active_tasks: 1000\n  default_args: {start_date: 2024-01-01}\n  tasks:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&yaml, "    t%04d: {operator: bash, bash_command: 'true'}\n", i)
	}
	c.WriteDAG("bash_noop.yaml", yaml.String())
	c.WriteDAG("python_noop.py", fmt.Sprintf(`
from airflow.sdk import dag, task

@dag(schedule=None, max_active_tasks=%[1]d)
def python_noop():
    @task
    def noop():
        pass

    for i in range(%[1]d):
        noop.override(task_id=f"t{i:04d}")()

python_noop()
`, n))
	waitParsed(b, c, "bash_noop")
	waitParsed(b, c, "python_noop")
	rate := func(dagID, runID string) float64 {
		return float64(n) / runAll(b, c, dagID, runID, n).Seconds()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The Python run starts cold: its first tries start the processes.
		py := rate("python_noop", fmt.Sprintf("bench_py_%d", i))
		sh := rate("bash_noop", fmt.Sprintf("bench_sh_%d", i))
		b.ReportMetric(py, "python-tasks/s")
		b.ReportMetric(sh, "bash-tasks/s")
		b.Logf("%d no-op @task: %.1f tasks/s; %d bash true: %.1f tasks/s (python/bash %.2f)", n, py, n, sh, py/sh)
	}
}

// BenchmarkMappedTasks runs a no-op @task mapped 1,000 ways and 1,000
// plain no-op @task tasks on the same cluster, one run after the other, and
// reports both rates: a mapped instance should cost no more than a task.
func BenchmarkMappedTasks(b *testing.B) {
	header(b)
	const n = 1000
	c := startCluster(b)
	c.WriteDAG("mapped.py", fmt.Sprintf(`
from airflow.sdk import dag, task

@dag(schedule=None, max_active_tasks=%[1]d)
def mapped_noop():
    @task
    def noop(i):
        pass

    noop.expand(i=list(range(%[1]d)))

@dag(schedule=None, max_active_tasks=%[1]d)
def plain_noop():
    @task
    def noop():
        pass

    for i in range(%[1]d):
        noop.override(task_id=f"t{i:04d}")()

mapped_noop()
plain_noop()
`, n))
	waitParsed(b, c, "mapped_noop")
	waitParsed(b, c, "plain_noop")
	rate := func(dagID, runID string) float64 {
		return float64(n) / runAll(b, c, dagID, runID, n).Seconds()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The plain run first: it starts the workers' Python processes.
		plain := rate("plain_noop", fmt.Sprintf("bench_plain_%d", i))
		mapped := rate("mapped_noop", fmt.Sprintf("bench_mapped_%d", i))
		b.ReportMetric(mapped, "mapped-tasks/s")
		b.ReportMetric(plain, "plain-tasks/s")
		b.Logf("1,000-way mapped no-op @task: %.1f instances/s; %d plain no-op @task: %.1f tasks/s (mapped/plain %.2f)", mapped, n, plain, mapped/plain)
	}
}

// BenchmarkChainLatency runs a chain of 100 tasks and reports the p50 and
// p99 delay from a task's end to its downstream's start.
func BenchmarkChainLatency(b *testing.B) {
	header(b)
	const n = 100
	c := startCluster(b)
	var dag strings.Builder
	dag.WriteString("chain:\n  schedule: null\n  default_args: {start_date: 2024-01-01}\n  tasks:\n")
	for i := 0; i < n; i++ {
		dep := ""
		if i > 0 {
			dep = fmt.Sprintf(", dependencies: [t%03d]", i-1)
		}
		fmt.Fprintf(&dag, "    t%03d: {operator: bash, bash_command: 'true'%s}\n", i, dep)
	}
	c.WriteDAG("chain.yaml", dag.String())
	waitParsed(b, c, "chain")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runID := fmt.Sprintf("bench_%d", i)
		c.MustRun("dags", "trigger", "chain", "--run-id", runID)
		waitRun(b, c, "chain", runID)
		var tis []struct {
			TaskID    string  `json:"task_id"`
			StartDate *string `json:"start_date"`
			EndDate   *string `json:"end_date"`
		}
		c.MustJSON(&tis, "tasks", "states-for-dag-run", "chain", runID)
		starts, ends := map[string]time.Time{}, map[string]time.Time{}
		for _, ti := range tis {
			if ti.StartDate == nil || ti.EndDate == nil {
				b.Fatalf("%s has no start or end date", ti.TaskID)
			}
			starts[ti.TaskID] = parseISO(b, *ti.StartDate)
			ends[ti.TaskID] = parseISO(b, *ti.EndDate)
		}
		var gaps []time.Duration
		for j := 1; j < n; j++ {
			gaps = append(gaps, starts[fmt.Sprintf("t%03d", j)].Sub(ends[fmt.Sprintf("t%03d", j-1)]))
		}
		sort.Slice(gaps, func(x, y int) bool { return gaps[x] < gaps[y] })
		p50, p99 := gaps[len(gaps)/2], gaps[len(gaps)*99/100]
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.Logf("chain of %d: success-to-downstream-start p50 %s, p99 %s, max %s", n, p50, p99, gaps[len(gaps)-1])
	}
}

// runAll triggers a run of dagID, waits for it to end and checks that its
// n tasks succeeded; it returns the time from trigger to end.
func runAll(b *testing.B, c *testenv.Cluster, dagID, runID string, n int) time.Duration {
	start := time.Now()
	c.MustRun("dags", "trigger", dagID, "--run-id", runID)
	waitRun(b, c, dagID, runID)
	elapsed := time.Since(start)
	ok := 0
	for _, ti := range c.TIs(dagID, runID) {
		if testenv.State(ti) == "success" {
			ok++
		}
	}
	if ok != n {
		b.Fatalf("%s: %d of %d tasks succeeded", dagID, ok, n)
	}
	return elapsed
}

// waitRun waits for a run to end, watching its row every 10 ms (a CLI
// command per look would cost the machine more than the look is worth).
func waitRun(b *testing.B, c *testenv.Cluster, dagID, runID string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DB)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var state string
		err := conn.QueryRow(ctx, `SELECT coalesce(state, '') FROM dag_run WHERE dag_id = $1 AND run_id = $2`, dagID, runID).Scan(&state)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			b.Fatal(err)
		}
		if state == "success" || state == "failed" {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s %s still %q after 10 minutes", dagID, runID, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pgStats are the cluster database's counters (pg_stat_database).
type pgStats struct{ commits, rollbacks, returned, fetched, inserted, updated, deleted int64 }

func dbStats(b *testing.B, c *testenv.Cluster) pgStats {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DB)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	// The counters reach the view when a backend reports them (at most
	// every second or so): let the last ones land.
	if _, err := conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		b.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	var s pgStats
	err = conn.QueryRow(ctx, `SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted
		FROM pg_stat_database WHERE datname = current_database()`).Scan(&s.commits, &s.rollbacks, &s.returned, &s.fetched,
		&s.inserted, &s.updated, &s.deleted)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func (s pgStats) perTask(before pgStats, n int) string {
	f := func(a, b int64) float64 { return float64(a-b) / float64(n) }
	return fmt.Sprintf("%.1f commits, %.2f rollbacks, %.0f rows returned, %.0f fetched, %.1f inserted, %.1f updated, %.1f deleted",
		f(s.commits, before.commits), f(s.rollbacks, before.rollbacks), f(s.returned, before.returned), f(s.fetched, before.fetched),
		f(s.inserted, before.inserted), f(s.updated, before.updated), f(s.deleted, before.deleted))
}

// cpuTime is the machine's busy CPU time so far (all processes, from
// /proc/stat).
func cpuTime(b *testing.B) time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var busy uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// rawBash runs `bash -c true` n times, par at a time, as fast as the
// machine can: the rate and the machine's CPU per run.
func rawBash(b *testing.B, n, par int) (perSec float64, cpu time.Duration) {
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	start, cpu0 := time.Now(), cpuTime(b)
	for range par {
		wg.Go(func() {
			for range next {
				if err := exec.Command("bash", "-c", "true").Run(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), (cpuTime(b) - cpu0) / time.Duration(n)
}

func parseISO(b *testing.B, s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.999999-07:00", s)
	if err != nil {
		b.Fatalf("parse %q: %v", s, err)
	}
	return t
}
