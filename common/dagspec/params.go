package dagspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// jsonValue round-trips v through JSON so that the validator sees JSON's
// types (YAML gives Go ints).
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func compileParam(name string, spec map[string]any) (*jsonschema.Schema, error) {
	schema := map[string]any{}
	for k, v := range spec {
		if k != "default" && k != "__type__" && k != ParamMarker {
			schema[k] = v
		}
	}
	doc, err := jsonValue(schema)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	url := "param:" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// ValidateParams checks a run's params against the DAG's param schemas:
// the conf's value when it sets the param, else the default. It is Airflow's
// check at trigger time. The error is one line that names every bad param,
// the path inside it for a nested value, and what failed in plain words:
// `param n: must be an integer, got "five"`.
func ValidateParams(params, conf map[string]any) error {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems []string
	for _, n := range names {
		spec := ParamSchema(params[n])
		if spec == nil {
			continue
		}
		v, set := conf[n]
		if !set {
			v = spec["default"]
		}
		sch, err := compileParam(n, spec)
		if err != nil {
			problems = append(problems, fmt.Sprintf("param %s: invalid schema: %v", n, oneLine(err.Error())))
			continue
		}
		jv, err := jsonValue(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("param %s: %v", n, err))
			continue
		}
		err = sch.Validate(jv)
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			for _, l := range leafErrors(ve) {
				problems = append(problems, fmt.Sprintf("param %s%s: %s", n, paramPath(l.InstanceLocation), describe(l, jv)))
			}
		} else if err != nil {
			problems = append(problems, fmt.Sprintf("param %s: %s", n, oneLine(err.Error())))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// leafErrors returns the errors that say what failed, not the groups
// (the schema, allOf, a $ref) that hold them. anyOf, oneOf and not are
// leaves: their alternatives' failures would read as contradictions.
func leafErrors(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		var out []*jsonschema.ValidationError
		for _, c := range e.Causes {
			out = append(out, leafErrors(c)...)
		}
		if len(out) > 0 {
			return out
		}
	}
	return []*jsonschema.ValidationError{e}
}

// paramPath renders where inside a param a nested value failed, as .key
// and [index] (a key that is not a plain name is quoted: ["a b"]).
func paramPath(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		switch {
		case isIndex(tok):
			b.WriteString("[" + tok + "]")
		case isName(tok):
			b.WriteString("." + tok)
		default:
			b.WriteString("[" + compact(tok) + "]")
		}
	}
	return b.String()
}

func isIndex(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func isName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// describe says in plain words what a value failed, with the value.
func describe(e *jsonschema.ValidationError, root any) string {
	got := gotValue(lookup(root, e.InstanceLocation))
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = article(w)
		}
		return fmt.Sprintf("must be %s, got %s", strings.Join(want, " or "), got)
	case *kind.Enum:
		if len(k.Want) == 1 {
			return fmt.Sprintf("must be %s, got %s", compact(k.Want[0]), got)
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = compact(w)
		}
		return fmt.Sprintf("must be one of %s, got %s", strings.Join(want, ", "), got)
	case *kind.Const:
		return fmt.Sprintf("must be %s, got %s", compact(k.Want), got)
	case *kind.Minimum:
		return fmt.Sprintf("must be at least %s, got %s", rat(k.Want), got)
	case *kind.Maximum:
		return fmt.Sprintf("must be at most %s, got %s", rat(k.Want), got)
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be greater than %s, got %s", rat(k.Want), got)
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be less than %s, got %s", rat(k.Want), got)
	case *kind.MultipleOf:
		return fmt.Sprintf("must be a multiple of %s, got %s", rat(k.Want), got)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters long, got %s", k.Want, got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long, got %s", k.Want, got)
	case *kind.Pattern:
		return fmt.Sprintf("must match the pattern %s, got %s", compact(k.Want), got)
	case *kind.Format:
		return fmt.Sprintf("must be a valid %s, got %s", k.Want, got)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items, got %d", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items, got %d", k.Want, k.Got)
	case *kind.UniqueItems:
		return fmt.Sprintf("must not repeat items (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d keys, got %d", k.Want, k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d keys, got %d", k.Want, k.Got)
	case *kind.Required:
		return "must have the key" + plural(len(k.Missing)) + " " + quoteAll(k.Missing)
	case *kind.AdditionalProperties:
		return "must not have the key" + plural(len(k.Properties)) + " " + quoteAll(k.Properties)
	case *kind.AnyOf:
		return fmt.Sprintf("must match one of the schemas of anyOf, got %s", got)
	case *kind.OneOf:
		if len(k.Subschemas) > 1 {
			return fmt.Sprintf("must match exactly one of the schemas of oneOf, got %s matching %d", got, len(k.Subschemas))
		}
		return fmt.Sprintf("must match one of the schemas of oneOf, got %s", got)
	case *kind.Not:
		return fmt.Sprintf("must not match the schema of not, got %s", got)
	case *kind.FalseSchema:
		return "must not be given"
	default:
		// The validator's own words, without its "at '/path': " prefix.
		leaf := jsonschema.ValidationError{SchemaURL: e.SchemaURL, ErrorKind: e.ErrorKind}
		return oneLine(strings.TrimPrefix(leaf.Error(), "at '': "))
	}
}

// article names a JSON type with its article: "an integer", "a string".
func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "integer", "array", "object":
		return "an " + t
	default:
		return "a " + t
	}
}

// gotValue shows a value in a message: scalars as JSON, containers by kind.
func gotValue(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return compact(v)
}

// lookup follows a JSON pointer's tokens into a JSON value.
func lookup(v any, loc []string) any {
	for _, tok := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = compact(s)
	}
	return strings.Join(q, ", ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// compact is v as one line of JSON; json.Number and the validator's
// numbers print as the numbers they are.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
