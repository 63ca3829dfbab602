package metadb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

func setup(t *testing.T) (*metadb.DB, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	db, err := metadb.Open(ctx, testenv.Database(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx, 128); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

// seedRun creates a DAG, a version and a run with the given tasks.
func seedRun(t *testing.T, ctx context.Context, db *metadb.DB, dagID, runID string, tasks ...string) {
	t.Helper()
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := metadb.SyncDAG(ctx, tx, metadb.DagSync{DagID: dagID, Fileloc: "/x.yaml", DagHash: "h-" + dagID,
			Data: []byte(`{"dag_id":"` + dagID + `"}`), MaxActiveRuns: 16, MaxActiveTasks: 16}); err != nil {
			return err
		}
		var tis []metadb.NewTI
		for _, task := range tasks {
			tis = append(tis, metadb.NewTI{TaskID: task, Operator: "bash", Pool: "default_pool", PoolSlots: 1, Queue: "default", PriorityWeight: 1})
		}
		return metadb.InsertDagRun(ctx, tx, &metadb.DagRun{DagID: dagID, RunID: runID, LogicalDate: time.Now(), RunType: "manual", DagHash: "h-" + dagID}, tis)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			applied, err := db.Migrate(ctx, 128)
			if err != nil {
				errs <- err
			} else if len(applied) != 0 {
				errs <- errNonEmpty(applied)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cur, latest, err := db.SchemaVersion(ctx)
	if err != nil || cur != latest || cur < 1 {
		t.Fatalf("schema version %d of %d: %v", cur, latest, err)
	}
	if err := db.Reset(ctx, 64); err != nil {
		t.Fatal(err)
	}
	var slots int
	if err := db.Pool.QueryRow(ctx, `SELECT slots FROM slot_pool WHERE pool = 'default_pool'`).Scan(&slots); err != nil || slots != 64 {
		t.Fatalf("default_pool after reset: %d slots, err %v", slots, err)
	}
}

type errNonEmpty []int

func (e errNonEmpty) Error() string { return "a second migrate applied migrations again" }

func TestDuplicateRunIsRefused(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "d", "r1", "a")
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		return metadb.InsertDagRun(ctx, tx, &metadb.DagRun{DagID: "d", RunID: "r1", LogicalDate: time.Now().Add(time.Hour), RunType: "manual", DagHash: "h-d"}, nil)
	})
	if err == nil {
		t.Fatal("a second run with the same run_id was accepted")
	}
}

