package worker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

const poolDAG = `
import os, time
from airflow.sdk import dag, task

LEFTOVER = []

@dag(schedule=None)
def pool_dag():
    @task
    def pid():
        LEFTOVER.append(1)
        print("in", os.getcwd(), "ctx", os.environ.get("AIRFLOW_CTX_TASK_ID"))
        return [os.getpid(), len(LEFTOVER)]

    @task(execution_timeout=__import__("datetime").timedelta(seconds=1))
    def hang():
        print("hanging", flush=True)
        time.sleep(60)

    @task
    def eat():
        blocks = []
        while True:
            blocks.append(bytearray(64 << 20))

    @task
    def die():
        os._exit(3)

    @task
    def prev(prev_data_interval_start_success=None, **context):
        # asked of the worker only when read: named, and through **context
        return [str(prev_data_interval_start_success), str(context["prev_data_interval_end_success"])]

    pid()
    hang()
    eat()
    die()
    prev()

pool_dag()
`

// poolFixture parses poolDAG with the real python3 and gust's shim.
func poolFixture(t testing.TB) (*dagspec.DAG, func() (string, error)) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pool_dag.py")
	if err := os.WriteFile(path, []byte(poolDAG), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &pydag.Parser{DagsFolder: dir, CacheDir: filepath.Join(dir, "cache")}
	res, err := p.Parse(context.Background(), path)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(res.DAGs) != 1 {
		t.Fatalf("parsed %d DAGs", len(res.DAGs))
	}
	return res.DAGs[0], p.ShimDir
}

func runPoolTask(t testing.TB, py *PythonRuntime, dag *dagspec.DAG, store *MemStore, taskID string) (LocalResult, string) {
	t.Helper()
	now := time.Now().UTC()
	runID := "manual__" + now.Format(time.RFC3339Nano)
	run := &metadb.DagRun{DagID: dag.DagID, RunID: runID, LogicalDate: now, RunType: tistate.RunTypeManual}
	ti := &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: dag.DagID, RunID: runID, TaskID: taskID, MapIndex: -1}, TryNumber: 1}
	var log bytes.Buffer
	res := RunLocal(context.Background(), &log, store, py, dag, run, ti)
	return res, log.String()
}

func pidOf(t *testing.T, store *MemStore, dag *dagspec.DAG) (pid, calls float64) {
	t.Helper()
	store.mu.Lock()
	defer store.mu.Unlock()
	for k, v := range store.xcoms {
		if strings.Contains(k, "pid") && strings.HasSuffix(k, "return_value") {
			delete(store.xcoms, k)
			l, ok := v.([]any)
			if !ok || len(l) != 2 {
				t.Fatalf("pid returned %#v", v)
			}
			return l[0].(float64), l[1].(float64)
		}
	}
	t.Fatalf("no return value of pid in %v", store.xcoms)
	return 0, 0
}

