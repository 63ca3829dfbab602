package apiserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// getAccept sends a GET with an Accept header as a Viewer. The answer is
// not checked against the spec: text/plain is gust's extra, and the
// validator reads an NDJSON body as one JSON value (the spec's example has
// several lines, as Airflow answers).
func (e *env) getAccept(path, accept string) response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Viewer])
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// TestTaskLogs reads a try's log while it runs and after, in JSON (gust's
// own lines with their time and level), NDJSON and plain text, following
// the continuation token until the end of the log; unknown task
// instances and tries are 404, a forged token 400.
func TestTaskLogs(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"example.yaml": exampleDags})
	e.call(auth.User, "POST", "/api/v2/dags/etl/dagRuns", map[string]any{"dag_run_id": "r1"}).want(t, 200)
	ctx := context.Background()
	try := metadb.TryKey{TIKey: metadb.TIKey{DagID: "etl", RunID: "r1", TaskID: "extract", MapIndex: -1}, TryNumber: 1}
	if _, err := metadb.ApplyDecisions(ctx, e.db.Pool, "etl", "r1", []metadb.Decision{{TaskID: "extract", MapIndex: -1, To: "scheduled", NewTry: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := metadb.MarkQueued(ctx, e.db.Pool, 1, []metadb.TryKey{try}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := metadb.Claim(ctx, e.db.Pool, try, "w", 1); !ok || err != nil {
		t.Fatal(ok, err)
	}
	const path = "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/logs/1"
	first := "[2024-03-01T10:00:00.123Z] {gust} INFO - Executing extract\neu\n\npart"
	if _, err := metadb.HeartbeatTIs(ctx, e.db.Pool, "w", []metadb.TryKey{try}, metadb.LogChunk{Try: try, Seq: 1, Content: first}); err != nil {
		t.Fatal(err)
	}

	// Running: whole lines only, and a token to read on.
	var lr logResponse
	e.call(auth.Viewer, "GET", path, nil).want(t, 200).decode(t, &lr)
	if len(lr.Content) != 2 || lr.ContinuationToken == nil {
		t.Fatalf("while running: %+v", lr)
	}
	if m := lr.Content[0]; m.Event != "Executing extract" || m.Level != "info" || m.Timestamp == nil ||
		m.Timestamp.Format("15:04:05.000") != "10:00:00.123" || lr.Content[1] != (logMessage{Event: "eu"}) {
		t.Errorf("messages: %+v", lr.Content)
	}
	token := *lr.ContinuationToken
	e.call(auth.Viewer, "GET", path+"?token="+token, nil).want(t, 200).decode(t, &lr)
	if len(lr.Content) != 0 || lr.ContinuationToken == nil || *lr.ContinuationToken != token {
		t.Fatalf("nothing new yet: %+v", lr)
	}

	// The result carries the rest; reading on reaches the end of the log.
	rest := metadb.LogChunk{Try: try, Seq: 2, Pos: int64(len(first)), Content: "ial\n[2024-03-01T10:00:01.000Z] {gust} ERROR - Task failed: boom\n"}
	if ok, err := metadb.Finish(ctx, e.db.Pool, try, "failed", nil, rest); !ok || err != nil {
		t.Fatal(ok, err)
	}
	e.call(auth.Viewer, "GET", path+"?token="+token, nil).want(t, 200).decode(t, &lr)
	if len(lr.Content) != 2 || lr.Content[0].Event != "partial" || lr.Content[1].Level != "error" || lr.ContinuationToken != nil {
		t.Fatalf("after the result: %+v", lr)
	}
	var raw map[string]any
	e.call(auth.Viewer, "GET", path, nil).want(t, 200).decode(t, &raw)
	if _, ok := raw["continuation_token"]; !ok || raw["continuation_token"] != nil {
		t.Errorf("the end of the log has a null token: %v", raw)
	}

	// NDJSON: one message per line; plain text: the log itself.
	r := e.getAccept(path, "application/x-ndjson").want(t, 200)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 4 || r.header.Get("Content-Type") != "application/x-ndjson" || r.header.Get(continuationHeader) != "" {
		t.Fatalf("ndjson: %q %v", r.body, r.header)
	}
	var m logMessage
	if err := json.Unmarshal([]byte(lines[3]), &m); err != nil || m.Event != "Task failed: boom" {
		t.Errorf("ndjson line %q: %v", lines[3], err)
	}
	r = e.getAccept(path+"?map_index=-1&full_content=true", "text/plain").want(t, 200)
	if want := first + rest.Content; string(r.body) != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("text: %q, want %q", r.body, want)
	}
	r = e.getAccept(path+"?token="+token, "text/plain").want(t, 200)
	if string(r.body) != "partial\n[2024-03-01T10:00:01.000Z] {gust} ERROR - Task failed: boom\n" {
		t.Errorf("text from the token: %q", r.body)
	}

	// Not found, bad input.
	for _, p := range []string{
		"/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/logs/2",
		"/api/v2/dags/etl/dagRuns/r1/taskInstances/load/logs/1",
		"/api/v2/dags/etl/dagRuns/nope/taskInstances/extract/logs/1",
	} {
		if r := e.call(auth.Viewer, "GET", p, nil).want(t, 404); !strings.Contains(string(r.body), "TaskInstance not found") {
			t.Errorf("%s: %s", p, r.body)
		}
	}
	// The map index in the path (not in the spec, as for the other task
	// instance paths).
	if r := e.raw("GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/3/logs/1", "", "", e.tokens[auth.Viewer]); r.status != 404 {
		t.Errorf("map index 3: %d %s", r.status, r.body)
	}
	if r := e.raw("GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/-1/logs/1", "", "", e.tokens[auth.Viewer]); r.status != 200 {
		t.Errorf("map index -1 in the path: %d %s", r.status, r.body)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/etl/dagRuns/r1/taskInstances/extract/logs/x", nil).want(t, 422)
	e.call(auth.Viewer, "GET", path+"?full_content=maybe", nil).want(t, 422)
	if r := e.raw("GET", path+"?token=forged", "", "", e.tokens[auth.Viewer]); r.status != 400 || !strings.Contains(string(r.body), "Bad Signature") {
		t.Errorf("forged token: %d %s", r.status, r.body)
	}
	if r := e.raw("GET", path, "", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}
