package apiserver

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

const (
	connPassword = "hunter2-s3cret"
	connToken    = "tok-0123456789"
)

func TestConnections(t *testing.T) {
	e := setup(t)
	ctx := context.Background()

	pg := map[string]any{"connection_id": "pg", "conn_type": "postgres", "host": "db.example.com", "login": "etl",
		"password": connPassword, "port": 5432, "schema": "analytics",
		"extra": `{"sslmode":"require","api_token":"` + connToken + `","dsn":"postgres://etl:` + connPassword + `@db/analytics"}`}
	r := e.call(auth.Op, "POST", "/api/v2/connections", pg).want(t, 201)
	var c connectionResponse
	r.decode(t, &c)
	// The password is "***", sensitive extras too, and the password where
	// it appears inside the extra; the extra is in json.dumps's form.
	if c.ConnectionID != "pg" || c.ConnType != "postgres" || *c.Host != "db.example.com" || *c.Port != 5432 || *c.Login != "etl" ||
		*c.Schema != "analytics" || *c.Password != "***" || c.Description != nil || c.TeamName != nil {
		t.Errorf("created %+v", c)
	}
	if want := `{"sslmode": "require", "api_token": "***", "dsn": "postgres://etl:***@db/analytics"}`; *c.Extra != want {
		t.Errorf("extra %s, want %s", *c.Extra, want)
	}
	noSecrets := func(r response) {
		t.Helper()
		for _, s := range []string{connPassword, connToken} {
			if strings.Contains(string(r.body), s) {
				t.Errorf("secret %s in %s", s, r.body)
			}
		}
	}
	noSecrets(r)
	noSecrets(e.call(auth.Viewer, "GET", "/api/v2/connections/pg", nil).want(t, 200))
	noSecrets(e.call(auth.Viewer, "GET", "/api/v2/connections", nil).want(t, 200))

	// Stored encrypted, readable by the workers in clear.
	stored, err := metadb.GetConnection(ctx, e.db.Pool, e.s.kr, "pg", false)
	if err != nil || stored.Password != connPassword || !strings.Contains(stored.Extra, connToken) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	var raw string
	if err := e.db.Pool.QueryRow(ctx, `SELECT password FROM connection WHERE conn_id = 'pg'`).Scan(&raw); err != nil || strings.Contains(raw, connPassword) {
		t.Errorf("password at rest %q, %v", raw, err)
	}

	e.call(auth.Op, "POST", "/api/v2/connections", pg).want(t, 409)
	for _, cse := range []struct {
		body any
		loc  string
	}{
		{map[string]any{"connection_id": "bad id!", "conn_type": "http"}, "body.connection_id"},
		{map[string]any{"connection_id": "x"}, "body.conn_type"},
		{map[string]any{"connection_id": "x", "conn_type": "http", "extra": "not json"}, "body.extra"},
		{map[string]any{"connection_id": "x", "conn_type": "http", "extra": "[1]"}, "body.extra"},
		{map[string]any{"connection_id": "x", "conn_type": "http", "port": "80"}, "body.port"},
		{map[string]any{"connection_id": "x", "conn_type": "http", "uri": "http://x"}, "body.uri"},
	} {
		r := e.call(auth.Op, "POST", "/api/v2/connections", cse.body).want(t, 422)
		if locs := issueLocs(t, r); len(locs) != 1 || locs[0] != cse.loc {
			t.Errorf("POST %v: issues at %v, want %s", cse.body, locs, cse.loc)
		}
	}
	// An empty extra is an empty object, as Airflow's.
	e.call(auth.Op, "POST", "/api/v2/connections", map[string]any{"connection_id": "web", "conn_type": "http", "extra": ""}).
		want(t, 201).decode(t, &c)
	if c.Extra == nil || *c.Extra != "{}" || c.Password != nil || c.Port != nil {
		t.Errorf("web %+v", c)
	}

	// What a client read can be sent back: the masked secrets stay.
	back := map[string]any{"connection_id": "pg", "conn_type": "postgres", "host": "db2.example.com", "login": "etl",
		"password": "***", "port": 5432, "schema": "analytics",
		"extra": `{"sslmode": "disable", "api_token": "***", "dsn": "postgres://etl:***@db/analytics"}`}
	e.call(auth.Op, "PATCH", "/api/v2/connections/pg", back).want(t, 200).decode(t, &c)
	if *c.Host != "db2.example.com" || *c.Password != "***" {
		t.Errorf("patched %+v", c)
	}
	stored, _ = metadb.GetConnection(ctx, e.db.Pool, e.s.kr, "pg", false)
	if stored.Password != connPassword || stored.ExtraMap()["api_token"] != connToken || stored.ExtraMap()["sslmode"] != "disable" {
		t.Errorf("stored after PATCH %+v", stored)
	}
	// update_mask: only those fields; a password in the mask but not in the
	// body is cleared, as Airflow's.
	e.call(auth.Op, "PATCH", "/api/v2/connections/pg?update_mask=port&update_mask=password",
		map[string]any{"connection_id": "pg", "conn_type": "mysql", "port": 6543}).want(t, 200).decode(t, &c)
	if c.ConnType != "postgres" || *c.Port != 6543 || c.Password != nil || *c.Host != "db2.example.com" {
		t.Errorf("patched with a mask %+v", c)
	}
	e.call(auth.Op, "PATCH", "/api/v2/connections/pg", map[string]any{"connection_id": "other", "conn_type": "x"}).want(t, 400)
	e.call(auth.Op, "PATCH", "/api/v2/connections/ghost", map[string]any{"connection_id": "ghost", "conn_type": "x"}).want(t, 404)

	// Pages, order, patterns.
	ids := func(path string) ([]string, int) {
		t.Helper()
		var l connectionCollection
		e.call(auth.Viewer, "GET", path, nil).want(t, 200).decode(t, &l)
		var out []string
		for _, c := range l.Connections {
			out = append(out, c.ConnectionID)
		}
		return out, l.TotalEntries
	}
	for _, cse := range []struct {
		path  string
		want  []string
		total int
	}{
		{"/api/v2/connections", []string{"pg", "web"}, 2},
		{"/api/v2/connections?order_by=-connection_id&limit=1", []string{"web"}, 2},
		{"/api/v2/connections?order_by=conn_type", []string{"web", "pg"}, 2},
		{"/api/v2/connections?connection_id_pattern=W", []string{"web"}, 1},
		{"/api/v2/connections?order_by=team_name&order_by=-port", []string{"pg", "web"}, 2},
	} {
		if got, total := ids(cse.path); !reflect.DeepEqual(got, cse.want) || total != cse.total {
			t.Errorf("%s: %v (%d), want %v (%d)", cse.path, got, total, cse.want, cse.total)
		}
	}

	e.call(auth.Op, "DELETE", "/api/v2/connections/web", nil).want(t, 204)
	if r := e.call(auth.Op, "DELETE", "/api/v2/connections/web", nil).want(t, 404); detail(t, r) != "The Connection with connection_id: `web` was not found" {
		t.Errorf("404 %s", r.body)
	}

	// Airflow's default connections, for what gust runs; twice is harmless.
	e.call(auth.Op, "POST", "/api/v2/connections/defaults", nil).want(t, 204)
	e.call(auth.Op, "POST", "/api/v2/connections/defaults", nil).want(t, 204)
	e.call(auth.Viewer, "GET", "/api/v2/connections/http_default", nil).want(t, 200)
	e.call(auth.Viewer, "GET", "/api/v2/connections/fs_default", nil).want(t, 200)
	e.call(auth.User, "POST", "/api/v2/connections/defaults", nil).want(t, 403)

	e.wantAudit(t, "post_connection", 2, "op")
	e.wantAudit(t, "patch_connection", 2, "op")
	e.wantAudit(t, "delete_connection", 1, "op")
	e.wantAudit(t, "create_default_connections", 2, "op")
	noSecrets(e.call(auth.Viewer, "GET", "/api/v2/eventLogs", nil).want(t, 200))
}

