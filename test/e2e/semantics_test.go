package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/retry"
	"github.com/gust-sched/gust/internal/testenv"
)

// span is one task execution read from the timing file.
type span struct {
	dag, run, task string
	start, end     float64
}

// timed wraps a bash body so that the try goes to the ledger and its start
// and end times to the timing file.
func timed(ledger, timing, body string) string {
	id := `$AIRFLOW_CTX_DAG_ID $AIRFLOW_CTX_DAG_RUN_ID $AIRFLOW_CTX_TASK_ID`
	return fmt.Sprintf(`echo "%[1]s $AIRFLOW_CTX_TRY_NUMBER" >> %[2]s; echo "%[1]s start $(date +%%s.%%N)" >> %[3]s; %[4]s; rc=$?; echo "%[1]s end $(date +%%s.%%N)" >> %[3]s; exit $rc`,
		id, ledger, timing, body)
}

func readSpans(t *testing.T, timing string) []span {
	t.Helper()
	b, err := os.ReadFile(timing)
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]*span{}
	var out []span
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 5 {
			continue
		}
		v, _ := strconv.ParseFloat(f[4], 64)
		k := f[0] + " " + f[1] + " " + f[2]
		if f[3] == "start" {
			open[k] = &span{dag: f[0], run: f[1], task: f[2], start: v}
		} else if s := open[k]; s != nil {
			s.end = v
			out = append(out, *s)
			delete(open, k)
		}
	}
	return out
}

