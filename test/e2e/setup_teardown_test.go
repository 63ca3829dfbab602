package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestSetupTeardown runs setups and teardowns through the scheduler and
// workers as Airflow does: a teardown runs when its setup ran although the
// work between failed, and the failed work (not the teardown) fails the
// run; a teardown's context manager wraps work and a task group; clearing
// a work task clears its setup and teardown with it.
func TestSetupTeardown(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	// The file the Python reader's test reads too.
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "common", "pydag", "testdata", "setup_teardown.py"))
	if err != nil {
		t.Fatal(err)
	}
	c.WriteDAG("setup_teardown.py", string(b))
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "4")
	c.WaitParsed(60*time.Second, "setup_teardown")
	c.MustRun("dags", "trigger", "setup_teardown", "--run-id", "r1")
	runs := c.WaitRunsFinished(90*time.Second, 1, "setup_teardown")
	if s := runs["setup_teardown"][0].State; s != "failed" {
		t.Errorf("run: %s, want failed (work failed)", s)
	}
	want := map[string]string{"create": "success", "work": "failed", "delete": "success", "first": "success", "second": "success",
		"third": "success", "outer_setup": "success", "outer_work": "success", "section.inner_setup": "success",
		"section.inner_work": "success", "section.inner_teardown": "success", "outer_teardown": "success"}
	tis := c.TIs("setup_teardown", "r1")
	for id, w := range want {
		if s := testenv.State(tis[id]); s != w {
			t.Errorf("%s: %s, want %s", id, s, w)
		}
	}
	// Clearing the work task `second` clears its setup and teardown.
	c.MustRun("tasks", "clear", "setup_teardown", "-t", "^second$", "--yes")
	testenv.Eventually(t, 60*time.Second, "the cleared tasks to run again", func() (bool, string) {
		tis = c.TIs("setup_teardown", "r1")
		done := true
		for _, id := range []string{"first", "second", "third"} {
			done = done && tis[id].TryNumber == 2 && testenv.State(tis[id]) == "success"
		}
		return done, testenv.State(tis["first"]) + " " + testenv.State(tis["second"]) + " " + testenv.State(tis["third"])
	})
	for _, id := range []string{"create", "outer_work", "delete"} {
		if n := tis[id].TryNumber; n != 1 {
			t.Errorf("%s ran again (try %d): outside the cleared task's setup scope", id, n)
		}
	}
}
