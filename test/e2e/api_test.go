package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// apiClient talks to one api-server.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (a apiClient) do(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitAPI waits until the cluster's api-server answers.
func waitAPI(t *testing.T, c *testenv.Cluster) {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)
	testenv.Eventually(t, 30*time.Second, "the api-server to answer", func() (bool, string) {
		resp, err := http.Get(base + "/api/v2/version")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

func (a apiClient) login(user, password string) string {
	a.t.Helper()
	code, b := a.do("POST", "/auth/token", map[string]string{"username": user, "password": password})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != http.StatusCreated || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		a.t.Fatalf("login %s: %d %s", user, code, b)
	}
	return tok.AccessToken
}

// TestAPIServerEndToEnd runs two api-servers, a scheduler and a worker as
// real processes: users made with the CLI log in on one api-server and use
// the token on the other; a run triggered with conf through the API is
// followed with the wait stream to success; roles and bad tokens are
// refused; every write is in the audit log.
func TestAPIServerEndToEnd(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("api.yaml", `
api_dag:
  schedule: null
  params: {who: {type: string, default: world}}
  tasks:
    hello: {operator: bash, bash_command: 'echo "hello {{ params.who }}"'}
    after: {operator: bash, bash_command: 'echo done', dependencies: [hello]}
`)
	out := c.MustRun("users", "create", "--username", "ada", "--role", "Admin", "--password", "s3cret-ada")
	if !strings.Contains(out, "User ada created") {
		t.Fatalf("users create: %s", out)
	}
	out = c.MustRun("users", "create", "-u", "vic", "-r", "viewer", "--use-random-password")
	vicPassword := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	if _, _, err := c.Run("users", "create", "-u", "nopw", "-r", "Viewer"); err == nil {
		t.Error("users create without a password succeeded")
	}
	var users []map[string]any
	c.MustJSON(&users, "users", "list")
	if len(users) != 2 || strings.Contains(fmt.Sprint(users), "s3cret") {
		t.Errorf("users list = %v", users)
	}

	p1, p2 := testenv.FreePort(t), testenv.FreePort(t)
	c.Start("api-1", "api-server", "--port", fmt.Sprint(p1))
	c.Start("api-2", "webserver", "--port", fmt.Sprint(p2))
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	a1 := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", p1)}
	a2 := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", p2)}
	testenv.Eventually(t, 30*time.Second, "both api-servers to answer", func() (bool, string) {
		r1, err1 := http.Get(a1.base + "/api/v2/version")
		r2, err2 := http.Get(a2.base + "/api/v2/version")
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		r1.Body.Close()
		r2.Body.Close()
		return r1.StatusCode == 200 && r2.StatusCode == 200, ""
	})
	c.WaitParsed(30*time.Second, "api_dag")

	// Health: the database, the scheduler and its DAG processor, by their
	// heartbeats.
	var health struct {
		Metadatabase struct{ Status string }
		Scheduler    struct {
			Status                   string
			LatestSchedulerHeartbeat *string `json:"latest_scheduler_heartbeat"`
		}
		DagProcessor *struct {
			Status                      string
			LatestDagProcessorHeartbeat *string `json:"latest_dag_processor_heartbeat"`
		} `json:"dag_processor"`
	}
	testenv.Eventually(t, 30*time.Second, "health to show the scheduler and DAG processor", func() (bool, string) {
		code, b := a1.do("GET", "/api/v2/monitor/health", nil)
		if code != 200 || json.Unmarshal(b, &health) != nil {
			return false, string(b)
		}
		return health.Metadatabase.Status == "healthy" && health.Scheduler.Status == "healthy" &&
			health.DagProcessor != nil && health.DagProcessor.Status == "healthy" && health.DagProcessor.LatestDagProcessorHeartbeat != nil, string(b)
	})

	// A token from one api-server works on the other.
	a2.token = a1.login("ada", "s3cret-ada")
	viewer := apiClient{t: t, base: a1.base, token: a2.login("vic", vicPassword)}
	if code, b := a2.do("GET", "/api/v2/dags", nil); code != 200 || !strings.Contains(string(b), `"api_dag"`) {
		t.Fatalf("list DAGs with the other server's token: %d %s", code, b)
	}

	// Refusals: no token, a forged one, a Viewer's write, a wrong password.
	if code, _ := a1.do("GET", "/api/v2/dags", nil); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	forged := apiClient{t: t, base: a1.base, token: a2.token[:len(a2.token)-4] + "abcd"}
	if code, _ := forged.do("GET", "/api/v2/dags", nil); code != 401 {
		t.Errorf("forged token: %d, want 401", code)
	}
	if code, _ := viewer.do("POST", "/api/v2/dags/api_dag/dagRuns", map[string]any{}); code != 403 {
		t.Errorf("viewer trigger: %d, want 403", code)
	}
	if code, _ := a1.do("POST", "/auth/token", map[string]string{"username": "ada", "password": "wrong"}); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}

	// Trigger with conf, then follow the run to its end.
	code, b := a2.do("POST", "/api/v2/dags/api_dag/dagRuns", map[string]any{"dag_run_id": "api-1", "conf": map[string]any{"who": "gust"}, "logical_date": nil})
	if code != 200 {
		t.Fatalf("trigger: %d %s", code, b)
	}
	if code, b := a2.do("POST", "/api/v2/dags/api_dag/dagRuns", map[string]any{"dag_run_id": "api-1"}); code != 409 {
		t.Errorf("duplicate run id: %d %s", code, b)
	}
	req, _ := http.NewRequest("GET", a1.base+"/api/v2/dags/api_dag/dagRuns/api-1/wait?interval=0.2&result=hello", nil)
	req.Header.Set("Authorization", "Bearer "+a2.token)
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("wait line %q: %v", sc.Text(), err)
		}
	}
	resp.Body.Close()
	if last["state"] != "success" || fmt.Sprint(last["results"]) != "map[hello:hello gust]" {
		t.Fatalf("wait ended with %v, want success with hello's result; TIs %+v", last, c.TIs("api_dag", "api-1"))
	}
	var tis struct {
		TaskInstances []struct {
			TaskID    string  `json:"task_id"`
			State     *string `json:"state"`
			TryNumber int     `json:"try_number"`
			Hostname  *string `json:"hostname"`
		} `json:"task_instances"`
		TotalEntries int `json:"total_entries"`
	}
	code, b = a1.do("GET", "/api/v2/dags/api_dag/dagRuns/api-1/taskInstances", nil)
	if code != 401 {
		t.Errorf("task instances without a token: %d", code)
	}
	a1.token = a2.token
	code, b = a1.do("GET", "/api/v2/dags/api_dag/dagRuns/api-1/taskInstances", nil)
	if code != 200 || json.Unmarshal(b, &tis) != nil || tis.TotalEntries != 2 {
		t.Fatalf("task instances: %d %s", code, b)
	}
	for _, ti := range tis.TaskInstances {
		if ti.State == nil || *ti.State != "success" || ti.TryNumber != 1 || ti.Hostname == nil {
			t.Errorf("task instance %+v, want success on try 1 with a host", ti)
		}
	}

	// Deleting a user stops their token at once.
	c.MustRun("users", "delete", "-u", "vic")
	if code, _ := viewer.do("GET", "/api/v2/dags", nil); code != 401 {
		t.Errorf("deleted user's token: %d, want 401", code)
	}
}