// maxOverlap is the largest number of spans (filtered by keep) running at once.
func maxOverlap(spans []span, keep func(span) bool) int {
	type ev struct {
		at    float64
		delta int
	}
	var evs []ev
	for _, s := range spans {
		if keep(s) {
			evs = append(evs, ev{s.start, 1}, ev{s.end, -1})
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].delta < evs[j].delta
	})
	cur, best := 0, 0
	for _, e := range evs {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// TestAirflowSemantics runs one DAG per rule family through two schedulers
// and several workers and checks Airflow's outcomes: trigger rules and skip
// propagation, pools and priority weights, queues, clear, backfill with
// max_active_runs, depends_on_past, execution and DAG run timeouts.
func TestAirflowSemantics(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ledger := filepath.Join(c.Home, "ledger.txt")
	timing := filepath.Join(c.Home, "timing.txt")
	marker := filepath.Join(c.Home, "marker")
	tm := func(body string) string { return strings.ReplaceAll(timed(ledger, timing, body), "'", "''") }
	c.WriteDAG("semantics.yaml", fmt.Sprintf(`
default:
  default_args:
    start_date: 2024-01-01
  schedule: null

rules:
  tasks:
    boom: {operator: bash, bash_command: '%[1]s'}
    ok: {operator: bash, bash_command: '%[2]s'}
    skipper: {operator: bash, bash_command: '%[3]s'}
    all_success_t: {operator: bash, bash_command: '%[2]s', dependencies: [boom, ok]}
    all_failed_t: {operator: bash, bash_command: '%[2]s', trigger_rule: all_failed, dependencies: [boom]}
    all_done_t: {operator: bash, bash_command: '%[2]s', trigger_rule: all_done, dependencies: [boom, ok]}
    one_success_t: {operator: bash, bash_command: '%[2]s', trigger_rule: one_success, dependencies: [boom, ok]}
    one_failed_t: {operator: bash, bash_command: '%[2]s', trigger_rule: one_failed, dependencies: [boom, ok]}
    one_done_t: {operator: bash, bash_command: '%[2]s', trigger_rule: one_done, dependencies: [boom, ok]}
    none_failed_t: {operator: bash, bash_command: '%[2]s', trigger_rule: none_failed, dependencies: [boom, ok]}
    none_skipped_t: {operator: bash, bash_command: '%[2]s', trigger_rule: none_skipped, dependencies: [boom, ok]}
    always_t: {operator: bash, bash_command: '%[2]s', trigger_rule: always, dependencies: [boom]}
    all_skipped_t: {operator: bash, bash_command: '%[2]s', trigger_rule: all_skipped, dependencies: [skipper]}
    after_skip: {operator: bash, bash_command: '%[2]s', dependencies: [skipper]}
    after_after_skip: {operator: empty, dependencies: [after_skip]}
    nfmos_t: {operator: bash, bash_command: '%[2]s', trigger_rule: none_failed_min_one_success, dependencies: [skipper, ok]}
    none_skipped_after_skip: {operator: bash, bash_command: '%[2]s', trigger_rule: none_skipped, dependencies: [skipper]}

pooled:
  tasks:
%[9]s
prio:
  tasks:
    lo: {operator: bash, bash_command: '%[4]s', pool: p1, priority_weight: 1, weight_rule: absolute}
    mid: {operator: bash, bash_command: '%[4]s', pool: p1, priority_weight: 5, weight_rule: absolute}
    hi: {operator: bash, bash_command: '%[4]s', pool: p1, priority_weight: 10, weight_rule: absolute}

queues:
  tasks:
    special: {operator: bash, bash_command: '%[2]s', queue: special}
    unserved: {operator: bash, bash_command: '%[2]s', queue: nobody_yet}

chain:
  tasks:
    a: {operator: bash, bash_command: '%[2]s'}
    b: {operator: bash, bash_command: '%[2]s', dependencies: [a]}
    c: {operator: bash, bash_command: '%[2]s', dependencies: [b]}

needs_marker:
  tasks:
    check: {operator: bash, bash_command: '%[5]s'}
    after: {operator: bash, bash_command: '%[2]s', dependencies: [check]}

backfilled:
  schedule: "@daily"
  max_active_runs: 2
  default_args:
    start_date: 2030-01-01
  tasks:
    only: {operator: bash, bash_command: '%[6]s'}

past:
  tasks:
    t: {operator: bash, bash_command: '%[7]s', depends_on_past: true}

timeouts:
  dagrun_timeout_sec: 3
  tasks:
    slow: {operator: bash, bash_command: '%[8]s'}

exec_timeout:
  tasks:
    slow: {operator: bash, bash_command: '%[8]s', execution_timeout_secs: 1}

backoff:
  tasks:
    b: {operator: bash, bash_command: '%[10]s', retries: 2, retry_delay_sec: 1, retry_exponential_backoff: true, max_retry_delay_sec: 60}
`,
		tm("exit 1"), tm("true"), tm("exit 99"), tm("sleep 0.5"),
		tm("[ -f "+marker+" ]"), tm("sleep 0.6"),
		tm(`case "$AIRFLOW_CTX_DAG_RUN_ID" in first) [ -f `+marker+` ];; *) true;; esac`),
		tm("sleep 30"), poolTasks(tm("sleep 0.7"), 6), tm(`[ "$AIRFLOW_CTX_TRY_NUMBER" -ge 3 ]`)))

	c.Start("scheduler-1", "scheduler")
	c.Start("scheduler-2", "scheduler")
	c.Start("worker-1", "worker", "-q", "default,special", "-c", "4", "--hostname", "w1@sem")
	c.Start("worker-2", "worker", "-q", "default", "-c", "4", "--hostname", "w2@sem")

	testenv.Eventually(t, 30*time.Second, "DAGs to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "plain")
		return err == nil && strings.Contains(out, "exec_timeout") && strings.Contains(out, "rules"), out
	})
	c.MustRun("pools", "set", "p2", "2", "two slots")
	c.MustRun("pools", "set", "p1", "1", "one slot")
	var pools []struct {
		Pool  string `json:"pool"`
		Slots int    `json:"slots"`
	}
	c.MustJSON(&pools, "pools", "list")
	if len(pools) != 3 || pools[1].Pool != "p1" || pools[2].Pool != "p2" || pools[2].Slots != 2 {
		t.Fatalf("pools list = %+v", pools)
	}
	if _, errOut, err := c.Run("pools", "delete", "default_pool"); err == nil || !strings.Contains(errOut, "cannot be deleted") {
		t.Errorf("deleting default_pool: %v %s", err, errOut)
	}

	// A future logical date is refused without allow_trigger_in_future.
	if _, errOut, err := c.Run("dags", "trigger", "chain", "--logical-date", "2099-01-01"); err == nil || !strings.Contains(errOut, "allow_trigger_in_future") {
		t.Errorf("future trigger: %v %s", err, errOut)
	}

	for _, d := range []string{"rules", "pooled", "prio", "queues", "chain", "needs_marker", "timeouts", "exec_timeout", "backoff"} {
		c.MustRun("dags", "trigger", d, "--run-id", "r1")
	}
	c.MustRun("dags", "trigger", "past", "--run-id", "first", "--logical-date", "2024-03-01")
	c.MustRun("dags", "trigger", "past", "--run-id", "second", "--logical-date", "2024-03-02")
	out := c.MustRun("dags", "backfill", "backfilled", "-s", "2024-02-01", "-e", "2024-02-05")
	if !strings.Contains(out, "5 runs created") {
		t.Errorf("backfill output: %s", out)
	}

	c.WaitRunsFinished(90*time.Second, 13, "rules", "pooled", "prio", "chain", "needs_marker", "timeouts", "exec_timeout", "backfilled", "backoff")

	t.Run("trigger rules", func(t *testing.T) {
		tis := c.TIs("rules", "r1")
		want := map[string]string{
			"boom": "failed", "ok": "success", "skipper": "skipped",
			"all_success_t": "upstream_failed", "all_failed_t": "success", "all_done_t": "success",
			"one_success_t": "success", "one_failed_t": "success", "one_done_t": "success",
			"none_failed_t": "upstream_failed", "none_skipped_t": "success", "always_t": "success",
			"all_skipped_t": "success", "after_skip": "skipped", "after_after_skip": "skipped",
			"nfmos_t": "success", "none_skipped_after_skip": "skipped",
		}
		for task, st := range want {
			if got := testenv.State(tis[task]); got != st {
				t.Errorf("%s: %s, want %s", task, got, st)
			}
		}
		if r := c.Runs("rules"); r[0].State != "failed" {
			t.Errorf("run state %s, want failed (a leaf is upstream_failed)", r[0].State)
		}
	})

	spans := readSpans(t, timing)
	t.Run("pools", func(t *testing.T) {
		n := maxOverlap(spans, func(s span) bool { return s.dag == "pooled" })
		count := 0
		for _, s := range spans {
			if s.dag == "pooled" {
				count++
			}
		}
		if count != 6 || n != 2 {
			t.Errorf("pool p2 (2 slots): %d tasks ran, at most %d at once; want 6 tasks, 2 at once", count, n)
		}
	})
	t.Run("priority weights", func(t *testing.T) {
		var order []span
		for _, s := range spans {
			if s.dag == "prio" {
				order = append(order, s)
			}
		}
		sort.Slice(order, func(i, j int) bool { return order[i].start < order[j].start })
		var got []string
		for _, s := range order {
			got = append(got, s.task)
		}
		if strings.Join(got, ",") != "hi,mid,lo" {
			t.Errorf("one-slot pool ran %v, want hi,mid,lo", got)
		}
	})
	t.Run("exponential retry backoff", func(t *testing.T) {
		run := c.Runs("backoff")[0]
		logical, err := time.Parse(time.RFC3339, run.LogicalDate)
		if err != nil {
			t.Fatal(err)
		}
		var tries []span
		for _, s := range spans {
			if s.dag == "backoff" {
				tries = append(tries, s)
			}
		}
		if len(tries) != 3 || run.State != "success" {
			t.Fatalf("backoff: %d tries, run %s; want success on try 3", len(tries), run.State)
		}
		for try := 1; try <= 2; try++ {
			want := retry.Delay(retry.Policy{Delay: time.Second, ExponentialBackoff: true, MaxDelay: time.Minute}, "backoff", "b", logical, try).Seconds()
			got := tries[try].start - tries[try-1].end
			if got < want-0.05 || got > want+2 {
				t.Errorf("gap after try %d: %.2fs, want Airflow's %.2fs (+ scheduling latency)", try, got, want)
			}
		}
	})
	t.Run("dagrun and execution timeouts", func(t *testing.T) {
		if r := c.Runs("timeouts"); r[0].State != "failed" {
			t.Errorf("dagrun_timeout: run %s, want failed", r[0].State)
		}
		if got := testenv.State(c.TIs("timeouts", "r1")["slow"]); got != "skipped" {
			t.Errorf("dagrun_timeout: task %s, want skipped", got)
		}
		if got := testenv.State(c.TIs("exec_timeout", "r1")["slow"]); got != "failed" {
			t.Errorf("execution_timeout: task %s, want failed", got)
		}
		for _, s := range spans {
			if (s.dag == "timeouts" || s.dag == "exec_timeout") && s.end > 0 {
				t.Errorf("%s/%s ran to its end; it should have been killed", s.dag, s.task)
			}
		}
		b, _ := os.ReadFile(filepath.Join(c.Logs, "dag_id=exec_timeout", "run_id=r1", "task_id=slow", "attempt=1.log"))
		if !strings.Contains(strings.ToLower(string(b)), "timeout") && !strings.Contains(strings.ToLower(string(b)), "timed out") {
			t.Errorf("execution_timeout log does not say so:\n%s", b)
		}
	})
	t.Run("backfill within max_active_runs", func(t *testing.T) {
		rs := c.Runs("backfilled")
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.RunID)
			if r.RunType != "backfill" || r.State != "success" {
				t.Errorf("%s: %s %s, want a successful backfill run", r.RunID, r.RunType, r.State)
			}
		}
		sort.Strings(ids)
		if len(ids) != 5 || ids[0] != "backfill__2024-02-01T00:00:00+00:00" || ids[4] != "backfill__2024-02-05T00:00:00+00:00" {
			t.Errorf("backfill runs %v", ids)
		}
		if n := maxOverlap(spans, func(s span) bool { return s.dag == "backfilled" }); n > 2 {
			t.Errorf("%d backfill runs ran at once, max_active_runs is 2", n)
		}
		// Again with --reset-dagruns: every run runs a second try.
		c.MustRun("dags", "backfill", "backfilled", "-s", "2024-02-01", "-e", "2024-02-02", "--reset-dagruns", "--yes")
		c.WaitRunsFinished(30*time.Second, 5, "backfilled")
		if ti := c.TIs("backfilled", "backfill__2024-02-02T00:00:00+00:00")["only"]; ti.TryNumber != 2 || testenv.State(ti) != "success" {
			t.Errorf("after --reset-dagruns: %s try %d, want success try 2", testenv.State(ti), ti.TryNumber)
		}
	})

	t.Run("queues", func(t *testing.T) {
		tis := c.TIs("queues", "r1")
		if ti := tis["special"]; testenv.State(ti) != "success" || ti.Hostname != "w1@sem" {
			t.Errorf("special: %s on %q, want success on w1@sem (the only worker of queue special)", testenv.State(ti), ti.Hostname)
		}
		if got := testenv.State(tis["unserved"]); got != "queued" {
			t.Errorf("unserved: %s, want queued while no worker serves its queue", got)
		}
		c.Start("worker-3", "worker", "-q", "nobody_yet", "-c", "1", "--hostname", "w3@sem")
		c.WaitRunsFinished(30*time.Second, 1, "queues")
		if ti := c.TIs("queues", "r1")["unserved"]; testenv.State(ti) != "success" || ti.Hostname != "w3@sem" || ti.TryNumber != 1 {
			t.Errorf("unserved after its worker came: %s on %q try %d", testenv.State(ti), ti.Hostname, ti.TryNumber)
		}
	})

	t.Run("clear", func(t *testing.T) {
		c.MustRun("tasks", "clear", "chain", "-t", "^b$", "--downstream", "--yes")
		c.WaitRunsFinished(30*time.Second, 1, "chain")
		tis := c.TIs("chain", "r1")
		for task, try := range map[string]int{"a": 1, "b": 2, "c": 2} {
			if testenv.State(tis[task]) != "success" || tis[task].TryNumber != try {
				t.Errorf("chain %s after clear: %s try %d, want success try %d", task, testenv.State(tis[task]), tis[task].TryNumber, try)
			}
		}
		// --only-failed: fix the cause, clear only what failed.
		if got := testenv.State(c.TIs("needs_marker", "r1")["after"]); got != "upstream_failed" {
			t.Fatalf("needs_marker/after: %s, want upstream_failed", got)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		c.MustRun("tasks", "clear", "needs_marker", "--only-failed", "--yes")
		c.WaitRunsFinished(30*time.Second, 1, "needs_marker")
		tis = c.TIs("needs_marker", "r1")
		if tis["check"].TryNumber != 2 || testenv.State(tis["check"]) != "success" || testenv.State(tis["after"]) != "success" {
			t.Errorf("needs_marker after clear: check %s try %d, after %s", testenv.State(tis["check"]), tis["check"].TryNumber, testenv.State(tis["after"]))
		}
		if r := c.Runs("needs_marker"); r[0].State != "success" {
			t.Errorf("needs_marker run %s, want success", r[0].State)
		}
	})

	t.Run("depends_on_past", func(t *testing.T) {
		// "first" failed before the marker existed, so "second" waited; a
		// clear of "first" (now that the marker exists) lets both finish.
		c.MustRun("tasks", "clear", "past", "-r", "first", "--yes")
		c.WaitRunsFinished(30*time.Second, 2, "past")
		for _, r := range c.Runs("past") {
			if r.State != "success" {
				t.Errorf("past/%s: %s, want success", r.RunID, r.State)
			}
		}
		counts := readLedger(t, ledger)
		if counts["past second t 1"] != 1 || counts["past first t 1"] != 1 || counts["past first t 2"] != 1 {
			t.Errorf("past ledger: %v", counts)
		}
		var first, second float64
		for _, s := range readSpans(t, timing) {
			if s.dag == "past" && s.run == "second" {
				second = s.start
			}
			if s.dag == "past" && s.run == "first" {
				first = s.start // the last try's start
			}
		}
		if second < first {
			t.Errorf("second run's task started before the first run's task succeeded")
		}
	})

	t.Run("operator actions", func(t *testing.T) {
		tree := c.MustRun("tasks", "list", "chain", "--tree")
		if !strings.Contains(tree, "<Task(bash): a>\n    <Task(bash): b>\n        <Task(bash): c>") {
			t.Errorf("tasks list --tree:\n%s", tree)
		}
		// Marking the upstream_failed leaves success lets the run succeed.
		c.MustRun("tasks", "mark-success", "rules", "r1", "all_success_t")
		c.MustRun("tasks", "mark-success", "rules", "r1", "none_failed_t")
		c.WaitRunsFinished(30*time.Second, 1, "rules")
		if r := c.Runs("rules"); r[0].State != "success" {
			t.Errorf("rules after mark-success: %s, want success", r[0].State)
		}
		if _, errOut, err := c.Run("tasks", "mark-success", "rules", "r1", "nope"); err == nil || !strings.Contains(errOut, "not found") {
			t.Errorf("mark-success of an unknown task: %v %s", err, errOut)
		}
		// Deleting a DAG drops its runs; its file brings it back, empty.
		c.MustRun("dags", "delete", "timeouts", "--yes")
		testenv.Eventually(t, 20*time.Second, "the deleted DAG to come back from its file", func() (bool, string) {
			out, _, err := c.Run("dags", "list", "-o", "plain")
			return err == nil && strings.Contains(out, "timeouts"), out
		})
		if rs := c.Runs("timeouts"); len(rs) != 0 {
			t.Errorf("deleted DAG still has runs: %+v", rs)
		}
	})

	// No try ran twice anywhere.
	for line, n := range readLedger(t, ledger) {
		if n != 1 {
			t.Errorf("ledger: %q ran %d times", line, n)
		}
	}
}

func poolTasks(cmd string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    p%02d: {operator: bash, bash_command: '%s', pool: p2}\n", i, cmd)
	}
	return b.String()
}
