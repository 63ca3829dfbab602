package metrics

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

// TestRegistryAndDBCollector: a process registry holds the runtime and
// process collectors and every part's instruments side by side, and the
// database collector reads pools, task instances, runs, DAGs and import
// errors from a real database at scrape time.
func TestRegistryAndDBCollector(t *testing.T) {
	ctx := context.Background()
	db, err := metadb.Open(ctx, testenv.Database(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if err := metadb.SetImportError(ctx, db.Pool, "/dags/bad.yaml", "bad.yaml:1: boom"); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	s := NewScheduler(reg)
	w := NewWorker(reg)
	NewParseDuration(reg)
	NewDBCollector(reg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.TIsQueued.Add(3)
	w.Tries.WithLabelValues("success").Inc()

	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "process_cpu_seconds_total", "gust_scheduler_tis_queued_total",
		"gust_worker_tries_total", "gust_pool_open_slots", "gust_task_instances", "gust_dag_runs", "gust_dags", "gust_import_errors"} {
		if !names[n] {
			t.Errorf("registry lacks %s", n)
		}
	}
	want := `
# HELP gust_pool_open_slots Open slots of a pool (-1: unlimited).
# TYPE gust_pool_open_slots gauge
gust_pool_open_slots{pool="default_pool"} 7
# HELP gust_import_errors DAG files that fail to import.
# TYPE gust_import_errors gauge
gust_import_errors 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gust_pool_open_slots", "gust_import_errors"); err != nil {
		t.Error(err)
	}
	if v := testutil.ToFloat64(s.TIsQueued); v != 3 {
		t.Errorf("tis queued = %v", v)
	}
}
