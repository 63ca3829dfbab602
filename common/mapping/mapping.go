// Package mapping expands mapped tasks (Airflow's dynamic task mapping):
// how many instances a task's expansion makes, and the arguments of each.
// The scheduler counts (when it expands the task), the worker resolves one
// instance's arguments (when it runs it); both read upstream XComs through
// a Lookup.
package mapping

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/gust-sched/gust/common/dagspec"
)

// Lookup returns an upstream task's XCom under key: a plain task's value,
// a mapped task's values in map index order; found is false when the task
// pushed none.
type Lookup func(taskID, key string) (value any, found bool, err error)

// Value is one mapped argument of one instance. Literal says it comes from
// the DAG file (and is rendered as a template, as Airflow renders literal
// mapped values) rather than from an XCom.
type Value struct {
	Name    string
	Value   any
	Literal bool
}

// ErrNotPushed is returned when an upstream the expansion reads pushed no
// XCom (returned None); ErrUnmappable when what it maps over is not a list
// or a dict, or an instance's arguments cannot be made. Other errors are
// the Lookup's.
var (
	ErrNotPushed  = errors.New("upstream pushed no value to map over")
	ErrUnmappable = errors.New("unmappable")
)

// DefaultMaxLength is Airflow's [core] max_map_length.
const DefaultMaxLength = 1024

// Count is Length held to [core] max_map_length (limit; 0: the default):
// a longer expansion is ErrUnmappable.
func Count(e *dagspec.Expand, look Lookup, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultMaxLength
	}
	n, err := Length(e, look)
	if err == nil && n > limit {
		return 0, fmt.Errorf("%w: expands to %d instances, over [core] max_map_length (%d)", ErrUnmappable, n, limit)
	}
	return n, err
}

// source is one argument's items.
type source struct {
	items   []any
	literal bool
	mapFn   string // the XComArg.map callables to apply to each item (their id)
}

// Apply calls the XComArg.map callables fn of the DAG file on one item
// (Python's job); skip reports that they raised AirflowSkipException.
type Apply func(fn string, item any) (v any, skip bool, err error)

// ErrSkipped is returned when an XComArg.map callable skipped the
// instance.
var ErrSkipped = errors.New("skipped by the XComArg.map callable")

// Length returns how many instances e expands to: the product of its
// arguments' lengths (expand) or the number of mappings (expand_kwargs).
func Length(e *dagspec.Expand, look Lookup) (int, error) {
	if e.Kwargs != nil {
		s, err := items(e.Kwargs, look, "expand_kwargs")
		if err != nil {
			return 0, err
		}
		return len(s.items), nil
	}
	n := 1
	for _, a := range e.Args {
		s, err := items(a.Source, look, a.Name)
		if err != nil {
			return 0, err
		}
		if len(s.items) > 0 && n > math.MaxInt32/len(s.items) {
			return math.MaxInt32, nil
		}
		n *= len(s.items)
	}
	return n, nil
}

// Values returns instance index's arguments, in the order expand() gave
// them (expand_kwargs: its mapping's keys, sorted).
func Values(e *dagspec.Expand, index int, look Lookup, apply Apply) ([]Value, error) {
	transform := func(s source, item any, where string) (any, error) {
		if s.mapFn == "" {
			return item, nil
		}
		if apply == nil {
			return nil, fmt.Errorf("%s: XComArg.map needs Python", where)
		}
		v, skip, err := apply(s.mapFn, item)
		if err != nil {
			return nil, fmt.Errorf("%s: XComArg.map: %w", where, err)
		}
		if skip {
			return nil, ErrSkipped
		}
		return v, nil
	}
	if index < 0 {
		return nil, fmt.Errorf("%w: map index %d: the task is not expanded", ErrUnmappable, index)
	}
	if e.Kwargs != nil {
		s, err := items(e.Kwargs, look, "expand_kwargs")
		if err != nil {
			return nil, err
		}
		if index >= len(s.items) {
			return nil, fmt.Errorf("%w: map index %d is over the mapped length %d", ErrUnmappable, index, len(s.items))
		}
		item, err := transform(s, s.items[index], "expand_kwargs")
		if err != nil {
			return nil, err
		}
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: expand_kwargs: item %d is a %s, not a mapping of argument names to values", ErrUnmappable, index, TypeName(item))
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		out := make([]Value, 0, len(m))
		for _, k := range names {
			out = append(out, Value{Name: k, Value: m[k], Literal: s.literal})
		}
		return out, nil
	}
	srcs := make([]source, len(e.Args))
	for i, a := range e.Args {
		s, err := items(a.Source, look, a.Name)
		if err != nil {
			return nil, err
		}
		if len(s.items) == 0 {
			return nil, fmt.Errorf("%w: %s: cannot expand an empty source", ErrUnmappable, a.Name)
		}
		srcs[i] = s
	}
	// As Airflow's DictOfListsExpandInput: the last argument varies fastest.
	out := make([]Value, len(e.Args))
	rest := index
	for i := len(e.Args) - 1; i >= 0; i-- {
		n := len(srcs[i].items)
		out[i] = Value{Name: e.Args[i].Name, Value: srcs[i].items[rest%n], Literal: srcs[i].literal}
		rest /= n
	}
	if rest != 0 {
		return nil, fmt.Errorf("%w: map index %d is over the mapped length", ErrUnmappable, index)
	}
	for i := range out {
		v, err := transform(srcs[i], out[i].Value, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].Value = v
	}
	return out, nil
}

