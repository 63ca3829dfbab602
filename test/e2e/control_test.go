package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// listedWorker is a row of `gust workers list -o json`.
type listedWorker struct {
	Name        string `json:"name"`
	Status      string `json:"status"`
	Queues      string `json:"queues"`
	Concurrency int    `json:"concurrency"`
}

// TestWorkerControl checks remote control through real processes: ping
// reaches both workers within its 1s timeout; pool-grow shows in the
// listings; a task on a queue nobody serves waits until add-consumer
// (through flower's API) lets a worker run it; cancel-consumer stops that;
// a shutdown through flower's API ends a worker warmly while the other
// carries on.
func TestWorkerControl(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("control.yaml", `
default:
  default_args: {start_date: 2024-01-01}
  schedule: null
elsewhere:
  tasks:
    o: {operator: bash, bash_command: 'echo other', queue: other}
slow:
  tasks:
    s: {operator: bash, bash_command: 'sleep 4'}
`)
	c.Start("scheduler", "scheduler")
	w1 := c.Start("worker-1", "worker", "-c", "1", "--hostname", "w1@ctl")
	c.Start("worker-2", "worker", "-c", "1", "--hostname", "w2@ctl")
	c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "elsewhere", "slow")

	// ping: both reply within the (default 1s) timeout, or the command fails.
	testenv.Eventually(t, 30*time.Second, "both workers to answer a ping", func() (bool, string) {
		out, errOut, err := c.Run("workers", "ping", "-d", "w1@ctl,w2@ctl")
		return err == nil, out + errOut
	})
	start := time.Now()
	out := c.MustRun("workers", "ping", "-d", "w1@ctl,w2@ctl", "-o", "plain")
	t.Logf("gust workers ping of 2 workers took %v (process start included)", time.Since(start))
	if !strings.Contains(out, "w1@ctl") || !strings.Contains(out, "w2@ctl") || strings.Count(out, "pong") != 2 {
		t.Fatalf("ping replies:\n%s", out)
	}

	listed := func(name string) (listedWorker, string) {
		var ws []listedWorker
		c.MustJSON(&ws, "workers", "list")
		b, _ := json.Marshal(ws)
		for _, w := range ws {
			if w.Name == name {
				return w, string(b)
			}
		}
		return listedWorker{}, string(b)
	}

	// pool-grow shows in `gust workers list` and in flower's /api/workers.
	c.MustRun("workers", "pool-grow", "-d", "w1@ctl", "-n", "2")
	testenv.Eventually(t, 10*time.Second, "w1's concurrency 3 in the listings", func() (bool, string) {
		w, body := listed("w1@ctl")
		fws, fbody, err := flowerWorkers(c)
		if err != nil {
			return false, err.Error()
		}
		i := slices.IndexFunc(fws, func(f flowerWorker) bool { return f.Hostname == "w1@ctl" })
		return w.Concurrency == 3 && i >= 0 && fws[i].Concurrency == 3, body + "\n" + fbody
	})
	c.MustRun("workers", "pool-shrink", "-d", "w1@ctl", "-n", "2")
	if _, _, err := c.Run("workers", "pool-shrink", "-d", "w1@ctl"); err == nil {
		t.Error("shrinking a pool of 1 must fail")
	}

	// A task on a queue nobody serves stays queued ...
	c.MustRun("dags", "trigger", "elsewhere", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "elsewhere.o to be queued", func() (bool, string) {
		s := testenv.State(c.TIs("elsewhere", "r1")["o"])
		return s == "queued", s
	})
	c.MustRun("workers", "ping", "-d", "w1@ctl,w2@ctl")
	if s := testenv.State(c.TIs("elsewhere", "r1")["o"]); s != "queued" {
		t.Fatalf("a task on a queue nobody serves: %s, want queued", s)
	}
	// ... until flower's API makes w2 consume its queue.
	code, body := flowerPost(t, c, "/api/worker/queue/add-consumer/w2@ctl?queue=other")
	if code != 200 || !strings.Contains(body, `"add consumer other"`) {
		t.Fatalf("add-consumer: %d %s", code, body)
	}
	testenv.Eventually(t, 30*time.Second, "elsewhere.o to succeed on w2", func() (bool, string) {
		ti := c.TIs("elsewhere", "r1")["o"]
		return testenv.State(ti) == "success" && ti.Hostname == "w2@ctl", testenv.State(ti) + " " + ti.Hostname
	})
	testenv.Eventually(t, 10*time.Second, "w2's queues to show other", func() (bool, string) {
		w, body := listed("w2@ctl")
		return w.Queues == "default,other", body
	})

	// cancel-consumer: the queue's next task waits again.
	c.MustRun("workers", "cancel-consumer", "-d", "w2@ctl", "-q", "other")
	if _, _, err := c.Run("workers", "cancel-consumer", "-d", "w2@ctl", "-q", "other"); err == nil {
		t.Error("cancelling a queue not consumed must fail")
	}
	c.MustRun("dags", "trigger", "elsewhere", "--run-id", "r2")
	testenv.Eventually(t, 30*time.Second, "elsewhere.o r2 to be queued", func() (bool, string) {
		s := testenv.State(c.TIs("elsewhere", "r2")["o"])
		return s == "queued", s
	})

	// A warm shutdown through flower: w1's running task finishes, w1 exits 0.
	c.MustRun("workers", "cancel-consumer", "-d", "w2@ctl", "-q", "default")
	c.MustRun("dags", "trigger", "slow", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "slow.s to run on w1", func() (bool, string) {
		ti := c.TIs("slow", "r1")["s"]
		return testenv.State(ti) == "running" && ti.Hostname == "w1@ctl", testenv.State(ti) + " " + ti.Hostname
	})
	code, body = flowerPost(t, c, "/api/worker/shutdown/w1@ctl")
	if code != 200 || !strings.Contains(body, "Shutting down!") {
		t.Fatalf("shutdown: %d %s", code, body)
	}
	if !w1.Wait(30 * time.Second) {
		t.Fatal("w1 did not exit after a remote shutdown")
	}
	if w1.ExitCode() != 0 {
		t.Errorf("w1 exit code %d, want 0\n%s", w1.ExitCode(), w1.Output())
	}
	if ti := c.TIs("slow", "r1")["s"]; testenv.State(ti) != "success" || ti.TryNumber != 1 {
		t.Errorf("the task running during the remote shutdown: %s try %d, want success on try 1", testenv.State(ti), ti.TryNumber)
	}
	if _, _, err := c.Run("workers", "ping", "-d", "w1@ctl,w2@ctl"); err == nil {
		t.Error("ping of a stopped worker must fail")
	}

	// The other worker carries on.
	c.MustRun("workers", "add-consumer", "-d", "w2@ctl", "-q", "other")
	testenv.Eventually(t, 30*time.Second, "elsewhere.o r2 to succeed on w2", func() (bool, string) {
		ti := c.TIs("elsewhere", "r2")["o"]
		return testenv.State(ti) == "success" && ti.Hostname == "w2@ctl", testenv.State(ti) + " " + ti.Hostname
	})
}

// flowerPost posts to flower's API and returns the status and body.
func flowerPost(t *testing.T, c *testenv.Cluster, path string) (int, string) {
	t.Helper()
	return flowerRequest(t, c, http.MethodPost, "", path)
}
