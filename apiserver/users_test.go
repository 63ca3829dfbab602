package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// fabCall calls the FAB users API (not in Airflow's v2 spec: the shapes
// are checked by the tests' own assertions).
func (e *env) fabCall(role auth.Role, method, path string, body any) response {
	e.t.Helper()
	payload := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		payload = string(b)
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return e.raw(method, path, ct, payload, e.tokens[role])
}

// wantFABUser checks that a body is exactly FAB's UserResponse: every
// field, with its JSON type, and nothing else (no password, no hash).
func wantFABUser(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode user %s: %v", raw, err)
	}
	kinds := map[string]string{"username": "string", "email": "string", "first_name": "string", "last_name": "string",
		"roles": "array", "active": "bool", "last_login": "time|null", "login_count": "null",
		"fail_login_count": "number", "created_on": "time", "changed_on": "null"}
	for k, kind := range kinds {
		v, ok := m[k]
		if !ok {
			t.Errorf("user %s: no %s", raw, k)
			continue
		}
		okKind := false
		for _, want := range strings.Split(kind, "|") {
			switch want {
			case "string":
				_, okKind = v.(string)
			case "array":
				_, okKind = v.([]any)
			case "bool":
				_, okKind = v.(bool)
			case "number":
				_, okKind = v.(float64)
			case "null":
				okKind = v == nil
			case "time":
				s, isStr := v.(string)
				_, err := time.Parse(time.RFC3339Nano, s)
				okKind = isStr && err == nil
			}
			if okKind {
				break
			}
		}
		if !okKind {
			t.Errorf("user %s: %s is %v (%T), want %s", raw, k, v, v, kind)
		}
	}
	for k := range m {
		if _, ok := kinds[k]; !ok {
			t.Errorf("user %s: unexpected field %s", raw, k)
		}
	}
	if roles, _ := m["roles"].([]any); len(roles) == 1 {
		if r, _ := roles[0].(map[string]any); len(r) != 1 || r["name"] == nil {
			t.Errorf("user %s: roles are not [{name}]", raw)
		}
	} else {
		t.Errorf("user %s: roles %v, want one", raw, m["roles"])
	}
	return m
}

