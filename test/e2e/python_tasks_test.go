package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestPythonTasks runs hand-written TaskFlow pipelines on workers that have
// no DAG folder (they import the file stored with the DAG version): data
// passed between @task functions and a classic PythonOperator, templated
// op_kwargs, multiple_outputs read by a bash task, a variable and a
// connection answered by the worker and masked in the log, a short circuit
// skipping downstream; and callables that raise, hang past their
// execution_timeout, return what JSON cannot hold, or fail with
// AirflowFailException (no retry). A YAML DAG calls Python as dag-factory's
// do: callables and callbacks as functions in files, by import path from a
// package of the DAG folder, and a notifier built with arguments.
func TestPythonTasks(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	b, err := os.ReadFile(filepath.Join("testdata", "airflow", "py_tasks.py"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dags, "pyhelpers"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("pyhelpers/__init__.py", "")
	c.WriteDAG("pyhelpers/text.py", "def shout(s):\n    return s.upper() + '!'\n")
	c.WriteDAG("py_tasks.py", string(b))
	// A YAML file calls Python as dag-factory's do.
	if err := os.MkdirAll(filepath.Join(c.Dags, "callables"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("callables/greetings.py", `
def greet(who, ti=None):
    print("hello", who, "from", ti.task_id)
    return f"hello {who}"


def pick(ti=None):
    return "right" if ti.xcom_pull(task_ids="greet").startswith("hello") else "left"


def finished(context):
    with open(context["params"]["marker"], "w") as f:
        f.write(context["run_id"] + " " + context["reason"])

`)
	// A package of the DAG folder the YAML file names by import path: the
	// workers import it from the DAG version, as the callables' file.
	if err := os.MkdirAll(filepath.Join(c.Dags, "alerts"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("alerts/__init__.py", "")
	c.WriteDAG("alerts/notes.py", `from airflow.sdk.bases.notifier import BaseNotifier


class Note(BaseNotifier):
    template_fields = ("message",)

    def __init__(self, message, level="info"):
        super().__init__()
        self.message, self.level = message, level

    def notify(self, context):
        print(f"[{self.level}] {self.message}")


def noted(context):
    print("noted", context["ti"].task_id, "in", context["run_id"])
`)
	c.WriteDAG("yaml_py.yaml", `
yaml_py:
  schedule: null
  default_args: {start_date: 2024-01-01}
  params: {marker: ""}
  on_success_callback_name: finished
  on_success_callback_file: callables/greetings.py
  tasks:
    greet:
      operator: airflow.operators.python.PythonOperator
      python_callable_name: greet
      python_callable_file: callables/greetings.py
      op_kwargs: {who: "{{ dag_run.conf.get('who', 'yaml') }}"}
      on_success_callback: alerts.notes.noted
    version:
      operator: python
      python_callable: platform.python_version
    pick:
      operator: airflow.operators.python.BranchPythonOperator
      python_callable_name: pick
      python_callable_file: callables/greetings.py
      dependencies: [greet]
    left: {operator: bash, bash_command: "echo left", dependencies: [pick]}
    right:
      operator: bash
      bash_command: "echo right"
      dependencies: [pick]
      on_success_callback:
        - callback: alerts.notes.Note
          message: "right done in {{ run_id }}"
          level: warn
`)
	c.MustRun("variables", "set", "api_password", "hunter2-secret")
	c.MustRun("connections", "add", "my_http", "--conn-uri", "http://svc:p4ssw0rd-secret@api.example.com:8443/v1")
	c.Start("scheduler", "scheduler")
	// The workers' DAG folder does not exist: they read the file from the database.
	startWorkersWithoutDags(t, c, "pw1@e2e", "pw2@e2e")
	c.WaitParsed(60*time.Second, "py_pipeline", "py_failures", "yaml_py")
	yamlMarker := filepath.Join(t.TempDir(), "yaml-dag-callback")
	c.MustRun("dags", "trigger", "yaml_py", "--run-id", "r1", "--conf", `{"marker": "`+yamlMarker+`"}`)
	c.MustRun("dags", "trigger", "py_pipeline", "--run-id", "r1")
	marker := filepath.Join(t.TempDir(), "dag-callback")
	c.MustRun("dags", "trigger", "py_failures", "--run-id", "r1", "--conf", `{"marker": "`+marker+`"}`)
	runs := c.WaitRunsFinished(120*time.Second, 1, "py_pipeline", "py_failures")
	if s := runs["py_pipeline"][0].State; s != "success" {
		t.Errorf("py_pipeline: %s", s)
	}
	if s := runs["py_failures"][0].State; s != "failed" {
		t.Errorf("py_failures: %s", s)
	}
	tis := c.TIs("py_pipeline", "r1")
	for task, want := range map[string]string{"numbers": "success", "total": "success", "split": "success", "classic": "success",
		"report": "success", "conn_host": "success", "helper": "success", "pusher": "success", "any_key": "success", "gate": "success", "after_gate": "skipped"} {
		if got := testenv.State(tis[task]); got != want {
			t.Errorf("py_pipeline.%s: %s, want %s", task, got, want)
		}
	}
	var xs []struct {
		TaskID string `json:"task_id"`
		Key    string `json:"key"`
		Value  any    `json:"value"`
	}
	c.MustJSON(&xs, "tasks", "xcom", "list", "py_pipeline", "r1")
	got := map[string]string{}
	for _, x := range xs {
		vb, _ := json.Marshal(x.Value)
		got[x.TaskID+"/"+x.Key] = string(vb)
	}
	for k, want := range map[string]string{"numbers/return_value": "[1,2,3]", "total/return_value": "6",
		"split/double": "12", "split/half": "3", "classic/return_value": "42", "conn_host/return_value": `"api.example.com"`,
		"helper/return_value": `"HI!"`, "any_key/return_value": `"v1"`} {
		if got[k] != want {
			t.Errorf("XCom %s = %s, want %s (all: %v)", k, got[k], want, got)
		}
	}
	if !strings.Contains(got["classic/extra"], `"label":"world-`) {
		t.Errorf("classic's pushed XCom = %s, want the rendered label", got["classic/extra"])
	}
	logOf := func(dag, task string) string { return c.MustRun("tasks", "logs", dag, "r1", task) }
	if l := logOf("py_pipeline", "total"); !strings.Contains(l, "with the secret ***") || strings.Contains(l, "hunter2") {
		t.Errorf("total's log (the variable must be masked):\n%s", l)
	}
	if l := logOf("py_pipeline", "conn_host"); !strings.Contains(l, "password is ***") || strings.Contains(l, "p4ssw0rd") {
		t.Errorf("conn_host's log (the password must be masked):\n%s", l)
	}
	if l := logOf("py_pipeline", "report"); !strings.Contains(l, "double=12") {
		t.Errorf("report's log:\n%s", l)
	}
	if l := logOf("py_pipeline", "classic"); !strings.Contains(l, "classic got 2 40 world-") || !strings.Contains(l, "Done. Returned value was: 42") {
		t.Errorf("classic's log:\n%s", l)
	}

	c.WaitRunsFinished(120*time.Second, 1, "yaml_py")
	ytis := c.TIs("yaml_py", "r1")
	for task, want := range map[string]string{"greet": "success", "version": "success", "pick": "success", "left": "skipped", "right": "success"} {
		if got := testenv.State(ytis[task]); got != want {
			t.Errorf("yaml_py.%s: %s, want %s", task, got, want)
		}
	}
	c.MustJSON(&xs, "tasks", "xcom", "list", "yaml_py", "r1")
	yx := map[string]any{}
	for _, x := range xs {
		yx[x.TaskID+"/"+x.Key] = x.Value
	}
	if v, _ := yx["version/return_value"].(string); yx["greet/return_value"] != "hello yaml" || !strings.HasPrefix(v, "3.") {
		t.Errorf("yaml_py's XComs: %v", yx)
	}
	if l := c.MustRun("tasks", "logs", "yaml_py", "r1", "greet"); !strings.Contains(l, "hello yaml from greet") ||
		!strings.Contains(l, "noted greet in r1") {
		t.Errorf("greet's log (its output and its on_success_callback's, by import path):\n%s", l)
	}
	if l := c.MustRun("tasks", "logs", "yaml_py", "r1", "right"); !strings.Contains(l, "[warn] right done in r1") {
		t.Errorf("right's log lacks its notifier's rendered message:\n%s", l)
	}
	// The DAG's on_success_callback, a function in a file, ran on the scheduler.
	testenv.Eventually(t, 30*time.Second, "yaml_py's on_success_callback", func() (bool, string) {
		b, err := os.ReadFile(yamlMarker)
		return err == nil && string(b) == "r1 success", string(b)
	})

	// The module changes: a new DAG version, whose tries import the new
	// module (the workers still have no DAG folder).
	c.WriteDAG("pyhelpers/text.py", "def shout(s):\n    return s.upper() + '!!!'\n")
	c.MustRun("dags", "reserialize")
	c.MustRun("dags", "trigger", "py_pipeline", "--run-id", "r2")
	c.WaitRunsFinished(120*time.Second, 2, "py_pipeline")
	c.MustJSON(&xs, "tasks", "xcom", "list", "py_pipeline", "r2")
	helped := ""
	for _, x := range xs {
		if x.TaskID == "helper" && x.Key == "return_value" {
			helped, _ = x.Value.(string)
		}
	}
	if helped != "HI!!!" {
		t.Errorf("helper in the new version returned %q, want HI!!! (the version's module)", helped)
	}

	fails := c.TIs("py_failures", "r1")
	for task, want := range map[string]string{"boom": "ValueError: boom on purpose", "hang": "execution_timeout of 2s exceeded",
		"unserializable": "cannot be stored as an XCom (JSON)", "fail_fast": "AirflowFailException: no retry please"} {
		if s := testenv.State(fails[task]); s != "failed" {
			t.Errorf("py_failures.%s: %s, want failed", task, s)
		}
		if l := logOf("py_failures", task); !strings.Contains(l, want) {
			t.Errorf("py_failures.%s's log lacks %q:\n%s", task, want, l)
		}
	}
	if n := fails["fail_fast"].TryNumber; n != 1 {
		t.Errorf("fail_fast ran %d tries, want 1 (AirflowFailException: no retry)", n)
	}
	if l := logOf("py_failures", "boom"); !strings.Contains(l, "Traceback (most recent call last)") ||
		!strings.Contains(l, "task callback: boom failed with ValueError: boom on purpose") {
		t.Errorf("boom's log lacks the traceback or its Python on_failure_callback's output:\n%s", l)
	}
	// The DAG's Python on_failure_callback ran on the scheduler.
	testenv.Eventually(t, 30*time.Second, "the DAG's on_failure_callback", func() (bool, string) {
		b, err := os.ReadFile(marker)
		return err == nil && string(b) == "r1 ended: task_failure", string(b)
	})
}

// TestPythonImportFailsOnWorker: a DAG file that imports a package the
// worker's interpreter lacks (the DAG processor's has it) fails its try
// with the ImportError and its traceback in the log, and the process is
// not reused; once the package is there, a clear runs it on the same
// worker.
func TestPythonImportFailsOnWorker(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	parserPath, workerPath := t.TempDir(), t.TempDir()
	mod := "VALUE = 41\n"
	if err := os.WriteFile(filepath.Join(parserPath, "gust_only_here.py"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("py_needs_mod.py", `
import datetime

import gust_only_here
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def py_needs_mod():
    @task(retries=0)
    def answer():
        return gust_only_here.VALUE + 1

    answer()


py_needs_mod()
`)
	env := c.Env
	c.Env = append(append([]string(nil), env...), "PYTHONPATH="+parserPath)
	c.Start("scheduler", "scheduler")
	c.Env = append(append([]string(nil), env...), "PYTHONPATH="+workerPath)
	startWorkersWithoutDags(t, c, "imp@e2e")
	c.Env = env
	c.WaitParsed(60*time.Second, "py_needs_mod")
	c.MustRun("dags", "trigger", "py_needs_mod", "--run-id", "r1")
	runs := c.WaitRunsFinished(60*time.Second, 1, "py_needs_mod")
	if s := runs["py_needs_mod"][0].State; s != "failed" {
		t.Fatalf("py_needs_mod: %s, want failed (the worker lacks the package)", s)
	}
	if l := c.MustRun("tasks", "logs", "py_needs_mod", "r1", "answer"); !strings.Contains(l, "No module named 'gust_only_here'") ||
		!strings.Contains(l, "Traceback (most recent call last)") {
		t.Errorf("answer's log lacks the ImportError and its traceback:\n%s", l)
	}
	if err := os.WriteFile(filepath.Join(workerPath, "gust_only_here.py"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	c.MustRun("tasks", "clear", "py_needs_mod", "--yes")
	testenv.Eventually(t, 60*time.Second, "the cleared try", func() (bool, string) {
		ti := c.TIs("py_needs_mod", "r1")["answer"]
		x := c.XComs("py_needs_mod", "r1")["answer/return_value"]
		got := fmt.Sprintf("%s try %d returned %s", testenv.State(ti), ti.TryNumber, x)
		return got == "success try 2 returned 42", got
	})
}
