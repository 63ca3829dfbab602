package metadb_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

// TestAssetEventsConsumedOnce races producers recording asset events
// against consumers making asset-triggered runs (as schedulers do, under
// the DAG's row lock): every event ends in exactly one run.
func TestAssetEventsConsumedOnce(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	asset := dagspec.Asset{URI: "s3://race", Name: "s3://race", Group: "asset"}
	consumer := &dagspec.DAG{DagID: "race_consumer", AssetSchedule: &dagspec.AssetCond{Asset: &asset}}
	seedRun(t, ctx, db, "race_producer", "r0", "p")
	if err := db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := metadb.SyncDAG(ctx, tx, metadb.DagSync{DagID: consumer.DagID, Fileloc: "/c.yaml", DagHash: "h-c",
			Data: []byte(`{"dag_id":"race_consumer"}`), MaxActiveRuns: 16, MaxActiveTasks: 16}); err != nil {
			return err
		}
		return metadb.SyncAssetRefs(ctx, tx, consumer)
	}); err != nil {
		t.Fatal(err)
	}
	const producers, events = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, producers+2)
	for p := range producers {
		wg.Go(func() {
			for i := range events {
				k := metadb.TIKey{DagID: "race_producer", RunID: "r0", TaskID: "p", MapIndex: p*events + i}
				if err := db.InTx(ctx, func(tx pgx.Tx) error {
					return metadb.RecordAssetEvents(ctx, tx, k, []metadb.OutletEvent{{Asset: asset}})
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	consume := func(n int) error {
		return db.InTx(ctx, func(tx pgx.Tx) error {
			row, ok, err := metadb.LockDAG(ctx, tx, consumer.DagID)
			if err != nil || !ok {
				return err
			}
			queued, err := metadb.LockQueuedAssets(ctx, tx, row.DagID)
			if err != nil || len(queued) == 0 {
				return err
			}
			run := &metadb.DagRun{DagID: row.DagID, RunID: fmt.Sprintf("asset_triggered__%d_%d", n, time.Now().UnixNano()),
				LogicalDate: time.Now(), RunType: "asset_triggered", DagHash: row.DagHash}
			if err := metadb.InsertDagRun(ctx, tx, run, nil); err != nil {
				return err
			}
			_, _, err = metadb.ConsumeQueuedAssets(ctx, tx, run.ID, row.DagID, queued)
			return err
		})
	}
	done := make(chan struct{})
	for c := range 2 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				if err := consume(c*100000 + n); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Stop the consumers once the producers are done, then drain.
	go func() {
		defer close(done)
		for {
			var n int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM asset_event`).Scan(&n); err != nil || n >= producers*events {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := consume(-1); err != nil {
		t.Fatal(err)
	}
	var total, linkedOnce, linkedMore int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM asset_event),
		(SELECT count(*) FROM (SELECT event_id FROM dagrun_asset_event GROUP BY event_id HAVING count(*) = 1) x),
		(SELECT count(*) FROM (SELECT event_id FROM dagrun_asset_event GROUP BY event_id HAVING count(*) > 1) x)`).Scan(&total, &linkedOnce, &linkedMore); err != nil {
		t.Fatal(err)
	}
	if total != producers*events || linkedOnce != total || linkedMore != 0 {
		t.Errorf("%d events: %d in one run, %d in several; want all in exactly one", total, linkedOnce, linkedMore)
	}
}

// TestExpandMapped: a mapped task's instance -1 becomes 0..n-1; counted
// again after a clear, new items add instances and missing ones become
// removed (and come back); nothing to map over skips it.
func TestExpandMapped(t *testing.T) {
	t.Parallel()
	db, ctx := setup(t)
	seedRun(t, ctx, db, "mapped", "r1", "m")
	states := func() string {
		rows, err := db.Pool.Query(ctx, `SELECT map_index, coalesce(state, 'none') FROM task_instance WHERE dag_id = 'mapped' ORDER BY map_index`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var i int
			var s string
			err := r.Scan(&i, &s)
			return fmt.Sprintf("%d:%s", i, s), err
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(got)
	}
	step := func(n int, want string) {
		t.Helper()
		if _, err := metadb.ExpandMapped(ctx, db.Pool, "mapped", "r1", "m", n); err != nil {
			t.Fatal(err)
		}
		if got := states(); got != want {
			t.Errorf("expand to %d: %s, want %s", n, got, want)
		}
	}
	step(3, "[0:none 1:none 2:none]")
	step(2, "[0:none 1:none 2:removed]") // counted again, one item fewer
	step(4, "[0:none 1:none 2:none 3:none]")
	if _, err := db.Pool.Exec(ctx, `UPDATE task_instance SET state = 'success' WHERE dag_id = 'mapped' AND map_index = 0`); err != nil {
		t.Fatal(err)
	}
	step(1, "[0:success 1:removed 2:removed 3:removed]") // a finished instance is kept as it is
	if _, err := db.Pool.Exec(ctx, `UPDATE task_instance SET state = NULL WHERE dag_id = 'mapped' AND map_index = 0`); err != nil {
		t.Fatal(err)
	}
	step(0, "[0:skipped 1:removed 2:removed 3:removed]") // cleared again, and now nothing to map over

}
