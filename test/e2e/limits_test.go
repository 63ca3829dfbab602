package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestConcurrencyLimits checks [core] parallelism (global across the two
// schedulers), a DAG's max_active_tasks and a task's max_active_tis_per_dag
// through real processes: each limit is reached and never exceeded.
func TestConcurrencyLimits(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__CORE__PARALLELISM=5")
	ledger := filepath.Join(c.Home, "ledger.txt")
	timing := filepath.Join(c.Home, "timing.txt")
	sleep := strings.ReplaceAll(timed(ledger, timing, "sleep 0.6"), "'", "''")
	var b strings.Builder
	b.WriteString("default:\n  default_args: {start_date: 2024-01-01}\n  schedule: null\n")
	b.WriteString("capped:\n  max_active_tasks: 2\n  tasks:\n")
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&b, "    c%d: {operator: bash, bash_command: '%s'}\n", i, sleep)
	}
	b.WriteString("per_task:\n  max_active_runs: 4\n  tasks:\n")
	fmt.Fprintf(&b, "    solo: {operator: bash, bash_command: '%s', max_active_tis_per_dag: 1}\n", sleep)
	b.WriteString("wide:\n  tasks:\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "    w%d: {operator: bash, bash_command: '%s'}\n", i, sleep)
	}
	c.WriteDAG("limits.yaml", b.String())
	c.Start("scheduler-1", "scheduler")
	c.Start("scheduler-2", "scheduler")
	c.Start("worker-1", "worker", "-c", "8", "--hostname", "w1@lim")
	c.Start("worker-2", "worker", "-c", "8", "--hostname", "w2@lim")
	testenv.Eventually(t, 30*time.Second, "DAGs to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "plain")
		return err == nil && strings.Contains(out, "capped") && strings.Contains(out, "per_task") && strings.Contains(out, "wide"), out
	})
	for _, d := range []string{"capped", "wide"} {
		c.MustRun("dags", "trigger", d, "--run-id", "r1")
	}
	for i := 1; i <= 3; i++ {
		c.MustRun("dags", "trigger", "per_task", "--run-id", fmt.Sprintf("r%d", i), "--logical-date", fmt.Sprintf("2024-01-0%dT00:00:00Z", i))
	}
	c.WaitRunsFinished(60*time.Second, 5, "capped", "wide", "per_task")
	spans := readSpans(t, timing)
	if len(spans) != 5+8+3 {
		t.Fatalf("%d task executions, want 16", len(spans))
	}
	for name, tc := range map[string]struct {
		keep func(span) bool
		want int
	}{
		"[core] parallelism = 5":     {func(span) bool { return true }, 5},
		"max_active_tasks = 2":       {func(s span) bool { return s.dag == "capped" }, 2},
		"max_active_tis_per_dag = 1": {func(s span) bool { return s.dag == "per_task" }, 1},
	} {
		if got := maxOverlap(spans, tc.keep); got != tc.want {
			t.Errorf("%s: at most %d at once, want exactly %d", name, got, tc.want)
		}
	}
}
