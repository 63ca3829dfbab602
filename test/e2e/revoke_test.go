package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestRevokeTerminate: Flower's revoke with terminate=true stops a running
// try through the broker; it ends failed with no retry, though it had
// retries left.
func TestRevokeTerminate(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("rv.yaml", "rv:\n  schedule: null\n  tasks:\n    long: {operator: bash, bash_command: 'sleep 300', retries: 2}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "rv")
	c.MustRun("dags", "trigger", "rv", "--run-id", "r1")
	var id string
	testenv.Eventually(t, 30*time.Second, "the try to show as started in /api/tasks", func() (bool, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/tasks?state=STARTED&taskname=rv.long", c.FlowerPort))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var tasks map[string]map[string]any
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &tasks) != nil || len(tasks) != 1 {
			return false, string(b)
		}
		for k := range tasks {
			id = k
		}
		return true, ""
	})
	post := func(path string) (int, string) {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", c.FlowerPort, path), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/api/task/revoke/" + id); code != 400 {
		t.Errorf("revoke without terminate: %d %s, want 400", code, body)
	}
	if code, body := post("/api/task/revoke/" + id + "?terminate=true"); code != 200 || !strings.Contains(body, "Revoked") {
		t.Fatalf("revoke: %d %s", code, body)
	}
	runs := c.WaitRunsFinished(30*time.Second, 1, "rv")
	ti := c.TIs("rv", "r1")["long"]
	if runs["rv"][0].State != "failed" || testenv.State(ti) != "failed" || ti.TryNumber != 1 {
		t.Errorf("after revoke: run %s, task %s try %d; want failed on try 1", runs["rv"][0].State, testenv.State(ti), ti.TryNumber)
	}
	if code, _ := post("/api/task/revoke/nope?terminate=true"); code != 404 {
		t.Errorf("revoke of an unknown task: %d", code)
	}
}
