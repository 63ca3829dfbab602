package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
)

func TestTokensAndBasics(t *testing.T) {
	e := setup(t)
	var v versionInfo
	e.call(auth.Viewer, "GET", "/api/v2/version", nil).want(t, 200).decode(t, &v)
	if v.Version != "9.9.9-test" {
		t.Errorf("version = %+v", v)
	}
	e.call(auth.Viewer, "GET", "/api/v2/monitor/health", nil).want(t, 200)

	// Form login works as JSON login does; bad credentials are a 401.
	if r := e.raw("POST", "/auth/token", "application/x-www-form-urlencoded", "username=viewer&password=viewer-pass", ""); r.status != http.StatusCreated {
		t.Errorf("form login: %d %s", r.status, r.body)
	}
	if r := e.raw("POST", "/auth/token", "application/json", `{"username": "viewer", "password": "nope"}`, ""); r.status != http.StatusUnauthorized {
		t.Errorf("bad password: %d %s", r.status, r.body)
	}
	if r := e.raw("POST", "/auth/token", "application/json", `{"username": "viewer"`, ""); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad JSON login: %d %s", r.status, r.body)
	}
	// Airflow 2's API is gone, with Airflow 3's words.
	if r := e.raw("GET", "/api/v1/dags", "", "", e.tokens[auth.Admin]); r.status != 404 || !strings.Contains(string(r.body), "/api/v2") {
		t.Errorf("/api/v1: %d %s", r.status, r.body)
	}
}

func TestRepeatedFailedLoginsAreSlowedDown(t *testing.T) {
	e := setup(t)
	for i := 0; i < 5; i++ {
		if r := e.raw("POST", "/auth/token", "application/json", `{"username": "op", "password": "guess"}`, ""); r.status != 401 {
			t.Fatalf("failed login %d: %d %s", i+1, r.status, r.body)
		}
	}
	// Now even the right password must wait.
	r := e.raw("POST", "/auth/token", "application/json", `{"username": "op", "password": "op-pass"}`, "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("login after 5 failures: %d %s, want 429 with Retry-After", r.status, r.body)
	}
}
