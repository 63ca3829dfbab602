package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestPythonOperatorClasses runs operators that are Python classes on
// workers with no DAG folder: a DAG file's own BaseOperator (templated
// fields rendered, its return value an XCom), one that skips, a
// BaseBranchOperator, a BaseSensorOperator in reschedule mode (two pokes,
// its PokeReturnValue an XCom), and the Python-written LatestOnlyOperator,
// BranchDateTimeOperator, PythonSensor, BashSensor, @task.sensor and
// @task.bash; an operator's own params over the DAG's; a YAML file's
// PythonSensor calling a function of a Python file; a retry policy's delay
// (1 s) over the task's (an hour).
func TestPythonOperatorClasses(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	b, err := os.ReadFile(filepath.Join("testdata", "airflow", "py_classes.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("py_classes.py", string(b))
	if err := os.MkdirAll(filepath.Join(c.Dags, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("scripts/hello.sh", "echo script for {{ params.who }}\n")
	c.WriteDAG("scripts/q.sql", "select '{{ params.who }}' as who\n")
	b, err = os.ReadFile(filepath.Join("testdata", "airflow", "py_trigger.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("py_trigger.py", string(b))
	b, err = os.ReadFile(filepath.Join("testdata", "airflow", "py_latest.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("py_latest.py", string(b))
	if err := os.MkdirAll(filepath.Join(c.Dags, "checks"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("checks/ready.py", "def ready(params=None):\n    print('checking', params['flag'])\n    return params['flag'] == 'up'\n")
	c.WriteDAG("yaml_sensor.yaml", `
yaml_sensor:
  schedule: null
  default_args: {start_date: 2024-01-01}
  params: {flag: up}
  tasks:
    wait:
      operator: airflow.sensors.python.PythonSensor
      python_callable_name: ready
      python_callable_file: checks/ready.py
      poke_interval: 1
      timeout: 30
`)
	c.Start("scheduler", "scheduler")
	startWorkersWithoutDags(t, c, "cw1@e2e", "cw2@e2e")
	c.WaitParsed(60*time.Second, "py_classes", "yaml_sensor", "trig_controller", "trig_target", "trig_paused_controller", "trig_paused", "marker_parent", "marker_child")
	marker := filepath.Join(t.TempDir(), "second-poke")
	c.MustRun("dags", "trigger", "py_classes", "--run-id", "r1", "--conf", `{"marker": "`+marker+`"}`)
	c.MustRun("dags", "trigger", "yaml_sensor", "--run-id", "r1")
	c.MustRun("dags", "trigger", "trig_controller", "--run-id", "r1")
	c.MustRun("dags", "trigger", "trig_paused_controller", "--run-id", "r1")
	c.MustRun("dags", "trigger", "marker_parent", "--run-id", "m1", "--logical-date", "2024-05-01T00:00:00Z")
	c.MustRun("dags", "trigger", "marker_child", "--run-id", "m1", "--logical-date", "2024-05-01T00:00:00Z")
	runs := c.WaitRunsFinished(150*time.Second, 1, "py_classes", "yaml_sensor", "trig_controller", "trig_target", "trig_paused_controller",
		"marker_parent", "marker_child")
	// Clearing the marker clears the task it marks and what follows it in
	// the other DAG's run of the same logical date, and nothing else there.
	c.MustRun("tasks", "clear", "marker_parent", "-t", "^parent_task$", "--yes")
	testenv.Eventually(t, 60*time.Second, "marker_child cleared and run again", func() (bool, string) {
		tis := c.TIs("marker_child", "m1")
		got := fmt.Sprintf("child_task1 %s try %d, child_task2 %s try %d, unrelated %s try %d",
			testenv.State(tis["child_task1"]), tis["child_task1"].TryNumber, testenv.State(tis["child_task2"]), tis["child_task2"].TryNumber,
			testenv.State(tis["unrelated"]), tis["unrelated"].TryNumber)
		return got == "child_task1 success try 2, child_task2 success try 2, unrelated success try 1", got
	})
	// fail_when_dag_is_paused: the paused target gets no run.
	if s := runs["trig_paused_controller"][0].State; s != "failed" {
		t.Errorf("trig_paused_controller: %s, want failed (its target is paused)", s)
	}
	if l := c.MustRun("tasks", "logs", "trig_paused_controller", "r1", "trigger"); !strings.Contains(l, "DAG trig_paused is paused") {
		t.Errorf("trig_paused_controller's log:\n%s", l)
	}
	if rs := c.Runs("trig_paused"); len(rs) != 0 {
		t.Errorf("the paused DAG got runs: %+v", rs)
	}
	// The controller waited for the run it triggered, which got its conf.
	if s := runs["trig_controller"][0].State; s != "success" {
		t.Errorf("trig_controller: %s", s)
	}
	target := runs["trig_target"][0]
	if target.State != "success" || target.RunType != "manual" {
		t.Errorf("trig_target's run: %+v", target)
	}
	if l := c.MustRun("tasks", "logs", "trig_target", target.RunID, "show"); !strings.Contains(l, "message=Hello r1") {
		t.Errorf("trig_target's log (the templated conf):\n%s", l)
	}
	if tx := c.XComs("trig_controller", "r1"); tx["trigger/trigger_run_id"] != `"`+target.RunID+`"` {
		t.Errorf("trig_controller's XComs %v lack trigger_run_id %s", tx, target.RunID)
	}
	if s := runs["py_classes"][0].State; s != "success" {
		t.Errorf("py_classes: %s", s)
	}
	if s := runs["yaml_sensor"][0].State; s != "success" {
		t.Errorf("yaml_sensor: %s", s)
	}
	tis := c.TIs("py_classes", "r1")
	for task, want := range map[string]string{"greet": "success", "skip_me": "skipped", "after_skip": "skipped",
		"pick": "success", "left": "skipped", "right": "success", "second_poke": "success", "py_sensor": "success",
		"bash_sensor": "success", "latest_only": "success", "after_latest": "success", "window": "success",
		"in_window": "success", "out_window": "skipped", "own_params": "success", "ready": "success",
		"collect": "success", "shout": "success", "script": "success", "query": "success", "flaky": "success", "pull_str": "success", "day_sensor": "success", "day_branch": "success",
		"on_day": "success", "off_day": "skipped", "skip_other": "success", "skipped_by_mixin": "skipped",
		"kept_by_mixin": "success"} {
		if got := testenv.State(tis[task]); got != want {
			t.Errorf("py_classes.%s: %s, want %s", task, got, want)
		}
	}
	got := c.XComs("py_classes", "r1")
	for k, want := range map[string]string{"greet/return_value": `"Hello world r1+b"`, "pick/return_value": `"right"`,
		"counted/return_value": `{"copy":true,"runs":1}`, "second_poke/return_value": `{"marker":"second-poke"}`, "ready/return_value": `"ready!"`,
		"collect/return_value": `"ready! Hello world r1+b"`,
		"script/return_value":  `"script for world"`, "query/return_value": `"select 'sql' as who"`, "shout/return_value": `"bash got loud on ` +
			runs["py_classes"][0].LogicalDate[:10] + `"`} {
		if got[k] != want {
			t.Errorf("XCom %s = %s, want %s (all: %v)", k, got[k], want, got)
		}
	}
	// Caught-up scheduled runs (Airflow 3's trigger timetable: one at each
	// midnight since start_date, today's included): LatestOnlyOperator lets
	// only the latest one's downstream task run.
	latest := c.WaitRunsFinished(150*time.Second, 4, "py_latest")["py_latest"]
	ran := 0
	for _, r := range latest {
		lt := c.TIs("py_latest", r.RunID)
		if testenv.State(lt["latest_only"]) != "success" {
			t.Errorf("py_latest %s: latest_only %s", r.RunID, testenv.State(lt["latest_only"]))
		}
		if testenv.State(lt["downstream"]) == "success" {
			ran++
		}
	}
	if len(latest) != 4 || ran != 1 {
		t.Errorf("py_latest: %d runs, downstream ran in %d, want 4 and 1", len(latest), ran)
	}
	logOf := func(task string) string { return c.MustRun("tasks", "logs", "py_classes", "r1", task) }
	if l := logOf("greet"); !strings.Contains(l, "greeting: Hello world r1+b") || !strings.Contains(l, "logged for greet") {
		t.Errorf("greet's log:\n%s", l)
	}
	if l := logOf("second_poke"); !strings.Contains(l, "first poke: not yet") || !strings.Contains(l, "second poke: done") {
		t.Errorf("second_poke's log (two pokes, rescheduled between them):\n%s", l)
	}
	if l := logOf("own_params"); !strings.Contains(l, "own task 5") {
		t.Errorf("own_params's log (the task's params over the DAG's):\n%s", l)
	}
	if l := c.MustRun("tasks", "logs", "yaml_sensor", "r1", "wait"); !strings.Contains(l, "checking up") {
		t.Errorf("yaml_sensor's log:\n%s", l)
	}
}
