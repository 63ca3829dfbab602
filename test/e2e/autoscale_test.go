package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestWorkerAutoscale: a worker started with --autoscale 4,1 runs one try at
// a time until tries wait, grows to 4 under a burst (seen in the monitor),
// and shrinks back to 1 once idle for the keepalive.
func TestWorkerAutoscale(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__CELERY__WORKER_AUTOSCALE_KEEPALIVE=2")
	c.WriteDAG("burst.yaml", `
burst:
  schedule: null
  tasks:
`+func() string {
		s := ""
		for i := 0; i < 8; i++ {
			s += fmt.Sprintf("    t%d: {operator: bash, bash_command: 'sleep 2'}\n", i)
		}
		return s
	}())
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "--autoscale", "4,1", "--hostname", "auto@w")
	c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "burst")
	concurrency := func() int {
		ws, _, err := flowerWorkers(c)
		if err != nil || len(ws) != 1 {
			return -1
		}
		return ws[0].Concurrency
	}
	testenv.Eventually(t, 30*time.Second, "the worker to start with a pool of 1", func() (bool, string) {
		n := concurrency()
		return n == 1, fmt.Sprint(n)
	})
	c.MustRun("dags", "trigger", "burst", "--run-id", "b1")
	top := 0
	testenv.Eventually(t, 60*time.Second, "the pool to grow to 4 under the burst", func() (bool, string) {
		top = max(top, concurrency())
		return top == 4, fmt.Sprint(top)
	})
	runs := c.WaitRunsFinished(60*time.Second, 1, "burst")
	if runs["burst"][0].State != "success" {
		t.Errorf("burst run: %s", runs["burst"][0].State)
	}
	testenv.Eventually(t, 30*time.Second, "the pool to shrink back to 1 when idle", func() (bool, string) {
		n := concurrency()
		return n == 1, fmt.Sprint(n)
	})
	// Flower's autoscale endpoint moves the bounds of the running worker.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/api/worker/pool/autoscale/auto@w?min=2&max=3", c.FlowerPort), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Autoscaling 'auto@w' worker (min=2, max=3)") {
		t.Fatalf("autoscale through flower: %d %s", resp.StatusCode, body)
	}
	testenv.Eventually(t, 30*time.Second, "the pool to rise to the new minimum 2", func() (bool, string) {
		n := concurrency()
		return n == 2, fmt.Sprint(n)
	})
	if _, _, err := c.Run("worker", "--autoscale", "2,5"); err == nil {
		t.Error("--autoscale 2,5 (MAX < MIN) was accepted")
	}
}
