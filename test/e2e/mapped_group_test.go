package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestMappedTaskGroup runs mapped task groups through the scheduler and
// workers: every task of the group gets an instance per item, instance i
// follows instance i upstream in the group (one failing or slow does not
// hold the others), the group's tasks take their MappedArguments, and the
// downstream reduces over the group's output.
func TestMappedTaskGroup(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "common", "pydag", "testdata", "mapped_group.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("mapped_group.py", string(b))
	c.MustRun("users", "create", "-u", "viewer", "-r", "Viewer", "-p", "viewer-pass")
	c.Start("api", "api-server")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "3")
	c.WaitParsed(60*time.Second, "mapped_group", "mapped_group_kwargs")
	c.MustRun("dags", "trigger", "mapped_group", "--run-id", "r1")
	c.MustRun("dags", "trigger", "mapped_group_kwargs", "--run-id", "r1")
	runs := c.WaitRunsFinished(120*time.Second, 1, "mapped_group", "mapped_group_kwargs")
	tis := c.TIs("mapped_group", "r1")
	state := map[string]string{}
	byKey := map[string]testenv.TaskInstance{}
	for _, ti := range tis {
		k := fmt.Sprintf("%s[%d]", ti.TaskID, ti.MapIndex)
		if ti.MapIndex < 0 {
			k = ti.TaskID
		}
		state[k] = "none"
		if ti.State != nil {
			state[k] = *ti.State
		}
		byKey[k] = ti
	}
	want := map[string]string{
		"files": "success", "total": "success",
		"transform.announce[0]": "success", "transform.announce[1]": "success", "transform.announce[2]": "success",
		"transform.convert[0]": "success", "transform.convert[1]": "success", "transform.convert[2]": "success",
		"transform.size[0]": "success", "transform.size[1]": "failed", "transform.size[2]": "success",
	}
	for k, w := range want {
		if state[k] != w {
			t.Errorf("%s: %s, want %s (all: %v)", k, state[k], w, state)
		}
	}
	if len(state) != len(want) {
		t.Errorf("task instances: %v, want %d", state, len(want))
	}
	if rs := runs["mapped_group"]; rs[0].State != "success" {
		t.Errorf("run: %+v, want success (its leaf, total, is all_done)", rs[0])
	}
	if x := c.XComs("mapped_group", "r1"); x["total/return_value"] != "[6,6]" || x["transform.convert[1]/return_value"] != `"b.yaml"` {
		t.Errorf("XComs: %v", x)
	}
	// Depth first: size[0] ran while convert[2] still slept.
	s0, c2 := byKey["transform.size[0]"], byKey["transform.convert[2]"]
	if s0.EndDate == nil || c2.EndDate == nil || !s0.EndDate.Before(*c2.EndDate) {
		t.Errorf("size[0] ended %v, convert[2] %v: want the first instance through the group before the slow one", s0.EndDate, c2.EndDate)
	}
	if rs := runs["mapped_group_kwargs"]; rs[0].State != "success" {
		t.Errorf("expand_kwargs group: %+v", rs[0])
	}
	if got := c.XComs("mapped_group_kwargs", "r1")["collect/return_value"]; got != "[2,12]" {
		t.Errorf("expand_kwargs group's output: %s, want [2,12]", got)
	}

	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	waitAPI(t, c)
	api.token = api.login("viewer", "viewer-pass")
	var st struct {
		Nodes []struct {
			ID       string `json:"id"`
			IsMapped *bool  `json:"is_mapped"`
		} `json:"nodes"`
	}
	code, body := api.do("GET", "/ui/structure/structure_data?dag_id=mapped_group", nil)
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("structure: %d %s", code, body)
	}
	mapped := map[string]bool{}
	for _, n := range st.Nodes {
		mapped[n.ID] = n.IsMapped != nil && *n.IsMapped
	}
	if !mapped["transform"] || mapped["files"] {
		t.Errorf("structure: %s, want the group transform mapped", body)
	}
	code, body = api.do("GET", "/api/v2/dags/mapped_group/dagRuns/r1/taskInstances/transform.size/listMapped", nil)
	if code != 200 || !strings.Contains(string(body), `"total_entries":3`) {
		t.Errorf("a group task's mapped instances: %d %s", code, body)
	}
}
