package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gust-sched/gust/internal/testenv"
)

// browserPath finds Chromium or Chrome; `make test` installs Chromium
// (scripts/ensure-chromium.sh), so a missing browser fails the test.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium or Chrome on PATH: run scripts/ensure-chromium.sh (make test does)")
	return ""
}

// browser drives one headless Chromium tab; on a failed step it saves a
// screenshot and fails the test.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start the browser: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// step runs actions within timeout; a failure saves a screenshot. With
// GUST_UI_SHOTS=dir, every step leaves one there.
func (b *browser) step(name string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(name, err)
	}
	if dir := os.Getenv("GUST_UI_SHOTS"); dir != "" { // to look at the pages
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".png"), shot, 0o644)
		}
	}
}

func (b *browser) fail(name string, err error) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	url, _ := chromedp.Run(sctx, chromedp.Location())
	if shot, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
		dir, derr := os.MkdirTemp("", "gust-webui-")
		if derr == nil {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".png")
			if werr := os.WriteFile(p, shot, 0o644); werr == nil {
				b.t.Logf("screenshot of the failed step: %s (at %s)", p, url)
			}
		}
	}
	b.t.Fatalf("%s: %v (page %s)", name, err, url)
}

// until polls a JavaScript expression until it is true.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			if ok, err := chromedp.Evaluate[bool](expr)(ctx, t); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// back is the browser's Back button (history.back(): the UI's pages are
// pushState entries, which fire no load event to wait for).
func back() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("history.back(), true")(ctx, t)
		return err
	})
}