func TestPythonProcessesAreWarm(t *testing.T) {
	dag, shim := poolFixture(t)
	py := &PythonRuntime{Shim: shim, MaxIdle: 2, MemoryLimit: 1 << 30}
	defer py.Close()
	store := NewMemStore()

	res, log := runPoolTask(t, py, dag, store, "pid")
	if res.State != tistate.Success {
		t.Fatalf("pid: %s (%s)\n%s", res.State, res.Reason, log)
	}
	if !strings.Contains(log, "ctx pid") || !strings.Contains(log, "gusttmp") {
		t.Errorf("the try's environment and folder are not the callable's:\n%s", log)
	}
	first, calls := pidOf(t, store, dag)
	if calls != 1 {
		t.Errorf("first try saw %v calls", calls)
	}
	if py.Idle() != 1 {
		t.Fatalf("%d idle processes after a clean try, want 1", py.Idle())
	}
	res, log = runPoolTask(t, py, dag, store, "pid")
	second, calls := pidOf(t, store, dag)
	if res.State != tistate.Success || second != first || calls != 2 {
		t.Fatalf("second try: %s in pid %v (first %v) after %v calls, want the warm process reused\n%s", res.State, second, first, calls, log)
	}

	// A hang past execution_timeout kills the process; the next try gets a new one.
	res, log = runPoolTask(t, py, dag, store, "hang")
	if res.State != tistate.Failed || !strings.Contains(res.Reason, "execution_timeout") || !strings.Contains(log, "hanging") {
		t.Fatalf("hang: %s (%s)\n%s", res.State, res.Reason, log)
	}
	// A callable that exits takes its process with it.
	res, log = runPoolTask(t, py, dag, store, "die")
	if res.State != tistate.Failed || !strings.Contains(res.Reason, "exited with code 3") {
		t.Fatalf("die: %s (%s)\n%s", res.State, res.Reason, log)
	}
	// Eating memory ends in a MemoryError under the limit, not the machine's.
	res, log = runPoolTask(t, py, dag, store, "eat")
	if res.State != tistate.Failed || !strings.Contains(res.Reason, "MemoryError") {
		t.Fatalf("eat: %s (%s)\n%s", res.State, res.Reason, log)
	}
	res, _ = runPoolTask(t, py, dag, store, "pid")
	third, _ := pidOf(t, store, dag)
	if res.State != tistate.Success || third == first {
		t.Fatalf("after a killed process: %s in pid %v (first %v)", res.State, third, first)
	}
	// The previous success's interval is asked for when read.
	if res, log := runPoolTask(t, py, dag, store, "prev"); res.State != tistate.Success || !strings.Contains(log, "['None', 'None']") {
		t.Errorf("prev: %s (%s)\n%s", res.State, res.Reason, log)
	}
	py.Close()
	if py.Idle() != 0 {
		t.Errorf("%d idle processes after Close", py.Idle())
	}
	if res, _ := runPoolTask(t, py, dag, store, "pid"); res.State != tistate.Failed {
		t.Errorf("a closed runtime ran a try: %s", res.State)
	}
}

func TestPythonFreshProcessPerTry(t *testing.T) {
	dag, shim := poolFixture(t)
	py := &PythonRuntime{Shim: shim, MaxIdle: 1, FreshProcessPerTry: true}
	defer py.Close()
	store := NewMemStore()
	seen := map[float64]bool{}
	for i := range 3 {
		res, log := runPoolTask(t, py, dag, store, "pid")
		if res.State != tistate.Success {
			t.Fatalf("try %d: %s (%s)\n%s", i, res.State, res.Reason, log)
		}
		pid, calls := pidOf(t, store, dag)
		if calls != 1 || seen[pid] {
			t.Fatalf("try %d ran in pid %v after %v calls: not a fresh process", i, pid, calls)
		}
		seen[pid] = true
	}
}

func TestPythonMaxTasksPerChild(t *testing.T) {
	dag, shim := poolFixture(t)
	py := &PythonRuntime{Shim: shim, MaxIdle: 1, MaxTasksPerChild: 2}
	defer py.Close()
	store := NewMemStore()
	var pids []float64
	for range 3 {
		if res, log := runPoolTask(t, py, dag, store, "pid"); res.State != tistate.Success {
			t.Fatalf("%s (%s)\n%s", res.State, res.Reason, log)
		}
		pid, _ := pidOf(t, store, dag)
		pids = append(pids, pid)
	}
	if pids[0] != pids[1] || pids[2] == pids[1] {
		t.Fatalf("pids %v: want two tries in one process, then a new one", pids)
	}
}

// BenchmarkPythonTry runs a no-op @task's tries one after another on a warm
// process, in memory (no database): the worker's own cost of a Python try.
//
//	go test ./worker -run '^$' -bench PythonTry
func BenchmarkPythonTry(b *testing.B) {
	for _, fresh := range []bool{false, true} {
		name := "warm"
		if fresh {
			name = "fork-per-try"
		}
		b.Run(name, func(b *testing.B) {
			dag, shim := poolFixture(b)
			py := &PythonRuntime{Python: os.Getenv("GUST_TEST_PY"), Shim: shim, MaxIdle: 1, FreshProcessPerTry: fresh}
			defer py.Close()
			store := NewMemStore()
			b.ResetTimer()
			for range b.N {
				if res, log := runPoolTask(b, py, dag, store, "pid"); res.State != tistate.Success {
					b.Fatalf("%s (%s)\n%s", res.State, res.Reason, log)
				}
			}
		})
	}
}
