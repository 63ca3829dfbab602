package dagspec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const good = `
default:
  default_args:
    owner: team
    start_date: 2024-01-01
    retries: 2
    retry_delay_sec: 10
  schedule: "@daily"
  catchup: false

etl:
  default_args:
    retries: 3
  tags: [a, b]
  max_active_runs: 2
  tasks:
    extract:
      operator: airflow.operators.bash.BashOperator
      bash_command: echo hi
      env: {X: 1, Y: "two"}
    transform:
      operator: bash
      bash_command: echo t
      dependencies: [extract]
      retries: 0
      priority_weight: 5
    load:
      operator: airflow.operators.empty.EmptyOperator
      dependencies: [transform, extract]
      trigger_rule: all_done
      pool: p1
      pool_slots: 2
      queue: q2

manual_only:
  schedule: null
  tasks:
    - task_id: only
      operator: airflow.operators.dummy.DummyOperator
`

func TestParseDagFactoryFile(t *testing.T) {
	dags, err := Parse("f.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(dags) != 2 {
		t.Fatalf("got %d dags", len(dags))
	}
	etl := dags[0]
	if etl.DagID != "etl" || etl.Schedule != "@daily" || etl.Catchup == nil || *etl.Catchup || etl.MaxActiveRuns != 2 {
		t.Errorf("etl = %+v", etl)
	}
	if want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); etl.StartDate == nil || !etl.StartDate.Equal(want) {
		t.Errorf("start_date = %v", etl.StartDate)
	}
	var ids []string
	for _, tk := range etl.Tasks {
		ids = append(ids, tk.TaskID)
	}
	if strings.Join(ids, ",") != "extract,transform,load" {
		t.Errorf("order = %v", ids)
	}
	ex, tr, ld := etl.Task("extract"), etl.Task("transform"), etl.Task("load")
	if ex.Retries != 3 || tr.Retries != 0 || ex.RetryDelaySec != 10 || ex.Owner != "team" {
		t.Errorf("default_args merge: extract %+v transform %+v", ex, tr)
	}
	if ex.Env["X"] != "1" || ex.Env["Y"] != "two" {
		t.Errorf("env = %v", ex.Env)
	}
	if len(ex.SkipOnExitCode) != 1 || ex.SkipOnExitCode[0] != 99 {
		t.Errorf("skip_on_exit_code default = %v", ex.SkipOnExitCode)
	}
	if ld.Operator != OperatorEmpty || ld.TriggerRule != TriggerAllDone || ld.Pool != "p1" || ld.PoolSlots != 2 || ld.Queue != "q2" {
		t.Errorf("load = %+v", ld)
	}
	if strings.Join(ld.Upstream, ",") != "extract,transform" {
		t.Errorf("load upstream = %v", ld.Upstream)
	}
	// downstream weights: load 1; transform 5+1; extract 1+5+1.
	if ex.EffectivePriority != 7 || tr.EffectivePriority != 6 || ld.EffectivePriority != 1 {
		t.Errorf("priorities = %d %d %d", ex.EffectivePriority, tr.EffectivePriority, ld.EffectivePriority)
	}
	if ex.Pool != DefaultPool || ex.RetryDelaySec != 10 {
		t.Errorf("defaults: %+v", ex)
	}
	mo := dags[1]
	if mo.Schedule != "" || len(mo.Tasks) != 1 || mo.Tasks[0].Operator != OperatorEmpty {
		t.Errorf("manual_only = %+v", mo)
	}

	// Serialisation is deterministic and round-trips.
	d1, h1, err := Serialize(etl)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Parse("f.yaml", []byte(good))
	_, h2, _ := Serialize(again[0])
	if h1 != h2 {
		t.Error("hash differs between two parses of the same file")
	}
	back, err := Deserialize(d1)
	if err != nil {
		t.Fatal(err)
	}
	if _, h3, _ := Serialize(back); h3 != h1 {
		t.Error("round trip changes the hash")
	}
}

func TestScheduleForms(t *testing.T) {
	for in, want := range map[string]string{
		`"0 3 * * *"`: "0 3 * * *",
		`"@hourly"`:   "@hourly",
		`30m`:         "@every 30m0s",
		`3600`:        "@every 1h0m0s",
		`"None"`:      "",
		`{days: 1}`:   "@every 24h0m0s",
	} {
		src := "d:\n  start_date: 2024-01-01\n  schedule: " + in + "\n  tasks:\n    a: {operator: empty}\n"
		dags, err := Parse("s.yaml", []byte(src))
		if err != nil {
			t.Errorf("schedule %s: %v", in, err)
			continue
		}
		if dags[0].Schedule != want {
			t.Errorf("schedule %s = %q, want %q", in, dags[0].Schedule, want)
		}
	}
	dags, err := Parse("s.yaml", []byte("d:\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n"))
	if err != nil || dags[0].Schedule != DefaultSchedule {
		t.Errorf("missing schedule: %v %v", err, dags)
	}
}

