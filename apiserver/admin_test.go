package apiserver

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

func TestEventLogs(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// Events a minute apart, the last one a minute ago.
	n := 0
	add := func(ev metadb.Event) int64 {
		t.Helper()
		if err := metadb.AddEvent(ctx, e.db.Pool, &ev); err != nil {
			t.Fatal(err)
		}
		n++
		e.exec(`UPDATE event_log SET dttm = now() - make_interval(mins => 4 - $2::int) WHERE id = $1`, ev.ID, n)
		return ev.ID
	}
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	first := add(metadb.Event{Event: "trigger_dag_run", Owner: s("alice"), DagID: s("etl"), RunID: s("manual__1")})
	add(metadb.Event{Event: "clear", Owner: s("bob"), DagID: s("ml_train"), TaskID: s("fit"), MapIndex: i(2), TryNumber: i(1)})
	add(metadb.Event{Event: "cli_task_run", Owner: s("cli:root"), DagID: s("etl"), TaskID: s("load"), Extra: s(`{"host": "w1"}`)})
	mid := time.Now().Add(-90 * time.Second)

	var one eventLogResponse
	e.call(auth.Viewer, "GET", fmt.Sprintf("/api/v2/eventLogs/%d", first), nil).want(t, 200).decode(t, &one)
	if one.Event != "trigger_dag_run" || *one.Owner != "alice" || *one.DagID != "etl" || *one.DagDisplayName != "etl" ||
		*one.RunID != "manual__1" || one.TaskID != nil || one.When.IsZero() {
		t.Errorf("event %+v", one)
	}
	e.call(auth.Viewer, "GET", "/api/v2/eventLogs/999999", nil).want(t, 404)
	e.call(auth.Viewer, "GET", "/api/v2/eventLogs/abc", nil).want(t, 422)

	events := func(query string) ([]string, int) {
		t.Helper()
		var l eventLogCollection
		e.call(auth.Viewer, "GET", "/api/v2/eventLogs?"+query, nil).want(t, 200).decode(t, &l)
		var out []string
		for _, ev := range l.EventLogs {
			out = append(out, ev.Event)
		}
		return out, l.TotalEntries
	}
	at := url.QueryEscape(mid.UTC().Format(time.RFC3339Nano))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"trigger_dag_run", "clear", "cli_task_run"}},
		{"order_by=-when", []string{"cli_task_run", "clear", "trigger_dag_run"}},
		{"dag_id=etl", []string{"trigger_dag_run", "cli_task_run"}},
		{"task_id=fit&map_index=2&try_number=1", []string{"clear"}},
		{"map_index=3", nil},
		{"owner=bob", []string{"clear"}},
		{"event=clear", []string{"clear"}},
		{"included_events=clear&included_events=cli_task_run", []string{"clear", "cli_task_run"}},
		{"excluded_events=clear", []string{"trigger_dag_run", "cli_task_run"}},
		{"before=" + at, []string{"trigger_dag_run", "clear"}},
		{"after=" + at, []string{"cli_task_run"}},
		{"dag_id_pattern=ML", []string{"clear"}},
		{"dag_id_pattern=ml%20|%20nothing", []string{"clear"}},
		{"owner_pattern=cli:", []string{"cli_task_run"}},
		{"event_pattern=dag_run", []string{"trigger_dag_run"}},
		{"task_id_pattern=l_a", []string{"cli_task_run"}},
		{"run_id_pattern=manual", []string{"trigger_dag_run"}},
	} {
		if got, _ := events(c.query); !reflect.DeepEqual(got, c.want) {
			t.Errorf("?%s: %v, want %v", c.query, got, c.want)
		}
	}
	if got, total := events("limit=1&offset=1"); !reflect.DeepEqual(got, []string{"clear"}) || total != 3 {
		t.Errorf("page: %v (%d)", got, total)
	}
	for _, q := range []string{"map_index=x", "before=yesterday", "limit=-1"} {
		e.call(auth.Viewer, "GET", "/api/v2/eventLogs?"+q, nil).want(t, 422)
	}
	if r := e.raw("GET", "/api/v2/eventLogs?order_by=map_index", "", "", e.tokens[auth.Viewer]); r.status != 400 {
		t.Errorf("order_by=map_index: %d", r.status)
	}
}

