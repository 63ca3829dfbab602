package dagspec

import (
	"errors"
	"strings"
	"testing"
)

// TestCallbacks checks which callback values run as bash and which are
// Python callables, refused at import with the line and a message that
// says so (before, they parsed and failed at run time with exit 127).
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

	python := map[string]struct {
		src, want string
		line      int
	}{
		"task dotted path": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback: mymodule.notify\n",
			`on_failure_callback: "mymodule.notify" is a Python import path`, 5},
		"DAG dotted path": {"d:\n  on_success_callback: airflow.providers.slack.notifications.slack.send_slack_notification\n  tasks:\n    a: {operator: empty}\n",
			"is a Python import path", 2},
		"default_args dotted path": {"d:\n  default_args:\n    on_retry_callback: team.alerts.on_retry\n  tasks:\n    a: {operator: empty}\n",
			"is a Python import path", 3},
		"in a list": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback: ['echo a', mymodule.notify]\n",
			"is a Python import path", 5},
		"mapping with callback": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_failure_callback:\n        callback: mymodule.notify\n        channel: ops\n",
			"is a Python callable", 6},
		"task name and file": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_success_callback_name: notify\n      on_success_callback_file: /dags/cb.py\n",
			"on_success_callback_name names a Python function in a file", 5},
		"DAG name and file": {"d:\n  on_failure_callback_name: notify\n  on_failure_callback_file: /dags/cb.py\n  tasks:\n    a: {operator: empty}\n",
			"on_failure_callback_name names a Python function", 2},
		"default_args name and file": {"d:\n  default_args:\n    on_retry_callback_file: /dags/cb.py\n    on_retry_callback_name: notify\n  tasks:\n    a: {operator: empty}\n",
			"on_retry_callback_file names a Python function", 3},
		"execute callback, python": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_execute_callback: mymodule.started\n",
			"is a Python import path", 5},
		"execute callback, bash": {"d:\n  tasks:\n    a:\n      operator: empty\n      on_execute_callback: echo started\n",
			"on_execute_callback is not supported by gust yet", 5},
		"skipped callback": {"d:\n  default_args:\n    on_skipped_callback: echo skipped\n  tasks:\n    a: {operator: empty}\n",
			"on_skipped_callback is not supported by gust yet", 3},
	}
	for name, c := range python {
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
