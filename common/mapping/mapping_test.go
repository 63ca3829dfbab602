package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gust-sched/gust/common/dagspec"
)

func ref(task string) map[string]any {
	return map[string]any{dagspec.XComArgKey: map[string]any{"task_id": task, "key": "return_value"}}
}

// TestProduct: several arguments make one instance per combination, the
// last argument varying fastest (Airflow's order); literals are marked so.
func TestProduct(t *testing.T) {
	e := &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "a", Source: []any{"x", "y"}}, {Name: "b", Source: ref("up")}}}
	look := func(task, key string) (any, bool, error) {
		if task == "up" && key == "return_value" {
			return []any{1.0, 2.0, 3.0}, true, nil
		}
		return nil, false, nil
	}
	n, err := Length(e, look)
	if err != nil || n != 6 {
		t.Fatalf("length %d, %v; want 6", n, err)
	}
	var got []string
	for i := range n {
		vs, err := Values(e, i, look, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !vs[0].Literal || vs[1].Literal {
			t.Errorf("%d: literal flags %v %v", i, vs[0].Literal, vs[1].Literal)
		}
		got = append(got, fmt.Sprint(vs[0].Value, vs[1].Value))
	}
	if want := []string{"x1", "x2", "x3", "y1", "y2", "y3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if _, err := Values(e, 6, look, nil); !errors.Is(err, ErrUnmappable) {
		t.Errorf("index past the end: %v", err)
	}
}

// TestSources: a dict's items are [key, value] pairs; zip and zip_longest;
// expand_kwargs' mappings; what cannot be mapped over, and nothing pushed.
func TestSources(t *testing.T) {
	xcoms := map[string]any{"d": map[string]any{"b": 2.0, "a": 1.0}, "n": 5.0, "l": []any{1.0, 2.0, 3.0},
		"kw": []any{map[string]any{"y": 2.0, "x": 1.0}, "oops"}}
	look := func(task, key string) (any, bool, error) {
		v, ok := xcoms[task]
		return v, ok, nil
	}
	all := func(e *dagspec.Expand) ([]any, error) {
		n, err := Length(e, look)
		if err != nil {
			return nil, err
		}
		var out []any
		for i := range n {
			vs, err := Values(e, i, look, nil)
			if err != nil {
				return out, err
			}
			var row []any
			for _, v := range vs {
				row = append(row, v.Value)
			}
			out = append(out, row)
		}
		return out, nil
	}
	one := func(src any) *dagspec.Expand {
		return &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "x", Source: src}}}
	}
	got, err := all(one(ref("d")))
	if want := []any{[]any{[]any{"a", 1.0}}, []any{[]any{"b", 2.0}}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("dict: %v %v, want %v", got, err, want)
	}
	zip := func(longest bool) *dagspec.Expand {
		z := map[string]any{"args": []any{ref("l"), []any{"p", "q"}}, "longest": longest}
		if longest {
			z["fillvalue"] = "-"
		}
		return one(map[string]any{dagspec.ZipKey: z})
	}
	got, _ = all(zip(false))
	if want := []any{[]any{[]any{1.0, "p"}}, []any{[]any{2.0, "q"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("zip: %v, want %v", got, want)
	}
	got, _ = all(zip(true))
	if len(got) != 3 || !reflect.DeepEqual(got[2], []any{[]any{3.0, "-"}}) {
		t.Errorf("zip_longest: %v", got)
	}
	kw := &dagspec.Expand{Kwargs: ref("kw")}
	got, err = all(kw)
	if len(got) != 1 || !reflect.DeepEqual(got[0], []any{1.0, 2.0}) || !errors.Is(err, ErrUnmappable) {
		t.Errorf("expand_kwargs: %v %v, want the first mapping's values, then an error for a str", got, err)
	}
	if _, err := Length(one(ref("n")), look); !errors.Is(err, ErrUnmappable) {
		t.Errorf("a number: %v, want ErrUnmappable", err)
	}
	if _, err := Length(one(ref("none")), look); !errors.Is(err, ErrNotPushed) {
		t.Errorf("nothing pushed: %v, want ErrNotPushed", err)
	}
	boom := errors.New("connection refused")
	if _, err := Length(one(ref("l")), func(string, string) (any, bool, error) { return nil, false, boom }); !errors.Is(err, boom) ||
		errors.Is(err, ErrUnmappable) {
		t.Errorf("a lookup error: %v, want it wrapped as it is", err)
	}
	if n, _ := Length(one([]any{}), look); n != 0 {
		t.Errorf("empty literal: %d instances", n)
	}
}

// TestValuesApply: an XComArg.map source's items go through apply (for
// expand_kwargs before they must be mappings); a skip is ErrSkipped.
func TestValuesApply(t *testing.T) {
	src := map[string]any{dagspec.XComArgKey: map[string]any{"task_id": "up", "key": "return_value", "map_fn": "0"}}
	look := func(string, string) (any, bool, error) { return []any{"a", "skip"}, true, nil }
	apply := func(fn string, item any) (any, bool, error) {
		if item == "skip" {
			return nil, true, nil
		}
		return map[string]any{"x": fn + ":" + item.(string)}, false, nil
	}
	vs, err := Values(&dagspec.Expand{Kwargs: src}, 0, look, apply)
	if err != nil || len(vs) != 1 || vs[0].Name != "x" || vs[0].Value != "0:a" {
		t.Errorf("expand_kwargs through map: %+v %v", vs, err)
	}
	if _, err := Values(&dagspec.Expand{Kwargs: src}, 1, look, apply); !errors.Is(err, ErrSkipped) {
		t.Errorf("a skipping callable: %v, want ErrSkipped", err)
	}
	if _, err := Values(&dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "v", Source: src}}}, 0, look, nil); err == nil {
		t.Error("no apply: want an error")
	}
}