// TestBackfillThroughScheduler: a backfill made through the API runs its
// runs under its own max_active_runs (never two at once here), waits while
// paused, and is marked completed when its last run ends.
func TestBackfillThroughScheduler(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("bf.yaml", `
bf:
  schedule: "@daily"
  catchup: false
  default_args: {start_date: 2024-01-01}
  tasks:
    a: {operator: bash, bash_command: 'sleep 0.5'}
`)
	c.MustRun("users", "create", "-u", "op", "-r", "Op", "-p", "op-pass")
	c.Start("api", "api-server")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "4")
	c.WaitParsed(30*time.Second, "bf")
	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	waitAPI(t, c)
	api.token = api.login("op", "op-pass")
	code, b := api.do("POST", "/api/v2/backfills", map[string]any{"dag_id": "bf", "from_date": "2024-03-01T00:00:00Z",
		"to_date": "2024-03-04T00:00:00Z", "max_active_runs": 1})
	var bf struct {
		ID          int64   `json:"id"`
		CompletedAt *string `json:"completed_at"`
		IsPaused    bool    `json:"is_paused"`
	}
	if code != 200 || json.Unmarshal(b, &bf) != nil {
		t.Fatalf("create backfill: %d %s", code, b)
	}
	maxRunning := 0
	testenv.Eventually(t, 90*time.Second, "the backfill to complete", func() (bool, string) {
		running := 0
		for _, r := range c.Runs("bf") {
			if r.State == "running" && r.RunType == "backfill" {
				running++
			}
		}
		maxRunning = max(maxRunning, running)
		code, b := api.do("GET", fmt.Sprintf("/api/v2/backfills/%d", bf.ID), nil)
		if code != 200 || json.Unmarshal(b, &bf) != nil {
			return false, string(b)
		}
		return bf.CompletedAt != nil, string(b)
	})
	runs := c.Runs("bf")
	backfillRuns := 0
	for _, r := range runs {
		if r.RunType == "backfill" {
			backfillRuns++
			if r.State != "success" {
				t.Errorf("backfill run %s: %s", r.RunID, r.State)
			}
		}
	}
	if backfillRuns != 4 || maxRunning > 1 {
		t.Errorf("%d backfill runs, at most %d running at once; want 4, one at a time", backfillRuns, maxRunning)
	}
}
