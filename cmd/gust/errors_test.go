package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// paramsDAG has params written as JSON schemas, nested ones included.
const paramsDAG = `
p:
  schedule: null
  params:
    n: {default: 2, type: integer, minimum: 1}
    color: {default: red, enum: [red, green]}
    cfg:
      default: {limits: {max: 1}, hosts: [a]}
      type: object
      properties:
        limits: {type: object, properties: {max: {type: integer}}, required: [max]}
        hosts: {type: array, items: {type: string}}
  tasks:
    a: {operator: empty}
`

func TestConfMustBeAJSONObject(t *testing.T) {
	in := setup(t, false)
	in.writeDAG("p.yaml", paramsDAG)
	for _, tc := range []struct{ conf, want string }{
		{`[1,2]`, "gust: --conf must be a JSON object, got an array"},
		{`"x"`, "gust: --conf must be a JSON object, got a string"},
		{`3`, "gust: --conf must be a JSON object, got a number"},
		{`null`, "gust: --conf must be a JSON object, got null"},
		{`{nope`, "gust: --conf is not valid JSON: invalid character 'n' looking for beginning of object key string (at character 2)"},
		{`{"a": 1`, "gust: --conf is not valid JSON: unexpected end of JSON input"},
	} {
		for _, cmd := range [][]string{{"dags", "trigger", "p"}, {"dags", "test", "p"}} {
			if got := in.fails(append(cmd, "--conf", tc.conf)...); got != tc.want {
				t.Errorf("%v --conf %s:\n got %s\nwant %s", cmd, tc.conf, got, tc.want)
			}
		}
	}
}

func TestBadParamSaysWhichAndWhat(t *testing.T) {
	in := setup(t, false)
	in.writeDAG("p.yaml", paramsDAG)
	for _, tc := range []struct{ conf, want string }{
		{`{"n": "a"}`, `param n: must be an integer, got "a"`},
		{`{"n": 0}`, `param n: must be at least 1, got 0`},
		{`{"n": 1.5}`, `param n: must be an integer, got 1.5`},
		{`{"color": "blue"}`, `param color: must be one of "red", "green", got "blue"`},
		{`{"cfg": {"limits": {"max": "x"}}}`, `param cfg.limits.max: must be an integer, got "x"`},
		{`{"cfg": {"limits": {}}}`, `param cfg.limits: must have the key "max"`},
		{`{"cfg": {"limits": {"max": 1}, "hosts": ["a", 7]}}`, `param cfg.hosts[1]: must be a string, got 7`},
		{`{"cfg": [1]}`, `param cfg: must be an object, got an array`},
		{`{"n": null, "color": "blue"}`, `param color: must be one of "red", "green", got "blue"; param n: must be an integer, got null`},
	} {
		if got := in.fails("dags", "test", "p", "--conf", tc.conf); got != "gust: test of p: "+tc.want {
			t.Errorf("--conf %s:\n got %s\nwant gust: test of p: %s", tc.conf, got, tc.want)
		}
	}
}

func TestTriggerNamesTheBadParam(t *testing.T) {
	in := setup(t, true)
	in.writeDAG("p.yaml", paramsDAG)
	in.mustRun("dags", "reserialize")
	want := `gust: trigger of p: param cfg.limits.max: must be an integer, got "x"`
	if got := in.fails("dags", "trigger", "p", "--conf", `{"cfg": {"limits": {"max": "x"}}}`); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBackfillErrorsNameTheBackfill(t *testing.T) {
	in := setup(t, true)
	in.writeDAG("b.yaml", `
example_bash:
  schedule: "@daily"
  default_args: {start_date: 2024-01-01}
  tasks:
    a: {operator: empty}
once:
  schedule: "@once"
  default_args: {start_date: 2024-01-01}
  tasks:
    a: {operator: empty}
`)
	in.mustRun("dags", "reserialize")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dags", "backfill", "example_bash", "-s", "2024-02-01", "-e", "2024-01-01"},
			"gust: backfill of example_bash: start 2024-02-01 is after end 2024-01-01"},
		{[]string{"dags", "backfill", "example_bash", "-s", "2024-01-01T06:30:00", "-e", "2024-01-01"},
			"gust: backfill of example_bash: start 2024-01-01T06:30:00+00:00 is after end 2024-01-01"},
		{[]string{"dags", "backfill", "once", "-s", "2024-01-01", "-e", "2024-01-02"},
			"gust: backfill of once: the DAG has no periodic schedule (none, @once or @continuous): there are no intervals to backfill"},
	} {
		if got := in.fails(tc.args...); got != tc.want {
			t.Errorf("gust %v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	if out := in.mustRun("dags", "backfill", "example_bash", "-s", "2024-01-01", "-e", "2024-01-02"); !strings.Contains(out, "2 runs created") {
		t.Errorf("a good backfill: %s", out)
	}
}

func TestDagsTestNamesWhatItSearched(t *testing.T) {
	in := setup(t, false)
	file := in.writeDAG("p.yaml", paramsDAG)
	other := t.TempDir()
	bad, notes := filepath.Join(other, "bad.yml"), filepath.Join(in.home, "notes.txt")
	for p, src := range map[string]string{bad: "b:\n  tasks:\n    a: {operator: nope}\n", notes: "p:\n"} {
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string // the whole line, or its start when it ends with "..."
	}{
		{[]string{"dags", "test", "X", "-S", file}, `gust: DAG "X" not found in ` + file},
		{[]string{"dags", "test", "X", "--subdir", in.dags}, `gust: DAG "X" not found in ` + in.dags + ` (1 DAG file)`},
		{[]string{"dags", "test", "X"}, `gust: DAG "X" not found in the DAG folder ` + in.dags + ` (1 DAG file)`},
		{[]string{"dags", "test", "X", "-S", "some/file.yml"}, `gust: DAG "X" not found: some/file.yml does not exist`},
		{[]string{"dags", "test", "X", "-S", notes}, `gust: DAG "X": ` + notes + ` is not a DAG file (.yaml, .yml or .py), which is what dags test reads`},
		{[]string{"dags", "test", "X", "-S", bad}, `gust: DAG "X" not found: ` + bad + `:3: DAG b: task a: unknown operator "nope"...`},
		{[]string{"dags", "test", "X", "-S", other}, `gust: DAG "X" not found in ` + other + ` (1 DAG file); files with import errors: ` + bad + `:3: DAG b: task a: unknown operator "nope"...`},
	} {
		got := in.fails(tc.args...)
		if prefix, ok := strings.CutSuffix(tc.want, "..."); ok && !strings.HasPrefix(got, prefix) || !ok && got != tc.want {
			t.Errorf("gust %v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
}
