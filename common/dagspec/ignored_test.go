package dagspec

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsupportedArguments: an argument that would change what a task does
// is an import error that names it, with its line.
func TestUnsupportedArguments(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		src, want string
		line      int
	}{
		"user_defined_macros":      {"d:\n  user_defined_macros: {env: prod}\n  tasks:\n    a: {operator: bash, bash_command: 'echo {{ env }}'}\n", "user_defined_macros is not supported", 2},
		"user_defined_filters":     {"d:\n  user_defined_filters: {up: str.upper}\n  tasks:\n    a: {operator: empty}\n", "user_defined_filters is not supported", 2},
		"jinja_environment_kwargs": {"d:\n  jinja_environment_kwargs: {keep_trailing_newline: true}\n  tasks:\n    a: {operator: empty}\n", "jinja_environment_kwargs is not supported", 2},
		"template_searchpath":      {"d:\n  template_searchpath: /sql\n  tasks:\n    a: {operator: empty}\n", "template_searchpath is not supported", 2},
		"native rendering on":      {"d:\n  render_template_as_native_obj: true\n  tasks:\n    a: {operator: empty}\n", "render_template_as_native_obj is not supported", 2},
		"fail_stop on":             {"d:\n  fail_stop: true\n  tasks:\n    a: {operator: empty}\n", "fail_stop is not supported", 2},
		"fail_fast on":             {"default:\n  fail_fast: true\nd:\n  tasks:\n    a: {operator: empty}\n", "fail_fast is not supported", 2},
		"max failed runs":          {"d:\n  max_consecutive_failed_dag_runs: 3\n  tasks:\n    a: {operator: empty}\n", "max_consecutive_failed_dag_runs is not supported", 2},
		"run_as_user":              {"d:\n  tasks:\n    a:\n      operator: bash\n      bash_command: id\n      run_as_user: nobody\n", "run_as_user is not supported", 6},
		"run_as_user in args":      {"d:\n  default_args:\n    run_as_user: nobody\n  tasks:\n    a: {operator: empty}\n", "run_as_user is not supported", 3},
		"task start_date":          {"d:\n  tasks:\n    a:\n      operator: empty\n      start_date: 2024-06-01\n", "a task's own start_date is not supported", 5},
		"task end_date":            {"d:\n  tasks:\n    a:\n      operator: empty\n      end_date: 2024-06-01\n", "a task's own end_date is not supported", 5},
		"output_encoding":          {"d:\n  tasks:\n    a:\n      operator: bash\n      bash_command: echo\n      output_encoding: latin-1\n", `output_encoding "latin-1" is not supported`, 6},
	}
	for name, c := range cases {
		_, err := Parse("u.yaml", []byte(c.src))
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

// TestIgnoredArguments: arguments with no effect on what a task does are
// accepted; those a user may expect an effect from give a DAG warning that
// names them, cosmetic ones nothing. DAG arguments in default_args have no
// effect in Airflow: they are warnings, not import errors.
func TestIgnoredArguments(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		src  string
		want []string // in the one warning; none when empty
	}{
		"cosmetic": {"d:\n  doc_md: hi\n  dag_display_name: D\n  render_template_as_native_obj: false\n  fail_stop: false\n" +
			"  tasks:\n    a: {operator: bash, bash_command: echo, doc_md: x, task_display_name: A, output_encoding: utf-8, email: [], executor_config: {}}\n", nil},
		"DAG arguments in default_args": {"default:\n  default_args:\n    schedule_interval: '@daily'\n    catchup: false\nd:\n" +
			"  default_args:\n    start_date: 2024-01-01\n    max_active_runs: 1\n    dagrun_timeout: 3600\n    tags: [x]\n    description: d\n    user_defined_macros: {a: b}\n" +
			"  tasks:\n    a: {operator: empty}\n    b: {operator: empty}\n",
			[]string{"ignored default_args.", "schedule_interval", "catchup", "max_active_runs", "dagrun_timeout", "tags", "description", "user_defined_macros", "set them on the DAG"}},
		"email": {"d:\n  default_args: {email: [ops@example.com], email_on_failure: true}\n  tasks:\n    a: {operator: empty}\n",
			[]string{"ignored default_args.email (gust sends no email)"}},
		"sla and lineage": {"d:\n  sla_miss_callback: echo late\n  tasks:\n    a: {operator: empty, sla: 60}\n",
			[]string{"ignored sla_miss_callback, tasks.a.sla (SLAs were removed in Airflow 3)"}},
	}
	for name, c := range cases {
		dags, err := Parse("i.yaml", []byte(c.src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		ws := dags[0].Warnings
		if len(c.want) == 0 {
			if len(ws) != 0 {
				t.Errorf("%s: warnings %v, want none", name, ws)
			}
			continue
		}
		if len(ws) != 1 || ws[0].Type != WarningIgnoredArgument {
			t.Errorf("%s: warnings %v, want one %q", name, ws, WarningIgnoredArgument)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(ws[0].Message, w) {
				t.Errorf("%s: warning %q does not contain %q", name, ws[0].Message, w)
			}
		}
	}

	// default_args' params merge into the DAG's, over them, as in Airflow.
	dags, err := Parse("p.yaml", []byte("d:\n  params: {a: 1, b: 2}\n  default_args:\n    params: {b: 3, c: 4}\n  tasks:\n    t: {operator: empty}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := dags[0].Params; p["a"] != 1 || p["b"] != 3 || p["c"] != 4 {
		t.Errorf("params = %v, want a 1, b 3, c 4", p)
	}
}
