package dagspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
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
		if k != "default" && k != "__type__" {
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
// check at trigger time; the error names every bad param.
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
			problems = append(problems, fmt.Sprintf("param %s: invalid schema: %v", n, err))
			continue
		}
		jv, err := jsonValue(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("param %s: %v", n, err))
			continue
		}
		if err := sch.Validate(jv); err != nil {
			msg := err.Error()
			if ve, ok := err.(*jsonschema.ValidationError); ok {
				msg = strings.TrimSpace(strings.TrimPrefix(ve.Error(), "jsonschema validation failed with 'param:"+n+"#'"))
			}
			problems = append(problems, fmt.Sprintf("param %s = %s: %s", n, compact(v), strings.ReplaceAll(msg, "\n", " ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid params: %s", strings.Join(problems, "; "))
	}
	return nil
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
