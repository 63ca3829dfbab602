package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDagsTestRunsInProcess(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(home, "count")
	// Callbacks run as they would on a worker and a scheduler: bash, and
	// Python by import path (with arguments) and as a function in a file.
	if err := os.WriteFile(filepath.Join(dags, "alerting.py"), []byte(
		"def failed(context, channel):\n    print('ALERT', context['ti'].task_id, context['reason'], 'to', channel)\n\n\n"+
			"def run_over(context):\n    print('RUN OVER', context['run_id'], context['reason'])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dag := `
local:
  schedule: "@daily"
  default_args: {start_date: 2024-01-01, retry_delay_sec: 0}
  on_failure_callback_name: run_over
  on_failure_callback_file: alerting.py
  tasks:
    flaky:
      operator: bash
      retries: 1
      bash_command: 'echo x >> ` + counter + `; [ "$AIRFLOW_CTX_TRY_NUMBER" -ge 2 ] && echo "ds=$AIRFLOW_CTX_EXECUTION_DATE"'
      on_retry_callback: echo "retrying {{ ti.task_id }}"
    boom:
      operator: bash
      bash_command: 'exit 4'
      dependencies: [flaky]
      on_failure_callback: {callback: alerting.failed, channel: ops}
    never: {operator: empty, dependencies: [boom]}
`
	if err := os.WriteFile(filepath.Join(dags, "local.yaml"), []byte(dag), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + home}}
	app := a.cli()
	err := app.Run([]string{"gust", "dags", "test", "local", "2024-03-01"})
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("err = %v, want exit 1 for a failed run", err)
	}
	s := out.String()
	for _, want := range []string{
		"--- flaky: up_for_retry (try 1",
		"--- flaky: success (try 2",
		"ds=2024-03-01T00:00:00+00:00",
		"--- boom: failed (try 1",
		"exited with return code 4",
		"--- never: upstream_failed",
		"DAG run manual__2024-03-01T00:00:00+00:00: failed",
		"retrying flaky",
		"ALERT boom bash command failed: exit code 4 to ops",
		"RUN OVER manual__2024-03-01T00:00:00+00:00 task_failure",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 2 {
		t.Errorf("flaky ran %d times, want 2", strings.Count(string(b), "x"))
	}
	if err := app.Run([]string{"gust", "dags", "test", "nope"}); err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("unknown DAG: %v", err)
	}
}

func TestDagsTestBranchAndShortCircuit(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	dag := `
flow:
  schedule: null
  tasks:
    pick: {operator: branch, bash_command: 'echo "choosing"; echo right'}
    left: {operator: bash, bash_command: 'echo left', dependencies: [pick]}
    left_after: {operator: bash, bash_command: 'echo left2', dependencies: [left]}
    right: {operator: bash, bash_command: 'echo right', dependencies: [pick]}
    join: {operator: empty, trigger_rule: none_failed_min_one_success, dependencies: [left_after, right]}
    gate: {operator: short_circuit, bash_command: 'echo False', dependencies: [join]}
    gated: {operator: bash, bash_command: 'echo never', dependencies: [gate]}
    gated_after: {operator: bash, bash_command: 'echo never', trigger_rule: all_done, dependencies: [gated]}
    skip99: {operator: bash, bash_command: 'exit 99'}
`
	if err := os.WriteFile(filepath.Join(dags, "flow.yaml"), []byte(dag), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + home}}
	if err := a.cli().Run([]string{"gust", "dags", "test", "flow"}); err != nil {
		t.Fatalf("dags test: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"--- left: skipped (by pick)",
		"--- left_after: skipped",
		"--- right: success",
		"--- join: success",
		"--- gated: skipped (by gate)",
		"--- gated_after: skipped (by gate)",
		"--- skip99: skipped",
		": success\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "echo never") && strings.Contains(s, "Running command: echo never") {
		t.Errorf("a short-circuited task ran:\n%s", s)
	}
}

// TestTasksTestPython: gust tasks test runs one task of a Python DAG in
// process, with --task-params over the DAG's params and the logical date
// given, ignoring upstream; a failing callable exits 1 with its traceback.
func TestTasksTestPython(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `
from airflow.sdk import dag, task

@dag(schedule=None, params={"who": "nobody"})
def one_task():
    @task
    def first():
        return 1

    @task
    def greet(x, params=None, ds=None):
        print("hello", params["who"], "on", ds, "upstream gave", x)

    @task
    def broken():
        raise ValueError("broken on purpose")

    greet(first())
    broken()

one_task()
`
	if err := os.WriteFile(filepath.Join(dags, "one.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + home}}
		err := a.cli().Run(append([]string{"gust", "tasks", "test"}, args...))
		return out.String() + errb.String(), err
	}
	out, err := run("-t", `{"who": "tester"}`, "one_task", "greet", "2024-03-01")
	if err != nil {
		t.Fatalf("tasks test: %v\n%s", err, out)
	}
	if !strings.Contains(out, "hello tester on 2024-03-01 upstream gave None") || !strings.Contains(out, "--- greet: success") {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out, "--- first") {
		t.Errorf("the upstream task ran:\n%s", out)
	}
	out, err = run("one_task", "broken")
	if exitCode(err) != 1 || !strings.Contains(out, "ValueError: broken on purpose") || !strings.Contains(out, "Traceback") {
		t.Errorf("broken: err %v\n%s", err, out)
	}
	if _, err := run("one_task", "missing"); err == nil || !strings.Contains(err.Error(), `no task "missing"`) {
		t.Errorf("a missing task: %v", err)
	}
	if _, err := run("one_task"); err == nil {
		t.Error("tasks test with one argument did not fail")
	}
	// --subdir is relative to where the command runs, as Airflow's.
	t.Chdir(home)
	if out, err := run("-S", filepath.Join("dags", "one.py"), "one_task", "greet"); err != nil || !strings.Contains(out, "--- greet: success") {
		t.Errorf("a relative --subdir file: %v\n%s", err, out)
	}
}

// TestRetryPolicy checks Airflow's retry_policy in a Python DAG: a rule
// that fails ends the try without its retries; a rule that retries sets
// the delay before the next try (1 s, not the task's hour).
func TestRetryPolicy(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `
from datetime import datetime, timedelta
from airflow.sdk import DAG, ExceptionRetryPolicy, RetryAction, RetryRule, task

POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception="builtins.PermissionError", action=RetryAction.FAIL, reason="no access, not retryable"),
    RetryRule(exception=ConnectionError, action=RetryAction.RETRY, retry_delay=timedelta(seconds=1)),
])

