package dagspec

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestExpandYAML reads dag-factory's partial: and expand: forms: the ways
// to name an upstream's output (each becomes an upstream), a mapping
// source in the file's order, and the errors a mapped task can have.
func TestExpandYAML(t *testing.T) {
	t.Parallel()
	src := `d:
  schedule: null
  tasks:
    produce: {operator: bash, bash_command: "echo [1]"}
    other: {operator: bash, bash_command: "echo [2]"}
    third: {operator: bash, bash_command: "echo [3]"}
    plus:
      operator: bash
      expand: {bash_command: +produce}
    output:
      operator: airflow.providers.standard.operators.python.PythonOperator
      python_callable: mod.f
      partial: {op_kwargs: {fixed: 1}}
      expand: {op_args: other.output}
    xcomarg:
      operator: bash
      bash_command: env
      max_active_tis_per_dagrun: 2
      expand: {env: XcomArg(third)}
    ordered:
      operator: bash
      expand: {bash_command: ["echo a"], env: {z: 1, a: 2}}
`
	dags, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	for id, up := range map[string]string{"plus": "produce", "output": "other", "xcomarg": "third", "ordered": ""} {
		task := d.Task(id)
		if task.Expand == nil {
			t.Fatalf("%s: not mapped", id)
		}
		if got := strings.Join(task.Upstream, ","); got != up {
			t.Errorf("%s: upstream %q, want %q", id, got, up)
		}
	}
	if kw := d.Task("output").Python.OpKwargs; kw["fixed"] != 1 {
		t.Errorf("partial op_kwargs: %v", kw)
	}
	if n := d.Task("xcomarg").MaxActiveTIsPerDagrun; n != 2 {
		t.Errorf("max_active_tis_per_dagrun: %d", n)
	}
	b, _ := json.Marshal(d.Task("ordered").Expand.Args)
	if want := `[{"name":"bash_command","source":["echo a"]},{"name":"env","source":{"__gust_dict__":[["z",1],["a",2]]}}]`; string(b) != want {
		t.Errorf("ordered: %s, want %s", b, want)
	}

	bad := map[string]string{
		"both":     "    a:\n      operator: bash\n      bash_command: x\n      expand: {bash_command: [a]}\n",
		"partial":  "    a:\n      operator: bash\n      bash_command: x\n      partial: {bash_command: y}\n",
		"unknown":  "    a:\n      operator: bash\n      expand: {bash_command: +nope}\n",
		"scalar":   "    a:\n      operator: bash\n      expand: {bash_command: echo}\n",
		"self":     "    a:\n      operator: bash\n      expand: {bash_command: +a}\n",
		"http":     "    a:\n      operator: http\n      http_conn_id: c\n      expand: {endpoint: [x]}\n",
		"field":    "    a:\n      operator: bash\n      expand: {retries: [1]}\n",
		"both_two": "    a:\n      operator: bash\n      expand: {bash_command: [a]}\n      expand_kwargs: [{}]\n",
		"default":  "",
		"deco_op":  "    a: {operator: bash, decorator: airflow.sdk.task, python_callable: m.f}\n",
		"deco_bad": "    a: {decorator: airflow.sdk.task.virtualenv, python_callable: m.f}\n",
		"deco_ref": "    a: {decorator: airflow.sdk.task, python_callable: m.f, x: +nope}\n",
	}
	want := map[string]string{
		"both": `argument "bash_command" is both partial and mapped`, "partial": "bash_command is given both in partial and on the task",
		"unknown": "the output of unknown task nope", "scalar": `cannot map over "echo"`,
		"self": "a (the task itself)", "http": "operator http cannot be mapped yet", "field": `cannot map "retries"`,
		"both_two": "give expand or expand_kwargs, not both", "default": "expand cannot be a default argument",
		"deco_op": "give operator or decorator, not both", "deco_bad": `decorator "airflow.sdk.task.virtualenv" is not one gust has`,
		"deco_ref": "takes) the output of unknown task nope",
	}
	for name, tasks := range bad {
		doc := "d:\n  schedule: null\n  tasks:\n" + tasks
		if name == "default" {
			doc = "d:\n  schedule: null\n  default_args: {expand: {bash_command: [a]}}\n  tasks:\n    a: {operator: bash, bash_command: x}\n"
		}
		_, err := Parse("bad.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: %v, want an error containing %q", name, err, want[name])
		}
	}
}

// TestExpandVars is dag-factory's os.path.expandvars of a YAML file's text:
// set variables replaced, unset ones kept, CONFIG_ROOT_DIR defaulting to the
// DAG folder.
func TestExpandVars(t *testing.T) {
	t.Setenv("GUST_TEST_SET", "yes")
	os.Unsetenv("CONFIG_ROOT_DIR")
	got := string(ExpandVars([]byte("a: $GUST_TEST_SET ${GUST_TEST_SET} $GUST_TEST_UNSET ${GUST_TEST_UNSET} $CONFIG_ROOT_DIR/x $ 5"), "/dags"))
	if want := "a: yes yes $GUST_TEST_UNSET ${GUST_TEST_UNSET} /dags/x $ 5"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	t.Setenv("CONFIG_ROOT_DIR", "/elsewhere")
	if got := string(ExpandVars([]byte("$CONFIG_ROOT_DIR"), "/dags")); got != "/elsewhere" {
		t.Errorf("CONFIG_ROOT_DIR set: %q", got)
	}
}
