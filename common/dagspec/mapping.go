package dagspec

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML reader's dynamic task mapping: dag-factory's partial: and
// expand: (and expand_kwargs:, which Python files give too).

// DictKey marks an ordered mapping in a mapping source; ZipKey a zip of
// sources ({args: [...], longest: bool, fillvalue: x}).
const (
	DictKey = "__gust_dict__"
	ZipKey  = "__gust_zip__"
)

// outputRefRE matches dag-factory's ways to name an upstream's output:
// "+task", "task.output" and "XcomArg(task)".
var outputRefRE = regexp.MustCompile(`^\+([\w.-]+)$|^([\w.-]+)\.output$|^(?i:xcomarg)\(\s*([\w.-]+)\s*\)$`)

// withPartial returns a task's fields with partial:'s arguments among them
// (dag-factory passes them to partial(), which is the same as giving them
// to the task).
func (p *parser) withPartial(own []field, where string) ([]field, error) {
	f, ok := get(own, "partial")
	if !ok {
		return own, nil
	}
	pfs, err := p.fields(f.val, where+": partial")
	if err != nil {
		return nil, err
	}
	out := make([]field, 0, len(own)+len(pfs))
	for _, o := range own {
		if o.key != "partial" {
			out = append(out, o)
		}
	}
	for _, pf := range pfs {
		if _, dup := get(out, pf.key); dup {
			return nil, p.errf(pf.knod, "%s: %s is given both in partial and on the task", where, pf.key)
		}
		out = append(out, pf)
	}
	return out, nil
}

// expandArg reads expand: (a mapping of argument names to sources) or
// expand_kwargs: (one source of mappings) into the task.
func (p *parser) expandArg(t *Task, f field, ctx string) error {
	if t.Expand == nil {
		t.Expand = &Expand{}
	}
	switch f.key {
	case "expand":
		fs, err := p.fields(f.val, ctx)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			return p.errf(f.val, "%s: names no argument to map over", ctx)
		}
		for _, a := range fs {
			src, err := p.mapSource(a.val, ctx+": "+a.key)
			if err != nil {
				return err
			}
			t.Expand.Args = append(t.Expand.Args, ExpandArg{Name: a.key, Source: src})
		}
	case "expand_kwargs":
		src, err := p.mapSource(f.val, ctx)
		if err != nil {
			return err
		}
		t.Expand.Kwargs = src
	case "map_into":
		s, err := p.str(f.val, ctx)
		if err != nil {
			return err
		}
		if s != "" && s != "op_kwargs" && s != "group" {
			return p.errf(f.val, "%s: want op_kwargs, group or nothing, got %q", ctx, s)
		}
		t.Expand.Into = s
	}
	return nil
}

// mapSource reads what one argument maps over: a list, a mapping (its
// items are [key, value] pairs, in the file's order), an upstream's output
// (+task, task.output, XcomArg(task), or a Python file's XComArg) or a zip.
func (p *parser) mapSource(n *yaml.Node, ctx string) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		var out []any
		if err := p.decode(n, &out, ctx, "a list"); err != nil {
			return nil, err
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	case yaml.MappingNode:
		fs, err := p.fields(n, ctx)
		if err != nil {
			return nil, err
		}
		if len(fs) == 1 && (fs[0].key == XComArgKey || fs[0].key == ZipKey || fs[0].key == DictKey) {
			var m map[string]any
			if err := p.decode(n, &m, ctx, "a mapping"); err != nil {
				return nil, err
			}
			return m, nil
		}
		items := make([]any, 0, len(fs))
		for _, e := range fs {
			var v any
			if err := p.decode(e.val, &v, ctx+": "+e.key, "a value"); err != nil {
				return nil, err
			}
			items = append(items, []any{e.key, v})
		}
		return map[string]any{DictKey: items}, nil
	case yaml.ScalarNode:
		if m := outputRefRE.FindStringSubmatch(strings.TrimSpace(n.Value)); m != nil {
			id := m[1] + m[2] + m[3]
			return map[string]any{XComArgKey: map[string]any{"task_id": id, "key": "return_value"}}, nil
		}
	}
	return nil, p.errf(n, "%s: cannot map over %q: give a list, a mapping or an upstream task's output (+task or task.output)", ctx, n.Value)
}

