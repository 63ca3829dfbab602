package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestDynamicTaskMapping runs mapped tasks through the scheduler and
// workers: each instance with its own state and XCom, the downstream reduce
// over the instances' values, an empty expansion skipped, the product of
// several arguments, expand_kwargs, zip, partial arguments, a mapped task
// mapped over, classic operators (a Python class, bash, PythonOperator),
// and dag-factory's YAML form.
func TestDynamicTaskMapping(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "common", "pydag", "testdata", "mapping.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("mapping.py", string(b))
	c.WriteDAG("expand_tasks.py", "def make_list():\n    return [[1], [2], [3], [4]]\n\n\n"+
		"def consume_value(expanded_param, fixed_param):\n    print(fixed_param)\n    print(expanded_param)\n    return [expanded_param]\n")
	// dag-factory's example_dynamic_task_mapping.yml, with the consumer
	// before its producer as there.
	c.WriteDAG("dynamic_task_map.yml", `dynamic_task_map:
  default_args:
    owner: "custom_owner"
    start_date: 2 days
  description: "test expand"
  schedule: null
  tasks:
    - task_id: "process"
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_name: consume_value
      python_callable_file: $CONFIG_ROOT_DIR/expand_tasks.py
      partial:
        op_kwargs:
          fixed_param: "test"
      expand:
        op_args:
            request.output
      dependencies: [request]
    - task_id: "request"
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable_name: make_list
      python_callable_file: $CONFIG_ROOT_DIR/expand_tasks.py
    - task_id: "echo"
      operator: airflow.providers.standard.operators.bash.BashOperator
      expand:
        bash_command: ["echo a", "echo b"]
`)
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "4")
	c.WaitParsed(60*time.Second, "mapping", "dynamic_task_map")
	c.MustRun("dags", "trigger", "mapping", "--run-id", "r1")
	c.MustRun("dags", "trigger", "dynamic_task_map", "--run-id", "r1")
	runs := c.WaitRunsFinished(120*time.Second, 1, "mapping", "dynamic_task_map")
	for id, rs := range runs {
		if s := rs[0].State; s != "success" {
			t.Errorf("%s: run %s, want success", id, s)
		}
	}

	tis := c.TIs("mapping", "r1")
	wantStates := map[string]string{
		"add_one[0]": "success", "add_one[1]": "success", "add_one[2]": "success", "literal_total": "success",
		"times[2]": "success", "second_order[2]": "success", "pair[3]": "success", "by_kwargs[1]": "success",
		"zipped[2]": "success", "never": "skipped", "after_empty": "skipped", "classic_add[1]": "success",
		"classic_total": "success", "echo[1]": "success", "classic_python[1]": "success",
	}
	for id, w := range wantStates {
		if s := testenv.State(tis[id]); s != w {
			t.Errorf("%s: %s, want %s", id, s, w)
		}
	}
	for _, gone := range []string{"add_one", "times[3]", "pair[4]", "never[0]"} {
		if ti, ok := tis[gone]; ok {
			t.Errorf("%s exists (%s)", gone, testenv.State(ti))
		}
	}
	x := c.XComs("mapping", "r1")
	wantX := map[string]string{
		"add_one[0]/return_value": "2", "add_one[2]/return_value": "4", "literal_total/return_value": "9",
		"times[0]/return_value": "2", "times[2]/return_value": "6",
		"second_order[0]/return_value": "3", "second_order[2]/return_value": "7",
		"pair[0]/return_value": `"x1"`, "pair[1]/return_value": `"x2"`, "pair[2]/return_value": `"y1"`, "pair[3]/return_value": `"y2"`,
		"by_kwargs[0]/return_value": "15", "by_kwargs[1]/return_value": "40",
		"zipped[0]/return_value": `"[1, 'p']!"`, "zipped[2]/return_value": `"[3, 'r']!"`,
		"classic_add[0]/return_value": "11", "classic_add[1]/return_value": "21", "classic_total/return_value": "32",
		"echo[0]/return_value": `"one"`, "echo[1]/return_value": `"1"`,
		"classic_python[0]/return_value": `"n:1"`, "classic_python[1]/return_value": `"n:2"`,
	}
	for k, w := range wantX {
		if x[k] != w {
			t.Errorf("xcom %s: %s, want %s", k, x[k], w)
		}
	}

	yt := c.TIs("dynamic_task_map", "r1")
	yx := c.XComs("dynamic_task_map", "r1")
	for i, w := range []string{"[1]", "[2]", "[3]", "[4]"} {
		k := "process[" + string(rune('0'+i)) + "]"
		if s := testenv.State(yt[k]); s != "success" {
			t.Errorf("yaml %s: %s", k, s)
		}
		// op_args [n]: consume_value(n, fixed_param) returns [n].
		if got := yx[k+"/return_value"]; got != w {
			t.Errorf("yaml %s returned %s, want %s", k, got, w)
		}
	}
	if got := yx["echo[1]/return_value"]; got != `"b"` {
		t.Errorf("yaml echo[1] returned %s", got)
	}
	// Each instance has its own log.
	out := c.MustRun("tasks", "logs", "dynamic_task_map", "r1", "process", "--map-index", "2")
	if !strings.Contains(out, "test") || !strings.Contains(out, "[3]") {
		t.Errorf("log of process[2]:\n%s", out)
	}
}
