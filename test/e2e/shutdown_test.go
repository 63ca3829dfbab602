package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestWorkerShutdown checks Celery's warm and cold shutdown: on SIGTERM a
// worker stops taking tasks and lets running ones finish within its grace;
// what is still running when the grace ends is handed back and runs on
// another worker without using up a retry; a second signal stops at once.
func TestWorkerShutdown(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__CELERY__WORKER_SHUTDOWN_GRACE=6")
	ledger := filepath.Join(c.Home, "ledger.txt")
	l := ledgerCmd(ledger)
	c.WriteDAG("shutdown.yaml", `
default:
  default_args: {start_date: 2024-01-01}
  schedule: null
short:
  tasks:
    s: {operator: bash, bash_command: '`+l+`; sleep 2'}
long:
  tasks:
    l: {operator: bash, bash_command: '`+l+`; sleep 1000'}
    after: {operator: bash, bash_command: '`+l+`', dependencies: [l]}
cold:
  tasks:
    k: {operator: bash, bash_command: '`+l+`; sleep 1000'}
`)
	c.Start("scheduler", "scheduler")
	w1 := c.Start("worker-1", "worker", "-c", "4", "--hostname", "w1@stop")
	testenv.Eventually(t, 30*time.Second, "DAGs to be parsed", func() (bool, string) {
		out, _, err := c.Run("dags", "list", "-o", "plain")
		return err == nil && strings.Contains(out, "short") && strings.Contains(out, "long"), out
	})
	c.MustRun("dags", "trigger", "short", "--run-id", "r1")
	c.MustRun("dags", "trigger", "long", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "both tasks to run on worker-1", func() (bool, string) {
		s, l := c.TIs("short", "r1")["s"], c.TIs("long", "r1")["l"]
		return testenv.State(s) == "running" && testenv.State(l) == "running", testenv.State(s) + " " + testenv.State(l)
	})
	w1.Signal(syscall.SIGTERM)
	if !w1.Wait(20 * time.Second) {
		t.Fatal("worker did not stop within its 6s grace (+ margin) after SIGTERM")
	}
	if ti := c.TIs("short", "r1")["s"]; testenv.State(ti) != "success" || ti.TryNumber != 1 {
		t.Errorf("short task during warm shutdown: %s try %d, want success on try 1", testenv.State(ti), ti.TryNumber)
	}
	if ti := c.TIs("long", "r1")["l"]; testenv.State(ti) != "up_for_retry" && testenv.State(ti) != "scheduled" && testenv.State(ti) != "queued" {
		t.Errorf("long task cut by the grace: %s, want handed back (up_for_retry)", testenv.State(ti))
	}

	// The monitor shows the stopped worker offline with its last numbers.
	c.Start("flower", "flower")
	testenv.Eventually(t, 15*time.Second, "flower to show w1@stop offline with its counters", func() (bool, string) {
		ws, body, err := flowerWorkers(c)
		if err != nil {
			return false, err.Error() + body
		}
		for _, w := range ws {
			if w.Hostname == "w1@stop" {
				return w.Status == "offline" && w.Processed >= 1 && w.Concurrency == 4 &&
					len(w.Queues) == 1 && w.Queues[0] == "default" && !w.StartedAt.IsZero(), body
			}
		}
		return false, body
	})

	// Another worker takes the handed-back task, though it has no retries.
	w2 := c.Start("worker-2", "worker", "-c", "4", "--hostname", "w2@stop")
	testenv.Eventually(t, 30*time.Second, "the handed-back task to run on worker-2", func() (bool, string) {
		ti := c.TIs("long", "r1")["l"]
		return testenv.State(ti) == "running" && ti.Hostname == "w2@stop" && ti.TryNumber == 2, testenv.State(ti) + " " + ti.Hostname
	})

	// Cold shutdown: a second signal stops at once, well within the grace.
	c.MustRun("dags", "trigger", "cold", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "the cold task to run", func() (bool, string) {
		return testenv.State(c.TIs("cold", "r1")["k"]) == "running", testenv.State(c.TIs("cold", "r1")["k"])
	})
	w2.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	w2.Signal(syscall.SIGINT)
	if !w2.Wait(4500 * time.Millisecond) { // the grace is 6s
		t.Fatal("worker did not stop at once on the second signal")
	}
	for _, d := range []string{"long", "cold"} {
		ti := c.TIs(d, "r1")
		for task, x := range ti {
			if task == "after" {
				continue
			}
			if st := testenv.State(x); st == "running" || st == "failed" {
				t.Errorf("%s/%s after cold shutdown: %s; want it handed back", d, task, st)
			}
		}
	}
	if n := readLedger(t, ledger); n["long r1 l 1"] != 1 || n["long r1 l 2"] != 1 || n["short r1 s 1"] != 1 {
		t.Errorf("ledger %v", n)
	}
}
