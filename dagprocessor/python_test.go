package dagprocessor_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/metadb"
)

// TestPythonDAGFiles: a Python DAG file is stored like a YAML one; a .py
// file that does not mention airflow and dag is not run; an unchanged file
// is not run again at each pass, but a change to it or to a module it
// imports is; a file that raises is an import error, and fixing it clears it.
func TestPythonDAGFiles(t *testing.T) {
	e := setup(t)
	py := &pydag.Parser{Python: "python3", DagsFolder: e.folder, CacheDir: filepath.Join(t.TempDir(), "cache")}
	proc := dagprocessor.New(dagprocessor.Options{DagsFolder: e.folder, MinFileProcessInterval: 0,
		DagDirListInterval: time.Hour, ParsingProcesses: 2, MaxActiveRunsPerDag: 16, MaxActiveTasksPerDag: 16, Python: py},
		e.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pass := func() dagprocessor.Stats {
		t.Helper()
		st, err := proc.ProcessAll(e.ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	e.write(t, "helpers.py", "CMD = 'echo one'\n")
	e.write(t, "run.sh", "echo v1 {{ ds }}\n")
	e.write(t, "notes.py", "print('not a DAG file')\n")
	dagFile := e.write(t, "pipeline.py", `
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from helpers import CMD

with DAG("pipeline", schedule=None, tags=["py"]):
    BashOperator(task_id="a", bash_command=CMD) >> BashOperator(task_id="b", bash_command="echo two")
    BashOperator(task_id="script", bash_command="run.sh")  # template_ext: the file's text is the command
`)
	if st := pass(); st.Parsed != 3 {
		t.Fatalf("first pass parsed %d files, want 3", st.Parsed)
	}
	dags := e.dags(t)
	if d := dags["pipeline"]; d == nil || d.Fileloc != dagFile {
		t.Fatalf("DAGs = %v", dags)
	}
	if errs := e.importErrors(t); len(errs) != 0 {
		t.Fatalf("import errors: %v", errs)
	}
	if st := pass(); st.Parsed != 0 {
		t.Errorf("an unchanged pass parsed %d files, want none", st.Parsed)
	}
	// A module the DAG file imports changes: the DAG file is run again.
	time.Sleep(10 * time.Millisecond)
	e.write(t, "helpers.py", "CMD = 'echo changed'\n")
	if st := pass(); st.Parsed != 2 { // helpers.py itself, and pipeline.py
		t.Errorf("after its module changed, parsed %d files, want 2", st.Parsed)
	}
	script := func() string {
		t.Helper()
		d, err := metadb.NewDAGCache(1).Get(e.ctx, e.db.Pool, e.dags(t)["pipeline"].DagHash)
		if err != nil {
			t.Fatal(err)
		}
		return d.Task("script").BashCommand
	}
	if got := script(); got != "echo v1 {{ ds }}\n" {
		t.Errorf("a template_ext file's command = %q, want the file's text", got)
	}
	// A template file it reads changes: the DAG file is run again.
	time.Sleep(10 * time.Millisecond)
	e.write(t, "run.sh", "echo v2\n")
	if st := pass(); st.Parsed != 1 {
		t.Errorf("after its template file changed, parsed %d files, want 1", st.Parsed)
	}
	if got := script(); got != "echo v2\n" {
		t.Errorf("after the template file changed, the command = %q", got)
	}
	// A file that raises is an import error with its traceback.
	time.Sleep(10 * time.Millisecond)
	e.write(t, "pipeline.py", "from airflow import DAG\nraise RuntimeError('broken on purpose')\n")
	pass()
	errs := e.importErrors(t)
	if msg := errs[dagFile]; !strings.Contains(msg, "RuntimeError: broken on purpose") || !strings.Contains(msg, "Traceback") {
		t.Errorf("import errors = %v", errs)
	}
	if e.dags(t)["pipeline"] == nil {
		t.Error("a broken file's DAG was dropped (Airflow keeps it)")
	}
	if err := os.Remove(dagFile); err != nil {
		t.Fatal(err)
	}
	pass()
	if errs := e.importErrors(t); len(errs) != 0 {
		t.Errorf("import errors after the file went: %v", errs)
	}
}