func TestFABUsersAPI(t *testing.T) {
	e := setup(t)
	admin := auth.Admin

	// Only Admins: every other role is refused, reads included.
	for _, role := range []auth.Role{auth.Viewer, auth.User, auth.Op} {
		for _, c := range []struct{ method, path string }{{"GET", "/auth/fab/v1/users"}, {"GET", "/auth/fab/v1/users/admin"},
			{"POST", "/auth/fab/v1/users"}, {"PATCH", "/auth/fab/v1/users/viewer"}, {"DELETE", "/auth/fab/v1/users/viewer"},
			{"GET", "/auth/fab/v1/roles"}} {
			if r := e.fabCall(role, c.method, c.path, map[string]any{}); r.status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d %s, want 403", c.method, c.path, role, r.status, r.body)
			}
		}
	}
	if r := e.raw("GET", "/auth/fab/v1/users", "", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", r.status)
	}
	if r := e.fabCall(admin, "GET", "/auth/fab/v1/nope", nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"detail":"Not Found"`) {
		t.Errorf("an unknown FAB path: %d %s, want a JSON 404", r.status, r.body)
	}

	// Create: FAB's body; the answer is FAB's UserResponse.
	r := e.fabCall(admin, "POST", "/auth/fab/v1/users", map[string]any{"username": "carol", "email": "carol@example.com",
		"first_name": "Carol", "last_name": "Sun", "roles": []map[string]string{{"name": "Op"}}, "password": "carol-s3cret"}).want(t, 200)
	u := wantFABUser(t, r.body)
	if u["username"] != "carol" || u["email"] != "carol@example.com" || u["first_name"] != "Carol" ||
		u["roles"].([]any)[0].(map[string]any)["name"] != "Op" || u["active"] != true || u["fail_login_count"] != 0.0 {
		t.Errorf("created %s", r.body)
	}
	if strings.Contains(string(r.body), "s3cret") || strings.Contains(string(r.body), "$2a$") {
		t.Errorf("the answer shows the password or its hash: %s", r.body)
	}
	carol := e.login("carol", "carol-s3cret")
	if got := e.raw("GET", "/api/v2/pools", "", "", carol); got.status != 200 {
		t.Errorf("the new user's token: %d %s", got.status, got.body)
	}
	// Without roles: Viewer; names and e-mail optional.
	e.fabCall(admin, "POST", "/auth/fab/v1/users", map[string]any{"username": "dan", "password": "dan-s3cret"}).want(t, 200)
	if u := wantFABUser(t, e.fabCall(admin, "GET", "/auth/fab/v1/users/dan", nil).want(t, 200).body); u["roles"].([]any)[0].(map[string]any)["name"] != "Viewer" {
		t.Errorf("dan's roles %v, want Viewer", u["roles"])
	}

	for _, c := range []struct {
		body   map[string]any
		status int
		detail string
	}{
		{map[string]any{"username": "carol", "password": "x"}, 409, "Username `carol` already exists"},
		{map[string]any{"username": "erin", "password": "x", "email": "carol@example.com"}, 409, "email `carol@example.com` is already taken"},
		{map[string]any{"username": "erin", "password": "x", "roles": []map[string]string{{"name": "Public"}}}, 400, "Unknown roles: 'Public'"},
		{map[string]any{"username": "erin", "password": "x", "roles": []map[string]string{{"name": "Op"}, {"name": "User"}}}, 400, "exactly one role"},
		{map[string]any{"username": "erin", "password": ""}, 400, "password"},
		{map[string]any{"username": "erin"}, 422, "password"},
		{map[string]any{"password": "x"}, 422, "username"},
		{map[string]any{"username": "erin", "password": "x", "is_admin": true}, 422, "is_admin"},
	} {
		r := e.fabCall(admin, "POST", "/auth/fab/v1/users", c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.detail) {
			t.Errorf("POST %v: %d %s, want %d with %q", c.body, r.status, r.body, c.status, c.detail)
		}
	}
	if r := e.fabCall(admin, "GET", "/auth/fab/v1/users/nobody", nil); r.status != 404 {
		t.Errorf("GET a missing user: %d %s", r.status, r.body)
	}

	// List: paging, total_entries, order_by.
	list := func(query string) ([]string, int) {
		t.Helper()
		var c struct {
			Users        []json.RawMessage `json:"users"`
			TotalEntries *int              `json:"total_entries"`
		}
		e.fabCall(admin, "GET", "/auth/fab/v1/users"+query, nil).want(t, 200).decode(t, &c)
		var names []string
		for _, raw := range c.Users {
			names = append(names, wantFABUser(t, raw)["username"].(string))
		}
		if c.TotalEntries == nil {
			t.Fatalf("no total_entries")
		}
		return names, *c.TotalEntries
	}
	if names, total := list(""); total != 6 || strings.Join(names, ",") != "viewer,user,op,admin,carol,dan" {
		t.Errorf("users %v (%d)", names, total)
	}
	if names, total := list("?order_by=-username&limit=2&offset=1"); total != 6 || strings.Join(names, ",") != "user,op" {
		t.Errorf("page of -username: %v (%d)", names, total)
	}
	if names, _ := list("?order_by=roles,username&limit=3"); strings.Join(names, ",") != "admin,carol,op" {
		t.Errorf("by role: %v", names)
	}
	if r := e.fabCall(admin, "GET", "/auth/fab/v1/users?order_by=password_hash", nil); r.status != 400 {
		t.Errorf("order_by=password_hash: %d %s, want 400", r.status, r.body)
	}

	// Patch: update_mask picks the fields; a role change, deactivation
	// and a new password take effect at once.
	r = e.fabCall(admin, "PATCH", "/auth/fab/v1/users/carol?update_mask=roles,last_name",
		map[string]any{"roles": []map[string]string{{"name": "Viewer"}}, "last_name": "Moon", "first_name": "ignored"}).want(t, 200)
	u = wantFABUser(t, r.body)
	if u["roles"].([]any)[0].(map[string]any)["name"] != "Viewer" || u["last_name"] != "Moon" || u["first_name"] != "Carol" {
		t.Errorf("patched %s", r.body)
	}
	if got := e.raw("POST", "/api/v2/pools", "application/json", `{"name": "p", "slots": 1}`, carol); got.status != 403 {
		t.Errorf("a demoted user's old token still writes pools: %d", got.status)
	}
	e.fabCall(admin, "PATCH", "/auth/fab/v1/users/carol", map[string]any{"password": "new-s3cret"}).want(t, 200)
	if got := e.raw("POST", "/auth/token", "application/json", `{"username": "carol", "password": "carol-s3cret"}`, ""); got.status != 401 {
		t.Errorf("the old password: %d", got.status)
	}
	carol = e.login("carol", "new-s3cret")
	e.fabCall(admin, "PATCH", "/auth/fab/v1/users/carol?update_mask=active", map[string]any{"active": false}).want(t, 200)
	if got := e.raw("GET", "/api/v2/pools", "", "", carol); got.status != 401 {
		t.Errorf("a deactivated user's token: %d, want 401", got.status)
	}
	if got := e.raw("POST", "/auth/token", "application/json", `{"username": "carol", "password": "new-s3cret"}`, ""); got.status != 401 {
		t.Errorf("a deactivated user logs in: %d", got.status)
	}
	e.fabCall(admin, "PATCH", "/auth/fab/v1/users/carol", map[string]any{"active": true}).want(t, 200)
	e.login("carol", "new-s3cret")
	for _, c := range []struct {
		path   string
		body   map[string]any
		status int
		detail string
	}{
		{"/auth/fab/v1/users/carol?update_mask=nickname", map[string]any{}, 400, "Unknown update masks: 'nickname'"},
		{"/auth/fab/v1/users/carol", map[string]any{"username": "dan"}, 409, "`dan` already exists"},
		{"/auth/fab/v1/users/nobody", map[string]any{"last_name": "x"}, 404, "nobody"},
		{"/auth/fab/v1/users/admin", map[string]any{"roles": []map[string]string{{"name": "Op"}}}, 400, "your own Admin role"},
		{"/auth/fab/v1/users/admin", map[string]any{"active": false}, 400, "deactivate your own"},
		{"/auth/fab/v1/users/admin", map[string]any{"username": "root"}, 400, "rename your own"},
	} {
		r := e.fabCall(admin, "PATCH", c.path, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.detail) {
			t.Errorf("PATCH %s %v: %d %s, want %d with %q", c.path, c.body, r.status, r.body, c.status, c.detail)
		}
	}
	// Rename keeps the user's password.
	e.fabCall(admin, "PATCH", "/auth/fab/v1/users/dan?update_mask=username", map[string]any{"username": "daniel"}).want(t, 200)
	e.login("daniel", "dan-s3cret")

	// Delete: not oneself; a missing user is 404.
	if r := e.fabCall(admin, "DELETE", "/auth/fab/v1/users/admin", nil); r.status != 400 || !strings.Contains(string(r.body), "your own") {
		t.Errorf("delete oneself: %d %s", r.status, r.body)
	}
	e.fabCall(admin, "DELETE", "/auth/fab/v1/users/daniel", nil).want(t, 204)
	if r := e.fabCall(admin, "DELETE", "/auth/fab/v1/users/daniel", nil); r.status != 404 {
		t.Errorf("delete again: %d %s", r.status, r.body)
	}

	// Every write is in the audit log, as the Admin, without a password.
	events, _, err := metadb.ListEvents(context.Background(), e.db.Pool, metadb.EventFilter{Owner: "admin"}, metadb.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, ev.Event)
		if ev.Extra != nil && strings.Contains(*ev.Extra, "s3cret") {
			t.Errorf("the audit log keeps a password: %s", *ev.Extra)
		}
	}
	want := "create_user create_user patch_user patch_user patch_user patch_user patch_user delete_user"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("audit events %q, want %q", got, want)
	}
}

// TestFABLastAdmin: the API's checks refuse an Admin's removing
// themself; two Admins removing each other at once are held by the lock on
// the active Admins: whichever commits second finds the other the last one
// (409). That second transaction is played here directly.
func TestFABLastAdmin(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	check := func(target string) error {
		t.Helper()
		var out error
		if err := e.db.InTx(ctx, func(tx pgx.Tx) error { out = keepAnAdmin(ctx, tx, target); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := check("admin"); !isStatus(err, http.StatusConflict) || !strings.Contains(err.Error(), "last active Admin") {
		t.Errorf("removing the only Admin: %v, want 409", err)
	}
	e.createUser("boss", "boss-pass", auth.Admin)
	if err := check("admin"); err != nil {
		t.Errorf("removing one of two Admins: %v", err)
	}
	e.exec(`UPDATE users SET active = false WHERE username = 'boss'`)
	if err := check("admin"); !isStatus(err, http.StatusConflict) {
		t.Errorf("an inactive second Admin does not count: %v, want 409", err)
	}
	if err := check("viewer"); err != nil {
		t.Errorf("a Viewer is not the last Admin: %v", err)
	}
}
