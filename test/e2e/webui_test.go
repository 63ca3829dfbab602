package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

func newBrowser(t *testing.T, base string, env ...string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.Env(env...),
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
	b := &browser{t: t, ctx: ctx, base: base}
	// Every uncaught exception and console error (a CSP violation among
	// them) fails the test; a failed request's own log line (the UI shows
	// the API's 403s and 404s as messages) does not.
	var mu sync.Mutex
	var problems []string
	console := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the page's console: %s", p)
		}
	})
	return b
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

// script runs a JavaScript statement in the page (a user's input event
// after SetValue, which sets a value without one).
func script(stmt string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool]("(() => { "+stmt+"; return true; })()")(ctx, t)
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

// startUI creates the browser tests' users (ada, an Admin, and vic, a
// Viewer), starts a standalone gust, waits for its api-server and for the
// DAGs to be parsed, and answers the UI's address and an API client
// logged in as ada.
func startUI(t *testing.T, c *testenv.Cluster, dagIDs ...string) (string, apiClient) {
	t.Helper()
	c.MustRun("users", "create", "--username", "ada", "--role", "Admin", "--password", "s3cret-ada")
	c.MustRun("users", "create", "--username", "vic", "--role", "Viewer", "--password", "s3cret-vic")
	c.Start("standalone", "standalone")
	base := fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)
	waitAPI(t, c)
	c.WaitParsed(30*time.Second, dagIDs...)
	api := apiClient{t: t, base: base}
	api.token = api.login("ada", "s3cret-ada")
	return base, api
}

