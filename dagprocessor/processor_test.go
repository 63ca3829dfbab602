package dagprocessor_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

type env struct {
	ctx    context.Context
	db     *metadb.DB
	folder string
	proc   *dagprocessor.Processor
}

// setup returns a migrated database of its own, an empty DAG folder and a
// processor on them.
func setup(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	db, err := metadb.Open(ctx, testenv.Database(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx, 128); err != nil {
		t.Fatal(err)
	}
	folder := t.TempDir()
	proc := dagprocessor.New(dagprocessor.Options{DagsFolder: folder, MinFileProcessInterval: time.Hour,
		DagDirListInterval: time.Hour, ParsingProcesses: 2, MaxActiveRunsPerDag: 16, MaxActiveTasksPerDag: 16},
		db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &env{ctx: ctx, db: db, folder: folder, proc: proc}
}

func (e *env) write(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(e.folder, name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (e *env) process(t *testing.T) dagprocessor.Stats {
	t.Helper()
	st, err := e.proc.ProcessAll(e.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// dags returns the active DAGs by id.
func (e *env) dags(t testing.TB) map[string]*metadb.DagRow {
	t.Helper()
	rows, err := metadb.ListDAGs(e.ctx, e.db.Pool, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*metadb.DagRow{}
	for _, d := range rows {
		out[d.DagID] = d
	}
	return out
}

// importErrors returns the import errors by file.
func (e *env) importErrors(t testing.TB) map[string]string {
	t.Helper()
	errs, err := metadb.ListImportErrors(e.ctx, e.db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ie := range errs {
		out[ie.Filename] = ie.Stacktrace
	}
	return out
}

// TestDuplicateDagIDFailsOnlyThatDAG: a DAG id defined in two files is
// ignored in the second file (path order) only; the other DAGs of both
// files load, and the second file's import error names both files and the
// line. When the first file drops the DAG, the second one's takes over.
func TestDuplicateDagIDFailsOnlyThatDAG(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.write(t, "a.yaml", "a_only:\n  tasks:\n    t: {operator: empty}\nshared:\n  description: from a\n  tasks:\n    t: {operator: empty}\n")
	b := e.write(t, "b.yaml", "b_only:\n  tasks:\n    t: {operator: empty}\n\nshared:\n  description: from b\n  tasks:\n    t: {operator: empty}\n")
	st := e.process(t)
	if st.DAGs != 3 || st.ImportErrors != 1 {
		t.Errorf("stats %+v, want 3 DAGs and 1 import error", st)
	}
	dags := e.dags(t)
	for _, id := range []string{"a_only", "b_only", "shared"} {
		if dags[id] == nil {
			t.Errorf("DAG %s did not load", id)
		}
	}
	if d := dags["shared"]; d == nil || d.Fileloc != a || d.Description != "from a" {
		t.Errorf("shared = %+v, want a.yaml's", d)
	}
	ies := e.importErrors(t)
	if _, ok := ies[a]; ok || len(ies) != 1 {
		t.Errorf("import errors %v, want only b.yaml's", ies)
	}
	if want := b + ":5: ignoring DAG shared: it is also defined in " + a; !strings.HasPrefix(ies[b], want) {
		t.Errorf("b.yaml's import error %q, want it to start with %q", ies[b], want)
	}

	// Unchanged files parsed again change nothing.
	e.process(t)
	if d := e.dags(t)["shared"]; d == nil || d.Fileloc != a {
		t.Errorf("after a second pass shared = %+v", d)
	}

	// a.yaml drops shared: b.yaml's takes over and its import error goes.
	e.write(t, "a.yaml", "a_only:\n  tasks:\n    t: {operator: empty}\n")
	e.process(t)
	dags = e.dags(t)
	if d := dags["shared"]; d == nil || d.Fileloc != b || d.Description != "from b" || dags["a_only"] == nil || dags["b_only"] == nil {
		t.Errorf("after a.yaml dropped shared: %v", dags)
	}
	if ies := e.importErrors(t); len(ies) != 0 {
		t.Errorf("import errors left: %v", ies)
	}
}

// TestListingDefaults: a DAG without schedule or owner is listed as Airflow
// 3 lists it: timetable_summary "None", owners "airflow"; a one-day delta
// as Python's str(timedelta).
func TestListingDefaults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.write(t, "d.yaml", "plain:\n  tasks:\n    t: {operator: empty}\n"+
		"daily:\n  start_date: 2024-01-01\n  schedule: {days: 1}\n  default_args: {owner: team}\n  tasks:\n    t: {operator: empty}\n    u: {operator: empty, owner: ops}\n"+
		"cron:\n  start_date: 2024-01-01\n  schedule: '@daily'\n  tasks:\n    t: {operator: empty}\n")
	e.process(t)
	dags := e.dags(t)
	for id, want := range map[string][2]string{
		"plain": {"None", "airflow"},
		"daily": {"1 day, 0:00:00", "ops, team"},
		"cron":  {"0 0 * * *", "airflow"},
	} {
		d := dags[id]
		if d == nil {
			t.Errorf("DAG %s missing", id)
			continue
		}
		if d.TimetableSummary != want[0] || d.Owners != want[1] {
			t.Errorf("%s: timetable_summary %q owners %q, want %q %q", id, d.TimetableSummary, d.Owners, want[0], want[1])
		}
	}
}

func (e *env) warnings(t *testing.T) map[string]metadb.DagWarning {
	t.Helper()
	ws, err := metadb.ListDagWarnings(e.ctx, e.db.Pool, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]metadb.DagWarning{}
	for _, w := range ws {
		out[w.DagID+"/"+w.WarningType] = w
	}
	return out
}

// TestDagWarnings: the processor stores a DAG's warnings (arguments with no
// effect, tasks naming a missing pool) in dag_warning, replaces them on each
// parse (also when only the pools changed), and removes them with the DAG.
func TestDagWarnings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.write(t, "w.yaml", "w:\n  default_args:\n    catchup: false\n    schedule_interval: '@daily'\n  tasks:\n"+
		"    a: {operator: empty, pool: etl}\n    b: {operator: empty, pool: reports}\nquiet:\n  tasks:\n    a: {operator: empty}\n")
	e.process(t)
	ws := e.warnings(t)
	ignored, pool := ws["w/ignored argument"], ws["w/non-existent pool"]
	if len(ws) != 2 || !strings.Contains(ignored.Message, "default_args.catchup, default_args.schedule_interval") {
		t.Fatalf("warnings %v, want w's ignored default_args and its missing pools", ws)
	}
	if pool.Message != "Dag 'w' references non-existent pools: ['etl', 'reports']" {
		t.Errorf("pool warning %q", pool.Message)
	}

	// The file is unchanged but a pool now exists: only the other remains,
	// and the unchanged warning keeps its timestamp.
	if err := metadb.SetPool(e.ctx, e.db.Pool, "etl", 4, "", false); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	ws = e.warnings(t)
	if got := ws["w/non-existent pool"].Message; got != "Dag 'w' references non-existent pools: ['reports']" {
		t.Errorf("after creating pool etl: %q", got)
	}
	if got := ws["w/ignored argument"]; !got.Timestamp.Equal(ignored.Timestamp) {
		t.Errorf("unchanged warning rewritten: %v then %v", ignored.Timestamp, got.Timestamp)
	}

	// The file drops the ignored arguments and the pool: no warnings.
	e.write(t, "w.yaml", "w:\n  tasks:\n    a: {operator: empty, pool: etl}\nquiet:\n  tasks:\n    a: {operator: empty}\n")
	e.process(t)
	if ws := e.warnings(t); len(ws) != 0 {
		t.Errorf("warnings left after the file was fixed: %v", ws)
	}

	// A DAG that goes takes its warnings with it.
	e.write(t, "w.yaml", "w:\n  tasks:\n    a: {operator: empty, pool: gone}\n")
	e.process(t)
	if ws := e.warnings(t); len(ws) != 1 {
		t.Fatalf("warnings %v, want w's missing pool", ws)
	}
	if err := os.Remove(filepath.Join(e.folder, "w.yaml")); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	if ws := e.warnings(t); len(ws) != 0 {
		t.Errorf("warnings of a deactivated DAG: %v", ws)
	}
}
