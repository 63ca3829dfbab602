package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestAirflowPythonDAGs drops Airflow's own example DAG files (Airflow 3's
// example_bash_operator, Airflow 2.9's tutorial), unchanged, into the DAG
// folder of a two-scheduler, two-worker cluster, and a file using what gust
// lacks: the examples import, each triggered run ends as Airflow ends it
// (the exit-99 task skipped, and with it the all_success task after it),
// the templates render in the logs, and the other file is an import error
// naming the feature.
func TestAirflowPythonDAGs(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	for _, name := range []string{"example_bash_operator.py", "tutorial.py"} {
		b, err := os.ReadFile(filepath.Join("testdata", "airflow", name))
		if err != nil {
			t.Fatal(err)
		}
		c.WriteDAG(name, string(b))
	}
	c.WriteDAG("mapped.py", "from airflow.sdk import DAG, task, task_group\nwith DAG('mapped'):\n    @task\n    def f(x):\n        pass\n"+
		"    @task_group\n    def g(x):\n        f.expand(x=[x])\n    g.expand(x=[1])\n")
	c.WriteDAG("helper.py", "print('a module, not a DAG file')\n")
	c.Start("scheduler-1", "scheduler")
	c.Start("scheduler-2", "scheduler")
	c.Start("worker-1", "worker", "-c", "4", "--hostname", "py1@e2e")
	c.Start("worker-2", "worker", "-c", "4", "--hostname", "py2@e2e")
	c.WaitParsed(60*time.Second, "example_bash_operator", "tutorial")

	out := c.MustRun("dags", "list-import-errors", "-o", "plain")
	if !strings.Contains(out, "mapped.py") || !strings.Contains(out, "dynamic task mapping (a mapped task inside a mapped task group) is not supported by gust yet") || strings.Contains(out, "helper.py") {
		t.Errorf("import errors:\n%s", out)
	}
	c.MustRun("dags", "trigger", "example_bash_operator", "--run-id", "r1")
	c.MustRun("dags", "trigger", "tutorial", "--run-id", "r1")
	runs := c.WaitRunsFinished(120*time.Second, 1, "example_bash_operator", "tutorial")
	for dag, rs := range runs {
		if rs[0].State != "success" {
			t.Errorf("%s: run %s", dag, rs[0].State)
		}
	}
	want := map[string]string{"runme_0": "success", "runme_1": "success", "runme_2": "success", "run_after_loop": "success",
		"also_run_this": "success", "this_will_skip": "skipped", "run_this_last": "skipped"}
	tis := c.TIs("example_bash_operator", "r1")
	for task, state := range want {
		if got := testenv.State(tis[task]); got != state {
			t.Errorf("example_bash_operator.%s: %s, want %s", task, got, state)
		}
	}
	log := c.MustRun("tasks", "logs", "example_bash_operator", "r1", "also_run_this")
	if !strings.Contains(log, "ti_key=example_bash_operator__also_run_this__") {
		t.Errorf("also_run_this's log lacks the rendered key:\n%s", log)
	}
	for _, task := range []string{"print_date", "sleep", "templated"} {
		if got := testenv.State(c.TIs("tutorial", "r1")[task]); got != "success" {
			t.Errorf("tutorial.%s: %s", task, got)
		}
	}
}
