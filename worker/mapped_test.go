package worker

import (
	"context"
	"strings"
	"testing"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

// TestMappedTask: an instance's arguments land where the operator takes
// them, literals in templated fields, a TaskFlow function's from an XCom
// kept out of rendering; the shared task is not changed.
func TestMappedTask(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	store.Push("d", "r", "up", -1, "return_value", []any{"x", "y"})
	ref := map[string]any{dagspec.XComArgKey: map[string]any{"task_id": "up", "key": "return_value"}}
	ti := func(task string, i int) *metadb.TaskInstance {
		return &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: "d", RunID: "r", TaskID: task, MapIndex: i}}
	}
	bash := &dagspec.Task{TaskID: "b", Operator: dagspec.OperatorBash, Expand: &dagspec.Expand{Args: []dagspec.ExpandArg{
		{Name: "bash_command", Source: []any{"echo {{ ti.map_index }}", "echo two"}}, {Name: "env", Source: []any{map[string]any{"N": 1.0}}}}}}
	got, err := mappedTask(ctx, nil, store, nil, bash, nil, nil, ti("b", 1))
	if err != nil || got.BashCommand != "echo two" || got.Env["N"] != "1" || bash.BashCommand != "" {
		t.Errorf("bash[1]: %+v %v", got, err)
	}
	py := &dagspec.Task{TaskID: "p", Operator: dagspec.OperatorPython, Python: &dagspec.Python{OpKwargs: map[string]any{"fixed": 1.0}},
		Expand: &dagspec.Expand{Into: "op_kwargs", Args: []dagspec.ExpandArg{{Name: "x", Source: ref}, {Name: "n", Source: []any{"{{ ds }}"}}}}}
	got, err = mappedTask(ctx, nil, store, nil, py, nil, nil, ti("p", 1))
	if err != nil || got.Python.UnrenderedKwargs["x"] != "y" || got.Python.OpKwargs["n"] != "{{ ds }}" || got.Python.OpKwargs["fixed"] != 1.0 {
		t.Errorf("python[1]: %+v %v", got.Python, err)
	}
	if len(py.Python.OpKwargs) != 1 {
		t.Errorf("the shared task changed: %v", py.Python.OpKwargs)
	}
	class := &dagspec.Task{TaskID: "c", Operator: dagspec.OperatorPythonClass, Python: &dagspec.Python{TemplateFields: map[string]any{"value": nil}},
		Expand: &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "value", Source: []any{10.0, 20.0}}, {Name: "other", Source: []any{"o"}}}}}
	got, err = mappedTask(ctx, nil, store, nil, class, nil, nil, ti("c", 1))
	if err != nil || got.Python.MappedKwargs["value"] != 20.0 || got.Python.TemplateFields["value"] != 20.0 || got.Python.MappedKwargs["other"] != "o" {
		t.Errorf("class[1]: %+v %v", got.Python, err)
	}
	if _, err := mappedTask(ctx, nil, store, nil, bash, nil, nil, ti("b", 5)); err == nil || !strings.Contains(err.Error(), "over the mapped length") {
		t.Errorf("an index past the end: %v", err)
	}
	bad := &dagspec.Task{TaskID: "b", Operator: dagspec.OperatorBash, Expand: &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "bash_command", Source: []any{1.0}}}}}
	if _, err := mappedTask(ctx, nil, store, nil, bad, nil, nil, ti("b", 0)); err == nil || !strings.Contains(err.Error(), "want a string") {
		t.Errorf("a number as bash_command: %v", err)
	}
}

// TestCheckMappable is Airflow's check of what a task pushes for the
// mapped tasks downstream of it: a list or dict, no longer than
// max_map_length.
func TestCheckMappable(t *testing.T) {
	ref := map[string]any{dagspec.XComArgKey: map[string]any{"task_id": "up", "key": "return_value"}}
	up := &dagspec.Task{TaskID: "up"}
	dag := &dagspec.DAG{Tasks: []*dagspec.Task{up, {TaskID: "m", Expand: &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "x", Source: ref}}}}}}
	cases := []struct {
		v    any
		want string
	}{
		{[]any{1.0, 2.0}, ""},
		{map[string]any{"a": 1.0}, ""},
		{"abc", "UnmappableXComTypePushed: unmappable return type str"},
		{[]any{1.0, 2.0, 3.0}, "UnmappableXComLengthPushed: unmappable return value length: 3 > 2"},
	}
	for _, c := range cases {
		err := checkMappable(dag, up, map[string]any{"return_value": c.v}, 2)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.v, err, c.want)
		}
	}
	if err := checkMappable(dag, up, map[string]any{}, 2); err != nil {
		t.Errorf("nothing pushed: %v (the mapped task says so when it expands)", err)
	}
	if err := checkMappable(dag, dag.Tasks[1], map[string]any{"return_value": "x"}, 2); err != nil {
		t.Errorf("a task nothing maps over: %v", err)
	}
}
