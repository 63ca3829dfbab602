package dagprocessor_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/dagprocessor"
)

// BenchmarkParsePythonFiles parses a DAG folder of 100 Python files (each a
// DAG of ten bash tasks and five TaskFlow functions) cold, with a fresh
// cache (the airflow package unpacked) and [scheduler] parsing_processes
// 2, then passes over the unchanged folder again, which runs no file.
//
//	go test ./dagprocessor -run '^$' -bench ParsePython -benchtime 1x -v
func BenchmarkParsePythonFiles(b *testing.B) {
	const files = 100
	b.Logf("machine: %s/%s, %d CPUs, %s; %d files, parsing_processes 2; PostgreSQL on loopback",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), files)
	for i := 0; i < b.N; i++ {
		e := setup(b)
		for f := range files {
			src := fmt.Sprintf(`
import pendulum
from airflow.sdk import dag, task
from airflow.providers.standard.operators.bash import BashOperator

@dag(dag_id="bench_%03d", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["bench"])
def pipeline():
    prev = None
    for n in range(10):
        t = BashOperator(task_id=f"bash_{n}", bash_command="echo {{ ds }}")
        if prev is not None:
            prev >> t
        prev = t

    @task
    def extract():
        return {"a": 1}

    @task
    def transform(d):
        return d

    @task
    def load(d):
        print(d)

    out = load(transform(transform.override(task_id="again")(extract())))
    prev >> out
    load.override(task_id="side")(extract.override(task_id="extract_2")())

pipeline()
`, f)
			if err := os.WriteFile(filepath.Join(e.folder, fmt.Sprintf("dag_%03d.py", f)), []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		py := &pydag.Parser{Python: "python3", DagsFolder: e.folder, CacheDir: filepath.Join(b.TempDir(), "cache")}
		proc := dagprocessor.New(dagprocessor.Options{DagsFolder: e.folder, DagDirListInterval: time.Hour, ParsingProcesses: 2,
			MaxActiveRunsPerDag: 16, MaxActiveTasksPerDag: 16, Python: py}, e.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		start := time.Now()
		st, err := proc.ProcessAll(e.ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		cold := time.Since(start)
		if st.Parsed != files || len(e.importErrors(b)) != 0 {
			b.Fatalf("parsed %d files, import errors %v", st.Parsed, e.importErrors(b))
		}
		if n := len(e.dags(b)); n != files {
			b.Fatalf("%d DAGs stored, want %d", n, files)
		}
		start = time.Now()
		st, err = proc.ProcessAll(e.ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		warm := time.Since(start)
		if st.Parsed != 0 {
			b.Fatalf("the unchanged pass ran %d files", st.Parsed)
		}
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(float64(warm.Microseconds())/1000, "unchanged-ms")
		b.Logf("%d Python DAG files: cold parse and store %s (%.0f ms a file), unchanged pass %s", files,
			cold.Round(time.Millisecond), float64(cold.Milliseconds())/files, warm.Round(time.Microsecond))
	}
}