// TestClaimIsGuarded: of many concurrent claims of one queued try exactly
// one wins; a claim of a stale try number never wins; a finish of a try that
// is no longer running does not apply.
func TestClaimIsGuarded(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "d", "r1", "a")
	key := metadb.TIKey{DagID: "d", RunID: "r1", TaskID: "a", MapIndex: -1}
	n, err := metadb.ApplyDecisions(ctx, db.Pool, "d", "r1", []metadb.Decision{{TaskID: "a", MapIndex: -1, From: "", To: "scheduled", NewTry: true}})
	if err != nil || n != 1 {
		t.Fatalf("schedule: %d, %v", n, err)
	}
	// The same decision again must not apply (guarded by the state).
	if n, _ := metadb.ApplyDecisions(ctx, db.Pool, "d", "r1", []metadb.Decision{{TaskID: "a", MapIndex: -1, From: "", To: "scheduled", NewTry: true}}); n != 0 {
		t.Fatalf("a stale decision applied")
	}
	try := metadb.TryKey{TIKey: key, TryNumber: 1}
	queued, _, err := metadb.MarkQueued(ctx, db.Pool, 1, []metadb.TryKey{try, {TIKey: key, TryNumber: 2}})
	if err != nil || len(queued) != 1 || queued[0] != try {
		t.Fatalf("mark queued: %v, %v", queued, err)
	}
	if _, _, ok, err := metadb.Claim(ctx, db.Pool, metadb.TryKey{TIKey: key, TryNumber: 2}, "w", 1); ok || err != nil {
		t.Fatalf("claim of a wrong try number: ok=%v err=%v", ok, err)
	}
	var wins sync.WaitGroup
	results := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wins.Go(func() {
			_, _, ok, err := metadb.Claim(ctx, db.Pool, try, "w", 1)
			if err != nil {
				t.Error(err)
			}
			results <- ok
		})
	}
	wins.Wait()
	close(results)
	won := 0
	for ok := range results {
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent claims won, want exactly 1", won)
	}
	gone, err := metadb.HeartbeatTIs(ctx, db.Pool, "w", []metadb.TryKey{try, {TIKey: key, TryNumber: 7}})
	if err != nil || len(gone) != 1 || gone[0].TryNumber != 7 {
		t.Fatalf("heartbeat: gone=%v err=%v", gone, err)
	}
	if ok, err := metadb.Finish(ctx, db.Pool, metadb.TryKey{TIKey: key, TryNumber: 3}, "success", nil); ok || err != nil {
		t.Fatalf("finish of another try applied: %v %v", ok, err)
	}
	if ok, err := metadb.Finish(ctx, db.Pool, try, "success", nil); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if ok, _ := metadb.Finish(ctx, db.Pool, try, "failed", nil); ok {
		t.Fatal("a second finish of the same try applied")
	}
	ti, err := metadb.GetTI(ctx, db.Pool, key)
	if err != nil || ti.State != "success" || ti.TryNumber != 1 || ti.Duration == nil {
		t.Fatalf("final TI: %+v, %v", ti, err)
	}
	// Only the finish that applied left a history row, with the try's dates.
	hist, err := metadb.TriesOf(ctx, db.Pool, key)
	if err != nil || len(hist) != 1 || hist[1].State != "success" || hist[1].Hostname != "w" || hist[1].StartDate == nil ||
		hist[1].EndDate == nil || hist[1].Duration == nil {
		t.Fatalf("try history: %+v, %v", hist, err)
	}
}

func TestPoolLockIsExclusive(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	tx1, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	if _, err := metadb.LockPoolsNowait(ctx, tx1); err != nil {
		t.Fatal(err)
	}
	tx2, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback(ctx)
	_, err = metadb.LockPoolsNowait(ctx, tx2)
	if !metadb.IsLockNotAvailable(err) {
		t.Fatalf("second critical section: %v, want lock_not_available", err)
	}
}

// TestDagWarnings: SetDagWarnings replaces a DAG's warnings (keeping the
// timestamp of an unchanged one), ListDagWarnings lists them, and a deleted
// DAG takes them with it.
func TestDagWarnings(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "w1", "r1", "a")
	seedRun(t, ctx, db, "w2", "r1", "a")
	set := func(dagID string, ws ...metadb.DagWarning) {
		t.Helper()
		if err := metadb.SetDagWarnings(ctx, db.Pool, dagID, ws); err != nil {
			t.Fatal(err)
		}
	}
	list := func(dagID string) []metadb.DagWarning {
		t.Helper()
		ws, err := metadb.ListDagWarnings(ctx, db.Pool, dagID)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	set("w1", metadb.DagWarning{WarningType: "ignored argument", Message: "m1"}, metadb.DagWarning{WarningType: "non-existent pool", Message: "p1"})
	set("w2", metadb.DagWarning{WarningType: "non-existent pool", Message: "p2"})
	first := list("w1")
	if len(first) != 2 || first[0].WarningType != "ignored argument" || first[1].Message != "p1" || len(list("")) != 3 {
		t.Fatalf("w1 %v, all %v", first, list(""))
	}
	set("w1", metadb.DagWarning{WarningType: "ignored argument", Message: "m1"})
	if ws := list("w1"); len(ws) != 1 || !ws[0].Timestamp.Equal(first[0].Timestamp) {
		t.Errorf("after replace: %v (first %v)", ws, first)
	}
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		_, err := metadb.DeleteDAG(ctx, tx, "w1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ws := list(""); len(ws) != 1 || ws[0].DagID != "w2" {
		t.Errorf("after deleting w1: %v", ws)
	}
}