// TestWebUIInBrowser drives the web UI in headless Chromium against a real
// standalone gust, as an Admin: watches a running try's log grow; finds a
// DAG by searching; triggers it from the params form (a value out of its
// schema's range is explained next to its field and nothing is sent);
// follows the run page and the grid turning success; reads the graph in
// the run's colours, the Gantt chart, the code, details and events tabs;
// reads a retried task's two tries; clears a failed task after its dry run
// and watches the new try succeed; saves a run's note; creates a backfill
// after its dry run and cancels it; pauses with the switch, filters by tag
// and by paused and pauses in bulk; switches to dark and to local time;
// and logs out. A Viewer then sees no write controls anywhere.
func TestWebUIInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := newCluster(t, "GUST__SCHEDULER__JOB_HEARTBEAT_SEC=1") // logs ship with each heartbeat
	marker := filepath.Join(c.Home, "flaky-once")
	failMarker := filepath.Join(c.Home, "fails-once")
	c.WriteDAG("ui.yaml", `
ui_hello:
  schedule: null
  tags: [ui]
  params:
    who: {type: string, default: world, description: Who to greet}
    times: {type: integer, default: 1, minimum: 1, maximum: 5}
    color: {type: string, enum: [red, green], default: red}
  tasks:
    greet: {operator: bash, bash_command: 'echo "hello {{ params.who }}, $((6 * 7))"'}
    flaky:
      operator: bash
      retries: 1
      retry_delay_sec: 0.5
      bash_command: 'if [ -e `+marker+` ]; then echo "second try"; else touch `+marker+`; echo "first try fails"; exit 3; fi'
      dependencies: [greet]
ui_live:
  schedule: null
  tasks:
    slow: {operator: bash, bash_command: 'echo "tick one"; sleep 5; echo "tick two"'}
ui_fail:
  schedule: null
  tasks:
    boom: {operator: bash, bash_command: 'if [ -e `+failMarker+` ]; then echo "fixed now"; else touch `+failMarker+`; echo "it broke"; exit 1; fi'}
ui_other:
  schedule: "@daily"
  start_date: 2024-01-01
  catchup: false
  tasks:
    nap: {operator: bash, bash_command: 'sleep 4'}
`)
	base, api := startUI(t, c, "ui_hello", "ui_live", "ui_fail", "ui_other")
	trigger := func(dag, runID string) {
		if code, body := api.do("POST", "/api/v2/dags/"+dag+"/dagRuns", map[string]any{"dag_run_id": runID, "logical_date": nil}); code != 200 {
			t.Fatalf("trigger %s: %d %s", dag, code, body)
		}
	}
	trigger("ui_fail", "broken")
	ready := time.Now()

	b := newBrowser(t, base, "TZ=Asia/Kolkata") // local time is UTC+05:30
	b.login("ada", "s3cret-ada")
	// Triggered once the browser is up, so that the page opens while the
	// try runs, however loaded the machine.
	trigger("ui_live", "live")
	b.step("a running try's log grows", 30*time.Second,
		chromedp.Navigate(base+"/dags/ui_live/runs/live/tasks/slow"),
		until(`/^tick one$/m.test(document.getElementById("log").textContent) && document.getElementById("ti-state").textContent === "running"`),
		until(`/^tick two$/m.test(document.getElementById("log").textContent)`),
		until(`document.getElementById("log").textContent.match(/^tick one$/mg).length === 1 &&
			document.getElementById("ti-state").textContent === "success"`),
	)
	b.step("search for the DAG", 10*time.Second,
		chromedp.Navigate(base+"/dags"),
		until(`document.querySelectorAll("#dags tr[data-dag-id]").length === 4`),
		until(`!/\b(null|undefined|NaN)\b/.test(document.getElementById("view").innerText)`),
		chromedp.SendKeys(chromedp.ID("#dag-search"), "hello\r"),
		until(`location.search === "?search=hello" && document.querySelectorAll("#dags tr[data-dag-id]").length === 1 &&
			!!document.querySelector('#dags tr[data-dag-id="ui_hello"]')`),
	)
	b.step("the params form explains a bad value next to its field", 15*time.Second,
		chromedp.Click(chromedp.CSS(`#dags tr[data-dag-id="ui_hello"] a.trigger`)),
		until(`location.pathname === "/dags/ui_hello/trigger" && !!document.querySelector("#conf-editor .cm-content")`),
		until(`document.getElementById("param-who").value === "world" && document.getElementById("param-times").value === "1" &&
			document.querySelector("#param-color option:checked").textContent === "red"`),
		until(`document.querySelector('[data-param="who"]').textContent.includes("Who to greet")`),
		chromedp.SetValue(chromedp.ID("param-times"), "9"),
		script(`document.getElementById("param-times").dispatchEvent(new Event("input"))`),
		until(`document.getElementById("param-times-error").textContent === "Must be at most 5."`),
		until(`document.querySelector("#conf-editor .cm-content").textContent.includes('"times": 9')`),
		chromedp.Click(chromedp.ID("trigger-submit")),
		until(`document.getElementById("trigger-error").textContent === "Some params need fixing." && location.pathname === "/dags/ui_hello/trigger"`),
	)
	if code, body := api.do("GET", "/api/v2/dags/ui_hello/dagRuns", nil); code != 200 || !strings.Contains(string(body), `"total_entries":0`) {
		t.Fatalf("a refused form sent a run: %d %s", code, body)
	}
	b.step("trigger with the params form", 15*time.Second,
		chromedp.SetValue(chromedp.ID("param-times"), "2"),
		script(`document.getElementById("param-times").dispatchEvent(new Event("input"))`),
		chromedp.SetValue(chromedp.ID("param-color"), "1"),
		script(`document.getElementById("param-color").dispatchEvent(new Event("change"))`),
		until(`document.getElementById("param-times-error").textContent === "" &&
			document.querySelector("#conf-editor .cm-content").textContent.includes('"color": "green"')`),
		chromedp.Click(chromedp.ID("trigger-submit")),
		until(`location.pathname.startsWith("/dags/ui_hello/runs/manual__")`),
		until(`!!document.querySelector('#run-tis tr[data-task-id="greet"]')`),
		until(`document.getElementById("run-conf").textContent.includes('"color": "green"')`),
	)
	var runs struct {
		DagRuns []struct {
			DagRunID string         `json:"dag_run_id"`
			Conf     map[string]any `json:"conf"`
		} `json:"dag_runs"`
	}
	if code, body := api.do("GET", "/api/v2/dags/ui_hello/dagRuns", nil); code != 200 || json.Unmarshal(body, &runs) != nil ||
		len(runs.DagRuns) != 1 || runs.DagRuns[0].Conf["times"] != 2.0 || runs.DagRuns[0].Conf["color"] != "green" || runs.DagRuns[0].Conf["who"] != "world" {
		t.Fatalf("runs after the trigger: %d %s", code, body)
	}
	runID := runs.DagRuns[0].DagRunID
	cell := fmt.Sprintf(`a.cell[data-task-id="greet"][data-run-id=%s]`, jsString(runID))
	b.step("the grid cell turns success", 45*time.Second,
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/dags/ui_hello"]`)),
		until(`location.pathname === "/dags/ui_hello"`),
		chromedp.WaitVisible(chromedp.CSS(cell)),
		until(`document.querySelector(`+jsString(cell)+`).dataset.state === "success"`),
		until(`[...document.querySelectorAll("#grid th.task")].map((th) => th.textContent).join(",") === ",greet,flaky"`),
	)
	b.step("the task's log shows its output", 20*time.Second,
		chromedp.Click(chromedp.CSS(cell)),
		until(`location.pathname.endsWith("/tasks/greet")`),
		until(`document.getElementById("log").textContent.includes("hello world, 42")`),
		chromedp.Click(chromedp.CSS(`nav.subtabs a[href$="tab=Rendered"]`)),
		until(`document.getElementById("ti-rendered").textContent.includes('echo "hello world, $((6 * 7))"')`),
		chromedp.Click(chromedp.CSS(`nav.subtabs a[href$="tab=XCom"]`)),
		until(`(() => { const t = document.getElementById("ti-xcoms"); return !!t && t.textContent.includes("return_value") && t.textContent.includes("hello world, 42"); })()`),
		chromedp.Click(chromedp.CSS(`nav.subtabs a[href$="tab=Dependencies"]`)),
		until(`document.getElementById("ti-deps").textContent.includes("Task is in the 'success' state.")`),
		back(), back(), back(),
	)
	flaky := fmt.Sprintf(`a.cell[data-task-id="flaky"][data-run-id=%s]`, jsString(runID))
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
		chromedp.Click(chromedp.CSS(`nav.subtabs a[href$="tab=Details"]`)),
		until(`document.getElementById("ti-details").textContent.includes("2 of 2") && document.querySelectorAll("#ti-tries tbody tr").length === 2 &&
			[...document.querySelectorAll("#ti-tries tbody tr")].map((tr) => tr.children[1].textContent + "@" + (tr.children[3].textContent !== "")).join() === "failed@true,success@true"`),
	)
	b.step("the graph in the run's colours", 15*time.Second,
		chromedp.Navigate(base+"/dags/ui_hello/graph"),
		until(`document.querySelectorAll("#graph .node").length === 2 && document.querySelectorAll("#graph .edge").length === 1`),
		until(`document.querySelector('#graph .node[data-task-id="greet"]').dataset.state === "success" &&
			document.querySelector('#graph .node[data-task-id="flaky"]').dataset.state === "success"`),
		// dagre placed the upstream task left of its downstream.
		until(`(() => { const x = (id) => document.querySelector('#graph .node[data-task-id="' + id + '"] rect').x.baseVal.value;
			return x("greet") < x("flaky"); })()`),
	)
	b.step("a graph node opens its task instance", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#graph .node[data-task-id="flaky"]`)),
		until(`location.pathname === "/dags/ui_hello/runs/" + encodeURIComponent(`+jsString(runID)+`) + "/tasks/flaky"`),
	)
	b.step("the gantt chart", 15*time.Second,
		chromedp.Navigate(base+"/dags/ui_hello/gantt"),
		until(`document.querySelectorAll('#gantt .gantt-row').length === 2 &&
			[...document.querySelectorAll('#gantt a.gantt-bar[data-task-id="flaky"]')].map((a) => a.dataset.try).join() === "1,2" &&
			document.querySelector('#gantt a.gantt-bar[data-task-id="flaky"][data-try="1"]').classList.contains("state-failed")`),
	)
	b.step("code, details and events", 15*time.Second,
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/code"]`)),
		until(`document.getElementById("code").textContent.includes("ui_hello:") && document.getElementById("code").textContent.includes("Who to greet")`),
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/details"]`)),
		until(`document.getElementById("details").textContent.includes("Who to greet")`),
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/events"]`)),
		until(`[...document.querySelectorAll("#events tbody tr")].some((tr) => tr.textContent.includes("trigger_dag_run") && tr.textContent.includes("ada"))`),
	)
	b.step("clear a failed task after its dry run and watch the new try", 40*time.Second,
		chromedp.Navigate(base+"/dags/ui_fail/runs/broken/tasks/boom"),
		until(`document.getElementById("ti-state").textContent === "failed" && document.getElementById("log").textContent.includes("it broke")`),
		chromedp.Click(chromedp.ID("ti-clear")),
		until(`(() => { const p = document.getElementById("clear-panel"); return !!p && p.querySelector(".preview").textContent.includes("boom") &&
			!p.querySelector("button.confirm").disabled; })()`),
		chromedp.Click(chromedp.CSS(`#clear-panel button.confirm`)),
		until(`!document.getElementById("clear-panel")`),
		until(`document.querySelectorAll(".tries button").length === 2 && document.getElementById("log").textContent.includes("fixed now") &&
			document.getElementById("ti-state").textContent === "success"`),
	)
	b.step("a run's note", 10*time.Second,
		chromedp.Navigate(base+"/dags/ui_fail/runs/broken"),
		until(`document.getElementById("run-state").textContent === "success"`),
		chromedp.SendKeys(chromedp.ID("run-note"), "checked by hand"),
		chromedp.Click(chromedp.ID("run-note-save")),
		until(`document.querySelector(".note-box [role=status]").textContent === "Saved."`),
	)
	if code, body := api.do("GET", "/api/v2/dags/ui_fail/dagRuns/broken", nil); code != 200 || !strings.Contains(string(body), `"note":"checked by hand"`) {
		t.Fatalf("the run's note: %d %s", code, body)
	}
	b.step("a backfill after its dry run, then cancelled", 20*time.Second,
		chromedp.Navigate(base+"/dags/ui_other/backfills"),
		chromedp.Click(chromedp.CSS(`#bf-create summary`)),
		chromedp.SetValue(chromedp.ID("bf-from"), "2024-03-01T00:00"),
		chromedp.SetValue(chromedp.ID("bf-to"), "2024-03-03T00:00"),
		chromedp.Click(chromedp.ID("bf-dry-run")),
		until(`document.getElementById("bf-preview").textContent.includes("3 runs would be created")`),
		chromedp.SetValue(chromedp.ID("bf-max-active"), "1"),
		chromedp.Click(chromedp.ID("bf-submit")),
		until(`document.querySelectorAll("#backfills tbody tr").length === 1`),
		chromedp.Click(chromedp.CSS(`#backfills button.bf-cancel`)),
		until(`document.querySelector("#backfills .bf-state").textContent === "completed"`),
	)
	b.step("pause with the DAG page's switch", 10*time.Second,
		chromedp.Navigate(base+"/dags/ui_hello"),
		until(`!document.getElementById("dag-pause").disabled && document.getElementById("dag-pause").checked`),
		chromedp.Click(chromedp.ID("dag-pause")),
		until(`(() => { const s = document.getElementById("dag-pause"); return !s.checked && !s.disabled && s.getAttribute("aria-label") === "Unpause ui_hello"; })()`),
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
		rows("ui_fail", "ui_hello", "ui_live", "ui_other"),
		chromedp.SendKeys(chromedp.ID("dag-tag"), "ui\r"),
		rows("ui_hello"),
		chromedp.Clear(chromedp.ID("dag-tag")),
		chromedp.SetValue(chromedp.ID("dag-status"), "active"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)),
		rows("ui_fail", "ui_live", "ui_other"),
		chromedp.Click(chromedp.CSS(`#dags tr[data-dag-id="ui_other"] input[type="checkbox"]:not(.pause-switch)`)),
		chromedp.Click(chromedp.ID("bulk-pause")),
		rows("ui_fail", "ui_live"),
		back(),
		until(`location.search === "?tag=ui"`),
		rows("ui_hello"),
	)
	if !paused("ui_other") {
		t.Fatal("ui_other is not paused after the bulk pause")
	}
	b.step("dark theme and local time", 10*time.Second,
		chromedp.Navigate(base+"/dags/ui_fail/runs"),
		until(`/Z$/.test(document.querySelector("#runs tbody tr td:nth-child(4)").textContent)`),
		chromedp.Click(chromedp.ID("theme")),
		until(`document.documentElement.dataset.theme === "dark" && getComputedStyle(document.body).backgroundColor === "rgb(20, 23, 26)"`),
		chromedp.SetValue(chromedp.ID("tz"), "local"),
		script(`document.getElementById("tz").dispatchEvent(new Event("change"))`),
		until(`/\+05:30$/.test(document.querySelector("#runs tbody tr td:nth-child(4)").textContent)`),
		chromedp.Reload(),
		until(`document.documentElement.dataset.theme === "dark" && /\+05:30$/.test(document.querySelector("#runs tbody tr td:nth-child(4)").textContent)`),
	)
	b.step("log out", 10*time.Second,
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.Navigate(base+"/dags/ui_hello"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		until(`location.pathname === "/auth/login"`),
	)

	b.login("vic", "s3cret-vic")
	noWrites := until(`document.querySelectorAll("input.pause-switch, .trigger, #bulk-pause, #run-clear, #run-mark-success, #run-note-save, #ti-clear, #ti-mark-failed, #bf-create, .bf-cancel").length === 0`)
	b.step("a Viewer has no write controls", 20*time.Second,
		until(`!!document.querySelector('#dags tr[data-dag-id="ui_hello"] a.dag-link')`),
		noWrites,
		until(`!/\b(null|undefined|NaN)\b/.test(document.getElementById("view").innerText)`),
		chromedp.Navigate(base+"/dags/ui_hello"),
		chromedp.WaitVisible(chromedp.CSS(cell)),
		noWrites,
		chromedp.Navigate(base+"/dags/ui_fail/runs/broken"),
		until(`document.getElementById("run-state").textContent === "success" && document.getElementById("run-note").readOnly`),
		noWrites,
		chromedp.Navigate(base+"/dags/ui_fail/runs/broken/tasks/boom"),
		until(`document.getElementById("log").textContent.includes("fixed now")`),
		noWrites,
		chromedp.Navigate(base+"/dags/ui_other/backfills"),
		until(`document.querySelectorAll("#backfills tbody tr").length === 1`),
		noWrites,
		chromedp.Navigate(base+"/dags/ui_hello/trigger"),
		until(`document.querySelector("#view .error").textContent === "Your role may not trigger DAG runs."`),
	)
	t.Logf("cluster ready in %s; browser part %s", ready.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
}
