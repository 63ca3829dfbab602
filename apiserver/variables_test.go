package apiserver

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
)

func TestVariables(t *testing.T) {
	e := setup(t)

	var v variableResponse
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "greeting", "value": "hello", "description": "says hi"}).
		want(t, 201).decode(t, &v)
	if v.Key != "greeting" || v.Value != "hello" || v.Description == nil || *v.Description != "says hi" || !v.IsEncrypted {
		t.Errorf("created %+v", v)
	}
	// Encrypted at rest.
	var stored string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT val FROM variable WHERE key = 'greeting'`).Scan(&stored); err != nil || stored == "hello" {
		t.Errorf("stored %q, %v", stored, err)
	}
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "greeting", "value": "again"}).want(t, 409)

	// A JSON value is stored as JSON and comes back as Python's json.dumps
	// writes it; secrets under sensitive keys are masked, as is the whole
	// value of a variable whose key names a secret.
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "cfg", "value": map[string]any{"b": 1, "a": []any{true, nil, "é"}}}).
		want(t, 201).decode(t, &v)
	if v.Value != `{"a": [true, null, "\u00e9"], "b": 1}` {
		t.Errorf("JSON value %q", v.Value)
	}
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "db", "value": `{"user": "u", "password": "pw-123456", "nested": {"api_key": ["k-123456"]}}`}).
		want(t, 201).decode(t, &v)
	if v.Value != `{"user": "u", "password": "***", "nested": {"api_key": ["***"]}}` {
		t.Errorf("masked JSON value %q", v.Value)
	}
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "slack_token", "value": "xoxb-123456"}).want(t, 201).decode(t, &v)
	if v.Value != "***" {
		t.Errorf("sensitive variable %q", v.Value)
	}
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "n", "value": 42}).want(t, 201).decode(t, &v)
	if v.Value != "42" || v.Description != nil {
		t.Errorf("number %+v", v)
	}
	r := e.call(auth.Viewer, "GET", "/api/v2/variables", nil).want(t, 200)
	for _, secret := range []string{"pw-123456", "k-123456", "xoxb-123456"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("%s leaked: %s", secret, r.body)
		}
	}
	var list variableCollection
	r.decode(t, &list)
	if list.TotalEntries != 5 || len(list.Variables) != 5 || list.Variables[0].Key != "cfg" {
		t.Errorf("list %+v", list)
	}

	for _, c := range []struct {
		body any
		loc  string
	}{
		{map[string]any{"key": "x"}, "body.value"},
		{map[string]any{"value": "x"}, "body.key"},
		{map[string]any{"key": 3, "value": "x"}, "body.key"},
		{map[string]any{"key": strings.Repeat("k", 251), "value": "x"}, "body.key"},
		{map[string]any{"key": "x", "value": "x", "val": "y"}, "body.val"},
	} {
		r := e.call(auth.Op, "POST", "/api/v2/variables", c.body).want(t, 422)
		if locs := issueLocs(t, r); len(locs) != 1 || locs[0] != c.loc {
			t.Errorf("POST %v: issues at %v, want %s", c.body, locs, c.loc)
		}
	}

	e.call(auth.Viewer, "GET", "/api/v2/variables/greeting", nil).want(t, 200).decode(t, &v)
	if v.Value != "hello" {
		t.Errorf("get %+v", v)
	}
	if r := e.call(auth.Viewer, "GET", "/api/v2/variables/nope", nil).want(t, 404); detail(t, r) != "The Variable with key: `nope` was not found" {
		t.Errorf("404: %s", r.body)
	}

	// PATCH: the given fields (description stays unless given), or those
	// of update_mask; the key cannot change.
	e.call(auth.Op, "PATCH", "/api/v2/variables/greeting", map[string]any{"key": "greeting", "value": "hi"}).want(t, 200).decode(t, &v)
	if v.Value != "hi" || *v.Description != "says hi" {
		t.Errorf("patched %+v", v)
	}
	e.call(auth.Op, "PATCH", "/api/v2/variables/greeting?update_mask=description", map[string]any{"key": "greeting", "value": "zz", "description": "new"}).
		want(t, 200).decode(t, &v)
	if v.Value != "hi" || *v.Description != "new" {
		t.Errorf("patched with a mask %+v", v)
	}
	e.call(auth.Op, "PATCH", "/api/v2/variables/greeting", map[string]any{"key": "other", "value": "x"}).want(t, 400)
	e.call(auth.Op, "PATCH", "/api/v2/variables/greeting?update_mask=key", map[string]any{"key": "greeting", "value": "x"}).want(t, 400)
	e.call(auth.Op, "PATCH", "/api/v2/variables/nope", map[string]any{"key": "nope", "value": "x"}).want(t, 404)
	e.call(auth.Op, "PATCH", "/api/v2/variables/greeting", map[string]any{"key": "greeting"}).want(t, 422)

	// Pages, order, patterns.
	keys := func(path string) ([]string, int) {
		t.Helper()
		var l variableCollection
		e.call(auth.Viewer, "GET", path, nil).want(t, 200).decode(t, &l)
		var out []string
		for _, v := range l.Variables {
			out = append(out, v.Key)
		}
		return out, l.TotalEntries
	}
	for _, c := range []struct {
		path  string
		want  []string
		total int
	}{
		{"/api/v2/variables?order_by=-key&limit=2", []string{"slack_token", "n"}, 5},
		{"/api/v2/variables?order_by=-description&order_by=key&limit=2", []string{"greeting", "cfg"}, 5},
		{"/api/v2/variables?variable_key_pattern=E", []string{"greeting", "slack_token"}, 2},
		{"/api/v2/variables?variable_key_pattern=db|cfg", []string{"cfg", "db"}, 2},
	} {
		if got, total := keys(c.path); !reflect.DeepEqual(got, c.want) || total != c.total {
			t.Errorf("%s: %v (%d), want %v (%d)", c.path, got, total, c.want, c.total)
		}
	}

	e.call(auth.Op, "DELETE", "/api/v2/variables/greeting", nil).want(t, 204)
	e.call(auth.Op, "DELETE", "/api/v2/variables/greeting", nil).want(t, 404)
	e.call(auth.User, "DELETE", "/api/v2/variables/n", nil).want(t, 403)

	e.wantAudit(t, "post_variable", 5, "op")
	e.wantAudit(t, "patch_variable", 2, "op")
	e.wantAudit(t, "delete_variable", 1, "op")
	// The audit log keeps keys, never values.
	if r := e.call(auth.Viewer, "GET", "/api/v2/eventLogs", nil).want(t, 200); strings.Contains(string(r.body), "pw-123456") {
		t.Errorf("a value in the audit log: %s", r.body)
	}
}

func TestBulkVariables(t *testing.T) {
	e := setup(t)
	e.call(auth.Op, "POST", "/api/v2/variables", map[string]any{"key": "a", "value": "1"}).want(t, 201)

	var res bulkResponse
	e.call(auth.Op, "PATCH", "/api/v2/variables", map[string]any{"actions": []any{
		map[string]any{"action": "create", "action_on_existence": "overwrite", "entities": []any{
			map[string]any{"key": "a", "value": "2"}, map[string]any{"key": "b", "value": []int{1, 2}}}},
		map[string]any{"action": "update", "action_on_non_existence": "skip", "entities": []any{
			map[string]any{"key": "b", "value": "x", "description": "bee"}, map[string]any{"key": "ghost", "value": "x"}},
			"update_mask": []string{"description"}},
		map[string]any{"action": "delete", "entities": []any{"a", "ghost"}},
	}}).want(t, 200).decode(t, &res)
	if !reflect.DeepEqual(res.Create.Success, []string{"a", "b"}) || !reflect.DeepEqual(res.Update.Success, []string{"b"}) ||
		len(res.Delete.Success) != 0 || len(res.Delete.Errors) != 1 || res.Delete.Errors[0]["error"] != "The variables with these keys: {'ghost'} were not found." {
		t.Fatalf("bulk %+v %+v %+v", res.Create, res.Update, res.Delete)
	}
	var v variableResponse
	e.call(auth.Viewer, "GET", "/api/v2/variables/b", nil).want(t, 200).decode(t, &v)
	if v.Value != "[1, 2]" || *v.Description != "bee" {
		t.Errorf("b = %+v", v)
	}
	e.call(auth.Viewer, "GET", "/api/v2/variables/a", nil).want(t, 200).decode(t, &v)
	if v.Value != "2" {
		t.Errorf("a = %+v", v)
	}
	e.wantAudit(t, "bulk_variables", 1, "op")
}
