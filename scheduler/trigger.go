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
	Note         string // the run's note ("" = none)
	TriggeredBy  string // who triggered it (the API's user, cli:<user>); "" = not recorded
	// DataInterval overrides the interval inferred from the timetable.
	DataIntervalStart, DataIntervalEnd *time.Time
}

// runIDPattern is Airflow's allowed run id pattern.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)

// ErrInvalidTrigger is what errors.Is finds in the error of a request that
// cannot be honoured (a trigger, backfill, clear or mark with bad input),
// for callers that answer bad input differently from a failure.
var ErrInvalidTrigger = errors.New("invalid trigger")

// invalidError is a request that cannot be honoured. It reads as its own
// message alone (which names the operation and the DAG) and is
// ErrInvalidTrigger to errors.Is.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalidTrigger }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Trigger creates a manual DAG run in state queued with its task instances,
// and wakes the schedulers.
func Trigger(ctx context.Context, db *metadb.DB, req TriggerRequest) (*metadb.DagRun, error) {
	// PostgreSQL keeps microseconds: the run returned is the run stored.
	now := time.Now().UTC().Truncate(time.Microsecond)
	logical := now
	if req.LogicalDate != nil {
		logical = req.LogicalDate.UTC().Truncate(time.Microsecond)
		if logical.After(now) && !req.AllowFuture {
			return nil, invalid("trigger of %s: logical date %s is in the future; set [scheduler] allow_trigger_in_future to allow it",
				req.DagID, isoformat(logical))
		}
	}
	runID := req.RunID
	if runID == "" {
		runID = RunID(tistate.RunTypeManual, logical)
	}
	if !runIDPattern.MatchString(runID) || len(runID) > 250 {
		return nil, invalid("trigger of %s: run id %q must match %s and be at most 250 characters", req.DagID, runID, runIDPattern)
	}
	var run *metadb.DagRun
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		row, err := metadb.GetDAG(ctx, tx, req.DagID)
		if err != nil {
			return err
		}
		if !row.IsActive {
			return invalid("trigger of %s: the DAG is not active (its file is gone or no longer defines it)", req.DagID)
		}
		dag, err := metadb.NewDAGCache(1).Get(ctx, tx, row.DagHash)
		if err != nil {
			return err
		}
		if err := dagspec.ValidateParams(dag.Params, req.Conf); err != nil {
			return invalid("trigger of %s: %v", req.DagID, err)
		}
		iv := schedule.Interval{Start: logical, End: logical}
		if tt, err := dag.NewTimetable(); err == nil {
			iv = tt.InferManual(logical)
		}
		if req.DataIntervalStart != nil && req.DataIntervalEnd != nil {
			iv = schedule.Interval{Start: req.DataIntervalStart.UTC(), End: req.DataIntervalEnd.UTC()}
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
			Note:              nonEmpty(req.Note),
			TriggeringUser:    nonEmpty(req.TriggeredBy),
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

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
