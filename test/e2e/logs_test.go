package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// logPage is the API's answer for a try's log.
type logPage struct {
	Content []struct {
		Event string `json:"event"`
		Level string `json:"level"`
	} `json:"content"`
	ContinuationToken *string `json:"continuation_token"`
}

func (p logPage) text() string {
	var b strings.Builder
	for _, m := range p.Content {
		b.WriteString(m.Event + "\n")
	}
	return b.String()
}

// TestTaskLogsFromAnywhere: task logs come from Postgres, not the worker's
// disk. A running try's log is read through the api-server within a few
// heartbeats and followed with the continuation token; a log longer than
// max_log_size keeps its head and tail (and the callback's text after the
// result); secrets are masked; after the worker is killed (SIGKILL) and
// its log folder deleted, the log is still there, through the API and
// `gust tasks logs`.
func TestTaskLogsFromAnywhere(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__SCHEDULER__JOB_HEARTBEAT_SEC=1", "GUST__LOGGING__MAX_LOG_SIZE=20000")
	c.WriteDAG("logs.yaml", `
logs_dag:
  schedule: null
  tasks:
    slow:
      operator: bash
      bash_command: 'echo "key={{ var.value.api_key }} pw={{ conn.db1.password }}"; for i in $(seq 1 600); do echo "tick $i"; sleep 0.2; done'
    big:
      operator: bash
      bash_command: 'seq 1 20000'
      on_success_callback: 'echo callback-ran'
`)
	c.MustRun("variables", "set", "api_key", "s3cr3t-value")
	c.MustRun("connections", "add", "db1", "--conn-uri", "postgres://u:pw-hidden-42@h:5432/x")
	c.MustRun("users", "create", "-u", "ada", "-r", "Viewer", "-p", "ada-pass")
	c.Start("api", "api-server")
	c.Start("scheduler", "scheduler")
	worker := c.Start("worker", "worker", "-c", "2")
	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	waitAPI(t, c)
	api.token = api.login("ada", "ada-pass")
	c.WaitParsed(30*time.Second, "logs_dag")
	c.MustRun("dags", "trigger", "logs_dag", "--run-id", "r1")

	read := func(task, query string) logPage {
		t.Helper()
		code, b := api.do("GET", "/api/v2/dags/logs_dag/dagRuns/r1/taskInstances/"+task+"/logs/1"+query, nil)
		var p logPage
		if code != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("%s log: %d %s", task, code, b)
		}
		return p
	}
	secretFree := func(what, s string) {
		t.Helper()
		if strings.Contains(s, "s3cr3t-value") || strings.Contains(s, "pw-hidden-42") {
			t.Errorf("%s shows a secret:\n%s", what, s)
		}
	}

	// While slow runs, its lines arrive within a few heartbeats.
	var first logPage
	start := time.Now()
	testenv.Eventually(t, 60*time.Second, "slow's log to show ticks", func() (bool, string) {
		code, b := api.do("GET", "/api/v2/dags/logs_dag/dagRuns/r1/taskInstances/slow/logs/1", nil)
		if code != 200 || json.Unmarshal(b, &first) != nil {
			return false, fmt.Sprintf("%d %s", code, b)
		}
		return strings.Contains(first.text(), "tick 3\n"), first.text()
	})
	t.Logf("first ticks readable %.1fs after the trigger", time.Since(start).Seconds())
	if first.ContinuationToken == nil {
		t.Fatal("a running try's log has no continuation token")
	}
	if !strings.Contains(first.text(), "key=*** pw=***") {
		t.Errorf("secrets not masked as ***:\n%s", first.text())
	}
	secretFree("slow's log", first.text())
	// Following: the token gives only what is new.
	token := *first.ContinuationToken
	var more logPage
	testenv.Eventually(t, 20*time.Second, "new ticks after the token", func() (bool, string) {
		more = read("slow", "?token="+url.QueryEscape(token))
		return strings.Contains(more.text(), "tick"), more.text()
	})
	if strings.Contains(more.text(), "Executing slow") || strings.Contains(more.text(), "tick 1\n") {
		t.Errorf("reading on from the token repeats the start:\n%s", more.text())
	}

	// big writes ~109 KB: its stored log is its head, the marker and its
	// tail, then the callback's text.
	testenv.Eventually(t, 60*time.Second, "big to succeed and its callback to be stored", func() (bool, string) {
		p := read("big", "")
		return p.ContinuationToken == nil && strings.Contains(p.text(), "callback-ran"), fmt.Sprint(c.TIs("logs_dag", "r1")["big"].State)
	})
	req, _ := http.NewRequest("GET", api.base+"/api/v2/dags/logs_dag/dagRuns/r1/taskInstances/big/logs/1?full_content=true", nil)
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	big := readAll(t, resp)
	if !strings.Contains(big, "\n1\n2\n3\n") || !strings.Contains(big, " bytes left out (max_log_size) ...\n") ||
		!strings.Contains(big, "\n19999\n20000\n") || !strings.Contains(big, "Marking task as SUCCESS") ||
		!strings.Contains(big, "callback-ran") || strings.Contains(big, "\n10000\n") || len(big) > 20000+200 {
		t.Errorf("big's log (%d bytes) is not head + marker + tail:\n%.600s\n...\n%s", len(big), big, big[max(0, len(big)-600):])
	}

	// The worker dies with slow running, and its disk goes: the log is
	// still served, by the API and by the CLI.
	before := read("slow", "").text()
	worker.Kill()
	if err := os.RemoveAll(c.Logs); err != nil {
		t.Fatal(err)
	}
	after := read("slow", "").text()
	if !strings.HasPrefix(after, before) || !strings.Contains(after, "tick 3\n") {
		t.Errorf("after the worker died: %q\nbefore it: %q", after, before)
	}
	secretFree("slow's log after the worker died", after)
	cli := c.MustRun("tasks", "logs", "logs_dag", "r1", "slow")
	if !strings.Contains(cli, "key=*** pw=***") || !strings.Contains(cli, "tick 3\n") {
		t.Errorf("gust tasks logs after the worker died:\n%s", cli)
	}
	secretFree("gust tasks logs", cli)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s %v", resp.Request.URL, resp.StatusCode, b, err)
	}
	return string(b)
}
