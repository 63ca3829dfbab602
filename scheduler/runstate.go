package scheduler

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// MarkRun sets a DAG run's state by hand, as Airflow's "mark run as": to
// success, every unfinished task instance succeeds; to failed, running ones
// fail and the other unfinished ones are skipped; to queued, the run is
// examined again by the schedulers. Workers stop the tries whose state was
// changed under them. It returns the run as it now is.
func MarkRun(ctx context.Context, db *metadb.DB, dagID, runID, state string) (*metadb.DagRun, error) {
	switch state {
	case tistate.RunSuccess, tistate.RunFailed, tistate.RunQueued:
	default:
		return nil, invalid("mark of run %s of %s: state must be success, failed or queued, got %q", runID, dagID, state)
	}
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		r, err := metadb.LockRun(ctx, tx, dagID, runID)
		if err != nil {
			return err
		}
		switch state {
		case tistate.RunQueued:
			if r.State != tistate.RunQueued {
				if err := metadb.RequeueRun(ctx, tx, r.ID); err != nil {
					return err
				}
			}
			return metadb.NotifySchedule(ctx, tx)
		case tistate.RunSuccess:
			if err := metadb.FinishUnfinishedTIs(ctx, tx, dagID, runID, tistate.Success, tistate.Success); err != nil {
				return err
			}
		case tistate.RunFailed:
			if err := metadb.FinishUnfinishedTIs(ctx, tx, dagID, runID, tistate.Failed, tistate.Skipped); err != nil {
				return err
			}
		}
		if r.State == state {
			return nil
		}
		if ok, err := metadb.SetRunState(ctx, tx, r.ID, r.State, state); err != nil || !ok {
			return fmt.Errorf("mark run %s of %s %s: %w", runID, dagID, state, err)
		}
		return metadb.NotifySchedule(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return metadb.GetDagRun(ctx, db.Pool, dagID, runID)
}
