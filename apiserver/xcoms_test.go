package apiserver

import (
	"testing"

	"github.com/gust-sched/gust/auth"
)

func TestXComEntries(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": "r1"}).want(t, 200)
	const base = "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/xcomEntries"

	var x xcomValueResponse
	e.call(auth.User, "POST", base, map[string]any{"key": "rows", "value": map[string]any{"n": 3}}).want(t, 201).decode(t, &x)
	if x.Key != "rows" || x.TaskID != "extract" || x.MapIndex != -1 {
		t.Errorf("created = %+v", x)
	}
	e.call(auth.User, "POST", base, map[string]any{"key": "rows", "value": 1}).want(t, 400)
	e.call(auth.User, "POST", base, map[string]any{"value": 1}).want(t, 422)
	e.call(auth.Viewer, "POST", base, map[string]any{"key": "other", "value": 1}).want(t, 403)
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns/r1/taskInstances/nope/xcomEntries", map[string]any{"key": "k", "value": 1}).want(t, 404)

	e.call(auth.Viewer, "GET", base+"/rows", nil).want(t, 200).decode(t, &x)
	if m, ok := x.Value.(map[string]any); !ok || m["n"] != float64(3) {
		t.Errorf("value = %#v", x.Value)
	}
	e.call(auth.Viewer, "GET", base+"/rows?stringify=true", nil).want(t, 200).decode(t, &x)
	if x.Value != `{"n": 3}` && x.Value != `{"n":3}` {
		t.Errorf("stringified = %#v", x.Value)
	}
	var list struct {
		Entries []xcomResponse `json:"xcom_entries"`
		Total   int            `json:"total_entries"`
	}
	e.call(auth.Viewer, "GET", base, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Entries[0].Key != "rows" {
		t.Errorf("list = %+v", list)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries?xcom_key_pattern=ro%25", nil).want(t, 200).decode(t, &list)
	if list.Total != 1 {
		t.Errorf("~ list = %+v", list)
	}
	e.call(auth.User, "PATCH", base+"/rows", map[string]any{"value": "changed"}).want(t, 200).decode(t, &x)
	if x.Value != "changed" {
		t.Errorf("updated = %#v", x.Value)
	}
	e.call(auth.User, "PATCH", base+"/nope", map[string]any{"value": 1}).want(t, 404)
	e.call(auth.User, "DELETE", base+"/rows", nil).want(t, 204)
	e.call(auth.Viewer, "GET", base+"/rows", nil).want(t, 404)
}