with DAG("rp", schedule=None, start_date=datetime(2024, 1, 1), default_args={"retry_policy": POLICY}):
    @task(retries=3, retry_delay=timedelta(hours=1))
    def denied():
        raise PermissionError("nope")

    @task(retries=1, retry_delay=timedelta(hours=1))
    def flaky(ti=None):
        if ti.try_number < 2:
            raise ConnectionError("flaky")
        return "ok"

    denied()
    flaky()
`
	if err := os.WriteFile(filepath.Join(dags, "rp.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, environ: []string{"GUST_HOME=" + home}}
	err := a.cli().RunContext(ctx, []string{"gust", "dags", "test", "rp"})
	if exitCode(err) != 1 || ctx.Err() != nil {
		t.Fatalf("dags test: %v (context %v)\n%s", err, ctx.Err(), out.String())
	}
	for _, want := range []string{"Retry policy decided fail: no access, not retryable", "--- denied: failed (try 1",
		"--- flaky: up_for_retry (try 1", "--- flaky: success (try 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDagsTestXComArgMap: XComArg.map transforms what mapped tasks (a
// @task by expand_kwargs, a BashOperator) and a plain downstream task
// read; a callable that raises AirflowSkipException skips its instance.
func TestDagsTestXComArgMap(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "common", "pydag", "testdata", "xcomarg_map.py"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dags, "xcomarg_map.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + home}}
	if err := a.cli().Run([]string{"gust", "dags", "test", "xcomarg_map"}); err != nil {
		t.Fatalf("dags test: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"Returned value was: a.txt->a.txt.bak", "Returned value was: b.txt->b.txt.bak",
		"--- copy[2]: skipped", "Returned value was: ['A.TXT', 'B.TXT', 'SKIP.TXT']",
		"\nb.txt done\n", "--- echo[2]: success",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// TestDagsTestMappedGroup runs a mapped task group in process: each task
// of the group expanded over the source, an instance reading the output of
// the same index upstream in the group (the memory store's XComAt), one
// failing item not failing the others, and the all_done reduce.
func TestDagsTestMappedGroup(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	if err := os.MkdirAll(dags, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "common", "pydag", "testdata", "mapped_group.py"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dags, "mapped_group.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + home}}
	if err := a.cli().Run([]string{"gust", "dags", "test", "mapped_group"}); err != nil {
		t.Fatalf("dags test: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"--- transform.size: expanded to 3 instances", "Returned value was: c.yaml",
		"--- transform.size[1]: failed", "--- transform.size[2]: success", "Returned value was: [6, 6]", ": success\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
