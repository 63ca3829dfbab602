package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestWebUIAdminInBrowser drives the Home and Admin pages in headless
// Chromium against a real standalone gust. An Admin sees a malformed DAG
// file in the Home page's banner and on the import-errors page, creates a
// pool and sees its slots (default_pool cannot be deleted: the API's
// words), creates, edits and deletes a variable, creates a connection
// whose password neither the API nor the page ever shows (and whose test
// answers that testing is disabled), creates a user, reads those writes
// in the audit log, and the new user logs in. A Viewer then sees no write
// controls and "Admins only" on the users page.
func TestWebUIAdminInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := newCluster(t)
	c.WriteDAG("adm_ok.yaml", `
adm_ok:
  schedule: null
  tasks:
    nothing: {operator: empty}
`)
	c.WriteDAG("adm_broken.yaml", "adm_broken:\n  tasks: [this is: not: valid\n")
	base, api := startUI(t, c, "adm_ok")
	testenv.Eventually(t, 30*time.Second, "the import error", func() (bool, string) {
		code, body := api.do("GET", "/api/v2/importErrors", nil)
		return code == 200 && strings.Contains(string(body), "adm_broken.yaml"), string(body)
	})
	if code, body := api.do("POST", "/api/v2/dags/adm_ok/dagRuns", map[string]any{"dag_run_id": "home_run", "logical_date": nil}); code != 200 {
		t.Fatalf("trigger adm_ok: %d %s", code, body)
	}
	testenv.Eventually(t, 30*time.Second, "the run to succeed", func() (bool, string) {
		code, body := api.do("GET", "/api/v2/dags/adm_ok/dagRuns/home_run", nil)
		return code == 200 && strings.Contains(string(body), `"state":"success"`), string(body)
	})
	ready := time.Now()

	b := newBrowser(t, base)
	b.login("ada", "s3cret-ada")
	clean := `!/\b(null|undefined|NaN)\b|\[object/.test(document.getElementById("view").innerText)`
	b.step("Home shows the DAGs, health, metrics and the import-error banner", 15*time.Second,
		chromedp.Navigate(base+"/home"),
		until(`(() => { const b = document.getElementById("import-error-banner");
			return !!b && !b.hidden && b.textContent.includes("1 DAG file failed to import"); })()`),
		until(`document.querySelector("#dags-all .n").textContent === "1" && document.querySelector("#dags-paused .n").textContent !== ""`),
		until(`document.querySelector('#health tr[data-component="metadatabase"] .status').textContent === "healthy"`),
		until(`document.querySelector('#health tr[data-component="scheduler"] .status').textContent === "healthy"`),
		until(`!!document.querySelector('#workers li[data-worker]')`),
		until(`document.querySelectorAll('#ti-states li[data-key]').length === 13 && !!document.querySelector('#run-states .stackbar')`),
		until(`document.querySelector('#run-states li[data-key="success"] .count').textContent === "1" &&
			document.querySelector('#run-types li[data-key="manual"] .count').textContent === "1" &&
			document.querySelector('#ti-states li[data-key="success"] .count').textContent === "1" &&
			document.querySelectorAll('#run-states .stackbar .seg.state-success').length === 1`),
		until(clean),
		chromedp.Click(chromedp.CSS(`button[data-range="7d"]`)),
		until(`location.search === "?range=7d" && document.querySelector('button[data-range="7d"]').getAttribute("aria-pressed") === "true"`),
		until(`!!document.querySelector("#ti-states li[data-key]")`),
	)
	b.step("the banner links to the import errors", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#import-error-banner a`)),
		until(`location.pathname === "/admin/import-errors"`),
		until(`(() => { const s = document.querySelector('.import-error[data-filename$="adm_broken.yaml"] pre.stack-trace');
			return !!s && s.textContent.length > 10; })()`),
	)

	b.step("create a pool and see its slots", 15*time.Second,
		chromedp.Navigate(base+"/admin/pools"),
		chromedp.WaitVisible(chromedp.CSS(`#pools tr[data-pool="default_pool"]`)),
		chromedp.Click(chromedp.CSS(`details.create summary`)),
		chromedp.SendKeys(chromedp.CSS(`#pool-create input[name="name"]`), "etl_pool"),
		chromedp.SetValue(chromedp.CSS(`#pool-create input[name="slots"]`), "7"),
		chromedp.Click(chromedp.CSS(`#pool-create button[type="submit"]`)),
		until(`(() => { const r = document.querySelector('#pools tr[data-pool="etl_pool"]');
			return !!r && r.querySelector(".total-slots").textContent === "7" &&
				r.querySelector('.slotlegend [data-part="open"]').textContent === "open 7"; })()`),
		until(clean),
	)
	b.step("default_pool cannot be deleted: the API's answer", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#pools tr[data-pool="default_pool"] button.delete`)),
		chromedp.Click(chromedp.CSS(`#pools tr[data-pool="default_pool"] button.delete`)),
		until(`document.getElementById("pool-error").textContent === "Default Pool can't be deleted"`),
	)

	b.step("create, edit and delete a variable", 20*time.Second,
		chromedp.Navigate(base+"/admin/variables"),
		chromedp.WaitVisible(chromedp.CSS(`#variables`)),
		chromedp.Click(chromedp.CSS(`details.create summary`)),
		chromedp.SendKeys(chromedp.CSS(`#variable-create input[name="key"]`), "ui_var"),
		chromedp.SendKeys(chromedp.CSS(`#variable-create textarea[name="value"]`), "hello"),
		chromedp.SendKeys(chromedp.CSS(`#variable-create input[name="description"]`), "made in the browser"),
		chromedp.Click(chromedp.CSS(`#variable-create button[type="submit"]`)),
		until(`document.querySelector('#variables tr[data-key="ui_var"] .value')?.textContent === "hello"`),
		chromedp.Click(chromedp.CSS(`#variables tr[data-key="ui_var"] button.edit`)),
		chromedp.SetValue(chromedp.CSS(`#variables .variable-edit textarea[name="value"]`), "world"),
		chromedp.Click(chromedp.CSS(`#variables .variable-edit button[type="submit"]`)),
		until(`document.querySelector('#variables tr[data-key="ui_var"] .value')?.textContent === "world"`),
	)
	var v struct {
		Value       string `json:"value"`
		Description string `json:"description"`
	}
	if code, body := api.do("GET", "/api/v2/variables/ui_var", nil); code != 200 || json.Unmarshal(body, &v) != nil ||
		v.Value != "world" || v.Description != "made in the browser" {
		t.Fatalf("the edited variable: %d %s", code, body)
	}
	b.step("delete the variable", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#variables tr[data-key="ui_var"] button.delete`)),
		chromedp.Click(chromedp.CSS(`#variables tr[data-key="ui_var"] button.delete`)),
		until(`!document.querySelector('#variables tr[data-key="ui_var"]') && document.querySelector("#variables") !== null`),
	)
	if code, _ := api.do("GET", "/api/v2/variables/ui_var", nil); code != 404 {
		t.Fatalf("the deleted variable answers %d", code)
	}

	const secret = "Sup3r-Secret-PW"
	noSecret := `!document.documentElement.outerHTML.includes(` + jsString(secret) + `) &&
		[...document.querySelectorAll("input")].every((i) => i.value !== ` + jsString(secret) + `)`
	b.step("create a connection; its password is never shown", 15*time.Second,
		chromedp.Navigate(base+"/admin/connections"),
		chromedp.WaitVisible(chromedp.CSS(`#connections`)),
		chromedp.Click(chromedp.CSS(`details.create summary`)),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="connection_id"]`), "ui_db"),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="conn_type"]`), "postgres"),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="host"]`), "db.example"),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="port"]`), "5432"),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="login"]`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#connection-create input[name="password"]`), secret),
		chromedp.SendKeys(chromedp.CSS(`#connection-create textarea[name="extra"]`), `{"sslmode": "require"}`),
		chromedp.Click(chromedp.CSS(`#connection-create button[type="submit"]`)),
		until(`document.querySelector('#connections tr[data-conn-id="ui_db"]')?.textContent.includes("db.example")`),
		until(noSecret),
		chromedp.Click(chromedp.CSS(`#connections tr[data-conn-id="ui_db"] button.edit`)),
		until(`document.querySelector('#connections .connection-form input[name="password"]').value === ""`),
		chromedp.Click(chromedp.CSS(`#connections .connection-form button.test`)),
		until(`document.querySelector('#connections .connection-form .test-result').textContent.includes("Testing connections is disabled")`),
		// Saving with the password left empty keeps it.
		chromedp.SetValue(chromedp.CSS(`#connections .connection-form input[name="description"]`), "edited"),
		chromedp.Click(chromedp.CSS(`#connections .connection-form button[type="submit"]`)),
		until(`document.querySelector('#connections tr[data-conn-id="ui_db"]')?.textContent.includes("edited")`),
		until(noSecret),
	)
	code, body := api.do("GET", "/api/v2/connections/ui_db", nil)
	if code != 200 || strings.Contains(string(body), secret) || !strings.Contains(string(body), `"password":"***"`) {
		t.Fatalf("the API shows the connection's password, or lost it: %d %s", code, body)
	}

	b.step("create a user", 15*time.Second,
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`#users tr[data-username="ada"]`)),
		chromedp.Click(chromedp.CSS(`details.create summary`)),
		chromedp.SendKeys(chromedp.CSS(`#user-create input[name="username"]`), "newbie"),
		chromedp.SetValue(chromedp.CSS(`#user-create select[name="role"]`), "Op"),
		chromedp.SendKeys(chromedp.CSS(`#user-create input[name="password"]`), "newbie-pass-1"),
		chromedp.Click(chromedp.CSS(`#user-create button[type="submit"]`)),
		until(`document.querySelector('#users tr[data-username="newbie"] select.role-select')?.value === "Op"`),
		until(clean),
	)

	b.step("the audit log shows those writes", 15*time.Second,
		chromedp.Navigate(base+"/admin/events?owner=ada"),
		until(`(() => { const ev = [...document.querySelectorAll("#events tr[data-event]")].map((r) => r.dataset.event);
			return ["post_pool", "post_variable", "patch_variable", "delete_variable", "post_connection", "patch_connection", "create_user"]
				.every((e) => ev.includes(e)) && ev[0] === "create_user"; })()`),
		until(`[...document.querySelectorAll("#events td.owner")].every((c) => c.textContent === "ada")`),
		until(`document.getElementById("event-owner").value === "ada"`),
		until(noSecret),
	)

	b.step("log out", 10*time.Second,
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
	)
	b.login("newbie", "newbie-pass-1")
	b.step("log out the new user", 10*time.Second,
		chromedp.Click(chromedp.ID("#logout")),
		chromedp.WaitVisible(chromedp.ID("#username")),
	)

	b.login("vic", "s3cret-vic")
	noWrites := `document.querySelectorAll("details.create, button.edit, button.delete, button.test").length === 0`
	b.step("a Viewer has no write controls on pools", 10*time.Second,
		chromedp.Navigate(base+"/admin/pools"),
		until(`!!document.querySelector('#pools tr[data-pool="etl_pool"]')`),
		until(noWrites),
	)
	b.step("a Viewer has no write controls on variables", 10*time.Second,
		chromedp.Navigate(base+"/admin/variables"),
		until(`!!document.querySelector('#variables')`),
		until(noWrites),
	)
	b.step("a Viewer has no write controls on connections", 10*time.Second,
		chromedp.Navigate(base+"/admin/connections"),
		until(`!!document.querySelector('#connections tr[data-conn-id="ui_db"]')`),
		until(noWrites),
		until(noSecret),
	)
	b.step("a Viewer reads Admins only on users", 10*time.Second,
		chromedp.Navigate(base+"/admin/users"),
		until(`document.getElementById("admins-only")?.textContent.startsWith("Admins only")`),
		until(`!document.querySelector("#users") && document.getElementById("nav-users").hidden`),
	)
	t.Logf("cluster ready in %s; browser part %s", ready.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
}
