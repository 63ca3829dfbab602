// Package chaos proves gust's guarantees under faults: real schedulers and
// workers run a workload while schedulers and workers are killed with
// SIGKILL and restarted, and the broker and the database are restarted. At
// the end no task is lost, no try ran twice, every task instance and run is
// finished. The database and broker are private instances (an initdb'd
// PostgreSQL and a RabbitMQ node of its own), so that restarting them does
// not disturb the machine's services or other tests.
//
// `make test` runs the short version; `make chaos` the long one
// (-chaos.scale=7: over 2,000 tries).
package chaos

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/internal/testenv"
)

var (
	scale      = flag.Int("chaos.scale", 1, "workload multiplier: 1 is about 300 tries, 7 over 2,000")
	faultEvery = flag.Duration("chaos.every", 3*time.Second, "time between two process kills")
)

type workload struct {
	dag   string
	tasks int
	runs  int
	tries int // tries per task when nothing goes wrong
}

func dags(ledger string) string {
	rec := fmt.Sprintf(`echo "$AIRFLOW_CTX_DAG_ID $AIRFLOW_CTX_DAG_RUN_ID $AIRFLOW_CTX_TASK_ID $AIRFLOW_CTX_TRY_NUMBER $(date +%%s.%%N)" >> %s`, ledger)
	var b strings.Builder
	b.WriteString("default:\n  default_args: {start_date: 2024-01-01, retries: 4, retry_delay_sec: 1}\n  schedule: null\n  max_active_runs: 64\n  max_active_tasks: 64\n")
	b.WriteString("fan:\n  tasks:\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "    f%02d: {operator: bash, bash_command: '%s; sleep 1'}\n", i, rec)
	}
	b.WriteString("chain:\n  tasks:\n")
	for i := 0; i < 20; i++ {
		dep := ""
		if i > 0 {
			dep = fmt.Sprintf(", dependencies: [c%02d]", i-1)
		}
		fmt.Fprintf(&b, "    c%02d: {operator: bash, bash_command: '%s; sleep 0.3'%s}\n", i, rec, dep)
	}
	b.WriteString("flaky:\n  tasks:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "    k%02d: {operator: bash, bash_command: '%s; sleep 0.5; [ \"$AIRFLOW_CTX_TRY_NUMBER\" -ge 2 ]'}\n", i, rec)
	}
	// Mapped tasks: over a literal list, and over an upstream's XCom (a
	// list of env mappings the bash task writes); their instances record
	// themselves as task[map_index].
	named := func(task string) string { return strings.Replace(rec, "$AIRFLOW_CTX_TASK_ID", task, 1) }
	envs := make([]string, mappedWidth)
	cmds := make([]string, mappedWidth)
	for i := range mappedWidth {
		envs[i] = fmt.Sprintf(`{"I":"%d"}`, i)
		cmds[i] = fmt.Sprintf("'%s; sleep 0.4'", named(fmt.Sprintf("lit[%d]", i)))
	}
	b.WriteString("mapped:\n  tasks:\n")
	fmt.Fprintf(&b, "    src: {operator: bash, bash_command: '%s; echo ''envs=[%s]'' >> $GUST_XCOM_FILE'}\n", rec, strings.Join(envs, ","))
	fmt.Fprintf(&b, "    lit: {operator: bash, expand: {bash_command: [%s]}}\n", strings.Join(cmds, ", "))
	fmt.Fprintf(&b, "    over: {operator: bash, append_env: true, bash_command: '%s; sleep 0.4; [ \"$I\" = {{ ti.map_index }} ]', "+
		"expand: {env: {__gust_xcomarg__: {task_id: src, key: envs}}}}\n", named("over[{{ ti.map_index }}]"))
	fmt.Fprintf(&b, "    after: {operator: bash, bash_command: '%s', dependencies: [lit, over], outlets: ['%s']}\n", rec, chaosAsset)
	// Scheduled on the asset the mapped runs update: its runs are
	// asset-triggered, each consuming the events since the last.
	fmt.Fprintf(&b, "consumer:\n  schedule: ['%s']\n  tasks:\n    use: {operator: bash, bash_command: '%s; sleep 0.3'}\n", chaosAsset, rec)
	return b.String()
}

