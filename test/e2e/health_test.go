package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestJobsCheckFollowsSchedulerHeartbeat: `gust jobs check` succeeds while a
// scheduler heartbeats and fails once none does (for health probes).
func TestJobsCheckFollowsSchedulerHeartbeat(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD=3")
	if _, _, err := c.Run("jobs", "check", "--job-type", "SchedulerJob"); err == nil {
		t.Fatal("jobs check succeeded with no scheduler running")
	}
	s := c.Start("scheduler", "scheduler")
	testenv.Eventually(t, 30*time.Second, "jobs check to pass", func() (bool, string) {
		out, errOut, err := c.Run("jobs", "check", "--job-type", "SchedulerJob")
		return err == nil, out + errOut
	})
	s.Kill()
	testenv.Eventually(t, 30*time.Second, "jobs check to fail after the scheduler died", func() (bool, string) {
		out, errOut, err := c.Run("jobs", "check", "--job-type", "SchedulerJob")
		return err != nil, out + errOut
	})

	// A worker's health check (as docker-compose runs it): its job row on
	// this machine, by --local, whatever name the worker gave itself.
	workerCheck := []string{"jobs", "check", "--job-type", "WorkerJob", "--local"}
	if _, _, err := c.Run(workerCheck...); err == nil {
		t.Fatal("worker check succeeded with no worker running")
	}
	w := c.Start("worker", "worker", "-c", "1")
	testenv.Eventually(t, 30*time.Second, "the worker check to pass", func() (bool, string) {
		out, errOut, err := c.Run(workerCheck...)
		return err == nil, out + errOut
	})
	if out, _, err := c.Run("jobs", "check", "--job-type", "WorkerJob", "--hostname", "gust.1@elsewhere"); err == nil {
		t.Errorf("worker check for another worker name passed: %s", out)
	}
	w.Stop(t, 20*time.Second)
	if out, errOut, err := c.Run(workerCheck...); err == nil {
		t.Errorf("worker check passed after a warm shutdown ended the job: %s%s", out, errOut)
	}
}

// TestRedisDownDoesNotStopTasks: with the monitor's Redis unreachable,
// tasks run and finish as usual.
func TestRedisDownDoesNotStopTasks(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__MONITOR__REDIS_URL=redis://127.0.0.1:1/0")
	c.WriteDAG("r.yaml", "nored:\n  schedule: null\n  tasks:\n    a: {operator: bash, bash_command: 'true'}\n    b: {operator: bash, bash_command: 'true', dependencies: [a]}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	c.WaitParsed(30*time.Second, "nored")
	c.MustRun("dags", "trigger", "nored", "--run-id", "r1")
	runs := c.WaitRunsFinished(30*time.Second, 1, "nored")
	if runs["nored"][0].State != "success" {
		t.Errorf("run %s with Redis down, want success", runs["nored"][0].State)
	}
}

// TestTaskFailuresEndTheTryNotTheWorker: a task killed by a signal, one
// writing many megabytes, and one that forks many children and is cut by
// execution_timeout end their tries with a reason in their logs; the worker
// goes on, and no child is left running.
func TestTaskFailuresEndTheTryNotTheWorker(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	marker := testenv.Name("gustforkstorm")
	c.WriteDAG("bad.yaml", fmt.Sprintf(`
bad_tasks:
  schedule: null
  tasks:
    self_kill: {operator: bash, bash_command: 'kill -9 $$'}
    big_output: {operator: bash, bash_command: 'head -c 30000000 /dev/zero | tr "\0" x; echo; echo done'}
    fork_storm:
      operator: bash
      execution_timeout_secs: 2
      bash_command: 'for i in $(seq 100); do (exec -a %s sleep 300) & done; wait'
    after: {operator: bash, bash_command: 'echo still working', trigger_rule: all_done, dependencies: [self_kill, big_output, fork_storm]}
`, marker))
	c.Start("scheduler", "scheduler")
	w := c.Start("worker", "worker", "-c", "4")
	c.WaitParsed(30*time.Second, "bad_tasks")
	c.MustRun("dags", "trigger", "bad_tasks", "--run-id", "r1")
	c.WaitRunsFinished(60*time.Second, 1, "bad_tasks")
	tis := c.TIs("bad_tasks", "r1")
	want := map[string]string{"self_kill": "failed", "big_output": "success", "fork_storm": "failed", "after": "success"}
	for task, st := range want {
		if got := testenv.State(tis[task]); got != st {
			t.Errorf("%s: %s, want %s", task, got, st)
		}
	}
	logOf := func(task string) string {
		b, _ := os.ReadFile(filepath.Join(c.Logs, "dag_id=bad_tasks", "run_id=r1", "task_id="+task, "attempt=1.log"))
		return string(b)
	}
	if l := logOf("self_kill"); !strings.Contains(l, "signal") {
		t.Errorf("self_kill log does not name the signal:\n%s", l)
	}
	if l := logOf("fork_storm"); !strings.Contains(strings.ToLower(l), "timeout") && !strings.Contains(strings.ToLower(l), "timed out") {
		t.Errorf("fork_storm log does not say it timed out:\n%s", l)
	}
	if fi, err := os.Stat(filepath.Join(c.Logs, "dag_id=bad_tasks", "run_id=r1", "task_id=big_output", "attempt=1.log")); err != nil || fi.Size() < 30_000_000 {
		t.Errorf("big_output log: %v, size %v", err, fi)
	}
	if w.Exited() {
		t.Error("the worker died")
	}
	testenv.Eventually(t, 15*time.Second, "the fork storm's children to be gone", func() (bool, string) {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		return strings.TrimSpace(string(out)) == "", string(out)
	})
}

// TestTriggerInFutureWaits: with allow_trigger_in_future a run with a future
// logical date is accepted and waits for it.
func TestTriggerInFutureWaits(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__SCHEDULER__ALLOW_TRIGGER_IN_FUTURE=True")
	ledger := filepath.Join(c.Home, "ledger.txt")
	c.WriteDAG("f.yaml", "future:\n  schedule: null\n  tasks:\n    t: {operator: bash, bash_command: '"+
		`echo "$(date +%s.%N)" >> `+ledger+"'}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "1")
	c.WaitParsed(30*time.Second, "future")
	at := time.Now().Add(5 * time.Second).UTC().Truncate(time.Second)
	c.MustRun("dags", "trigger", "future", "--run-id", "later", "--logical-date", at.Format(time.RFC3339))
	time.Sleep(2 * time.Second)
	if rs := c.Runs("future"); len(rs) != 1 || rs[0].State != "queued" {
		t.Fatalf("before its logical date the run is %+v, want queued", rs)
	}
	runs := c.WaitRunsFinished(30*time.Second, 1, "future")
	if runs["future"][0].State != "success" {
		t.Fatalf("run %s, want success", runs["future"][0].State)
	}
	b, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	var started float64
	fmt.Sscanf(strings.TrimSpace(string(b)), "%f", &started)
	if started < float64(at.Unix()) {
		t.Errorf("task started at %.2f, before the run's logical date %d", started, at.Unix())
	}
}
