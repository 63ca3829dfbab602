// Package e2e tests gust end to end: real `gust` processes (several
// schedulers and workers) against the real PostgreSQL, RabbitMQ and Redis,
// each test in its own database, vhost and Redis key prefix.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

var gustBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gust-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gustBin, err = testenv.BuildGust(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newCluster(t *testing.T, extraEnv ...string) *testenv.Cluster {
	return testenv.NewCluster(t, gustBin, extraEnv...)
}

// startWorkersWithoutDags starts workers (4 slots each) whose DAG folder
// does not exist: their Python tasks import the files stored with the DAG
// versions.
func startWorkersWithoutDags(t *testing.T, c *testenv.Cluster, hostnames ...string) {
	env := c.Env
	c.Env = append(append([]string(nil), env...), "GUST__CORE__DAGS_FOLDER="+filepath.Join(t.TempDir(), "no-dags-here"))
	for i, h := range hostnames {
		c.Start(fmt.Sprintf("worker-%d", i+1), "worker", "-c", "4", "--hostname", h)
	}
	c.Env = env
}

// flowerWorker is a worker as the monitor's /api/workers shows it.
type flowerWorker struct {
	Hostname    string    `json:"hostname"`
	Status      string    `json:"status"`
	Processed   int       `json:"processed"`
	Concurrency int       `json:"concurrency"`
	Queues      []string  `json:"queues"`
	StartedAt   time.Time `json:"started_at"`
}

// flowerWorkers reads the monitor's worker list; the body is returned for
// failure messages.
func flowerWorkers(c *testenv.Cluster) ([]flowerWorker, string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/workers", c.FlowerPort))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	// Flower's shape: an object keyed by worker name.
	var byName map[string]flowerWorker
	if err := json.Unmarshal(body, &byName); err != nil {
		return nil, string(body), fmt.Errorf("decode /api/workers: %w", err)
	}
	ws := make([]flowerWorker, 0, len(byName))
	for _, w := range byName {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Hostname < ws[j].Hostname })
	return ws, string(body), nil
}