// mappedWidth is how many instances each mapped task of the mapped DAG has.
const mappedWidth = 12

// chaosAsset is what the mapped DAG's last task updates, and the consumer
// DAG is scheduled on.
const chaosAsset = "s3://chaos/mapped"

type ledgerLine struct {
	key string // dag run task
	try int
	at  float64
}

func readLedger(t *testing.T, path string) []ledgerLine {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []ledgerLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 5 {
			continue
		}
		try, _ := strconv.Atoi(f[3])
		at, _ := strconv.ParseFloat(f[4], 64)
		out = append(out, ledgerLine{key: f[0] + " " + f[1] + " " + f[2], try: try, at: at})
	}
	return out
}

type fault struct {
	at, back time.Time // when it struck, and when the service was back
	what     string
}

func TestChaos(t *testing.T) {
	bin, err := testenv.BuildGust(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pg := testenv.StartPrivatePostgres(t)
	rmq := testenv.StartPrivateRabbit(t)
	c := testenv.NewCluster(t, bin,
		"GUST__DATABASE__SQL_CONN="+pg.URL("gust"),
		"GUST__CELERY__BROKER_URL="+rmq.URL(),
		"GUST__CORE__PARALLELISM=64",
		"GUST__SCHEDULER__SCHEDULER_ZOMBIE_TASK_THRESHOLD=8",
		"GUST__SCHEDULER__ZOMBIE_DETECTION_INTERVAL=2",
		"GUST__SCHEDULER__JOB_HEARTBEAT_SEC=1",
		"GUST__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD=5",
		"GUST__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL=2",
		"GUST__SCHEDULER__TASK_QUEUED_TIMEOUT=60",
		"GUST__CELERY__WORKER_SHUTDOWN_GRACE=5",
	)
	ledger := filepath.Join(c.Home, "ledger.txt")
	c.WriteDAG("chaos.yaml", dags(ledger))

	var mu sync.Mutex
	procs := map[string]*testenv.Proc{}
	args := map[string][]string{}
	start := func(name string, a ...string) {
		mu.Lock()
		defer mu.Unlock()
		args[name] = a
		procs[name] = c.Start(name, a...)
	}
	restart := func(name string) {
		mu.Lock()
		a := args[name]
		mu.Unlock()
		start(name+"+", a...) // a new process under a new name, so that its output is kept apart
		mu.Lock()
		args[name] = a
		procs[name] = procs[name+"+"]
		delete(procs, name+"+")
		mu.Unlock()
	}
	schedulers := []string{"scheduler-1", "scheduler-2"}
	workers := []string{"worker-1", "worker-2", "worker-3"}
	for _, s := range schedulers {
		start(s, "scheduler")
	}
	for i, w := range workers {
		start(w, "worker", "-c", "4", "--hostname", fmt.Sprintf("w%d@chaos", i+1))
	}
	testenv.Eventually(t, 60*time.Second, "DAGs to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "plain")
		return err == nil && strings.Contains(out, "fan") && strings.Contains(out, "chain") && strings.Contains(out, "flaky") &&
			strings.Contains(out, "mapped") && strings.Contains(out, "consumer"), out
	})

	work := []workload{{"fan", 40, 4 * *scale, 1}, {"chain", 20, 3 * *scale, 1}, {"flaky", 10, 4 * *scale, 2},
		{"mapped", 2 + 2*mappedWidth, 2 * *scale, 1}}
	expected := 0
	for _, w := range work {
		expected += w.tasks * w.runs * w.tries
		for i := 0; i < w.runs; i++ {
			c.MustRun("dags", "trigger", w.dag, "--run-id", fmt.Sprintf("%s_%03d", w.dag, i))
		}
	}
	t.Logf("workload: %d tries expected without faults (%d DAG runs)", expected, 4**scale+3**scale+4**scale+2**scale)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL("gust"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { conn.Close(context.Background()) }()
	// Unfinished: runs not done, and asset events still queued for the
	// consumer (its next run is due).
	unfinished := func() (int, error) {
		var n int
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM dag_run WHERE state NOT IN ('success', 'failed'))
			+ (SELECT count(*) FROM asset_dag_run_queue)`).Scan(&n)
		return n, err
	}

	// Faults while the workload runs: a scheduler and a worker killed in
	// turn every few seconds, RabbitMQ restarted once, PostgreSQL once.
	began := time.Now()
	var faults []fault
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	brokerDone, dbDone := false, false
	for i := 0; ; i++ {
		time.Sleep(*faultEvery)
		if conn.IsClosed() || conn.Ping(ctx) != nil {
			conn.Close(ctx)
			if conn, err = pgx.Connect(ctx, pg.URL("gust")); err != nil {
				t.Fatalf("reconnect to the private database: %v", err)
			}
		}
		n, err := unfinished()
		if err == nil && n == 0 && brokerDone && dbDone {
			break
		}
		if time.Since(began) > 15*time.Minute {
			t.Fatalf("the workload did not finish within 15 minutes of faults (%d runs unfinished)", n)
		}
		switch {
		case !brokerDone && i == 3:
			f := fault{at: time.Now(), what: "RabbitMQ restart"}
			rmq.Stop()
			time.Sleep(2 * time.Second)
			rmq.Start()
			f.back = time.Now()
			faults = append(faults, f)
			brokerDone = true
			continue
		case !dbDone && i == 6:
			f := fault{at: time.Now(), what: "PostgreSQL crash and restart"}
			conn.Close(ctx)
			pg.Stop("immediate")
			time.Sleep(2 * time.Second)
			pg.Start()
			f.back = time.Now()
			faults = append(faults, f)
			if conn, err = pgx.Connect(ctx, pg.URL("gust")); err != nil {
				t.Fatalf("reconnect to the private database: %v", err)
			}
			dbDone = true
			continue
		}
		var victim string
		if i%2 == 0 {
			victim = schedulers[rng.IntN(len(schedulers))]
		} else {
			victim = workers[rng.IntN(len(workers))]
		}
		mu.Lock()
		p := procs[victim]
		mu.Unlock()
		f := fault{at: time.Now(), what: "kill -9 " + victim}
		p.Kill()
		restart(victim)
		f.back = time.Now()
		faults = append(faults, f)
	}
	elapsed := time.Since(began)

	// The verdict, from the database and the ledger.
	var nonTerminal, runsUnfinished, runsFailed, tisFailed int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM task_instance WHERE state IS NULL
		OR state NOT IN ('success', 'failed', 'skipped', 'upstream_failed', 'removed')`).Scan(&nonTerminal); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state NOT IN ('success', 'failed')), count(*) FILTER (WHERE state = 'failed')
		FROM dag_run`).Scan(&runsUnfinished, &runsFailed); err != nil {
		t.Fatal(err)
	}
	type tiRow struct {
		key   string
		state string
		try   int
	}
	rows, err := conn.Query(ctx, `SELECT dag_id || ' ' || run_id || ' ' || task_id || CASE WHEN map_index >= 0 THEN '[' || map_index || ']' ELSE '' END,
		coalesce(state, ''), try_number FROM task_instance`)
	if err != nil {
		t.Fatal(err)
	}
	tis, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tiRow, error) {
		var x tiRow
		return x, r.Scan(&x.key, &x.state, &x.try)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each mapped run expanded each mapped task once, to its full width.
	var badExpansions int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT run_id, task_id FROM task_instance WHERE dag_id = 'mapped'
		AND task_id IN ('lit', 'over') GROUP BY run_id, task_id HAVING count(*) <> $1 OR min(map_index) <> 0 OR max(map_index) <> $1 - 1) x`,
		mappedWidth).Scan(&badExpansions); err != nil {
		t.Fatal(err)
	}
	if badExpansions != 0 {
		t.Errorf("%d mapped tasks of the mapped runs did not expand to map indexes 0..%d", badExpansions, mappedWidth-1)
	}
	// Asset-triggered runs: every event of the mapped runs consumed by
	// exactly one consumer run, and each consumer run consumed some.
	var events, consumedTwice, unconsumed, consumerRuns, emptyRuns int
	if err := conn.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = $1),
			(SELECT count(*) FROM (SELECT x.event_id FROM dagrun_asset_event x GROUP BY x.event_id HAVING count(*) > 1) d),
			(SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = $1
				AND NOT EXISTS (SELECT 1 FROM dagrun_asset_event x WHERE x.event_id = e.id)),
			(SELECT count(*) FROM dag_run WHERE dag_id = 'consumer' AND run_type = 'asset_triggered'),
			(SELECT count(*) FROM dag_run r WHERE r.dag_id = 'consumer' AND NOT EXISTS (SELECT 1 FROM dagrun_asset_event x WHERE x.dag_run_id = r.id))`,
		chaosAsset).Scan(&events, &consumedTwice, &unconsumed, &consumerRuns, &emptyRuns); err != nil {
		t.Fatal(err)
	}
	if events != 2**scale || consumedTwice != 0 || unconsumed != 0 || consumerRuns == 0 || emptyRuns != 0 {
		t.Errorf("asset events %d (want %d), consumed twice %d, unconsumed %d, consumer runs %d (%d consumed nothing)",
			events, 2**scale, consumedTwice, unconsumed, consumerRuns, emptyRuns)
	}
	lines := readLedger(t, ledger)
	seen := map[string]int{}
	for _, l := range lines {
		seen[fmt.Sprintf("%s %d", l.key, l.try)]++
	}
	twice, lost := 0, 0
	for k, n := range seen {
		if n > 1 {
			twice++
			t.Errorf("try ran %d times: %s", n, k)
		}
	}
	for _, ti := range tis {
		if ti.state == "failed" {
			tisFailed++
		}
		// A finished try must have run: success (and failed) TIs have
		// their last try in the ledger.
		if (ti.state == "success" || ti.state == "failed") && seen[fmt.Sprintf("%s %d", ti.key, ti.try)] == 0 {
			lost++
			t.Errorf("task instance %s is %s at try %d, but that try never ran", ti.key, ti.state, ti.try)
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].at < lines[j].at })
	var gap float64
	var gapAt time.Time
	for i := 1; i < len(lines); i++ {
		if d := lines[i].at - lines[i-1].at; d > gap {
			gap = d
			gapAt = time.Unix(0, int64(lines[i-1].at*1e9))
		}
	}
	// Recovery: from a service being back to the next task start.
	var fs []string
	var recovery float64
	for _, f := range faults {
		line := fmt.Sprintf("%5.1fs %s", f.at.Sub(began).Seconds(), f.what)
		if !strings.HasPrefix(f.what, "kill") {
			back := float64(f.back.UnixNano()) / 1e9
			next := -1.0
			for _, l := range lines {
				if l.at >= back {
					next = l.at - back
					break
				}
			}
			line += fmt.Sprintf(" (down %.1fs; first task start %.1fs after it was back)", f.back.Sub(f.at).Seconds(), next)
			recovery = max(recovery, next)
		}
		fs = append(fs, line)
	}
	report := fmt.Sprintf(`chaos report (scale %d): %d tries run (%d expected without faults) in %.1fs
  faults: %d (%d process kills, 1 RabbitMQ restart, 1 PostgreSQL crash-restart)
  tasks lost: %d
  tries executed twice: %d
  TIs not in a terminal state: %d
  runs not finished: %d
  asset events: %d, consumed by %d asset-triggered runs (twice: %d, never: %d)
  failed TIs: %d, failed runs: %d
  longest gap between two task starts: %.1fs (at %.1fs), longest recovery after a service came back: %.1fs
  faults:
    %s`,
		*scale, len(lines), expected, elapsed.Seconds(), len(faults), len(faults)-2, lost, twice, nonTerminal,
		runsUnfinished, events, consumerRuns, consumedTwice, unconsumed, tisFailed, runsFailed, gap, gapAt.Sub(began).Seconds(), recovery, strings.Join(fs, "\n    "))
	t.Log(report)
	fmt.Println(report)
	if lost != 0 || twice != 0 || nonTerminal != 0 || runsUnfinished != 0 {
		t.Errorf("guarantees broken: lost %d, twice %d, non-terminal %d, unfinished runs %d", lost, twice, nonTerminal, runsUnfinished)
	}
	if runsFailed != 0 {
		t.Errorf("%d runs failed: with 4 retries each, no fault should exhaust a task's tries", runsFailed)
	}
	if len(lines) < expected {
		t.Errorf("only %d tries ran, fewer than the %d the workload needs", len(lines), expected)
	}
}
