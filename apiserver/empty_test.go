package apiserver

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
)

// TestAbsentFeatures checks the paths of features gust does not have: the
// spec's shapes, empty or 404, never a 500.
func TestAbsentFeatures(t *testing.T) {
	e := setup(t)
	e.seedRun("etl", "r1", "/dags/etl.yaml")
	e.seedTI("etl", "r1", "load", "success", "default_pool", 1)
	const ti = "/api/v2/dags/etl/dagRuns/r1/taskInstances"

	for _, c := range []struct {
		role         auth.Role
		method, path string
		body         any
		want         int
	}{
		{auth.Viewer, "GET", "/api/v2/assets?limit=10&only_active=false", nil, 200},
		{auth.Viewer, "GET", "/api/v2/assets/aliases", nil, 200},
		{auth.Viewer, "GET", "/api/v2/assets/aliases/3", nil, 404},
		{auth.Viewer, "GET", "/api/v2/assets/aliases/x", nil, 422},
		{auth.Viewer, "GET", "/api/v2/assets/events?source_dag_id=etl", nil, 200},
		{auth.User, "POST", "/api/v2/assets/events", map[string]any{"asset_id": 1, "extra": map[string]any{"a": 1}}, 404},
		{auth.User, "POST", "/api/v2/assets/events", map[string]any{"extra": 3}, 422},
		{auth.Viewer, "POST", "/api/v2/assets/events", map[string]any{"asset_id": 1}, 403},
		{auth.Viewer, "GET", "/api/v2/assets/1", nil, 404},
		{auth.User, "POST", "/api/v2/assets/1/materialize", nil, 404},
		{auth.Viewer, "GET", "/api/v2/assets/1/queuedEvents", nil, 200},
		{auth.User, "DELETE", "/api/v2/assets/1/queuedEvents", nil, 404},
		{auth.Viewer, "GET", "/api/v2/dags/etl/assets/queuedEvents", nil, 200},
		{auth.User, "DELETE", "/api/v2/dags/etl/assets/queuedEvents", nil, 404},
		{auth.Viewer, "GET", "/api/v2/dags/etl/assets/1/queuedEvents", nil, 404},
		{auth.User, "DELETE", "/api/v2/dags/etl/assets/1/queuedEvents", nil, 404},
		{auth.Viewer, "GET", "/api/v2/plugins", nil, 200},
		{auth.Viewer, "GET", "/api/v2/plugins/importErrors", nil, 200},
		{auth.Viewer, "GET", "/api/v2/providers?limit=5", nil, 200},
		{auth.Viewer, "POST", "/api/v2/dags/etl/favorite", nil, 204},
		{auth.Viewer, "POST", "/api/v2/dags/etl/unfavorite", nil, 204},
		{auth.Viewer, "POST", "/api/v2/dags/ghost/favorite", nil, 404},
		{auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/hitlDetails", nil, 200},
		{auth.Viewer, "GET", "/api/v2/dags/~/dagRuns/~/hitlDetails", nil, 200},
		{auth.Viewer, "GET", ti + "/load/-1/hitlDetails/tries/1", nil, 404},
		{auth.Viewer, "GET", ti + "/load/links", nil, 200},
		{auth.Viewer, "GET", ti + "/load/links?map_index=0", nil, 404},
		{auth.Viewer, "GET", ti + "/ghost/links", nil, 404},
		{auth.Viewer, "GET", "/api/v2/dags/ghost/dagRuns/r1/taskInstances/load/links", nil, 404},
		{auth.Viewer, "GET", ti + "/load/externalLogUrl/1", nil, 400},
		{auth.Viewer, "GET", ti + "/load/externalLogUrl/one", nil, 422},
	} {
		r := e.call(c.role, c.method, c.path, c.body)
		if r.status != c.want {
			t.Errorf("%s %s as %s: %d, want %d: %s", c.method, c.path, c.role, r.status, c.want, r.body)
		}
	}

	var links extraLinksResponse
	e.call(auth.Viewer, "GET", ti+"/load/links", nil).want(t, 200).decode(t, &links)
	if links.ExtraLinks == nil || len(links.ExtraLinks) != 0 || links.TotalEntries != 0 {
		t.Errorf("links %+v", links)
	}
	var list map[string]any
	e.call(auth.Viewer, "GET", "/api/v2/assets", nil).want(t, 200).decode(t, &list)
	if len(list["assets"].([]any)) != 0 || list["total_entries"] != float64(0) {
		t.Errorf("assets %+v", list)
	}
	e.wantAudit(t, "favorite_dag", 1, "viewer")
	e.wantAudit(t, "unfavorite_dag", 1, "viewer")

	// …/{map_index}/hitlDetails is served by the task instances'
	// dispatcher; here it is checked on its own.
	mux := http.NewServeMux()
	rt := &router{mux: mux, s: e.s}
	const hitl = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"
	rt.handle("GET "+hitl, auth.Viewer, tiDispatchGET["{map_index}/hitlDetails"])
	rt.handle("PATCH "+hitl, auth.User, tiDispatchPATCH["{map_index}/hitlDetails"])
	alone := &env{t: t, db: e.db, s: e.s, srv: httptest.NewServer(mux), tokens: e.tokens}
	defer alone.srv.Close()
	alone.call(auth.Viewer, "GET", ti+"/load/-1/hitlDetails", nil).want(t, 404)
	alone.call(auth.Viewer, "GET", ti+"/load/x/hitlDetails", nil).want(t, 422)
	alone.call(auth.User, "PATCH", ti+"/load/-1/hitlDetails", map[string]any{"chosen_options": []string{"ok"}}).want(t, 404)
}

func TestReparseDagFile(t *testing.T) {
	e := setup(t)
	e.seedRun("etl", "r1", "/dags/etl.yaml")
	token := base64.RawURLEncoding.EncodeToString([]byte("/dags/etl.yaml"))
	e.call(auth.User, "PUT", "/api/v2/parseDagFile/"+token, nil).want(t, 201)
	e.call(auth.User, "PUT", "/api/v2/parseDagFile/"+base64.RawURLEncoding.EncodeToString([]byte("/dags/nope.yaml")), nil).want(t, 404)
	e.call(auth.User, "PUT", "/api/v2/parseDagFile/not*base64", nil).want(t, 404)
	e.call(auth.Viewer, "PUT", "/api/v2/parseDagFile/"+token, nil).want(t, 403)
	e.wantAudit(t, "reparse_dag_file", 1, "user")
}

func TestLoginLogout(t *testing.T) {
	e := setup(t)
	r := e.public("GET", "/api/v2/auth/login?next=/dags/etl")
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "/auth/login?next=%2Fdags%2Fetl" {
		t.Errorf("login: %d %s", r.status, r.header.Get("Location"))
	}
	r = e.public("GET", "/api/v2/auth/login?next=https://evil.example.com/")
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "/auth/login" {
		t.Errorf("login to elsewhere: %d %s", r.status, r.header.Get("Location"))
	}
	r = e.public("GET", "/api/v2/auth/logout")
	cookie := r.header.Get("Set-Cookie")
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "/auth/login" ||
		!strings.HasPrefix(cookie, "_token=;") || !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "_csrf=;") || !strings.Contains(cookie, "Max-Age=0") || !strings.Contains(cookie, "HttpOnly") {
		t.Errorf("logout: %d %s %q", r.status, r.header.Get("Location"), cookie)
	}
}
