package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestQueueDepth: Flower's /api/queues/length and flower's /metrics show the
// tries waiting in a served queue and its consumers, from the broker.
func TestQueueDepth(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("q.yaml", "qd:\n  schedule: null\n  tasks:\n"+
		"    a: {operator: bash, bash_command: 'sleep 4'}\n    b: {operator: bash, bash_command: 'sleep 4'}\n"+
		"    c: {operator: bash, bash_command: 'sleep 4'}\n    d: {operator: bash, bash_command: 'sleep 4'}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "1")
	c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "qd")
	c.MustRun("dags", "trigger", "qd", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "tries waiting in the default queue, one consumer", func() (bool, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/queues/length", c.FlowerPort))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var q struct {
			ActiveQueues []struct {
				Name      string
				Messages  int
				Consumers int
			} `json:"active_queues"`
		}
		if json.Unmarshal(b, &q) != nil || len(q.ActiveQueues) != 1 {
			return false, string(b)
		}
		d := q.ActiveQueues[0]
		return d.Name == "default" && d.Messages >= 1 && d.Consumers == 1, string(b)
	})
	fams, err := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", c.FlowerPort))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := value(fams, "flower_broker_queue_consumers", map[string]string{"queue": "default"}); !ok || v != 1 {
		t.Errorf("flower_broker_queue_consumers{queue=default} = %v (present %v), want 1", v, ok)
	}
	if _, ok := value(fams, "flower_broker_queue_messages", map[string]string{"queue": "default"}); !ok {
		t.Error("flower /metrics lacks flower_broker_queue_messages")
	}
}