// checkExpand validates a mapped task's arguments once the task is read:
// what can be mapped for its operator, and nothing both partial and mapped.
func (p *parser) checkExpand(t *Task, own []field, knod *yaml.Node, where string) error {
	e := t.Expand
	if len(e.Args) > 0 && e.Kwargs != nil {
		return p.errf(knod, "%s: give expand or expand_kwargs, not both", where)
	}
	if len(e.Args) == 0 && e.Kwargs == nil {
		return p.errf(knod, "%s: map_into without expand", where)
	}
	if e.Into == "group" {
		// The values are the group's arguments, which the task's own
		// take by name (MappedArgument): no operator field to check.
		if t.MappedGroup == "" {
			return p.errf(knod, "%s: map_into group needs mapped_group", where)
		}
		return nil
	}
	if e.Into == "op_kwargs" {
		if t.Python == nil {
			return p.errf(knod, "%s: map_into op_kwargs is for Python tasks", where)
		}
		for _, a := range e.Args {
			if _, dup := t.Python.OpKwargs[a.Name]; dup {
				return p.errf(knod, "%s: argument %q is both partial and mapped", where, a.Name)
			}
		}
		return nil
	}
	var can []string
	switch {
	case RunsBash(t.Operator):
		can = []string{"bash_command", "env", "cwd"}
	case t.Operator == OperatorPythonClass:
		can = nil // a class's own arguments: any
	case RunsPython(t.Operator):
		can = []string{"op_args", "op_kwargs", "templates_dict"}
	default:
		return p.errf(knod, "%s: gust maps bash, Python and Python-class tasks; operator %s cannot be mapped yet", where, t.Operator)
	}
	for _, a := range e.Args {
		if can != nil && !slices.Contains(can, a.Name) {
			return p.errf(knod, "%s: operator %s cannot map %q (gust maps %s)", where, t.Operator, a.Name, strings.Join(can, ", "))
		}
		if _, dup := get(own, a.Name); dup {
			return p.errf(knod, "%s: argument %q is both partial and mapped", where, a.Name)
		}
	}
	return nil
}

// bindExpand rewrites the upstream names in a mapped task's sources (and a
// TaskFlow task's arguments) to full task ids (a YAML file names tasks by
// their keys) and makes each an upstream of the task, as Airflow does for
// XComArgs.
func bindExpand(t *Task, id func(string) (string, bool)) (string, bool) {
	var bad string
	// A mapped task group's source is upstream of the group's roots only,
	// as the DAG file says; group is set while its sources are walked.
	group := false
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x[XComArgKey].(map[string]any); ok {
				name, _ := ref["task_id"].(string)
				full, found := id(name)
				if !found {
					if bad == "" {
						bad = name
					}
					return x
				}
				if full == t.TaskID {
					if bad == "" {
						bad = name + " (the task itself)"
					}
					return x
				}
				if !group && !slices.Contains(t.Upstream, full) {
					t.Upstream = append(t.Upstream, full)
				}
				key, _ := ref["key"].(string)
				if key == "" {
					key = "return_value"
				}
				bound := map[string]any{"task_id": full, "key": key}
				if fn, _ := ref["map_fn"].(string); fn != "" {
					bound["map_fn"] = fn // XComArg.map's callables, applied by the worker
				}
				return map[string]any{XComArgKey: bound}
			}
			out := make(map[string]any, len(x))
			for k, y := range x {
				out[k] = walk(y)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, y := range x {
				out[i] = walk(y)
			}
			return out
		}
		return v
	}
	if t.Expand != nil {
		group = t.Expand.Into == "group"
		for i := range t.Expand.Args {
			t.Expand.Args[i].Source = walk(t.Expand.Args[i].Source)
		}
		if t.Expand.Kwargs != nil {
			t.Expand.Kwargs = walk(t.Expand.Kwargs)
		}
		group = false
	}
	if t.taskflow && t.Python != nil {
		for k, v := range t.Python.OpKwargs {
			t.Python.OpKwargs[k] = walk(v)
		}
	}
	return bad, bad == ""
}

// taskDecorators are the decorator paths dag-factory's TaskFlow form names.
var taskDecorators = map[string]bool{
	"airflow.decorators.task": true, "airflow.sdk.task": true, "airflow.sdk.definitions.decorators.task": true,
	"airflow.sdk.bases.decorator.task": true, "task": true,
}

// taskflowArg reads one argument of a TaskFlow task's function: "+task"
// is that task's output (dag-factory's prefix), anything else a value.
func (p *parser) taskflowArg(t *Task, f field, ctx string) error {
	var v any
	if err := p.decode(f.val, &v, ctx, "a value"); err != nil {
		return err
	}
	if s, ok := v.(string); ok && strings.HasPrefix(s, "+") && len(s) > 1 {
		v = map[string]any{XComArgKey: map[string]any{"task_id": s[1:], "key": "return_value"}}
	}
	if t.Python.OpKwargs == nil {
		t.Python.OpKwargs = map[string]any{}
	}
	t.Python.OpKwargs[f.key] = v
	return nil
}