func TestImportErrors(t *testing.T) {
	cases := map[string]struct {
		src, want string
		line      int
	}{
		"bad yaml":           {"d:\n  tasks: [\n", "invalid YAML", 0},
		"cycle":              {"d:\n  schedule: null\n  tasks:\n    a: {operator: empty, dependencies: [b]}\n    b: {operator: empty, dependencies: [a]}\n", "cycle among tasks a, b", 0},
		"unknown dependency": {"d:\n  schedule: null\n  tasks:\n    a: {operator: empty, dependencies: [zz]}\n", `unknown task "zz"`, 4},
		"unknown operator":   {"d:\n  schedule: null\n  tasks:\n    a:\n      operator: spark\n", `unknown operator "spark"`, 5},
		"unknown argument":   {"d:\n  schedule: null\n  tasks:\n    a:\n      operator: bash\n      bash_command: x\n      retriez: 1\n", `unknown argument "retriez"`, 7},
		"bad cron":           {"d:\n  start_date: 2024-01-01\n  schedule: '61 * * * *'\n  tasks:\n    a: {operator: empty}\n", "schedule", 3},
		"bad trigger rule":   {"d:\n  schedule: null\n  tasks:\n    a: {operator: empty, trigger_rule: most_success}\n", `unknown trigger rule "most_success"`, 4},
		"duplicate task":     {"d:\n  schedule: null\n  tasks:\n    a: {operator: empty}\n    a: {operator: empty}\n", `duplicate key "a"`, 5},
		"no bash command":    {"d:\n  schedule: null\n  tasks:\n    a: {operator: bash}\n", "bash_command", 0},
		"bad retries":        {"d:\n  schedule: null\n  tasks:\n    a: {operator: empty, retries: many}\n", "retries: want an integer", 4},
		"no start date":      {"d:\n  schedule: '@daily'\n  tasks:\n    a: {operator: empty}\n", "start_date", 0},
		"bad dag id":         {"'d d':\n  schedule: null\n  tasks:\n    a: {operator: empty}\n", "DAG id", 1},
		"unknown dag arg":    {"d:\n  schedule: null\n  shedule: x\n  tasks:\n    a: {operator: empty}\n", `unknown DAG argument "shedule"`, 3},
		"not a mapping":      {"- a\n- b\n", "must be a mapping", 0},
	}
	for name, c := range cases {
		_, err := Parse("bad.yaml", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a ParseError", name, err)
			continue
		}
		if !strings.Contains(pe.Msg, c.want) {
			t.Errorf("%s: message %q does not contain %q", name, pe.Msg, c.want)
		}
		if c.line != 0 && pe.Line != c.line {
			t.Errorf("%s: line %d, want %d (%s)", name, pe.Line, c.line, pe.Msg)
		}
	}
}

func TestTimezoneAndUpstreamWeights(t *testing.T) {
	src := `
d:
  timezone: Europe/Amsterdam
  start_date: "2024-06-01 00:00"
  schedule: null
  tasks:
    a: {operator: empty, weight_rule: upstream, priority_weight: 2}
    b: {operator: empty, weight_rule: upstream, dependencies: [a]}
    c: {operator: empty, weight_rule: absolute, priority_weight: 9, dependencies: [b]}
`
	dags, err := Parse("tz.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	if want := time.Date(2024, 5, 31, 22, 0, 0, 0, time.UTC); !d.StartDate.Equal(want) {
		t.Errorf("naive start_date in the DAG timezone = %v, want %v", d.StartDate, want)
	}
	if d.Task("a").EffectivePriority != 2 || d.Task("b").EffectivePriority != 3 || d.Task("c").EffectivePriority != 9 {
		t.Errorf("weights %d %d %d", d.Task("a").EffectivePriority, d.Task("b").EffectivePriority, d.Task("c").EffectivePriority)
	}
}

