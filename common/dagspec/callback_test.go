package dagspec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestCallbacks checks which callback values run as bash and which are
// Python callables (dag-factory's forms), and the import errors of the
// malformed ones, with their lines.
func TestCallbacks(t *testing.T) {
	t.Parallel()
	bash := map[string]string{
		"command":          "echo x",
		"relative script":  "./notify.sh",
		"script with args": "notify.sh arg",
		"script on PATH":   "notify.sh",
		"python script":    "notify.py",
		"one word":         "notify",
		"template":         "'{{ var.value.notify_cmd }}'",
		"python -c":        `"python3 -c 'import m; m.notify()'"`,
		"list":             "['echo a', ./b.sh]",
		"null":             "null",
	}
	for name, v := range bash {
		src := "d:\n  on_failure_callback: " + v + "\n  tasks:\n    a:\n      operator: empty\n      on_success_callback: " + v + "\n"
		if _, err := Parse("cb.yaml", []byte(src)); err != nil {
			t.Errorf("bash callback %s (%s): %v", name, v, err)
		}
	}

	// Python callbacks, dag-factory's three forms, on the task, the DAG
	// and default_args; a relative file is next to the DAG file.
	src := `d:
  on_success_callback: airflow.providers.slack.notifications.slack.send_slack_notification
  on_failure_callback_name: dag_failed
  on_failure_callback_file: cb.py
  default_args:
    on_retry_callback: team.alerts.on_retry
    on_failure_callback_file: /opt/cb.py
    on_failure_callback_name: task_failed
  tasks:
    a:
      operator: empty
      on_failure_callback: [mymodule.notify, {callback: mymodule.Notifier, channel: ops, n: 2}]
    b:
      operator: empty
      on_success_callback_name: notify
      on_success_callback_file: /dags/cb.py
      on_retry_callback: echo bash wins
`
	dags, err := Parse("/dags/sub/cb.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	a, b := d.Task("a"), d.Task("b")
	checks := []struct {
		what, cmd string
		got       []PyCallable
		want      []PyCallable
	}{
		{"DAG success", d.OnSuccessCallback, d.PythonCallbacks["on_success_callback"],
			[]PyCallable{{Module: "airflow.providers.slack.notifications.slack", Name: "send_slack_notification"}}},
		{"DAG failure", d.OnFailureCallback, d.PythonCallbacks["on_failure_callback"],
			[]PyCallable{{File: "/dags/sub/cb.py", Name: "dag_failed"}}},
		{"a failure", a.OnFailureCallback, a.PythonCallbacks["on_failure_callback"],
			[]PyCallable{{Module: "mymodule", Name: "notify"}, {Module: "mymodule", Name: "Notifier", Kwargs: map[string]any{"channel": "ops", "n": 2}}}},
		{"a retry (default_args)", a.OnRetryCallback, a.PythonCallbacks["on_retry_callback"],
			[]PyCallable{{Module: "team.alerts", Name: "on_retry"}}},
		{"b success", b.OnSuccessCallback, b.PythonCallbacks["on_success_callback"],
			[]PyCallable{{File: "/dags/cb.py", Name: "notify"}}},
		{"b failure (default_args)", b.OnFailureCallback, b.PythonCallbacks["on_failure_callback"],
			[]PyCallable{{File: "/opt/cb.py", Name: "task_failed"}}},
	}
	for _, c := range checks {
		if c.cmd != PythonCallback || !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: command %q, callables %+v; want %+v", c.what, c.cmd, c.got, c.want)
		}
	}
	if b.OnRetryCallback != "echo bash wins" || b.PythonCallbacks["on_retry_callback"] != nil {
		t.Errorf("b retry: %q %+v, want the task's own bash command over default_args' callable", b.OnRetryCallback, b.PythonCallbacks)
	}

	bad := map[string]struct {
		src, want string
		line      int
	}{
		"mixed list": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback: ['echo a', mymodule.notify]\n",
			"mixes bash commands and Python callables", 5},
		"mapping without callback": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback:\n        channel: ops\n",
			"needs callback:", 6},
		"mapping with a command": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback:\n        callback: echo x\n",
			"is not a Python import path", 6},
		"name without file": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_success_callback_name: notify\n",
			"on_success_callback_name and on_success_callback_file go together", 5},
		"DAG file without name": {"d:\n  on_failure_callback_file: /dags/cb.py\n  tasks:\n    a: {operator: empty}\n",
			"go together", 2},
		"bad function name": {"d:\n  default_args:\n    on_retry_callback_file: /dags/cb.py\n    on_retry_callback_name: not-a-name\n  tasks:\n    a: {operator: empty}\n",
			"is not a Python function name", 4},
		"execute callback, python": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_execute_callback: mymodule.started\n",
			"on_execute_callback is not supported by gust yet", 5},
		"execute callback, bash": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_execute_callback: echo started\n",
			"on_execute_callback is not supported by gust yet", 5},
		"skipped callback": {"d:\n  default_args:\n    on_skipped_callback: echo skipped\n  tasks:\n    a: {operator: empty}\n",
			"on_skipped_callback is not supported by gust yet", 3},
	}
	for name, c := range bad {
		_, err := Parse("cb.yaml", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want an import error", name, err)
			continue
		}
		if !strings.Contains(pe.Msg, c.want) || pe.Line != c.line {
			t.Errorf("%s: %v, want line %d and %q", name, err, c.line, c.want)
		}
	}
}

