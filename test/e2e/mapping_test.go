package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
	// dag-factory's TaskFlow form (decorator:), mapped and not.
	c.WriteDAG("calc.py", "def numbers():\n    return [1, 2, 3]\n\n\ndef times(n, by=1):\n    return n * by\n\n\n"+
		"def label(n, tag):\n    return f'{tag}{n}'\n")
	c.WriteDAG("taskflow_map.yml", `taskflow_map:
  default_args: {start_date: 2 days}
  schedule: null
  tasks:
    - {task_id: nums, decorator: airflow.sdk.task, python_callable: calc.numbers}
    - {task_id: fixed, decorator: airflow.decorators.task, python_callable: calc.times, n: 4, by: 10}
    - {task_id: from_task, decorator: airflow.sdk.definitions.decorators.task, python_callable: calc.times, n: +fixed}
    - task_id: each
      decorator: airflow.sdk.task
      python_callable: calc.times
      expand: {n: +nums}
      partial: {by: 100}
    - task_id: product
      decorator: airflow.sdk.task
      python_callable: calc.label
      expand: {n: +nums, tag: [a, b]}
`)
	base, api := startUI(t, c, "mapping", "dynamic_task_map", "taskflow_map")
	c.MustRun("dags", "trigger", "taskflow_map", "--run-id", "r1")
	c.MustRun("dags", "trigger", "mapping", "--run-id", "r1")
	c.MustRun("dags", "trigger", "dynamic_task_map", "--run-id", "r1")
	runs := c.WaitRunsFinished(120*time.Second, 1, "mapping", "dynamic_task_map", "taskflow_map")
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
	// max_active_tis_per_dagrun=1: echo's instances one after the other.
	if a, b := tis["echo[0]"], tis["echo[1]"]; a.StartDate == nil || b.StartDate == nil || a.EndDate == nil || b.EndDate == nil ||
		a.StartDate.Before(*b.EndDate) && b.StartDate.Before(*a.EndDate) {
		t.Errorf("echo's instances overlap: %v-%v and %v-%v", a.StartDate, a.EndDate, b.StartDate, b.EndDate)
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

	tx := c.XComs("taskflow_map", "r1")
	for k, w := range map[string]string{"fixed/return_value": "40", "from_task/return_value": "40", "each[0]/return_value": "100",
		"each[2]/return_value": "300", "product[0]/return_value": `"a1"`, "product[1]/return_value": `"b1"`, "product[5]/return_value": `"b3"`} {
		if tx[k] != w {
			t.Errorf("taskflow_map xcom %s: %s, want %s", k, tx[k], w)
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

	// The API: a mapped task is_mapped, its instances listed (listMapped)
	// and read one by one; a plain task's listMapped is a 404.
	code, body := api.do("GET", "/api/v2/dags/mapping/tasks/add_one", nil)
	if code != 200 || !strings.Contains(string(body), `"is_mapped":true`) {
		t.Errorf("task add_one: %d %s", code, body)
	}
	code, body = api.do("GET", "/api/v2/dags/mapping/dagRuns/r1/taskInstances/add_one/listMapped?order_by=-map_index", nil)
	var listed struct {
		TIs []struct {
			MapIndex int    `json:"map_index"`
			State    string `json:"state"`
		} `json:"task_instances"`
		Total int `json:"total_entries"`
	}
	if err := json.Unmarshal(body, &listed); code != 200 || err != nil || listed.Total != 3 || listed.TIs[0].MapIndex != 2 || listed.TIs[0].State != "success" {
		t.Errorf("listMapped: %d %s", code, body)
	}
	// map_index_template: rendered_map_index from what the try put in its
	// context (pair, and zipped, its override) and from a bash task's
	// rendered command (echo); a task without one has none.
	labels := map[string]string{}
	for _, task := range []string{"pair", "zipped", "echo", "add_one"} {
		code, body := api.do("GET", "/api/v2/dags/mapping/dagRuns/r1/taskInstances/"+task+"/listMapped?order_by=rendered_map_index", nil)
		var l struct {
			TIs []struct {
				MapIndex int     `json:"map_index"`
				Label    *string `json:"rendered_map_index"`
			} `json:"task_instances"`
		}
		if err := json.Unmarshal(body, &l); code != 200 || err != nil {
			t.Fatalf("listMapped %s: %d %s", task, code, body)
		}
		var got []string
		for _, ti := range l.TIs {
			s := fmt.Sprint(ti.MapIndex, "=")
			if ti.Label != nil {
				s += *ti.Label
			}
			got = append(got, s)
		}
		labels[task] = strings.Join(got, " ")
	}
	for task, want := range map[string]string{"pair": "0=x-1 1=x-2 2=y-1 3=y-2", "zipped": "0=[1, 'p']-! 1=[2, 'q']-! 2=[3, 'r']-!",
		"echo": "1=sleep 1; echo 1 0=sleep 1; echo one", "add_one": "0= 1= 2="} {
		if labels[task] != want {
			t.Errorf("rendered_map_index of %s: %q, want %q", task, labels[task], want)
		}
	}
	if code, body := api.do("GET", "/api/v2/dags/mapping/dagRuns/r1/taskInstances/literal_total/listMapped", nil); code != 404 ||
		!strings.Contains(string(body), "is not mapped") {
		t.Errorf("listMapped of a plain task: %d %s", code, body)
	}
	if code, body := api.do("GET", "/api/v2/dags/mapping/dagRuns/r1/taskInstances/add_one/1", nil); code != 200 ||
		!strings.Contains(string(body), `"map_index":1`) {
		t.Errorf("add_one/1: %d %s", code, body)
	}
	// Clearing one instance runs that one again, and the reduce after it.
	code, body = api.do("POST", "/api/v2/dags/mapping/clearTaskInstances", map[string]any{"dry_run": false,
		"dag_run_id": "r1", "task_ids": [][]any{{"add_one", 1}}, "include_downstream": true, "only_failed": false})
	if code != 200 || !strings.Contains(string(body), `"total_entries":2`) {
		t.Fatalf("clear add_one[1]: %d %s", code, body)
	}
	testenv.Eventually(t, 60*time.Second, "add_one[1] and literal_total to run again", func() (bool, string) {
		tis = c.TIs("mapping", "r1")
		return tis["add_one[1]"].TryNumber == 2 && testenv.State(tis["add_one[1]"]) == "success" &&
				tis["literal_total"].TryNumber == 2 && testenv.State(tis["literal_total"]) == "success",
			testenv.State(tis["add_one[1]"]) + " " + testenv.State(tis["literal_total"])
	})
	if n := tis["add_one[0]"].TryNumber; n != 1 {
		t.Errorf("add_one[0] ran again (try %d)", n)
	}
	if x := c.XComs("mapping", "r1"); x["literal_total/return_value"] != "9" {
		t.Errorf("literal_total after the clear: %s", x["literal_total/return_value"])
	}

	// Marking one instance marks that one only.
	code, body = api.do("PATCH", "/api/v2/dags/mapping/dagRuns/r1/taskInstances/by_kwargs/1", map[string]any{"new_state": "failed"})
	if code != 200 || !strings.Contains(string(body), `"total_entries":1`) || !strings.Contains(string(body), `"map_index":1`) {
		t.Errorf("mark by_kwargs[1] failed: %d %s", code, body)
	}
	tis = c.TIs("mapping", "r1")
	if a, b := testenv.State(tis["by_kwargs[0]"]), testenv.State(tis["by_kwargs[1]"]); a != "success" || b != "failed" {
		t.Errorf("after marking by_kwargs[1] failed: %s %s", a, b)
	}

	// The UI: the grid's cell of a mapped task opens the list of its
	// instances, each linking to its own page.
	br := newBrowser(t, base)
	br.login("ada", "s3cret-ada")
	br.step("a mapped task's instances", 20*time.Second,
		chromedp.Navigate(base+"/dags/mapping/runs/r1/tasks/pair"),
		until(`document.querySelectorAll("#mapped-tis tbody tr").length === 4 &&
			document.querySelector("#mapped-summary").textContent === "4 success" &&
			document.querySelector("#mapped-tis tbody tr:nth-child(3) td:nth-child(2)").textContent === "y-1"`),
		chromedp.Click(chromedp.CSS(`#mapped-tis tbody tr:nth-child(3) a`)),
		until(`location.search === "?map_index=2" && document.querySelector("h2 .mono").textContent === "pair [2]" &&
			document.querySelector("#ti-state").textContent === "success"`),
	)
}
