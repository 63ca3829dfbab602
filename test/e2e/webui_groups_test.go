package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestTaskGroupsInBrowser runs task groups end to end: a Python file in
// the shape of Airflow's example_task_group and example_task_group_decorator
// (nested TaskGroups, >> between groups, @task_group called twice passing
// data) and a dag-factory YAML file with task_groups run to success with
// Airflow's ids and XComs; the task instance list filters by task group;
// in headless Chromium the grid shows each group as one row in the most
// pressing state inside it until opened, and the graph shows a closed
// group as one node standing for its tasks, an open one as a box around
// them.
func TestTaskGroupsInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := newCluster(t)
	// The file the Python reader's test reads too.
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "common", "pydag", "testdata", "task_groups.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("task_groups.py", string(src))
	c.WriteDAG("yaml_groups.yaml", `
yaml_groups:
  schedule: null
  task_groups:
    outer: {tooltip: the outer group}
    inner: {parent_group_name: outer}
  tasks:
    start: {operator: bash, bash_command: "echo start"}
    a: {operator: bash, bash_command: "echo a", task_group_name: outer, dependencies: [start]}
    b: {operator: bash, bash_command: "exit 1", task_group_name: inner, dependencies: [a]}
    c: {operator: bash, bash_command: "echo c", task_group_name: inner, dependencies: [a]}
    end: {operator: empty, dependencies: [outer], trigger_rule: all_done}
`)
	base, api := startUI(t, c, "task_groups", "yaml_groups")
	for _, dag := range []string{"task_groups", "yaml_groups"} {
		if code, body := api.do("POST", "/api/v2/dags/"+dag+"/dagRuns", map[string]any{"dag_run_id": "r1", "logical_date": nil}); code != 200 {
			t.Fatalf("trigger %s: %d %s", dag, code, body)
		}
	}
	runs := c.WaitRunsFinished(90*time.Second, 1, "task_groups", "yaml_groups")
	if s := runs["task_groups"][0].State; s != "success" {
		t.Errorf("task_groups: %s", s)
	}
	if s := runs["yaml_groups"][0].State; s != "success" { // end is all_done, and the leaf
		t.Errorf("yaml_groups: %s", s)
	}
	tis := c.TIs("task_groups", "r1")
	for _, id := range []string{"start", "section_1.task_1", "section_1.task_2", "section_2.inner_section_2.task_4", "end", "grp.add", "grp__1.add"} {
		if s := testenv.State(tis[id]); s != "success" {
			t.Errorf("task_groups.%s: %s", id, s)
		}
	}
	if x := c.XComs("task_groups", "r1"); x["grp.add/return_value"] != "2" || x["grp__1.add/return_value"] != "3" {
		t.Errorf("the groups' XComs: %v", x)
	}
	ytis := c.TIs("yaml_groups", "r1")
	for id, want := range map[string]string{"outer.a": "success", "outer.inner.b": "failed", "outer.inner.c": "success", "end": "success"} {
		if s := testenv.State(ytis[id]); s != want {
			t.Errorf("yaml_groups.%s: %s, want %s", id, s, want)
		}
	}
	code, body := api.do("GET", "/api/v2/dags/yaml_groups/dagRuns/r1/taskInstances?task_group_id=outer.inner", nil)
	if code != 200 || !strings.Contains(string(body), `"total_entries":2`) || !strings.Contains(string(body), `"task_id":"outer.inner.b"`) {
		t.Errorf("task_group_id=outer.inner: %d %s", code, body)
	}
	ready := time.Now()

	b := newBrowser(t, base)
	b.login("ada", "s3cret-ada")
	rows := func(want string) chromedp.Action[chromedp.Void] {
		return until(`[...document.querySelectorAll("#grid th.task")].map((th) => th.textContent).join(",") === ` + jsString(want))
	}
	b.step("the grid shows a closed group in its most pressing state", 20*time.Second,
		chromedp.Navigate(base+"/dags/yaml_groups"),
		rows(",start,outer,end"),
		until(`document.querySelector('#grid .cell.group[data-group-id="outer"]').dataset.state === "failed" &&
			document.querySelector('#grid .cell[data-task-id="end"]').dataset.state === "success"`),
		until(`document.querySelector('#grid button.group-toggle[data-group-id="outer"]').getAttribute("aria-expanded") === "false"`),
	)
	b.step("opening groups in the grid", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#grid button.group-toggle[data-group-id="outer"]`)),
		rows(",start,outer,a,inner,end"),
		chromedp.Click(chromedp.CSS(`#grid button.group-toggle[data-group-id="outer.inner"]`)),
		rows(",start,outer,a,inner,b,c,end"),
		until(`document.querySelector('#grid a.cell[data-task-id="outer.inner.b"]').dataset.state === "failed"`),
		chromedp.Click(chromedp.ID("grid-collapse")),
		rows(",start,outer,end"),
		chromedp.Click(chromedp.ID("grid-expand")),
		rows(",start,outer,a,inner,b,c,end"),
		chromedp.Click(chromedp.ID("grid-collapse")),
		rows(",start,outer,end"),
	)
	b.step("the graph shows a closed group as one node", 15*time.Second,
		chromedp.Navigate(base+"/dags/yaml_groups/graph?run_id=r1"),
		until(`document.querySelectorAll("#graph .node").length === 3 && document.querySelectorAll("#graph .edge").length === 2`),
		until(`document.querySelector('#graph .node.group[data-group-id="outer"]').dataset.state === "failed"`),
		until(`(() => { const x = (sel) => document.querySelector('#graph ' + sel + ' rect').x.baseVal.value;
			return x('.node[data-task-id="start"]') < x('.node[data-group-id="outer"]') && x('.node[data-group-id="outer"]') < x('.node[data-task-id="end"]'); })()`),
	)
	b.step("opening a group in the graph draws a box around its tasks", 15*time.Second,
		chromedp.Click(chromedp.CSS(`#graph .node.group[data-group-id="outer"]`)),
		until(`!!document.querySelector('#graph .box[data-group-id="outer"]') && document.querySelectorAll("#graph .node").length === 4 &&
			!!document.querySelector('#graph .node.group[data-group-id="outer.inner"]') && document.querySelectorAll("#graph .edge").length === 3`),
		until(`document.querySelector('#graph .node[data-task-id="outer.a"]').dataset.state === "success"`),
		// The box holds its nodes.
		until(`(() => { const r = (sel) => document.querySelector('#graph ' + sel + ' rect').getBBox();
			const box = r('.box[data-group-id="outer"]'), a = r('.node[data-task-id="outer.a"]');
			return box.x <= a.x && a.x + a.width <= box.x + box.width && box.y <= a.y && a.y + a.height <= box.y + box.height; })()`),
		chromedp.Click(chromedp.CSS(`#graph .node.group[data-group-id="outer.inner"]`)),
		until(`document.querySelectorAll("#graph .node").length === 5 && document.querySelectorAll("#graph .box").length === 2 &&
			document.querySelector('#graph .node[data-task-id="outer.inner.b"]').dataset.state === "failed"`),
		// Each box's title is clear of the nodes inside it.
		until(`(() => { const r = (sel) => document.querySelector('#graph ' + sel).getBBox();
			const over = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
			const titles = ['outer', 'outer.inner'].map((id) => r('.box[data-group-id="' + id + '"] .box-label'));
			const nodes = [...document.querySelectorAll('#graph .node rect')].map((n) => n.getBBox());
			return titles.every((t) => nodes.every((n) => !over(t, n))) && !over(titles[0], titles[1]); })()`),
		chromedp.Click(chromedp.CSS(`#graph .box[data-group-id="outer"] .box-label`)), // the box's title closes it
		until(`document.querySelectorAll("#graph .node").length === 3 && document.querySelectorAll("#graph .box").length === 0`),
	)
	b.step("the Python file's groups nest in the grid", 15*time.Second,
		chromedp.Navigate(base+"/dags/task_groups"),
		rows(",one,grp,grp__1,start,section_1,section_2,end"), // upstream first, ties in the DAG's order
		chromedp.Click(chromedp.CSS(`#grid button.group-toggle[data-group-id="section_2"]`)),
		rows(",one,grp,grp__1,start,section_1,section_2,inner_section_2,task_1,end"),
		until(`document.querySelector('#grid button.group-toggle[data-group-id="section_2.inner_section_2"]').title === "Tasks for inner_section2"`),
	)
	t.Logf("task groups in the browser: %s to set up and run, %s in the browser", ready.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
}
