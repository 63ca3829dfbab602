package main

import (
	"context"
	"strings"
	"testing"

	"github.com/gust-sched/gust/metadb"
)

// TestCLIWritesAreAudited: state-changing commands append to the audit log,
// owned by cli:<os user>, with their arguments but never a secret; reads
// and failed commands record nothing.
func TestCLIWritesAreAudited(t *testing.T) {
	in := setup(t, true)
	in.mustRun("variables", "set", "token", "s3cret-value")
	in.mustRun("connections", "add", "db1", "--conn-uri", "postgres://u:pw-s3cret@h:5432/x")
	in.mustRun("pools", "set", "p1", "3", "a pool")
	in.mustRun("users", "create", "-u", "ann", "-r", "Op", "-p", "ann-s3cret")
	in.mustRun("variables", "list")
	in.fails("pools", "delete", "nope")

	db, err := metadb.Open(context.Background(), in.sqlConn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, total, err := metadb.ListEvents(context.Background(), db.Pool, metadb.EventFilter{}, metadb.Page{Limit: 50, OrderBy: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range evs {
		names = append(names, e.Event)
		if e.Owner == nil || !strings.HasPrefix(*e.Owner, "cli:") {
			t.Errorf("event %s owner = %v, want cli:<user>", e.Event, e.Owner)
		}
		if e.Extra != nil && strings.Contains(*e.Extra, "s3cret") {
			t.Errorf("event %s records a secret: %s", e.Event, *e.Extra)
		}
	}
	want := "cli_variables_set cli_connections_add cli_pools_set cli_users_create"
	if total != 4 || strings.Join(names, " ") != want {
		t.Errorf("audit log = %v (%d), want %s", names, total, want)
	}
}

// TestBackfillCreate is Airflow 3's `backfill create`: a dry run lists the
// dates; the real one makes the runs and refuses a second backfill.
func TestBackfillCreate(t *testing.T) {
	in := setup(t, true)
	in.writeDAG("b.yaml", "bf:\n  schedule: '@daily'\n  default_args: {start_date: 2024-01-01}\n  tasks:\n    a: {operator: empty}\n")
	in.mustRun("dags", "reserialize")
	out := in.mustRun("backfill", "create", "--dag-id", "bf", "--from-date", "2024-02-01", "--to-date", "2024-02-03", "--dry-run")
	if !strings.Contains(out, "2024-02-01T00:00:00Z") || !strings.Contains(out, ": 3 runs") {
		t.Errorf("dry run: %s", out)
	}
	out = in.mustRun("backfill", "create", "--dag-id", "bf", "--from-date", "2024-02-01", "--to-date", "2024-02-03",
		"--max-active-runs", "1", "--dag-run-conf", `{"x": 1}`)
	if !strings.Contains(out, "3 runs created") {
		t.Errorf("create: %s", out)
	}
	msg := in.fails("backfill", "create", "--dag-id", "bf", "--from-date", "2024-02-01", "--to-date", "2024-02-03")
	if !strings.Contains(msg, "another backfill is running") {
		t.Errorf("second backfill: %s", msg)
	}
	if msg := in.fails("backfill", "create", "--dag-id", "bf", "--from-date", "2024-02-01", "--to-date", "2024-02-03", "--reprocess-behavior", "x"); !strings.Contains(msg, "--reprocess-behavior") {
		t.Errorf("bad reprocess: %s", msg)
	}
}
