package dagspec

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestTaskGroups reads dag-factory's task groups: its own example (a
// group nested in another by parent_group_name, list form), ids prefixed
// as Airflow prefixes them, group default_args over the DAG's, and
// dependencies naming groups bound to their roots and leaves.
func TestTaskGroups(t *testing.T) {
	t.Parallel()
	// dag-factory's dev/dags/airflow3/example_task_group.yml, unchanged.
	src := `default:
  default_args:
    owner: default_owner
    start_date: 2024-01-01
  schedule: 0 1 * * *

task_group:
  description: "this dag uses task groups"
  task_groups:
    - group_name: "task_group_1"
      tooltip: "this is a task group"
      dependencies: [task_1]
    - group_name: "task_group_2"
      tooltip: "this is a task group"
      parent_group_name: task_group_1
  tasks:
    - task_id: "task_1"
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo 1"
    - task_id: "task_2"
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo 2"
      task_group_name: task_group_1
    - task_id: "task_4"
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo 4"
      task_group_name: task_group_2
`
	dags, err := Parse("tg.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	ups := map[string]string{}
	groupOf := map[string]string{}
	for _, task := range d.Tasks {
		ups[task.TaskID] = strings.Join(task.Upstream, ",")
		groupOf[task.TaskID] = task.TaskGroup
	}
	// task_group_1's roots are task_2 and the nested group's task_4.
	want := map[string]string{"task_1": "", "task_group_1.task_2": "task_1", "task_group_1.task_group_2.task_4": "task_1"}
	if !reflect.DeepEqual(ups, want) {
		t.Errorf("upstreams = %v, want %v", ups, want)
	}
	if groupOf["task_group_1.task_group_2.task_4"] != "task_group_1.task_group_2" || groupOf["task_1"] != "" {
		t.Errorf("groups = %v", groupOf)
	}
	if len(d.TaskGroups) != 2 || *d.TaskGroups[0] != (TaskGroup{GroupID: "task_group_1", Tooltip: "this is a task group", PrefixGroupID: true}) ||
		*d.TaskGroups[1] != (TaskGroup{GroupID: "task_group_1.task_group_2", Parent: "task_group_1", Tooltip: "this is a task group", PrefixGroupID: true}) {
		t.Errorf("task groups = %+v %+v", d.TaskGroups[0], d.TaskGroups[1])
	}
	if l := d.Label("task_group_1.task_group_2.task_4", "task_group_1.task_group_2"); l != "task_4" {
		t.Errorf("label = %q", l)
	}

	// Mapping form; a group without prefix; default_args of a group and its
	// parent over the DAG's; a task and a group depending on groups.
	src = `d:
  default_args: {retries: 1, pool: p0}
  task_groups:
    extract:
      default_args: {retries: 3}
    inner:
      parent_group_name: extract
      prefix_group_id: false
      default_args: {pool: p1}
    load:
      dependencies: [extract]
  tasks:
    start: {operator: empty}
    a: {operator: empty, task_group_name: extract, dependencies: [start]}
    b: {operator: empty, task_group_name: extract, dependencies: [a]}
    c: {operator: empty, task_group_name: inner}
    l1: {operator: empty, task_group_name: load}
    l2: {operator: empty, task_group_name: load, dependencies: [l1]}
    end: {operator: empty, dependencies: [load]}
`
	dags, err = Parse("tg2.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d = dags[0]
	got := map[string]string{}
	for _, task := range d.Tasks {
		got[task.TaskID] = strings.Join(task.Upstream, ",") + " retries=" + strconv.Itoa(task.Retries) + " pool=" + task.Pool + " group=" + task.TaskGroup
	}
	want = map[string]string{
		"start":     " retries=1 pool=p0 group=",
		"extract.a": "start retries=3 pool=p0 group=extract",
		"extract.b": "extract.a retries=3 pool=p0 group=extract",
		"c":         " retries=3 pool=p1 group=extract.inner", // inner is prefixed, but prefixes not its tasks' ids
		"load.l1":   "c,extract.b retries=1 pool=p0 group=load",
		"load.l2":   "load.l1 retries=1 pool=p0 group=load",
		"end":       "load.l2 retries=1 pool=p0 group=",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tasks:\n got %v\nwant %v", got, want)
	}
	if g := d.Group("extract.inner"); g == nil || g.Parent != "extract" || g.PrefixGroupID {
		t.Errorf("inner = %+v", g)
	}
	if !d.InGroup(d.Task("c"), "extract") || d.InGroup(d.Task("end"), "extract") {
		t.Error("InGroup: c is inside extract (through inner), end is not")
	}

	// Mistakes are import errors with the line.
	for name, c := range map[string]struct{ src, want string }{
		"unknown group": {"d:\n  tasks:\n    a: {operator: empty, task_group_name: nope}\n", `tg.yaml:3: DAG d: task a: unknown task group "nope"`},
		"parent cycle": {"d:\n  task_groups:\n    x: {parent_group_name: y}\n    y: {parent_group_name: x}\n  tasks:\n    a: {operator: empty}\n",
			"groups are each other's parents"},
		"unknown parent": {"d:\n  task_groups:\n    x: {parent_group_name: y}\n  tasks:\n    a: {operator: empty}\n", `unknown parent group "y"`},
		"unknown arg":    {"d:\n  task_groups:\n    x: {colour: red}\n  tasks:\n    a: {operator: empty}\n", `unknown task group argument "colour"`},
		"own group":      {"d:\n  task_groups:\n    g: {}\n  tasks:\n    a: {operator: empty, task_group_name: g, dependencies: [g]}\n", "task g.a depends on its own group g"},
		"task and group": {"d:\n  task_groups:\n    a: {}\n  tasks:\n    a: {operator: empty}\n", `"a" is both a task and a task group`},
		"same id":        {"d:\n  task_groups:\n    g: {}\n  tasks:\n    g.a: {operator: empty}\n    a: {operator: empty, task_group_name: g}\n", `duplicate task id "g.a"`},
		"sensor on both": {"d:\n  tasks:\n    w: {operator: external_task_sensor, external_dag_id: o, external_task_id: t, external_task_group_id: g}\n",
			"give external_task_id or external_task_group_id, not both"},
		"setup and teardown": {"d:\n  tasks:\n    w: {operator: empty, is_setup: true, is_teardown: true}\n", "a setup or a teardown, not both"},
		"fail dagrun":        {"d:\n  tasks:\n    w: {operator: empty, on_failure_fail_dagrun: true}\n", "on_failure_fail_dagrun is for teardown tasks"},
		"bad deps":           {"d:\n  task_groups:\n    g: {dependencies: [zz]}\n  tasks:\n    a: {operator: empty, task_group_name: g}\n", `task group g depends on unknown task or group "zz"`},
	} {
		_, err := Parse("tg.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestSetupTeardownYAML: a YAML task is a setup or teardown by is_setup /
// is_teardown; a teardown's trigger rule is all_done_setup_success unless
// it names one; a task inside a setup's scope, not directly downstream of
// it, lists it in Setups.
func TestSetupTeardownYAML(t *testing.T) {
	t.Parallel()
	dags, err := Parse("st.yaml", []byte(`d:
  tasks:
    create: {operator: bash, bash_command: "true", is_setup: true}
    a: {operator: bash, bash_command: "true", dependencies: [create]}
    b: {operator: bash, bash_command: "true", dependencies: [a]}
    delete: {operator: bash, bash_command: "true", is_teardown: true, on_failure_fail_dagrun: true, dependencies: [create, b]}
    other: {operator: bash, bash_command: "true", is_teardown: true, trigger_rule: all_done, dependencies: [b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := dags[0]
	if td := d.Task("delete"); !td.IsTeardown || !td.OnFailureFailDagrun || td.TriggerRule != TriggerAllDoneSetupSuccess {
		t.Errorf("delete = %+v", td)
	}
	if o := d.Task("other"); o.TriggerRule != TriggerAllDone {
		t.Errorf("a teardown naming its rule keeps it: %s", o.TriggerRule)
	}
	if s := d.Task("b").Setups; len(s) != 1 || s[0] != "create" {
		t.Errorf("b's setups = %v, want [create]", s)
	}
	if s := d.Task("a").Setups; len(s) != 0 {
		t.Errorf("a's setups = %v: create is its direct upstream", s)
	}
	if got := d.Teardowns("create"); len(got) != 1 || got[0] != "delete" {
		t.Errorf("create's teardowns = %v", got)
	}
}