// items resolves one source to its items.
func items(src any, look Lookup, where string) (source, error) {
	switch x := src.(type) {
	case []any:
		return source{items: x, literal: true}, nil
	case map[string]any:
		if ref, ok := x[dagspec.XComArgKey].(map[string]any); ok {
			taskID, _ := ref["task_id"].(string)
			key, _ := ref["key"].(string)
			if key == "" {
				key = "return_value"
			}
			v, found, err := look(taskID, key)
			if err != nil {
				return source{}, fmt.Errorf("%s: read the XCom %s of %s: %w", where, key, taskID, err)
			}
			if !found {
				return source{}, fmt.Errorf("%s: %s pushed no XCom %s: %w", where, taskID, key, ErrNotPushed)
			}
			s, err := fromValue(v)
			if err != nil {
				return source{}, fmt.Errorf("%s: the XCom %s of %s: %w", where, key, taskID, err)
			}
			s.mapFn, _ = ref["map_fn"].(string)
			return s, nil
		}
		if pairs, ok := x[dagspec.DictKey].([]any); ok {
			return source{items: pairs, literal: true}, nil
		}
		if z, ok := x[dagspec.ZipKey].(map[string]any); ok {
			return zip(z, look, where)
		}
		return source{items: sortedPairs(x), literal: true}, nil
	}
	return source{}, fmt.Errorf("%w: %s: cannot map over a %s", ErrUnmappable, where, TypeName(src))
}

// fromValue is an XCom's items: a list's elements, a mapping's [key, value]
// pairs. Anything else cannot be mapped over (Airflow's
// UnmappableXComTypePushed).
func fromValue(v any) (source, error) {
	switch x := v.(type) {
	case []any:
		return source{items: x}, nil
	case map[string]any:
		return source{items: sortedPairs(x)}, nil
	}
	return source{}, fmt.Errorf("%w return type %s (want a list or a dict)", ErrUnmappable, TypeName(v))
}

// zip is Python's zip (itertools.zip_longest with longest) of sources: the
// items are lists of one item of each.
func zip(z map[string]any, look Lookup, where string) (source, error) {
	args, _ := z["args"].([]any)
	if len(args) == 0 {
		return source{}, fmt.Errorf("%w: %s: zip of nothing", ErrUnmappable, where)
	}
	longest, _ := z["longest"].(bool)
	fill := z["fillvalue"]
	srcs := make([]source, len(args))
	n, literal := -1, true
	for i, a := range args {
		s, err := items(a, look, where)
		if err != nil {
			return source{}, err
		}
		srcs[i] = s
		literal = literal && s.literal
		switch {
		case n < 0:
			n = len(s.items)
		case longest && len(s.items) > n, !longest && len(s.items) < n:
			n = len(s.items)
		}
	}
	out := make([]any, n)
	for i := range out {
		row := make([]any, len(srcs))
		for j, s := range srcs {
			if i < len(s.items) {
				row[j] = s.items[i]
			} else {
				row[j] = fill
			}
		}
		out[i] = row
	}
	return source{items: out, literal: literal}, nil
}

func sortedPairs(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = []any{k, m[k]}
	}
	return out
}

// TypeName is a JSON value's Python type name, for messages.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case string:
		return "str"
	case bool:
		return "bool"
	case float64:
		if x == float64(int64(x)) {
			return "int"
		}
		return "float"
	case int, int64:
		return "int"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
