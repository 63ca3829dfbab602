package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// TriggerRequest is a manual run to create (`gust dags trigger`, the API).
type TriggerRequest struct {
	DagID        string
	RunID        string         // "" = manual__<logical date>
	Conf         map[string]any // dag_run.conf
	LogicalDate  *time.Time     // nil = now
	AllowFuture  bool           // [scheduler] allow_trigger_in_future
	DefaultQueue string
}

// runIDPattern is Airflow's allowed run id pattern.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)

// ErrInvalidTrigger is returned for a trigger request that cannot be honoured.
var ErrInvalidTrigger = errors.New("invalid trigger")

// Trigger creates a manual DAG run in state queued with its task instances,
// and wakes the schedulers.
func Trigger(ctx context.Context, db *metadb.DB, req TriggerRequest) (*metadb.DagRun, error) {
	now := time.Now().UTC()
	logical := now
	if req.LogicalDate != nil {
		logical = req.LogicalDate.UTC()
		if logical.After(now) && !req.AllowFuture {
			return nil, fmt.Errorf("%w: logical date %s is in the future; set [scheduler] allow_trigger_in_future to allow it",
				ErrInvalidTrigger, isoformat(logical))
		}
	}
	runID := req.RunID
	if runID == "" {
		runID = RunID(tistate.RunTypeManual, logical)
	}
	if !runIDPattern.MatchString(runID) || len(runID) > 250 {
		return nil, fmt.Errorf("%w: run id %q must match %s and be at most 250 characters", ErrInvalidTrigger, runID, runIDPattern)
	}
	var run *metadb.DagRun
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		row, err := metadb.GetDAG(ctx, tx, req.DagID)
		if err != nil {
			return err
		}
		if !row.IsActive {
			return fmt.Errorf("%w: dag %s is not active (its file is gone or no longer defines it)", ErrInvalidTrigger, req.DagID)
		}
		dag, err := metadb.NewDAGCache(1).Get(ctx, tx, row.DagHash)
		if err != nil {
			return err
		}
		if err := dagspec.ValidateParams(dag.Params, req.Conf); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidTrigger, err)
		}
		iv := schedule.Interval{Start: logical, End: logical}
		if tt, err := schedule.New(dag.Schedule, dag.Timezone); err == nil {
			iv = tt.InferManual(logical)
		}
		run = &metadb.DagRun{
			DagID:             req.DagID,
			RunID:             runID,
			LogicalDate:       logical,
			DataIntervalStart: &iv.Start,
			DataIntervalEnd:   &iv.End,
			RunType:           tistate.RunTypeManual,
			ExternalTrigger:   true,
			Conf:              req.Conf,
			DagHash:           row.DagHash,
		}
		if err := metadb.InsertDagRun(ctx, tx, run, NewTIs(dag, req.DefaultQueue)); err != nil {
			return err
		}
		return metadb.NotifySchedule(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}
