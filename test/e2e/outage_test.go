package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestWorkerKilledTakesItsTasksWithIt: kill -9 of a worker leaves none of
// its task processes running.
func TestWorkerKilledTakesItsTasksWithIt(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	marker := testenv.Name("gustorphan")
	c.WriteDAG("o.yaml", fmt.Sprintf("orphan:\n  schedule: null\n  tasks:\n    long: {operator: bash, bash_command: 'exec -a %s sleep 300'}\n", marker))
	c.Start("scheduler", "scheduler")
	w := c.Start("worker", "worker", "-c", "1")
	c.WaitParsed(30*time.Second, "orphan")
	c.MustRun("dags", "trigger", "orphan", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "the task to run", func() (bool, string) {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		return strings.TrimSpace(string(out)) != "", "no task process yet"
	})
	w.Kill()
	testenv.Eventually(t, 10*time.Second, "the task process to die with its worker", func() (bool, string) {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		return strings.TrimSpace(string(out)) == "", string(out)
	})
}

// TestResultSurvivesDatabaseOutage: a task that finishes while PostgreSQL
// is down keeps its result; the worker writes it when the database is back,
// and the task does not run again.
func TestResultSurvivesDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPrivatePostgres(t)
	c := newCluster(t, "GUST__DATABASE__SQL_CONN="+pg.URL("gust"))
	ledger := filepath.Join(c.Home, "ledger.txt")
	c.WriteDAG("db.yaml", "dbdown:\n  schedule: null\n  tasks:\n    t: {operator: bash, bash_command: '"+ledgerCmd(ledger)+"; sleep 3'}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "1")
	c.WaitParsed(30*time.Second, "dbdown")
	c.MustRun("dags", "trigger", "dbdown", "--run-id", "r1")
	testenv.Eventually(t, 30*time.Second, "the task to start", func() (bool, string) {
		return readLedger(t, ledger)["dbdown r1 t 1"] == 1, "not yet"
	})
	pg.Stop("fast")
	time.Sleep(6 * time.Second) // the task ends meanwhile
	pg.Start()
	runs := c.WaitRunsFinished(60*time.Second, 1, "dbdown")
	if runs["dbdown"][0].State != "success" {
		t.Errorf("run %s, want success", runs["dbdown"][0].State)
	}
	if ti := c.TIs("dbdown", "r1")["t"]; ti.TryNumber != 1 || testenv.State(ti) != "success" {
		t.Errorf("task %s try %d, want success on try 1", testenv.State(ti), ti.TryNumber)
	}
	if n := readLedger(t, ledger); len(n) != 1 {
		t.Errorf("ledger %v: the task ran again", n)
	}
}

// TestMonitorRecoversWithRedis: with Redis down tasks run; when Redis is
// back the monitor shows the worker again.
func TestMonitorRecoversWithRedis(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	startRedis := func() *exec.Cmd {
		cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, "private redis", func() (bool, string) {
			return exec.Command("redis-cli", "-p", fmt.Sprint(port), "ping").Run() == nil, ""
		})
		return cmd
	}
	redis := startRedis()
	t.Cleanup(func() { _ = redis.Process.Kill(); _ = redis.Wait() })
	c := newCluster(t, fmt.Sprintf("GUST__MONITOR__REDIS_URL=redis://127.0.0.1:%d/0", port), "GUST__MONITOR__WORKER_HEARTBEAT_TTL=3")
	c.WriteDAG("m.yaml", "mon:\n  schedule: null\n  tasks:\n    t: {operator: bash, bash_command: 'true'}\n")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "1", "--hostname", "w@mon")
	c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "mon")
	workers := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/workers", c.FlowerPort))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	online := func() (bool, string) {
		var ws map[string]struct{ Hostname, Status string }
		body := workers()
		_ = json.Unmarshal([]byte(body), &ws)
		return len(ws) == 1 && ws["w@mon"].Status == "online", body
	}
	testenv.Eventually(t, 30*time.Second, "the worker online in the monitor", online)

	_ = redis.Process.Kill()
	_ = redis.Wait()
	c.MustRun("dags", "trigger", "mon", "--run-id", "r1")
	if runs := c.WaitRunsFinished(30*time.Second, 1, "mon"); runs["mon"][0].State != "success" {
		t.Errorf("run with Redis down: %s", runs["mon"][0].State)
	}
	if body := workers(); !strings.Contains(body, "detail") {
		t.Errorf("flower with Redis down answered %q, want an error it can show", body)
	}
	redis = startRedis()
	testenv.Eventually(t, 30*time.Second, "the worker back in the monitor after Redis returned", online)
}
