package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gust-sched/gust/auth"
)

// Helpers of the admin resources' tests.

// exec runs SQL on the env's database.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// seedRun stores a DAG (parsed from fileloc) with one running run.
func (e *env) seedRun(dagID, runID, fileloc string) {
	e.t.Helper()
	hash := "hash-" + dagID
	e.exec(`INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data) VALUES ($1, $2, $3, '{}') ON CONFLICT DO NOTHING`, hash, dagID, fileloc)
	e.exec(`INSERT INTO dag (dag_id, fileloc, dag_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, dagID, fileloc, hash)
	e.exec(`INSERT INTO dag_run (dag_id, run_id, logical_date, state, run_type, dag_hash)
		VALUES ($1, $2, now() - (random() * interval '1000 days'), 'running', 'manual', $3)`, dagID, runID, hash)
}

// seedTI stores a task instance of a run, in a state and a pool.
func (e *env) seedTI(dagID, runID, taskID, state, pool string, slots int) {
	e.t.Helper()
	e.exec(`INSERT INTO task_instance (dag_id, run_id, task_id, state, operator, pool, pool_slots, queue)
		VALUES ($1, $2, $3, $4, 'bash', $5, $6, 'default')`, dagID, runID, taskID, state, pool, slots)
}

// callHeader is call with request headers.
func (e *env) callHeader(role auth.Role, method, path string, body any, header map[string]string) response {
	e.t.Helper()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(payload))
	if err != nil {
		e.t.Fatal(err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.validate(req, resp, b)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// public sends a request without a token, not following redirects.
func (e *env) public(method, path string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.validate(req, resp, b)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// with returns an env on the same database and users whose api-server has
// other options.
func (e *env) with(change func(*Options)) *env {
	e.t.Helper()
	opts := e.s.opts
	change(&opts)
	s, err := New(opts, e.db, e.s.kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	e2 := &env{t: e.t, db: e.db, s: s, srv: httptest.NewServer(s.Handler()), tokens: e.tokens}
	e.t.Cleanup(e2.srv.Close)
	return e2
}

// audited returns the audit log's events of a kind, oldest first, read
// through the API.
func (e *env) audited(t *testing.T, event string) []eventLogResponse {
	t.Helper()
	var out eventLogCollection
	e.call(auth.Viewer, "GET", "/api/v2/eventLogs?event="+url.QueryEscape(event), nil).want(t, 200).decode(t, &out)
	return out.EventLogs
}

// wantAudit fails unless the audit log holds n events of a kind, the last
// by owner.
func (e *env) wantAudit(t *testing.T, event string, n int, owner string) {
	t.Helper()
	es := e.audited(t, event)
	if len(es) != n {
		t.Fatalf("%d %s events, want %d: %+v", len(es), event, n, es)
	}
	if n > 0 && (es[n-1].Owner == nil || *es[n-1].Owner != owner) {
		t.Errorf("%s event owner = %v, want %s", event, es[n-1].Owner, owner)
	}
}

// issueLocs returns the locations of a 422's issues, as "body.slots".
func issueLocs(t *testing.T, r response) []string {
	t.Helper()
	var v struct {
		Detail []validationIssue `json:"detail"`
	}
	r.decode(t, &v)
	var out []string
	for _, is := range v.Detail {
		s := ""
		for i, l := range is.Loc {
			if i > 0 {
				s += "."
			}
			b, _ := json.Marshal(l)
			s += string(bytes.Trim(b, `"`))
		}
		out = append(out, s)
	}
	return out
}

// detail returns an error response's detail string.
func detail(t *testing.T, r response) string {
	t.Helper()
	var v struct {
		Detail string `json:"detail"`
	}
	r.decode(t, &v)
	return v.Detail
}
