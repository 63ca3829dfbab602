package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// ledgerCmd appends "dag run task try" to the ledger file.
func ledgerCmd(ledger string) string {
	return fmt.Sprintf(`echo "$AIRFLOW_CTX_DAG_ID $AIRFLOW_CTX_DAG_RUN_ID $AIRFLOW_CTX_TASK_ID $AIRFLOW_CTX_TRY_NUMBER" >> %s`, ledger)
}

// readLedger returns how many times each "dag run task try" line appears.
func readLedger(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out[l]++
		}
	}
	return out
}

func coreDAGs(ledger string) string {
	l := ledgerCmd(ledger)
	return fmt.Sprintf(`
default:
  default_args:
    owner: e2e
    start_date: 2024-01-01
  schedule: null

chain:
  tasks:
    a: {operator: bash, bash_command: '%[1]s'}
    b: {operator: airflow.operators.bash.BashOperator, bash_command: '%[1]s', dependencies: [a]}
    c: {operator: bash, bash_command: '%[1]s', dependencies: [b]}
    end: {operator: airflow.operators.empty.EmptyOperator, dependencies: [c]}

flaky:
  default_args:
    retries: 2
    retry_delay_sec: 0
  tasks:
    flaky:
      operator: bash
      bash_command: '%[1]s; [ "$AIRFLOW_CTX_TRY_NUMBER" -ge 2 ]'
    after: {operator: bash, bash_command: '%[1]s', dependencies: [flaky]}

failing:
  tasks:
    boom: {operator: bash, bash_command: '%[1]s; exit 3'}
    fine: {operator: bash, bash_command: '%[1]s'}
    down: {operator: bash, bash_command: '%[1]s', dependencies: [boom, fine]}
    further: {operator: airflow.operators.dummy.DummyOperator, dependencies: [down]}

fanout:
  tasks:
`, l) + fanoutTasks(l, 24)
}

func fanoutTasks(cmd string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    t%02d: {operator: bash, bash_command: '%s'}\n", i, cmd)
	}
	return b.String()
}