// TestExternalTaskMarker: dag-factory's ExternalTaskMarker, its defaults
// (the marker's own logical date, depth 10), a fixed date, and the import
// errors for what gust cannot follow.
func TestExternalTaskMarker(t *testing.T) {
	t.Parallel()
	src := `d:
  tasks:
    m:
      operator: airflow.sensors.external_task.ExternalTaskMarker
      external_dag_id: child
      external_task_id: t1
    fixed:
      operator: ExternalTaskMarker
      external_dag_id: child
      external_task_id: t1
      logical_date: "2024-05-01T00:00:00+00:00"
      recursion_depth: 3
    same:
      operator: external_task_marker
      external_dag_id: child
      external_task_id: t1
      execution_date: "{{ execution_date }}"
`
	dags, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	for id, want := range map[string]Marker{
		"m":     {ExternalDagID: "child", ExternalTaskID: "t1", RecursionDepth: 10},
		"fixed": {ExternalDagID: "child", ExternalTaskID: "t1", LogicalDate: "2024-05-01T00:00:00+00:00", RecursionDepth: 3},
		"same":  {ExternalDagID: "child", ExternalTaskID: "t1", RecursionDepth: 10},
	} {
		task := d.Task(id)
		if task.Operator != OperatorExternalTaskMarker || task.Marker == nil || *task.Marker != want {
			t.Errorf("%s: %s %+v, want %+v", id, task.Operator, task.Marker, want)
		}
	}
	for name, c := range map[string]struct{ src, want string }{
		"no task id":     {"d:\n  tasks:\n    m: {operator: ExternalTaskMarker, external_dag_id: child}\n", "needs external_dag_id and external_task_id"},
		"other template": {"d:\n  tasks:\n    m: {operator: ExternalTaskMarker, external_dag_id: c, external_task_id: t, logical_date: '{{ prev_ds }}'}\n", "not other templates yet"},
		"zero depth":     {"d:\n  tasks:\n    m: {operator: ExternalTaskMarker, external_dag_id: c, external_task_id: t, recursion_depth: 0}\n", "must be at least 1"},
		"not a marker":   {"d:\n  tasks:\n    m: {operator: bash, bash_command: x, recursion_depth: 2}\n", `unknown argument "recursion_depth"`},
	} {
		if _, err := Parse("m.yaml", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an import error with %q", name, err, c.want)
		}
	}
}