func TestJobs(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	sched, err := metadb.RegisterJob(ctx, e.db.Pool, "SchedulerJob", "host-a", 10)
	if err != nil {
		t.Fatal(err)
	}
	worker, _ := metadb.RegisterJob(ctx, e.db.Pool, "WorkerJob", "gust.1@host-b", 11)
	old, _ := metadb.RegisterJob(ctx, e.db.Pool, "SchedulerJob", "host-c", 12)
	if err := metadb.EndJob(ctx, e.db.Pool, old); err != nil {
		t.Fatal(err)
	}
	stale, _ := metadb.RegisterJob(ctx, e.db.Pool, "WorkerJob", "gust.2@host-d", 13)
	e.exec(`UPDATE job SET latest_heartbeat = now() - interval '1 hour', start_date = now() - interval '2 hours' WHERE id = $1`, stale)

	ids := func(query string) ([]int64, int) {
		t.Helper()
		var l jobCollection
		e.call(auth.Viewer, "GET", "/api/v2/jobs?"+query, nil).want(t, 200).decode(t, &l)
		var out []int64
		for _, j := range l.Jobs {
			out = append(out, j.ID)
		}
		return out, l.TotalEntries
	}
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	for _, c := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{sched, worker, old, stale}},
		{"order_by=-id", []int64{stale, old, worker, sched}},
		{"job_type=SchedulerJob", []int64{sched, old}},
		{"job_state=success", []int64{old}},
		{"hostname=gust.1@host-b", []int64{worker}},
		{"is_alive=true", []int64{sched, worker}},
		{"is_alive=false", []int64{old, stale}},
		{"start_date_gte=" + since, []int64{sched, worker, old}},
		{"start_date_lt=" + since, []int64{stale}},
		{"end_date_gte=" + since, []int64{old}},
		{"executor_class=CeleryExecutor", nil},
	} {
		if got, total := ids(c.query); !reflect.DeepEqual(got, c.want) || total != len(c.want) {
			t.Errorf("?%s: %v (%d), want %v", c.query, got, total, c.want)
		}
	}
	var l jobCollection
	e.call(auth.Viewer, "GET", "/api/v2/jobs?job_state=success", nil).want(t, 200).decode(t, &l)
	if j := l.Jobs[0]; *j.JobType != "SchedulerJob" || *j.Hostname != "host-c" || j.EndDate == nil || j.DagID != nil || j.ExecutorClass != nil {
		t.Errorf("job %+v", j)
	}
	e.call(auth.Viewer, "GET", "/api/v2/jobs?is_alive=maybe", nil).want(t, 422)
}