// TestCoreEndToEnd runs DAGs through two schedulers and two workers: a
// chain, a task that succeeds on its second try, a failing task whose
// downstream becomes upstream_failed, and a fan-out; a malformed file is an
// import error that leaves the others running; every try runs exactly once.
func TestCoreEndToEnd(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ledger := filepath.Join(c.Home, "ledger.txt")
	c.WriteDAG("core.yaml", coreDAGs(ledger))
	c.WriteDAG("broken.yaml", "broken_dag:\n  tasks:\n    x: {operator: bash, bash_command: [unclosed\n")
	c.WriteDAG("bad_dep.yaml", "bad_dep:\n  tasks:\n    x: {operator: bash, bash_command: 'true', dependencies: [nope]}\n")

	c.Start("scheduler-1", "scheduler")
	c.Start("scheduler-2", "scheduler")
	c.Start("worker-1", "worker", "-c", "4", "--hostname", "w1@e2e")
	c.Start("worker-2", "worker", "-q", "default", "-c", "4", "--hostname", "w2@e2e")

	dagIDs := []string{"chain", "flaky", "failing", "fanout"}
	testenv.Eventually(t, 30*time.Second, "DAGs to be parsed", func() (bool, string) {
		var dags []struct {
			DagID string `json:"dag_id"`
		}
		c.MustJSON(&dags, "dags", "list")
		var ids []string
		for _, d := range dags {
			ids = append(ids, d.DagID)
		}
		sort.Strings(ids)
		return strings.Join(ids, ",") == "chain,failing,fanout,flaky", strings.Join(ids, ",")
	})

	var importErrors []struct {
		Filepath string `json:"filepath"`
		Error    string `json:"error"`
	}
	testenv.Eventually(t, 10*time.Second, "import errors", func() (bool, string) {
		c.MustJSON(&importErrors, "dags", "list-import-errors")
		return len(importErrors) == 2, fmt.Sprint(importErrors)
	})
	for _, ie := range importErrors {
		base := filepath.Base(ie.Filepath)
		if base != "broken.yaml" && base != "bad_dep.yaml" {
			t.Errorf("unexpected import error for %s", ie.Filepath)
		}
		if base == "bad_dep.yaml" && !strings.Contains(ie.Error, "nope") {
			t.Errorf("import error of bad_dep.yaml does not name the unknown dependency: %q", ie.Error)
		}
	}

	for _, d := range dagIDs {
		c.MustRun("dags", "trigger", d, "--run-id", "r1", "--conf", `{"k": 1}`)
		c.MustRun("dags", "trigger", d)
	}
	// A duplicate run id is refused with a clear message.
	if _, errOut, err := c.Run("dags", "trigger", "chain", "--run-id", "r1"); err == nil || !strings.Contains(errOut, "already") {
		t.Errorf("duplicate run id: err=%v stderr=%q", err, errOut)
	}
	// Bad JSON conf is refused.
	if _, errOut, err := c.Run("dags", "trigger", "chain", "--conf", "{nope"); err == nil || !strings.Contains(errOut, "--conf") {
		t.Errorf("bad conf: err=%v stderr=%q", err, errOut)
	}

	runs := c.WaitRunsFinished(90*time.Second, 8, dagIDs...)
	want := map[string]string{"chain": "success", "flaky": "success", "failing": "failed", "fanout": "success"}
	for d, rs := range runs {
		if len(rs) != 2 {
			t.Errorf("%s: %d runs, want 2", d, len(rs))
		}
		for _, r := range rs {
			if r.State != want[d] {
				t.Errorf("%s/%s: run state %s, want %s", d, r.RunID, r.State, want[d])
			}
			if r.RunType != "manual" {
				t.Errorf("%s/%s: run_type %q, want manual", d, r.RunID, r.RunType)
			}
			if r.RunID == "r1" && fmt.Sprint(r.Conf["k"]) != "1" {
				t.Errorf("%s/r1: conf %v, want k=1", d, r.Conf)
			}
		}
	}

	tis := c.TIs("failing", "r1")
	for task, wantState := range map[string]string{"boom": "failed", "fine": "success", "down": "upstream_failed", "further": "upstream_failed"} {
		if got := testenv.State(tis[task]); got != wantState {
			t.Errorf("failing/r1/%s: state %s, want %s", task, got, wantState)
		}
	}
	if tis["boom"].TryNumber != 1 {
		t.Errorf("failing/r1/boom: try_number %d, want 1", tis["boom"].TryNumber)
	}
	tis = c.TIs("flaky", "r1")
	if got := testenv.State(tis["flaky"]); got != "success" || tis["flaky"].TryNumber != 2 {
		t.Errorf("flaky/r1/flaky: %s try %d, want success on try 2", got, tis["flaky"].TryNumber)
	}

	// Every try ran exactly once, and only the tries that should.
	ledgerCounts := readLedger(t, ledger)
	expected := map[string]bool{}
	for _, rs := range runs {
		for _, r := range rs {
			for task, ti := range c.TIs(r.DagID, r.RunID) {
				if ti.TryNumber == 0 || testenv.State(ti) == "upstream_failed" {
					continue
				}
				if task == "end" || task == "further" {
					continue // EmptyOperator: never sent to a worker
				}
				for try := 1; try <= ti.TryNumber; try++ {
					expected[fmt.Sprintf("%s %s %s %d", r.DagID, r.RunID, task, try)] = true
				}
			}
		}
	}
	for line := range expected {
		if n := ledgerCounts[line]; n != 1 {
			t.Errorf("ledger: %q ran %d times, want 1", line, n)
		}
	}
	for line, n := range ledgerCounts {
		if !expected[line] {
			t.Errorf("ledger: unexpected try %q (%d times)", line, n)
		}
	}
	if len(expected) != 2*(3+3+2+24) { // chain 3, flaky 2 tries + after, failing boom + fine, fanout 24
		t.Errorf("%d tries expected, want 64; the test lost its workload", len(expected))
	}

	// The try's log is in Airflow's layout.
	logPath := filepath.Join(c.Logs, "dag_id=flaky", "run_id=r1", "task_id=flaky", "attempt=1.log")
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("task log: %v", err)
	}
	if !strings.Contains(string(b), "exited with return code 1") {
		t.Errorf("log of the failed first try does not show the exit code:\n%s", b)
	}

	// Both workers took part, and the monitor shows them.
	c.Start("flower", "flower")
	var workers []flowerWorker
	testenv.Eventually(t, 15*time.Second, "flower to list both workers", func() (bool, string) {
		ws, body, err := flowerWorkers(c)
		if err != nil {
			return false, err.Error() + body
		}
		workers = ws
		total := 0
		online := 0
		for _, w := range workers {
			total += w.Processed
			if w.Status == "online" {
				online++
			}
		}
		return len(workers) == 2 && online == 2 && total == len(expected), string(body)
	})
	for _, w := range workers {
		if w.Processed == 0 {
			t.Errorf("worker %s processed nothing", w.Hostname)
		}
	}
}
