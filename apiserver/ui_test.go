package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// webLogin posts the login page's form and returns the response.
func (e *env) webLogin(username, password, next string) *http.Response {
	e.t.Helper()
	form := url.Values{"username": {username}, "password": {password}, "next": {next}}
	resp, err := noRedirect.PostForm(e.srv.URL+"/auth/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestWebLogin(t *testing.T) {
	e := setup(t)
	resp := e.webLogin("admin", "admin-pass", "/dags/etl?x=1")
	tok, csrf := cookieOf(resp, tokenCookie), cookieOf(resp, csrfCookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dags/etl?x=1" || tok == nil || csrf == nil {
		t.Fatalf("login: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	if !tok.HttpOnly || tok.SameSite != http.SameSiteStrictMode || csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode ||
		tok.MaxAge != 3600 || len(csrf.Value) < 40 {
		t.Errorf("cookies: %+v %+v", tok, csrf)
	}
	for _, c := range []struct{ user, pass, next, want string }{
		{"admin", "wrong", "/dags", "/auth/login?error=invalid&next=%2Fdags"},
		{"nobody", "x", "", "/auth/login?error=invalid&next=%2Fdags"},
		{"admin", "", "https://evil.example.com/", "/auth/login?error=invalid&next=%2Fdags"},
	} {
		resp := e.webLogin(c.user, c.pass, c.next)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != c.want || cookieOf(resp, tokenCookie) != nil {
			t.Errorf("login %s/%s: %d %q", c.user, c.pass, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/auth/login", strings.NewReader("username=admin&password=admin-pass"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusForbidden || cookieOf(resp, tokenCookie) != nil {
		t.Errorf("cross-origin login: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp := e.webLogin("admin", "admin-pass", "//evil.example.com/"); resp.Header.Get("Location") != "/dags" {
		t.Errorf("login with a foreign next: %q, want /dags", resp.Header.Get("Location"))
	}
}

// TestCookieCSRF: the UI's cookie authenticates reads; a write needs the
// CSRF cookie's value in X-CSRF-Token too (a cross-site request has
// neither), while a bearer token needs none.
func TestCookieCSRF(t *testing.T) {
	e := setup(t)
	e.addDags(map[string]string{"dags.yaml": exampleDags})
	resp := e.webLogin("user", "user-pass", "")
	tok, csrf := cookieOf(resp, tokenCookie), cookieOf(resp, csrfCookie)
	do := func(method, path, header string, cookies ...*http.Cookie) (int, string) {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(`{"is_paused": true}`))
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set(csrfHeader, header)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		return resp.StatusCode, b.String()
	}
	for _, c := range []struct {
		method, header string
		cookies        []*http.Cookie
		want           int
	}{
		{"GET", "", []*http.Cookie{tok}, 200},
		{"PATCH", "", []*http.Cookie{tok}, 403},
		{"PATCH", "", []*http.Cookie{tok, csrf}, 403},
		{"PATCH", "forged", []*http.Cookie{tok, csrf}, 403},
		{"PATCH", csrf.Value, []*http.Cookie{tok}, 403},
		{"PATCH", csrf.Value, []*http.Cookie{tok, csrf}, 200},
		{"PATCH", csrf.Value, []*http.Cookie{csrf}, 401},
	} {
		if code, body := do(c.method, "/api/v2/dags/etl", c.header, c.cookies...); code != c.want {
			t.Errorf("%s header=%q cookies=%d: %d %s, want %d", c.method, c.header, len(c.cookies), code, body, c.want)
		}
	}
	e.call(auth.User, "PATCH", "/api/v2/dags/etl", map[string]any{"is_paused": false}).want(t, 200)
}

// private calls a /ui endpoint, which Airflow's spec does not describe.
func (e *env) private(role auth.Role, path string) response {
	e.t.Helper()
	return e.raw("GET", path, "", "", e.tokens[role])
}

func TestUIEndpoints(t *testing.T) {
	e := setup(t)
	var me struct {
		Username string `json:"username"`
		Role     string `json:"role"`
		CanEdit  bool   `json:"can_edit"`
	}
	e.private(auth.Viewer, "/ui/me").want(t, 200).decode(t, &me)
	if me.Username != "viewer" || me.Role != "Viewer" || me.CanEdit {
		t.Errorf("viewer's /ui/me: %+v", me)
	}
	e.private(auth.User, "/ui/me").want(t, 200).decode(t, &me)
	if !me.CanEdit {
		t.Errorf("user's /ui/me: %+v", me)
	}
	e.seedRun("a", "r1", "/dags/a.yaml")
	e.seedRun("a", "r2", "/dags/a.yaml")
	e.seedRun("a", "r3", "/dags/a.yaml")
	e.seedRun("b", "r1", "/dags/b.yaml")
	var got struct {
		Dags []struct {
			DagID string `json:"dag_id"`
			Runs  []struct {
				DagRunID string `json:"dag_run_id"`
				State    string `json:"state"`
			} `json:"latest_dag_runs"`
		} `json:"dags"`
	}
	e.private(auth.Viewer, "/ui/dags/recent_dag_runs?dag_ids=b&dag_ids=a&dag_ids=none&dag_runs_limit=2").want(t, 200).decode(t, &got)
	if len(got.Dags) != 3 || got.Dags[0].DagID != "b" || len(got.Dags[0].Runs) != 1 || got.Dags[1].DagID != "a" ||
		len(got.Dags[1].Runs) != 2 || got.Dags[1].Runs[0].State != "running" || len(got.Dags[2].Runs) != 0 {
		t.Errorf("recent runs: %+v", got)
	}
	e.private(auth.Viewer, "/ui/dags/recent_dag_runs?dag_runs_limit=0").want(t, 422)

	// The grid: rows are tasks upstream first, a mapped task shows its most
	// pressing state, a task with no instance in a run is null.
	e.addDags(map[string]string{"g.yaml": `
g:
  tasks:
    zlast: {operator: empty, dependencies: [fan]}
    fan: {operator: bash, bash_command: 'true', dependencies: [extract]}
    extract: {operator: bash, bash_command: 'true'}
    side: {operator: empty}
`})
	e.seedRun("g", "r1", "/dags/g.yaml")
	e.seedRun("g", "r2", "/dags/g.yaml")
	e.seedTI("g", "r1", "extract", "success", "default_pool", 1)
	e.seedTI("g", "r2", "extract", "", "default_pool", 1)
	e.seedTI("g", "r1", "gone", "failed", "default_pool", 1) // a task the DAG no longer has
	for i, state := range []string{"success", "failed", "running"} {
		e.exec(`INSERT INTO task_instance (dag_id, run_id, task_id, map_index, state, operator, pool, pool_slots, queue, try_number)
			VALUES ('g', 'r1', 'fan', $1, $2, 'bash', 'default_pool', 1, 'default', $3)`, i, state, i+1)
	}
	e.exec(`UPDATE dag_run SET logical_date = now() - interval '1 day' WHERE dag_id = 'g' AND run_id = 'r1'`)
	e.exec(`UPDATE dag_run SET logical_date = now() WHERE dag_id = 'g' AND run_id = 'r2'`)
	var grid struct {
		Runs []struct {
			DagRunID string `json:"dag_run_id"`
		} `json:"dag_runs"`
		TaskIDs []string `json:"task_ids"`
		TIs     [][]any  `json:"task_instances"`
	}
	e.private(auth.Viewer, "/ui/grid/g?limit=5").want(t, 200).decode(t, &grid)
	if got := fmt.Sprint(grid.TaskIDs); got != "[fan extract side zlast]" && got != "[extract fan side zlast]" && got != "[extract side fan zlast]" {
		t.Errorf("grid rows %v: want upstream first", grid.TaskIDs)
	}
	cells := map[string]string{}
	for i, run := range grid.Runs {
		if len(grid.TIs) <= i || len(grid.TIs[i]) != len(grid.TaskIDs) {
			t.Fatalf("grid rows of %s: %v", run.DagRunID, grid.TIs)
		}
		for j, c := range grid.TIs[i] {
			cells[run.DagRunID+"/"+grid.TaskIDs[j]] = fmt.Sprint(c)
		}
	}
	want := map[string]string{"r1/extract": "[success 0 1]", "r2/extract": "[<nil> 0 1]", "r1/fan": "[failed 3 3]",
		"r2/fan": "<nil>", "r1/side": "<nil>", "r1/zlast": "<nil>"}
	for k, v := range want {
		if cells[k] != v {
			t.Errorf("grid cell %s = %s, want %s (all: %v)", k, cells[k], v, cells)
		}
	}
	if len(grid.Runs) != 2 || grid.Runs[0].DagRunID != "r2" {
		t.Errorf("grid runs %+v: want r2, r1", grid.Runs)
	}
	e.private(auth.Viewer, "/ui/grid/g?run_id=r1").want(t, 200).decode(t, &grid)
	if len(grid.Runs) != 1 || grid.Runs[0].DagRunID != "r1" || len(grid.TIs) != 1 {
		t.Errorf("grid of one run: %+v", grid)
	}
	e.private(auth.Viewer, "/ui/grid/g?run_id=nope").want(t, 404)
	e.private(auth.Viewer, "/ui/grid/nope").want(t, 404)

	// The structure: every task a node, every dependency an edge.
	var st struct {
		Nodes []struct {
			ID       string `json:"id"`
			Label    string `json:"label"`
			Type     string `json:"type"`
			Operator string `json:"operator"`
		} `json:"nodes"`
		Edges []struct {
			Source string `json:"source_id"`
			Target string `json:"target_id"`
		} `json:"edges"`
	}
	e.private(auth.Viewer, "/ui/structure/structure_data?dag_id=g").want(t, 200).decode(t, &st)
	var nodes, edges []string
	for _, n := range st.Nodes {
		nodes = append(nodes, n.ID+":"+n.Type+":"+n.Operator)
	}
	for _, e := range st.Edges {
		edges = append(edges, e.Source+">"+e.Target)
	}
	sort.Strings(nodes)
	sort.Strings(edges)
	if fmt.Sprint(nodes) != "[extract:task:BashOperator fan:task:BashOperator side:task:EmptyOperator zlast:task:EmptyOperator]" ||
		fmt.Sprint(edges) != "[extract>fan fan>zlast]" {
		t.Errorf("structure: nodes %v edges %v", nodes, edges)
	}
	e.private(auth.Viewer, "/ui/structure/structure_data?dag_id=nope").want(t, 404)
	e.private(auth.Viewer, "/ui/structure/structure_data").want(t, 422)

	// Task groups: nested nodes in the structure, each group's cell the most
	// pressing state inside it, and the task instance list's task_group_id.
	e.addDags(map[string]string{"tg.yaml": `
tg:
  task_groups:
    outer: {tooltip: the outer one}
    inner: {parent_group_name: outer}
  tasks:
    start: {operator: empty}
    a: {operator: empty, task_group_name: outer, dependencies: [start]}
    b: {operator: empty, task_group_name: inner, dependencies: [a]}
    end: {operator: empty, dependencies: [outer]}
`})
	e.seedRun("tg", "r1", "/dags/tg.yaml")
	e.seedTI("tg", "r1", "start", "success", "default_pool", 1)
	e.seedTI("tg", "r1", "outer.a", "success", "default_pool", 1)
	e.seedTI("tg", "r1", "outer.inner.b", "failed", "default_pool", 1)
	e.seedTI("tg", "r1", "end", "upstream_failed", "default_pool", 1)
	var tree struct {
		Nodes []structureNode `json:"nodes"`
	}
	e.private(auth.Viewer, "/ui/structure/structure_data?dag_id=tg").want(t, 200).decode(t, &tree)
	var show func(ns []structureNode) string
	show = func(ns []structureNode) string {
		var parts []string
		for _, n := range ns {
			s := n.ID + "=" + n.Label
			if n.Children != nil {
				s += "(" + show(n.Children) + ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	if got := show(tree.Nodes); got != "start=start outer=outer(outer.a=a outer.inner=inner(outer.inner.b=b)) end=end" {
		t.Errorf("structure with groups: %s", got)
	}
	if tip := tree.Nodes[1].Tooltip; tip == nil || *tip != "the outer one" {
		t.Errorf("outer's tooltip: %v", tip)
	}
	var gg struct {
		TaskIDs  []string    `json:"task_ids"`
		GroupOf  []string    `json:"task_group_ids"`
		Groups   []gridGroup `json:"task_groups"`
		GroupTIs [][]any     `json:"group_instances"`
	}
	e.private(auth.Viewer, "/ui/grid/tg").want(t, 200).decode(t, &gg)
	if fmt.Sprint(gg.TaskIDs) != "[start outer.a outer.inner.b end]" || fmt.Sprint(gg.GroupOf) != "[ outer outer.inner ]" ||
		len(gg.Groups) != 2 || gg.Groups[1] != (gridGroup{GroupID: "outer.inner", Label: "inner", Parent: "outer"}) {
		t.Errorf("grid of groups: %+v", gg)
	}
	if fmt.Sprint(gg.GroupTIs) != "[[[failed 0 2] [failed 0 1]]]" {
		t.Errorf("group cells = %v, want outer failed over 2 instances, inner failed over 1", gg.GroupTIs)
	}
	var inGroup struct {
		TIs []struct {
			TaskID string `json:"task_id"`
		} `json:"task_instances"`
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/tg/dagRuns/r1/taskInstances?task_group_id=outer", nil).want(t, 200).decode(t, &inGroup)
	if len(inGroup.TIs) != 2 || inGroup.TIs[0].TaskID != "outer.a" || inGroup.TIs[1].TaskID != "outer.inner.b" {
		t.Errorf("task_group_id=outer: %+v", inGroup.TIs)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/tg/dagRuns/r1/taskInstances?task_group_id=outer.inner&task_id=outer.a", nil).want(t, 200).decode(t, &inGroup)
	if len(inGroup.TIs) != 0 {
		t.Errorf("task_group_id=outer.inner&task_id=outer.a: %+v, want none", inGroup.TIs)
	}
	e.call(auth.Viewer, "GET", "/api/v2/dags/tg/dagRuns/r1/taskInstances?task_group_id=inner", nil).want(t, 404)

	// Setups and teardowns carry Airflow's setup_teardown_type, and the
	// edge from a setup to its teardown is_setup_teardown.
	e.addDags(map[string]string{"st.yaml": `
st:
  tasks:
    s: {operator: empty, is_setup: true}
    w: {operator: empty, dependencies: [s]}
    td: {operator: empty, is_teardown: true, dependencies: [s, w]}
`})
	var stree struct {
		Nodes []structureNode `json:"nodes"`
		Edges []structureEdge `json:"edges"`
	}
	e.private(auth.Viewer, "/ui/structure/structure_data?dag_id=st").want(t, 200).decode(t, &stree)
	types := map[string]string{}
	for _, n := range stree.Nodes {
		if n.SetupTeardownType != nil {
			types[n.ID] = *n.SetupTeardownType
		}
	}
	flagged := map[string]bool{}
	for _, ed := range stree.Edges {
		flagged[ed.SourceID+">"+ed.TargetID] = ed.IsSetupTeardown != nil && *ed.IsSetupTeardown
	}
	if fmt.Sprint(types) != "map[s:setup td:teardown]" || !flagged["s>td"] || flagged["s>w"] || flagged["w>td"] {
		t.Errorf("setup/teardown in the structure: %v %v", types, flagged)
	}

	// The Gantt chart: each task instance with its times, upstream first.
	e.exec(`UPDATE task_instance SET queued_dttm = now() - interval '3 minutes', start_date = now() - interval '2 minutes',
		end_date = now() - interval '1 minute' WHERE dag_id = 'g' AND run_id = 'r1' AND task_id = 'extract'`)
	var gantt struct {
		RunID string `json:"run_id"`
		TIs   []struct {
			TaskID   string     `json:"task_id"`
			MapIndex int        `json:"map_index"`
			State    *string    `json:"state"`
			Queued   *time.Time `json:"queued_dttm"`
			Start    *time.Time `json:"start_date"`
			End      *time.Time `json:"end_date"`
		} `json:"task_instances"`
	}
	e.private(auth.Viewer, "/ui/gantt/g/r1").want(t, 200).decode(t, &gantt)
	if gantt.RunID != "r1" || len(gantt.TIs) != 5 || gantt.TIs[0].TaskID != "extract" || gantt.TIs[0].Start == nil ||
		gantt.TIs[0].End == nil || !gantt.TIs[0].Queued.Before(*gantt.TIs[0].Start) || gantt.TIs[1].TaskID != "fan" || gantt.TIs[3].MapIndex != 2 {
		t.Errorf("gantt: %+v", gantt)
	}
	e.private(auth.Viewer, "/ui/gantt/g/nope").want(t, 404)
	// An earlier recorded try is a bar of its own, before the current one.
	e.exec(`UPDATE task_instance SET try_number = 2 WHERE dag_id = 'g' AND run_id = 'r1' AND task_id = 'extract'`)
	e.exec(`INSERT INTO task_instance_history (dag_id, run_id, task_id, map_index, try_number, state, start_date, end_date)
		VALUES ('g', 'r1', 'extract', -1, 1, 'failed', now() - interval '5 minutes', now() - interval '4 minutes')`)
	e.private(auth.Viewer, "/ui/gantt/g/r1").want(t, 200).decode(t, &gantt)
	if len(gantt.TIs) != 6 || gantt.TIs[0].TaskID != "extract" || *gantt.TIs[0].State != "failed" || gantt.TIs[1].TaskID != "extract" ||
		*gantt.TIs[1].State != "success" || !gantt.TIs[0].End.Before(*gantt.TIs[1].Start) {
		t.Errorf("gantt with an earlier try: %+v", gantt.TIs)
	}

	// A task instance answers the fields its latest finished try rendered.
	var ti tiResponse
	e.call(auth.Viewer, "GET", "/api/v2/dags/g/dagRuns/r1/taskInstances/extract", nil).want(t, 200).decode(t, &ti)
	if len(ti.RenderedFields) != 0 {
		t.Errorf("rendered fields before any try: %v", ti.RenderedFields)
	}
	e.exec(`INSERT INTO rendered_task_instance_fields (dag_id, run_id, task_id, map_index, try_number, rendered_fields)
		VALUES ('g', 'r1', 'extract', -1, 1, '{"bash_command": "echo ***"}')`)
	e.call(auth.Viewer, "GET", "/api/v2/dags/g/dagRuns/r1/taskInstances/extract", nil).want(t, 200).decode(t, &ti)
	if ti.RenderedFields["bash_command"] != "echo ***" {
		t.Errorf("rendered fields: %v", ti.RenderedFields)
	}
	if r := e.raw("GET", "/ui/me", "", "", ""); r.status != 401 {
		t.Errorf("/ui/me without a token: %d", r.status)
	}
}

// TestUIPages: pages need a session (else the login page, keeping where
// the browser was going); the login page and assets do not; all carry the
// CSP.
func TestUIPages(t *testing.T) {
	e := setup(t)
	get := func(path string, cookies ...*http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/dags/etl?tab=x"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/auth/login?next=%2Fdags%2Fetl%3Ftab%3Dx" {
		t.Errorf("page without a session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	tok := cookieOf(e.webLogin("viewer", "viewer-pass", ""), tokenCookie)
	for _, p := range []string{"/dags", "/dags/etl", "/dags/etl/runs", "/dags/etl/runs/r1/tasks/t1", "/auth/login", "/static/app.js", "/static/gust.css"} {
		r := get(p, tok)
		if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: %d csp=%q", p, r.StatusCode, r.Header.Get("Content-Security-Policy"))
		}
	}
	if r := get("/", tok); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/home" {
		t.Errorf("GET /: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, p := range []string{"/nope", "/static/nope.js", "/ui/nope"} {
		if r := get(p, tok); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
	if r := get("/api/v1/dags"); r.StatusCode != 404 {
		t.Errorf("/api/v1: %d", r.StatusCode)
	}
}
