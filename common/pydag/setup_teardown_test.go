package pydag

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestSetupTeardown reads setups and teardowns: as_setup / as_teardown
// (setups= marks and links them), @setup / @teardown (with
// on_failure_fail_dagrun), and a teardown used as a context manager, which
// puts the tasks made inside between its setup and itself.
func TestSetupTeardown(t *testing.T) {
	p, dir := newParser(t)
	src, err := os.ReadFile("testdata/setup_teardown.py")
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Parse(context.Background(), write(t, dir, "setup_teardown.py", string(src)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, task := range res.DAGs[0].Tasks {
		kind := "work"
		switch {
		case task.IsSetup:
			kind = "setup"
		case task.IsTeardown:
			kind = "teardown"
		}
		if task.OnFailureFailDagrun {
			kind += "!"
		}
		got[task.TaskID] = kind + " " + task.TriggerRule + " <" + strings.Join(task.Upstream, ",") + "> setups=" + strings.Join(task.Setups, ",")
	}
	want := map[string]string{
		"create":                 "setup all_success <> setups=",
		"work":                   "work all_success <create> setups=",
		"delete":                 "teardown all_done_setup_success <create,work> setups=",
		"first":                  "setup all_success <> setups=",
		"second":                 "work all_success <first> setups=",
		"third":                  "teardown all_done_setup_success <first,second> setups=",
		"outer_setup":            "setup all_success <> setups=",
		"outer_work":             "work all_success <outer_setup> setups=",
		"section.inner_setup":    "setup all_success <outer_setup> setups=",
		"section.inner_work":     "work all_success <section.inner_setup> setups=outer_setup",
		"section.inner_teardown": "teardown all_done_setup_success <section.inner_setup,section.inner_work> setups=",
		"outer_teardown":         "teardown! all_done_setup_success <outer_setup,outer_work,section.inner_teardown> setups=",
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: %q, want %q", k, got[k], want[k])
			}
		}
		if len(got) != len(want) {
			t.Errorf("tasks: %v", got)
		}
	}
}