func TestParamSchemas(t *testing.T) {
	src := `
d:
  schedule: null
  params:
    n: {default: 2, type: integer, minimum: 1}
    color: {default: red, enum: [red, green]}
    free: anything
    nested: {a: 1}
  tasks:
    a: {operator: empty}
`
	dags, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	params := dags[0].Params
	if ParamDefault(params["n"]) != 2 || ParamDefault(params["free"]) != "anything" || ParamSchema(params["nested"]) != nil {
		t.Errorf("defaults: %v", params)
	}
	if err := ValidateParams(params, nil); err != nil {
		t.Errorf("defaults rejected: %v", err)
	}
	if err := ValidateParams(params, map[string]any{"n": 5.0, "color": "green", "free": 1.0}); err != nil {
		t.Errorf("good conf rejected: %v", err)
	}
	err = ValidateParams(params, map[string]any{"n": "five", "color": "blue"})
	if err == nil || !strings.Contains(err.Error(), "param n") || !strings.Contains(err.Error(), "param color") {
		t.Errorf("bad conf: %v", err)
	}
	if _, err := Parse("p.yaml", []byte("d:\n  schedule: null\n  params:\n    n: {default: 1, type: integr}\n  tasks:\n    a: {operator: empty}\n")); err == nil || !strings.Contains(err.Error(), "invalid schema") {
		t.Errorf("bad schema: %v", err)
	}
}

// TestPythonParamsAndTaskParams checks a Python file's Param (a schema
// whatever UI keys it carries, section and description_md among them) and
// an operator's own params, over the DAG's for that task.
func TestPythonParamsAndTaskParams(t *testing.T) {
	src := `{"d": {"schedule": null,
  "params": {"label": {"__gust_param__": true, "default": "nightly", "type": "string", "section": "Run", "description_md": "**x**"},
             "n": {"__gust_param__": true, "default": 3, "type": ["integer", "string"], "title": "N"}},
  "tasks": {"a": {"operator": "empty", "params": {"n": 7, "extra": {"__gust_param__": true, "default": "e", "type": "string"}}},
            "b": {"operator": "empty"}}}}`
	dags, err := Parse("p.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	if ParamDefault(d.Params["label"]) != "nightly" || ParamSchema(d.Params["label"]) == nil {
		t.Errorf("a Param with UI keys is not a schema: %v", d.Params["label"])
	}
	if err := ValidateParams(d.Params, map[string]any{"n": "all"}); err != nil {
		t.Errorf("a multi-type param refused a string: %v", err)
	}
	if err := ValidateParams(d.Params, map[string]any{"label": 5.0}); err == nil || !strings.Contains(err.Error(), "param label") {
		t.Errorf("a bad value for a Param with UI keys: %v", err)
	}
	a, b := d.Task("a").Params, d.Task("b").Params
	if a["n"] != 7.0 && a["n"] != 7 || ParamDefault(a["extra"]) != "e" || b != nil {
		t.Errorf("task params: a %v, b %v", a, b)
	}
	if _, err := Parse("p.py", []byte(`{"d": {"schedule": null, "tasks": {"a": {"operator": "empty", "params": {"x": {"__gust_param__": true, "type": "integr"}}}}}}`)); err == nil ||
		!strings.Contains(err.Error(), "invalid schema") {
		t.Errorf("a task param's bad schema: %v", err)
	}
}

// TestAirflow3Defaults checks the defaults of a DAG that names neither a
// schedule nor an owner: Airflow 3's schedule None (manual runs only, so no
// start_date is needed) and Airflow's owner "airflow".
func TestAirflow3Defaults(t *testing.T) {
	dags, err := Parse("d.yaml", []byte("d:\n  tasks:\n    a: {operator: empty}\n    b: {operator: empty, owner: bob}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	if d.Schedule != "" || d.StartDate != nil {
		t.Errorf("schedule %q start_date %v, want no schedule (Airflow 3's None)", d.Schedule, d.StartDate)
	}
	if d.Owner != "airflow" || d.Task("a").Owner != "airflow" || d.Task("b").Owner != "bob" {
		t.Errorf("owners: dag %q, a %q, b %q", d.Owner, d.Task("a").Owner, d.Task("b").Owner)
	}
	if got := d.Owners(); got != "airflow, bob" {
		t.Errorf("Owners() = %q, want \"airflow, bob\"", got)
	}
	dags, err = Parse("d.yaml", []byte("d:\n  default_args: {owner: team}\n  tasks:\n    a: {operator: empty}\n"))
	if err != nil || dags[0].Owners() != "team" {
		t.Errorf("default_args owner: %v %v", err, dags)
	}
}
