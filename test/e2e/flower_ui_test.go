package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gust-sched/gust/internal/testenv"
)

const flowerAuth = "admin:s3cret-flower"

// flowerRequest answers a request to the monitor's path, as auth
// ("user:password" for basic auth; "" for none).
func flowerRequest(t *testing.T, c *testenv.Cluster, method, auth, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", c.FlowerPort, path), nil)
	if user, pw, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if method != http.MethodGet {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func flowerGet(t *testing.T, c *testenv.Cluster, auth, path string) (int, string) {
	t.Helper()
	return flowerRequest(t, c, http.MethodGet, auth, path)
}

// withHeaders sends the headers with every request of the tab (the
// monitor's basic_auth, as a browser that was given the password sends it).
func withHeaders(h map[string]any) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h})
		return err
	})
}

// TestFlowerInBrowser drives the monitor as a Flower user would, in
// headless Chromium, against a cluster of a scheduler, two workers and a
// flower behind basic_auth and the REST API's users: a wrong password is
// refused, a Viewer of the API may look but not act, an Op may act; the workers page
// grows and shrinks a worker's pool; a queue that no worker serves grows on
// the broker page and in /metrics, then drains once a consumer is added
// through the API; the tasks table filters by state and leads to a task's
// timeline and its log link; a worker's page shows the try it runs; the
// dashboard draws its charts; a warm shutdown from the workers page leaves
// the worker offline with its try finished; and a flower restart keeps the
// history.
func TestFlowerInBrowser(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "GUST__FLOWER__BASIC_AUTH="+flowerAuth, "GUST__FLOWER__API_USERS=true", "GUST__FLOWER__SAMPLE_INTERVAL=1")
	c.WriteDAG("mixed.yaml", `
default:
  default_args: {start_date: 2024-01-01}
  schedule: null
mixed:
  tasks:
    quick: {operator: bash, bash_command: 'echo quick'}
    boom: {operator: bash, bash_command: 'exit 3'}
    slow: {operator: bash, bash_command: 'sleep 15', dependencies: [quick]}
orphans:
  tasks:
    o1: {operator: bash, bash_command: 'echo o1', queue: orphan}
    o2: {operator: bash, bash_command: 'echo o2', queue: orphan}
`)
	c.MustRun("users", "create", "--username", "ada", "--role", "Op", "--password", "s3cret-ada")
	c.MustRun("users", "create", "--username", "vic", "--role", "Viewer", "--password", "s3cret-vic")
	c.Start("scheduler", "scheduler")
	c.Start("api-server", "api-server")
	c.Start("worker-1", "worker", "-c", "2", "--hostname", "w1@ui")
	w2 := c.Start("worker-2", "worker", "-c", "1", "--hostname", "w2@ui")
	flower := c.Start("flower", "flower")
	c.WaitParsed(30*time.Second, "mixed", "orphans")
	testenv.Eventually(t, 30*time.Second, "flower to list both workers", func() (bool, string) {
		code, body := flowerGet(t, c, flowerAuth, "/api/workers?status=true")
		return code == 200 && strings.Contains(body, `"w1@ui": true`) && strings.Contains(body, `"w2@ui": true`), body
	})

	// Access: no password and a wrong one are refused; the health check is open.
	for _, auth := range []string{"", "admin:wrong"} {
		if code, body := flowerGet(t, c, auth, "/api/workers"); code != 401 {
			t.Errorf("GET /api/workers with %q: %d %s, want 401", auth, code, body)
		}
	}
	if code, _ := flowerGet(t, c, "", "/"); code != 401 {
		t.Errorf("GET / without a password: %d, want 401", code)
	}
	if code, body := flowerGet(t, c, "", "/healthcheck"); code != 200 || body != "OK" {
		t.Errorf("/healthcheck: %d %q", code, body)
	}
	// The REST API's users, checked by the api-server: a Viewer may look, not act.
	testenv.Eventually(t, 30*time.Second, "the API's Viewer to be let in", func() (bool, string) {
		code, body := flowerGet(t, c, "vic:s3cret-vic", "/api/workers")
		return code == 200, fmt.Sprint(code, body)
	})
	if code, body := flowerRequest(t, c, http.MethodPost, "vic:s3cret-vic", "/api/worker/pool/grow/w1@ui"); code != 403 {
		t.Errorf("a Viewer's pool grow: %d %s, want 403", code, body)
	}
	if code, body := flowerGet(t, c, "vic:wrong", "/api/workers"); code != 401 {
		t.Errorf("a Viewer with a wrong password: %d %s, want 401", code, body)
	}
	if code, body := flowerRequest(t, c, http.MethodPost, "ada:s3cret-ada", "/api/worker/pool/shrink/w1@ui"); code != 200 {
		t.Errorf("an Op's pool shrink: %d %s", code, body)
	}
	if code, body := flowerRequest(t, c, http.MethodPost, "ada:s3cret-ada", "/api/worker/pool/grow/w1@ui"); code != 200 {
		t.Errorf("an Op's pool grow: %d %s", code, body)
	}

	c.MustRun("dags", "trigger", "orphans", "--run-id", "o1")
	c.MustRun("dags", "trigger", "mixed", "--run-id", "r1")

	b := newBrowser(t, fmt.Sprintf("http://127.0.0.1:%d", c.FlowerPort))
	b.step("log in with basic auth", 10*time.Second,
		withHeaders(map[string]any{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(flowerAuth))}))
	// Rows are looked up afresh each time: the pages redraw every few seconds.
	row := func(w string) string { return `document.querySelector('tr[data-worker="` + w + `"]')` }
	has := func(sel string) string { return `(` + sel + ` !== null)` }
	b.step("workers page", 20*time.Second,
		chromedp.Navigate(b.base+"/#/workers"),
		until(has(row("w1@ui"))+` && `+has(row("w2@ui"))),
		until(row("w1@ui")+`.querySelector('.state').textContent === 'online' && `+row("w1@ui")+`.querySelector('.pool').textContent === '2'`),
		// confirm() would block a headless tab: the user says yes.
		script(`window.confirm = () => true`),
	)
	b.step("grow w1's pool by 2", 15*time.Second,
		chromedp.Click(chromedp.CSS(`tr[data-worker="w1@ui"] input[type=checkbox]`)),
		chromedp.SetValue(chromedp.ID("#bulk-n"), "2"),
		chromedp.Click(chromedp.CSS(`button[data-action="Grow pool"]`)),
		until(`document.getElementById('actions-result').textContent.includes("Growing worker's pool by 2")`),
		until(row("w1@ui")+`.querySelector('.pool').textContent === '4'`),
	)
	b.step("shrink w1's pool by 1", 15*time.Second,
		chromedp.SetValue(chromedp.ID("#bulk-n"), "1"),
		chromedp.Click(chromedp.CSS(`button[data-action="Shrink pool"]`)),
		until(row("w1@ui")+`.querySelector('.pool').textContent === '3'`),
	)

	// The orphan queue grows with nobody to serve it.
	queue := func(q string) string { return `document.querySelector('tr[data-queue="` + q + `"]')` }
	b.step("broker page: the orphan queue waits", 30*time.Second,
		chromedp.Navigate(b.base+"/#/broker"),
		until(has(queue("orphan"))+` && `+queue("orphan")+`.querySelector('.ready').textContent === '2' && `+
			queue("orphan")+`.textContent.includes('no worker') && `+queue("default")+`.textContent.includes('w1@ui')`),
		// The management API is up here (scripts/ensure-services.sh): its columns are filled.
		until(`!document.querySelector('.msg.note') && `+queue("orphan")+`.children[2].textContent === '0'`),
	)
	fams, err := scrape(t, fmt.Sprintf("http://%s@127.0.0.1:%d/metrics", flowerAuth, c.FlowerPort))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := value(fams, "flower_broker_queue_messages", map[string]string{"queue": "orphan"}); !ok || v != 2 {
		t.Errorf("flower_broker_queue_messages{queue=orphan} = %v (present %v), want 2", v, ok)
	}
	if v, ok := value(fams, "flower_broker_queue_consumers", map[string]string{"queue": "orphan"}); !ok || v != 0 {
		t.Errorf("flower_broker_queue_consumers{queue=orphan} = %v (present %v), want 0", v, ok)
	}
	if code, body := flowerRequest(t, c, http.MethodPost, flowerAuth, "/api/worker/queue/add-consumer/w1@ui?queue=orphan"); code != 200 {
		t.Fatalf("add-consumer: %d %s", code, body)
	}
	b.step("broker page: the orphan queue drains", 30*time.Second,
		until(queue("orphan")+`.querySelector('.ready').textContent === '0' && `+queue("orphan")+`.textContent.includes('w1@ui')`),
	)

	// A worker's page shows the try it runs.
	var slowWorker string
	testenv.Eventually(t, 30*time.Second, "mixed.slow to start", func() (bool, string) {
		_, body := flowerGet(t, c, flowerAuth, "/api/tasks?taskname=mixed.slow&state=STARTED")
		var tasks map[string]map[string]any
		_ = json.Unmarshal([]byte(body), &tasks)
		for _, x := range tasks {
			slowWorker, _ = x["worker"].(string)
		}
		return slowWorker != "", body
	})
	b.step("worker page: its pool", 15*time.Second,
		chromedp.Navigate(b.base+"/#/worker/"+slowWorker),
		until(`document.querySelector('#pool tbody') && document.querySelector('#pool tbody').textContent.includes('slow')`),
		until(`document.querySelector('#queues') && document.body.textContent.includes('Memory (RSS)')`),
	)

	// The tasks table, filtered by state, leads to a task's page.
	b.step("tasks page: failures", 30*time.Second,
		chromedp.Navigate(b.base+"/#/tasks"),
		until(`document.querySelectorAll('#tasks tbody tr[data-uuid]').length >= 3`),
		chromedp.SetValue(chromedp.CSS(`#task-filters select[name=state]`), "FAILURE"),
		chromedp.Click(chromedp.CSS(`#task-filters button[type=submit]`)),
		until(`location.hash.includes('state=FAILURE')`),
		until(`(() => { const rows = [...document.querySelectorAll('#tasks tbody tr[data-uuid]')];
			return rows.length >= 1 && rows.every((r) => r.children[0].textContent === 'FAILURE') && rows.some((r) => r.children[3].textContent === 'boom'); })()`),
		chromedp.Click(chromedp.CSS(`#tasks tbody tr[data-uuid] a`)),
		until(`document.getElementById('task-state') && document.getElementById('task-state').textContent === 'FAILURE'`),
		until(`document.getElementById('task-log').href.includes('/dags/mixed/runs/r1/tasks/boom?try=1')`),
		until(`document.querySelectorAll('#timeline .phase').length >= 2`),
	)
	b.step("tasks page: sorted by runtime", 15*time.Second,
		chromedp.Navigate(b.base+"/#/tasks?sort_by=-runtime"),
		until(`document.querySelector('th[data-sort=runtime]').getAttribute('aria-sort') === 'descending'`),
		until(`document.querySelectorAll('#tasks tbody tr[data-uuid]').length >= 3`),
	)

	// The dashboard: a point a second here; its charts are drawn.
	b.step("dashboard", 30*time.Second,
		chromedp.Navigate(b.base+"/#/dashboard?window=900"),
		until(`['rate', 'queues', 'running', 'runtime', 'wait'].every((k) => document.querySelector('#chart-' + k + ' canvas'))`),
	)
	testenv.Eventually(t, 30*time.Second, "dashboard points with the finished tries", func() (bool, string) {
		_, body := flowerGet(t, c, flowerAuth, "/api/dashboard?window=900")
		var d struct {
			Samples []struct {
				Succeeded, Failed int
				Queues            map[string]int
			}
		}
		_ = json.Unmarshal([]byte(body), &d)
		ok, failed, orphanSeen := 0, 0, false
		for _, s := range d.Samples {
			ok, failed = ok+s.Succeeded, failed+s.Failed
			orphanSeen = orphanSeen || s.Queues["orphan"] > 0
		}
		return ok >= 3 && failed >= 1 && orphanSeen, fmt.Sprintf("%d points: %d succeeded, %d failed, orphan queue seen %v", len(d.Samples), ok, failed, orphanSeen)
	})

	// A warm shutdown from the workers page.
	b.step("shut down w2", 30*time.Second,
		chromedp.Navigate(b.base+"/#/workers"),
		until(has(row("w2@ui"))),
		script(`for (const c of document.querySelectorAll('#workers tbody input[type=checkbox]')) if (c.checked) c.click()`),
		chromedp.Click(chromedp.CSS(`tr[data-worker="w2@ui"] input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS(`button[data-action="Shut down"]`)),
		until(`document.getElementById('actions-result').textContent.includes('Shutting down!')`),
		until(row("w2@ui")+`.querySelector('.state').textContent === 'offline'`),
	)
	if !w2.Wait(20 * time.Second) {
		t.Fatal("w2 did not exit after its shutdown")
	}
	if w2.ExitCode() != 0 {
		t.Errorf("w2 exited %d after a warm shutdown", w2.ExitCode())
	}
	c.WaitRunsFinished(60*time.Second, 1, "mixed")

	// A flower restart keeps the history.
	_, before := flowerGet(t, c, flowerAuth, "/api/tasks")
	var hist map[string]any
	if err := json.Unmarshal([]byte(before), &hist); err != nil || len(hist) < 5 {
		t.Fatalf("history before the restart: %v %s", err, before)
	}
	flower.Stop(t, 5*time.Second)
	c.Start("flower-2", "flower")
	testenv.Eventually(t, 30*time.Second, "the restarted flower to keep the history", func() (bool, string) {
		code, after := flowerGet(t, c, flowerAuth, "/api/tasks")
		var h map[string]any
		_ = json.Unmarshal([]byte(after), &h)
		return code == 200 && len(h) == len(hist), fmt.Sprintf("%d tries before, %d after (%d)", len(hist), len(h), code)
	})
	b.step("tasks page after the restart", 20*time.Second,
		chromedp.Navigate(b.base+"/#/tasks?state=SUCCESS"),
		until(`document.querySelectorAll('#tasks tbody tr[data-uuid]').length >= 3`),
	)
}
