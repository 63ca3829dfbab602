package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/mapping"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// Mapped tasks on the worker: an instance's arguments, and the check of
// what a task pushes for the mapped tasks downstream of it.

// mappedTask returns the task as instance ti of a mapped task runs it: a
// copy with the instance's arguments set where the operator takes them
// (bash_command, env, cwd; op_args, op_kwargs, templates_dict; a TaskFlow
// function's arguments; a Python class's constructor arguments). A plain
// task is returned as it is.
func mappedTask(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance) (*dagspec.Task, error) {
	if task.Expand == nil {
		return task, nil
	}
	look := func(upstream, key string) (any, bool, error) {
		return store.XCom(ctx, ti.DagID, ti.RunID, upstream, key)
	}
	apply := func(fn string, item any) (any, bool, error) {
		return applyMapFn(ctx, tl, store, py, task, dag, run, ti, fn, item)
	}
	vals, err := mapping.Values(task.Expand, ti.MapIndex, look, apply)
	if errors.Is(err, mapping.ErrSkipped) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("mapped arguments of %s[%d]: %w", ti.TaskID, ti.MapIndex, err)
	}
	t := *task
	if t.Python != nil {
		p := *t.Python
		p.OpKwargs = maps.Clone(p.OpKwargs)
		p.TemplateFields = maps.Clone(p.TemplateFields)
		t.Python = &p
	}
	if task.Expand.Into == "group" {
		// A task of a mapped task group: the values are the group's
		// arguments, which the task's MappedArguments name.
		if t.Python != nil {
			t.Python.GroupArgs = make(map[string]any, len(vals))
			for _, v := range vals {
				t.Python.GroupArgs[v.Name] = v.Value
			}
		}
		return &t, nil
	}
	for _, v := range vals {
		if err := setMapped(&t, task.Expand.Into, v); err != nil {
			return nil, fmt.Errorf("mapped argument %s of %s[%d]: %w", v.Name, ti.TaskID, ti.MapIndex, err)
		}
	}
	return &t, nil
}

// applyMapFn calls the DAG file's XComArg.map callables fn on the
// instance's item, in a warm Python process; skip reports that one raised
// AirflowSkipException.
func applyMapFn(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance, fn string, item any) (any, bool, error) {
	t := *task
	t.Python, t.Expand = nil, nil
	res, masker, _, err := callPython(ctx, tl, store, py, &t, dag, run, ti,
		&pyCallback{Key: "xcomarg_map", Result: map[string]any{"map_fn": fn, "item": item}})
	if err != nil {
		return nil, false, err
	}
	switch res.State {
	case tistate.Success:
		return res.Value, false, nil
	case tistate.Skipped:
		return nil, true, nil
	}
	return nil, false, errors.New(masker.Mask(res.Error))
}

func setMapped(t *dagspec.Task, into string, v mapping.Value) error {
	p := t.Python
	if into == "op_kwargs" {
		if p == nil {
			return fmt.Errorf("operator %s takes no function arguments", t.Operator)
		}
		if t.Operator == dagspec.OperatorPythonClass {
			// A decorated task of another kind (@task.bash): its
			// op_kwargs are a template field.
			kw, _ := p.TemplateFields["op_kwargs"].(map[string]any)
			kw = maps.Clone(kw)
			if kw == nil {
				kw = map[string]any{}
			}
			kw[v.Name] = v.Value
			if p.TemplateFields == nil {
				p.TemplateFields = map[string]any{}
			}
			p.TemplateFields["op_kwargs"] = kw
			return nil
		}
		if !v.Literal {
			if p.UnrenderedKwargs == nil {
				p.UnrenderedKwargs = map[string]any{}
			}
			p.UnrenderedKwargs[v.Name] = v.Value
			return nil
		}
		if p.OpKwargs == nil {
			p.OpKwargs = map[string]any{}
		}
		p.OpKwargs[v.Name] = v.Value
		return nil
	}
	switch {
	case dagspec.RunsBash(t.Operator):
		switch v.Name {
		case "bash_command", "cwd":
			s, ok := v.Value.(string)
			if !ok {
				return fmt.Errorf("want a string, got %v", v.Value)
			}
			if v.Name == "cwd" {
				t.Cwd = s
			} else {
				t.BashCommand = s
			}
		case "env":
			m, ok := v.Value.(map[string]any)
			if !ok {
				return fmt.Errorf("want a mapping of names to values, got %v", v.Value)
			}
			t.Env = make(map[string]string, len(m))
			for k, x := range m {
				t.Env[k] = fmt.Sprint(x)
			}
		default:
			return fmt.Errorf("the bash operator cannot map it")
		}
	case t.Operator == dagspec.OperatorPythonClass:
		if p.MappedKwargs == nil {
			p.MappedKwargs = map[string]any{}
		}
		p.MappedKwargs[v.Name] = v.Value
		if _, templated := p.TemplateFields[v.Name]; templated {
			p.TemplateFields[v.Name] = v.Value
		}
	case p != nil:
		switch v.Name {
		case "op_args":
			l, ok := v.Value.([]any)
			if !ok {
				return fmt.Errorf("want a list, got %v", v.Value)
			}
			p.OpArgs = l
		case "op_kwargs", "templates_dict":
			m, ok := v.Value.(map[string]any)
			if !ok {
				return fmt.Errorf("want a mapping, got %v", v.Value)
			}
			if v.Name == "op_kwargs" {
				p.OpKwargs = m
			} else {
				p.TemplatesDict = m
			}
		default:
			return fmt.Errorf("the Python operator cannot map it")
		}
	default:
		return fmt.Errorf("operator %s cannot be mapped", t.Operator)
	}
	return nil
}

// checkMappable is Airflow's check of what a task pushes for the mapped
// tasks that map over it: a list or a dict (UnmappableXComTypePushed), no
// longer than [core] max_map_length (UnmappableXComLengthPushed). A mapped
// task's own instances push one item each and are not checked.
func checkMappable(dag *dagspec.DAG, task *dagspec.Task, xcoms map[string]any, maxLen int) error {
	if task.Expand != nil {
		return nil
	}
	for _, t := range dag.Tasks {
		if t.Expand == nil {
			continue
		}
		for _, ref := range t.Expand.Refs() {
			if ref.TaskID != task.TaskID {
				continue
			}
			v, ok := xcoms[ref.Key]
			if !ok {
				continue // nothing pushed: the mapped task fails to expand, saying so
			}
			n := 0
			switch x := v.(type) {
			case []any:
				n = len(x)
			case map[string]any:
				n = len(x)
			default:
				return fmt.Errorf("UnmappableXComTypePushed: unmappable return type %s (%s maps over it)", mapping.TypeName(v), t.TaskID)
			}
			if n > maxLen {
				return fmt.Errorf("UnmappableXComLengthPushed: unmappable return value length: %d > %d ([core] max_map_length; %s maps over it)",
					n, maxLen, t.TaskID)
			}
		}
	}
	return nil
}