func TestTestConnection(t *testing.T) {
	e := setup(t)
	body := map[string]any{"connection_id": "probe", "conn_type": "http", "host": "127.0.0.1", "port": 1}
	r := e.call(auth.Op, "POST", "/api/v2/connections/test", body).want(t, 403)
	if !strings.Contains(detail(t, r), "Testing connections is disabled") {
		t.Errorf("403 %s", r.body)
	}

	on := e.with(func(o *Options) { o.TestConnection = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var res connectionTestResponse
	on.call(auth.Op, "POST", "/api/v2/connections/test", map[string]any{"connection_id": "probe", "conn_type": "http",
		"host": "http://127.0.0.1:" + strconv.Itoa(port) + "/"}).want(t, 200).decode(t, &res)
	if !res.Status {
		t.Errorf("reachable: %+v", res)
	}
	ln.Close()
	on.call(auth.Op, "POST", "/api/v2/connections/test", map[string]any{"connection_id": "probe", "conn_type": "http",
		"host": "127.0.0.1", "port": port}).want(t, 200).decode(t, &res)
	if res.Status || res.Message == "" {
		t.Errorf("closed port: %+v", res)
	}
	on.call(auth.Op, "POST", "/api/v2/connections/test", map[string]any{"connection_id": "probe", "conn_type": "fs"}).
		want(t, 200).decode(t, &res)
	if res.Status {
		t.Errorf("no host: %+v", res)
	}
	on.call(auth.User, "POST", "/api/v2/connections/test", body).want(t, 403)
	on.call(auth.Op, "POST", "/api/v2/connections/test", map[string]any{"conn_type": "http"}).want(t, 422)
}

func TestBulkConnections(t *testing.T) {
	e := setup(t)
	e.call(auth.Op, "POST", "/api/v2/connections", map[string]any{"connection_id": "a", "conn_type": "http", "password": connPassword}).want(t, 201)

	var res bulkResponse
	e.call(auth.Op, "PATCH", "/api/v2/connections", map[string]any{"actions": []any{
		map[string]any{"action": "create", "entities": []any{map[string]any{"connection_id": "a", "conn_type": "http"}}},
		map[string]any{"action": "create", "action_on_existence": "skip", "entities": []any{
			map[string]any{"connection_id": "a", "conn_type": "http"}, map[string]any{"connection_id": "b", "conn_type": "ftp"}}},
		map[string]any{"action": "update", "entities": []any{
			map[string]any{"connection_id": "a", "conn_type": "https", "password": "***", "host": "h"}}},
		map[string]any{"action": "delete", "action_on_non_existence": "skip", "entities": []any{map[string]any{"connection_id": "b"}, "c"}},
	}}).want(t, 200).decode(t, &res)
	if !reflect.DeepEqual(res.Create.Success, []string{"b"}) || len(res.Create.Errors) != 1 || res.Create.Errors[0]["status_code"] != float64(409) ||
		!reflect.DeepEqual(res.Update.Success, []string{"a"}) || !reflect.DeepEqual(res.Delete.Success, []string{"b"}) {
		t.Fatalf("bulk %+v %+v %+v", res.Create, res.Update, res.Delete)
	}
	stored, err := metadb.GetConnection(context.Background(), e.db.Pool, e.s.kr, "a", false)
	if err != nil || stored.ConnType != "https" || stored.Host != "h" || stored.Password != connPassword {
		t.Errorf("a = %+v, %v", stored, err)
	}
	e.wantAudit(t, "bulk_connections", 1, "op")
}
