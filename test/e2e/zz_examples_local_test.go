package e2e

// Local harness (never committed): drops a folder of Airflow example DAG
// files into a cluster, triggers every DAG that imports once and writes
// a report of import errors, run states and task states.
import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

func TestZZAirflowExamples(t *testing.T) {
	dir, report := os.Getenv("GUST_EXAMPLES"), os.Getenv("GUST_EXAMPLES_REPORT")
	if dir == "" {
		t.Skip("local harness: set GUST_EXAMPLES")
	}
	c := newCluster(t)
	if out, err := exec.Command("cp", "-r", dir+"/.", c.Dags).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	c.Start("scheduler", "scheduler")
	c.Start("scheduler2", "scheduler")
	startWorkersWithoutDags(t, c, "ex1@e2e", "ex2@e2e")
	time.Sleep(40 * time.Second)
	var dags []struct {
		DagID string `json:"dag_id"`
		File  string `json:"fileloc"`
	}
	c.MustJSON(&dags, "dags", "list", "-o", "json")
	errs, _, _ := c.Run("dags", "list-import-errors")
	var ids []string
	for _, d := range dags {
		ids = append(ids, d.DagID)
		c.Run("dags", "unpause", d.DagID)
		c.Run("dags", "trigger", d.DagID, "--run-id", "ex1")
	}
	sort.Strings(ids)
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		pending := 0
		for _, id := range ids {
			for _, r := range c.Runs(id) {
				if r.RunID == "ex1" && r.State != "success" && r.State != "failed" {
					pending++
				}
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(3 * time.Second)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "IMPORT ERRORS:\n%s\n\n", errs)
	for _, id := range ids {
		state := "none"
		for _, r := range c.Runs(id) {
			if r.RunID == "ex1" {
				state = r.State
			}
		}
		tis := c.TIs(id, "ex1")
		var ts []string
		for k, v := range tis {
			ts = append(ts, k+"="+testenv.State(v))
		}
		sort.Strings(ts)
		fmt.Fprintf(&b, "%s: %s  [%s]\n", id, state, strings.Join(ts, " "))
		if state == "failed" {
			for k, v := range tis {
				if s := testenv.State(v); s == "failed" || s == "upstream_failed" {
					if s == "failed" {
						l, _, _ := c.Run("tasks", "logs", id, "ex1", k)
						if len(l) > 1500 {
							l = l[len(l)-1500:]
						}
						fmt.Fprintf(&b, "  --- %s log tail:\n%s\n", k, l)
					}
				}
			}
		}
	}
	_ = json.Valid
	if err := os.WriteFile(report, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