func TestImportErrorsAndDagWarnings(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, f := range []string{"/dags/broken.yaml", "/dags/team/bad.py"} {
		if err := metadb.SetImportError(ctx, e.db.Pool, f, "Traceback: "+f); err != nil {
			t.Fatal(err)
		}
	}
	var l importErrorCollection
	e.call(auth.Viewer, "GET", "/api/v2/importErrors", nil).want(t, 200).decode(t, &l)
	if l.TotalEntries != 2 || l.ImportErrors[0].Filename != "/dags/broken.yaml" || *l.ImportErrors[0].BundleName != "dags-folder" ||
		l.ImportErrors[0].StackTrace != "Traceback: /dags/broken.yaml" {
		t.Fatalf("import errors %+v", l)
	}
	e.call(auth.Viewer, "GET", "/api/v2/importErrors?filename_pattern=.PY&order_by=-import_error_id", nil).want(t, 200).decode(t, &l)
	if l.TotalEntries != 1 || l.ImportErrors[0].Filename != "/dags/team/bad.py" {
		t.Errorf("pattern %+v", l)
	}
	var one importErrorResponse
	e.call(auth.Viewer, "GET", fmt.Sprintf("/api/v2/importErrors/%d", l.ImportErrors[0].ImportErrorID), nil).want(t, 200).decode(t, &one)
	if one.Filename != "/dags/team/bad.py" {
		t.Errorf("one %+v", one)
	}
	e.call(auth.Viewer, "GET", "/api/v2/importErrors/0", nil).want(t, 404)
	e.call(auth.Viewer, "GET", "/api/v2/importErrors/x", nil).want(t, 422)

	e.seedRun("etl", "r1", "/dags/etl.yaml")
	e.seedRun("ml", "r1", "/dags/ml.yaml")
	if err := metadb.SetDagWarnings(ctx, e.db.Pool, "etl", []metadb.DagWarning{
		{WarningType: dagspec.WarningNonExistentPool, Message: "pool gpu does not exist"},
		{WarningType: dagspec.WarningIgnoredArgument, Message: "email: gust sends no email"}}); err != nil {
		t.Fatal(err)
	}
	if err := metadb.SetDagWarnings(ctx, e.db.Pool, "ml", []metadb.DagWarning{
		{WarningType: dagspec.WarningNonExistentPool, Message: "pool tpu does not exist"}}); err != nil {
		t.Fatal(err)
	}
	warnings := func(query string) []string {
		t.Helper()
		var l dagWarningCollection
		e.call(auth.Viewer, "GET", "/api/v2/dagWarnings?"+query, nil).want(t, 200).decode(t, &l)
		var out []string
		for _, w := range l.DagWarnings {
			out = append(out, w.DagID+"/"+w.WarningType)
		}
		if l.TotalEntries != len(out) && !strings.Contains(query, "limit") {
			t.Errorf("total %d for %d", l.TotalEntries, len(out))
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		// gust's "ignored argument" is served as "runtime varying value".
		{"", []string{"etl/runtime varying value", "etl/non-existent pool", "ml/non-existent pool"}},
		{"dag_id=etl&order_by=-warning_type", []string{"etl/non-existent pool", "etl/runtime varying value"}},
		{"warning_type=runtime%20varying%20value", []string{"etl/runtime varying value"}},
		{"warning_type=non-existent%20pool&order_by=-dag_id", []string{"ml/non-existent pool", "etl/non-existent pool"}},
		{"warning_type=asset%20conflict", nil},
	} {
		if got := warnings(c.query); !reflect.DeepEqual(got, c.want) {
			t.Errorf("?%s: %v, want %v", c.query, got, c.want)
		}
	}
	e.call(auth.Viewer, "GET", "/api/v2/dagWarnings?warning_type=bogus", nil).want(t, 422)
}

func TestConfig(t *testing.T) {
	e := setup(t)
	r := e.call(auth.Admin, "GET", "/api/v2/config", nil).want(t, 403)
	if !strings.Contains(detail(t, r), "chose not to expose the configuration") {
		t.Errorf("403 %s", r.body)
	}

	on := e.with(func(o *Options) {
		o.ExposeConfig = true
		o.Config = func() []ConfigOption {
			return []ConfigOption{
				{Section: "core", Key: "dags_folder", Value: "/opt/dags", Source: "default"},
				{Section: "core", Key: "fernet_key", Value: "< hidden >", Source: "env var"},
				{Section: "api", Key: "port", Value: "8080", Source: "default"},
				{Section: "api", Key: "secret_key", Value: "leaky", Source: "cfg"},
			}
		}
	})
	var c configResponse
	on.call(auth.Admin, "GET", "/api/v2/config", nil).want(t, 200).decode(t, &c)
	want := configResponse{Sections: []configSection{
		{Name: "core", Options: []configOptionJSON{{"dags_folder", "/opt/dags"}, {"fernet_key", "< hidden >"}}},
		{Name: "api", Options: []configOptionJSON{{"port", "8080"}, {"secret_key", "***"}}},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config %+v", c)
	}
	r = on.callHeader(auth.Admin, "GET", "/api/v2/config?section=api", nil, map[string]string{"Accept": "text/plain"}).want(t, 200)
	if string(r.body) != "[api]\nport = 8080\nsecret_key = ***\n" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("text config %q", r.body)
	}
	r = on.callHeader(auth.Admin, "GET", "/api/v2/config", nil, map[string]string{"Accept": "text/plain"}).want(t, 200)
	if string(r.body) != "[core]\ndags_folder = /opt/dags\nfernet_key = < hidden >\n\n[api]\nport = 8080\nsecret_key = ***\n" {
		t.Errorf("text config %q", r.body)
	}
	on.call(auth.Admin, "GET", "/api/v2/config?section=smtp", nil).want(t, 404)
	on.call(auth.Admin, "GET", "/api/v2/config/section/core/option/dags_folder", nil).want(t, 200).decode(t, &c)
	if len(c.Sections) != 1 || c.Sections[0].Options[0] != (configOptionJSON{"dags_folder", "/opt/dags"}) {
		t.Errorf("option %+v", c)
	}
	r = on.callHeader(auth.Admin, "GET", "/api/v2/config/section/api/option/port", nil, map[string]string{"Accept": "text/plain"}).want(t, 200)
	if string(r.body) != "[api]\nport = 8080\n" {
		t.Errorf("text option %q", r.body)
	}
	if r := on.call(auth.Admin, "GET", "/api/v2/config/section/core/option/nope", nil).want(t, 404); detail(t, r) != "Option [core/nope] not found." {
		t.Errorf("404 %s", r.body)
	}
	on.callHeader(auth.Admin, "GET", "/api/v2/config", nil, map[string]string{"Accept": "application/json"}).want(t, 200)
	on.call(auth.Op, "GET", "/api/v2/config", nil).want(t, 403)
	on.call(auth.Viewer, "GET", "/api/v2/config/section/core/option/dags_folder", nil).want(t, 403)
	// Not a spec value of Accept, so the check goes around the harness.
	if r := on.raw("GET", "/api/v2/config", "", "", on.tokens[auth.Admin]); r.status != 200 {
		t.Errorf("no Accept: %d", r.status)
	}
}

// TestAdminRoles checks each role's reach: reads for every role (the
// configuration for Admin only), writes to pools, variables and
// connections for Op and Admin.
func TestAdminRoles(t *testing.T) {
	e := setup(t).with(func(o *Options) { o.ExposeConfig = true })
	reads := []string{"/api/v2/pools", "/api/v2/pools/default_pool", "/api/v2/variables", "/api/v2/connections",
		"/api/v2/eventLogs", "/api/v2/jobs", "/api/v2/importErrors", "/api/v2/dagWarnings", "/api/v2/plugins",
		"/api/v2/providers", "/api/v2/assets"}
	for _, role := range []auth.Role{auth.Viewer, auth.User, auth.Op, auth.Admin} {
		for _, p := range reads {
			e.call(role, "GET", p, nil).want(t, 200)
		}
		want := 403
		if role == auth.Admin {
			want = 200
		}
		e.call(role, "GET", "/api/v2/config", nil).want(t, want)
	}
	n := 0
	for _, role := range []auth.Role{auth.Viewer, auth.User, auth.Op, auth.Admin} {
		n++
		allowed := role == auth.Op || role == auth.Admin
		writes := []struct {
			method, path string
			body         any
			ok           int
		}{
			{"POST", "/api/v2/pools", map[string]any{"name": fmt.Sprint("p", n), "slots": 1}, 201},
			{"PATCH", fmt.Sprint("/api/v2/pools/p", n), map[string]any{"slots": 2}, 200},
			{"PATCH", "/api/v2/pools", map[string]any{"actions": []any{}}, 200},
			{"DELETE", fmt.Sprint("/api/v2/pools/p", n), nil, 204},
			{"POST", "/api/v2/variables", map[string]any{"key": fmt.Sprint("v", n), "value": "x"}, 201},
			{"PATCH", fmt.Sprint("/api/v2/variables/v", n), map[string]any{"key": fmt.Sprint("v", n), "value": "y"}, 200},
			{"PATCH", "/api/v2/variables", map[string]any{"actions": []any{}}, 200},
			{"DELETE", fmt.Sprint("/api/v2/variables/v", n), nil, 204},
			{"POST", "/api/v2/connections", map[string]any{"connection_id": fmt.Sprint("c", n), "conn_type": "http"}, 201},
			{"PATCH", fmt.Sprint("/api/v2/connections/c", n), map[string]any{"connection_id": fmt.Sprint("c", n), "conn_type": "ftp"}, 200},
			{"PATCH", "/api/v2/connections", map[string]any{"actions": []any{}}, 200},
			{"DELETE", fmt.Sprint("/api/v2/connections/c", n), nil, 204},
			{"POST", "/api/v2/connections/defaults", nil, 204},
		}
		for _, w := range writes {
			want := 403
			if allowed {
				want = w.ok
			}
			e.call(role, w.method, w.path, w.body).want(t, want)
		}
	}
	// No token, no entry.
	if r := e.raw("GET", "/api/v2/pools", "", "", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
}