func (b *browser) login(user, password string) {
	b.t.Helper()
	b.step("log in as "+user, 15*time.Second,
		chromedp.Navigate(b.base+"/dags"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		until(`location.pathname === "/auth/login" && new URLSearchParams(location.search).get("next") === "/dags"`),
		chromedp.SendKeys(chromedp.ID("#username"), user),
		chromedp.SendKeys(chromedp.ID("#password"), password),
		chromedp.Click(chromedp.ID("#signin")),
		chromedp.WaitVisible(chromedp.CSS("table#dags")),
		until(`document.getElementById("me").textContent.startsWith(`+jsString(user+" (")+`)`),
	)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestWebUIInBrowser drives the web UI in headless Chromium against a real
// standalone gust: an Admin logs in, watches a running try's log grow, finds a DAG by searching, triggers it
// (a bad conf shows the API's detail), watches its grid cell turn
// success, reads the task's log and a retried task's two tries, goes back, pauses the DAG with its switch
// (checked through the API), filters by tag and by paused, pauses another
// DAG in bulk, and logs out; a Viewer then sees no switch and
// no Trigger button.
func TestWebUIInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := newCluster(t, "GUST__SCHEDULER__JOB_HEARTBEAT_SEC=1") // logs ship with each heartbeat
	marker := filepath.Join(c.Home, "flaky-once")
	c.WriteDAG("ui.yaml", `
ui_hello:
  schedule: null
  tags: [ui]
  tasks:
    greet: {operator: bash, bash_command: 'echo "hello from the grid, $((6 * 7))"'}
    flaky:
      operator: bash
      retries: 1
      retry_delay_sec: 0.5
      bash_command: 'if [ -e `+marker+` ]; then echo "second try"; else touch `+marker+`; echo "first try fails"; exit 3; fi'
ui_live:
  schedule: null
  tasks:
    slow: {operator: bash, bash_command: 'echo "tick one"; sleep 3; echo "tick two"'}
ui_other:
  schedule: "@daily"
  start_date: 2024-01-01
  catchup: false
  tasks:
    nothing: {operator: empty}
`)
	c.MustRun("users", "create", "--username", "ada", "--role", "Admin", "--password", "s3cret-ada")
	c.MustRun("users", "create", "--username", "vic", "--role", "Viewer", "--password", "s3cret-vic")
	c.Start("standalone", "standalone")
	base := fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)
	testenv.Eventually(t, 30*time.Second, "the api-server to answer", func() (bool, string) {
		resp, err := http.Get(base + "/api/v2/version")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	c.WaitParsed(30*time.Second, "ui_hello", "ui_live", "ui_other")
	api := apiClient{t: t, base: base}
	api.token = api.login("ada", "s3cret-ada")
	ready := time.Now()

	b := newBrowser(t, base)
	b.login("ada", "s3cret-ada")
	// A running try's log grows on the page, each line once.
	code, body := api.do("POST", "/api/v2/dags/ui_live/dagRuns", map[string]any{"dag_run_id": "live", "logical_date": nil})
	if code != 200 {
		t.Fatalf("trigger ui_live: %d %s", code, body)
	}
	b.step("a running try's log grows", 30*time.Second,
		chromedp.Navigate(base+"/dags/ui_live/runs/live/tasks/slow"),
		until(`/^tick one$/m.test(document.getElementById("log").textContent) && document.getElementById("ti-state").textContent === "running"`),
		until(`/^tick two$/m.test(document.getElementById("log").textContent)`),
		until(`document.getElementById("log").textContent.match(/^tick one$/mg).length === 1 &&
			document.getElementById("ti-state").textContent === "success"`),
	)
	b.step("search for the DAG", 10*time.Second,
		chromedp.Navigate(base+"/dags"),
		until(`document.querySelectorAll("#dags tr[data-dag-id]").length === 3`),
		until(`!/\b(null|undefined|NaN)\b/.test(document.getElementById("view").innerText)`),
		chromedp.SendKeys(chromedp.ID("#dag-search"), "hello\r"),
		until(`location.search === "?search=hello" && document.querySelectorAll("#dags tr[data-dag-id]").length === 1 &&
			!!document.querySelector('#dags tr[data-dag-id="ui_hello"]')`),
	)
	b.step("a bad conf shows the API's detail", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#dags tr[data-dag-id="ui_hello"] button.trigger`)),
		chromedp.WaitVisible(chromedp.CSS(`form.trigger-form textarea`)),
		chromedp.SendKeys(chromedp.CSS(`form.trigger-form textarea`), `[1, 2]`),
		chromedp.Click(chromedp.CSS(`form.trigger-form button.trigger-submit`)),
		until(`(() => { const t = document.querySelector(".trigger-error").textContent;
			return t !== "" && !t.includes("{") && !t.includes("[object"); })()`),
	)
	dctx, dcancel := context.WithTimeout(b.ctx, 5*time.Second)
	detail, err := chromedp.Run(dctx, chromedp.TextContent(chromedp.CSS(".trigger-error")))
	dcancel()
	if err != nil || !strings.Contains(detail, "conf") {
		t.Errorf("the refused trigger's message: %q (%v), want the API's detail naming conf", detail, err)
	}
	b.step("trigger with a conf", 10*time.Second,
		chromedp.SetValue(chromedp.CSS(`form.trigger-form textarea`), `{"who": "browser"}`),
		chromedp.Click(chromedp.CSS(`form.trigger-form button.trigger-submit`)),
		until(`document.querySelectorAll('#dags tr[data-dag-id="ui_hello"] .mark').length === 1`),
	)
	var runs struct {
		DagRuns []struct {
			DagRunID string         `json:"dag_run_id"`
			Conf     map[string]any `json:"conf"`
		} `json:"dag_runs"`
	}
	if code, body := api.do("GET", "/api/v2/dags/ui_hello/dagRuns", nil); code != 200 || json.Unmarshal(body, &runs) != nil ||
		len(runs.DagRuns) != 1 || runs.DagRuns[0].Conf["who"] != "browser" {
		t.Fatalf("runs after the trigger: %d %s", code, body)
	}
	cell := fmt.Sprintf(`a.cell[data-task-id="greet"][data-run-id=%s]`, jsString(runs.DagRuns[0].DagRunID))
	b.step("the grid cell turns success", 45*time.Second,
		chromedp.Click(chromedp.CSS(`#dags a.dag-link`)),
		until(`location.pathname === "/dags/ui_hello"`),
		chromedp.WaitVisible(chromedp.CSS(cell)),
		until(`document.querySelector(`+jsString(cell)+`).dataset.state === "success"`),
	)
	b.step("the task's log shows its output", 20*time.Second,
		chromedp.Click(chromedp.CSS(cell)),
		until(`location.pathname.endsWith("/tasks/greet")`),
		until(`document.getElementById("log").textContent.includes("hello from the grid, 42")`),
	)
	flaky := fmt.Sprintf(`a.cell[data-task-id="flaky"][data-run-id=%s]`, jsString(runs.DagRuns[0].DagRunID))
	b.step("the try switcher shows each try's log", 30*time.Second,
		back(),
		chromedp.WaitVisible(chromedp.CSS(flaky)),
		until(`document.querySelector(`+jsString(flaky)+`).dataset.state === "success"`),
		chromedp.Click(chromedp.CSS(flaky)),
		until(`location.pathname.endsWith("/tasks/flaky")`),
		until(`/^second try$/m.test(document.getElementById("log").textContent) && document.querySelectorAll(".tries button").length === 2`),
		chromedp.Click(chromedp.CSS(`.tries button:first-of-type`)),
		until(`(() => { const log = document.getElementById("log").textContent;
			return location.search === "?try=1" && /^first try fails$/m.test(log) && log.includes("(try 1 of 2)") && !/^second try$/m.test(log); })()`),
		back(),
		until(`location.pathname === "/dags/ui_hello" && !!document.querySelector(`+jsString(cell)+`)`),
	)
	b.step("the Runs tab, and back", 10*time.Second,
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/runs"]`)),
		until(`!!document.querySelector("#runs tbody tr")`),
		back(),
		until(`location.pathname === "/dags/ui_hello" && !!document.querySelector(`+jsString(cell)+`)`),
	)
	b.step("pause with the switch", 10*time.Second,
		chromedp.Navigate(base+"/dags?search=hello"),
		chromedp.WaitVisible(chromedp.CSS(`#dags tr[data-dag-id="ui_hello"] input.pause-switch`)),
		until(`document.querySelector('#dags tr[data-dag-id="ui_hello"] input.pause-switch').checked`),
		chromedp.Click(chromedp.CSS(`#dags tr[data-dag-id="ui_hello"] input.pause-switch`)),
		until(`(() => { const s = document.querySelector('#dags tr[data-dag-id="ui_hello"] input.pause-switch');
			return !s.checked && !s.disabled && s.getAttribute("aria-label") === "Unpause ui_hello"; })()`),
	)
	paused := func(dagID string) bool {
		var dag struct {
			IsPaused bool `json:"is_paused"`
		}
		code, body := api.do("GET", "/api/v2/dags/"+dagID, nil)
		if code != 200 || json.Unmarshal(body, &dag) != nil {
			t.Fatalf("GET the DAG %s: %d %s", dagID, code, body)
		}
		return dag.IsPaused
	}
	if !paused("ui_hello") || paused("ui_other") {
		t.Fatal("after the switch: ui_hello is not paused, or ui_other is")
	}
	rows := func(ids ...string) chromedp.Action[chromedp.Void] {
		b, _ := json.Marshal(append([]string{}, ids...))
		return until(`JSON.stringify([...document.querySelectorAll("#dags tr[data-dag-id]")].map((r) => r.dataset.dagId)) === ` + jsString(string(b)))
	}
	b.step("filter by tag, by paused, and pause in bulk", 15*time.Second,
		chromedp.Navigate(base+"/dags"),
		rows("ui_hello", "ui_live", "ui_other"),
		chromedp.SendKeys(chromedp.ID("dag-tag"), "ui\r"),
		rows("ui_hello"),
		chromedp.Clear(chromedp.ID("dag-tag")),
		chromedp.SetValue(chromedp.ID("dag-status"), "active"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)),
		rows("ui_live", "ui_other"),
		chromedp.Click(chromedp.CSS(`#dags tr[data-dag-id="ui_other"] input[type="checkbox"]:not(.pause-switch)`)),
		chromedp.Click(chromedp.ID("bulk-pause")),
		rows("ui_live"),
		back(),
		until(`location.search === "?tag=ui"`),
		rows("ui_hello"),
	)
	if !paused("ui_other") {
		t.Fatal("ui_other is not paused after the bulk pause")
	}
	b.step("log out", 10*time.Second,
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.Navigate(base+"/dags/ui_hello"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		until(`location.pathname === "/auth/login"`),
	)

	b.login("vic", "s3cret-vic")
	b.step("a Viewer has no write controls", 10*time.Second,
		until(`!!document.querySelector('#dags tr[data-dag-id="ui_hello"] a.dag-link')`),
		until(`document.querySelectorAll("input.pause-switch, button.trigger, #bulk-pause").length === 0`),
		until(`!/\b(null|undefined|NaN)\b/.test(document.getElementById("view").innerText)`),
	)
	t.Logf("cluster ready in %s; browser part %s", ready.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
}
