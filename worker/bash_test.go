package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

func runInLog(t *testing.T, ctx context.Context, s bashSpec) (outcome, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x", "attempt=1.log")
	tl, err := openTaskLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.env == nil {
		s.env = []string{"PATH=" + os.Getenv("PATH")}
	}
	out := runBash(ctx, tl, s)
	tl.Close()
	b, _ := os.ReadFile(path)
	return out, string(b)
}

func TestRunBash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name      string
		spec      bashSpec
		state     string
		logHas    string
		reasonHas string
	}{
		{"success", bashSpec{command: "echo hello; echo err >&2"}, tistate.Success, "hello", ""},
		{"failure", bashSpec{command: "exit 3"}, tistate.Failed, "return code 3", "exit code 3"},
		{"skip code", bashSpec{command: "exit 99", skipOnExitCode: []int{99}}, tistate.Skipped, "return code 99", "skip code"},
		{"env", bashSpec{command: `echo "v=$FOO"`, env: []string{"FOO=bar", "PATH=" + os.Getenv("PATH")}}, tistate.Success, "v=bar", ""},
		{"timeout kills the group", bashSpec{command: "sleep 30 & sleep 30", timeout: 300 * time.Millisecond}, tistate.Failed, "execution_timeout", "execution_timeout"},
		{"killed by signal", bashSpec{command: "kill -9 $$"}, tistate.Failed, "signal", "signal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, log := runInLog(t, ctx, tc.spec)
			if out.state != tc.state {
				t.Errorf("state %s, want %s (reason %q)\n%s", out.state, tc.state, out.reason, log)
			}
			if !strings.Contains(log, tc.logHas) {
				t.Errorf("log lacks %q:\n%s", tc.logHas, log)
			}
			if !strings.Contains(out.reason, tc.reasonHas) {
				t.Errorf("reason %q lacks %q", out.reason, tc.reasonHas)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s: the process group was not stopped", time.Since(start))
			}
		})
	}
}

func TestLogPath(t *testing.T) {
	t.Parallel()
	got := LogPath("/logs", metadb.TIKey{DagID: "d", RunID: "manual__2024-01-01T00:00:00+00:00", TaskID: "t", MapIndex: -1}, 2)
	want := "/logs/dag_id=d/run_id=manual__2024-01-01T00:00:00+00:00/task_id=t/attempt=2.log"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := LogPath("/l", metadb.TIKey{DagID: "d", RunID: "r", TaskID: "t", MapIndex: 3}, 1); !strings.Contains(got, "map_index=3") {
		t.Fatalf("mapped path %s", got)
	}
}
