package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// createDagRuns creates the due scheduled runs of up to
// max_dagruns_to_create_per_loop DAGs, one run per DAG per loop (catchup
// creates the next missed one on the next loop), and records each DAG's next
// run.
func (s *Scheduler) createDagRuns(ctx context.Context) (int, error) {
	created := 0
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		dags, err := metadb.LockDueDAGs(ctx, tx, s.opts.MaxDagrunsToCreatePerLoop)
		if err != nil {
			return err
		}
		for _, row := range dags {
			ok, err := s.createDagRun(ctx, tx, row)
			if err != nil {
				return fmt.Errorf("dag %s: %w", row.DagID, err)
			}
			if ok {
				created++
			}
		}
		return nil
	})
	return created, err
}

// catchup resolves a DAG's catchup setting.
func (s *Scheduler) catchup(d *dagspec.DAG) bool {
	if d.Catchup != nil {
		return *d.Catchup
	}
	return s.opts.CatchupByDefault
}

func (s *Scheduler) createDagRun(ctx context.Context, tx pgx.Tx, row *metadb.DagRow) (bool, error) {
	dag, err := s.dags.Get(ctx, tx, row.DagHash)
	if err != nil {
		return false, err
	}
	tt, err := dag.NewTimetable()
	if err != nil || !tt.IsScheduled() || dag.StartDate == nil {
		return false, metadb.SetNextDagrun(ctx, tx, row.DagID, nil, nil, nil, nil)
	}
	now := s.now()
	var last *schedule.Interval
	ls, le, err := metadb.LastAutomatedInterval(ctx, tx, row.DagID)
	if err != nil {
		return false, err
	}
	if ls != nil && le != nil {
		last = &schedule.Interval{Start: *ls, End: *le}
	}
	catchup := s.catchup(dag)
	iv, runAfter, ok := tt.Next(last, *dag.StartDate, dag.EndDate, catchup, now)
	if !ok {
		return false, metadb.SetNextDagrun(ctx, tx, row.DagID, nil, nil, nil, nil)
	}
	if runAfter.After(now) {
		return false, metadb.SetNextDagrun(ctx, tx, row.DagID, &iv.Start, &iv.Start, &iv.End, &runAfter)
	}
	queued, running, err := metadb.CountActiveRuns(ctx, tx, row.DagID, false)
	if err != nil {
		return false, err
	}
	if queued+running >= s.maxActiveRuns(dag) {
		// Blocked: a finishing run re-arms creation (WakeBlockedDAG).
		return false, metadb.SetNextDagrun(ctx, tx, row.DagID, &iv.Start, &iv.Start, &iv.End, nil)
	}
	run := &metadb.DagRun{
		DagID:             row.DagID,
		RunID:             RunID(tistate.RunTypeScheduled, iv.Start),
		LogicalDate:       iv.Start,
		DataIntervalStart: &iv.Start,
		DataIntervalEnd:   &iv.End,
		RunType:           tistate.RunTypeScheduled,
		DagHash:           row.DagHash,
	}
	created := true
	if err := metadb.InsertDagRun(ctx, tx, run, NewTIs(dag, s.opts.DefaultQueue)); err != nil {
		if !errors.Is(err, metadb.ErrDuplicateRun) {
			return false, err
		}
		s.logger.Warn("scheduled run collides with an existing run; skipping it", logkey.DagID, row.DagID, logkey.Err, err)
		created = false
	} else {
		s.logger.Info("created dag run", logkey.DagID, row.DagID, logkey.RunID, run.RunID)
	}
	next, nextAfter, ok := tt.Next(&iv, *dag.StartDate, dag.EndDate, catchup, now)
	if !ok {
		return created, metadb.SetNextDagrun(ctx, tx, row.DagID, nil, nil, nil, nil)
	}
	return created, metadb.SetNextDagrun(ctx, tx, row.DagID, &next.Start, &next.Start, &next.End, &nextAfter)
}

func (s *Scheduler) maxActiveRuns(d *dagspec.DAG) int {
	if d.MaxActiveRuns > 0 {
		return d.MaxActiveRuns
	}
	return s.opts.MaxActiveRunsPerDag
}

// RunID returns Airflow's run id for a run type and logical date, e.g.
// scheduled__2024-01-01T00:00:00+00:00.
func RunID(runType string, logicalDate time.Time) string {
	return runType + "__" + isoformat(logicalDate)
}

// isoformat renders t as Python's datetime.isoformat() in UTC.
func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}

// NewTIs returns the task instances a run of dag starts with.
func NewTIs(dag *dagspec.DAG, defaultQueue string) []metadb.NewTI {
	out := make([]metadb.NewTI, 0, len(dag.Tasks))
	for _, t := range dag.Tasks {
		q := t.Queue
		if q == "" {
			q = defaultQueue
		}
		out = append(out, metadb.NewTI{
			TaskID:         t.TaskID,
			Operator:       t.Operator,
			MaxTries:       t.Retries,
			Pool:           t.Pool,
			PoolSlots:      t.PoolSlots,
			Queue:          q,
			PriorityWeight: t.EffectivePriority,
		})
	}
	return out
}

// createAssetRuns creates the runs of DAGs scheduled on assets whose
// condition the assets updated since their last asset-triggered run meet.
// Each DAG is handled under its row lock (SKIP LOCKED), and the run
// consumes the queued assets in the same transaction, so two schedulers
// never create the same run.
func (s *Scheduler) createAssetRuns(ctx context.Context) (int, error) {
	ids, err := metadb.QueuedDAGs(ctx, s.db.Pool, s.opts.MaxDagrunsToCreatePerLoop)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	created := 0
	for _, id := range ids {
		err := s.db.InTx(ctx, func(tx pgx.Tx) error {
			row, ok, err := metadb.LockDAG(ctx, tx, id)
			if err != nil || !ok {
				return err
			}
			dag, err := s.dags.Get(ctx, tx, row.DagHash)
			if err != nil {
				return err
			}
			if dag.AssetSchedule == nil {
				// No longer scheduled on assets: what was queued is stale.
				return metadb.DropQueuedAssets(ctx, tx, id)
			}
			queued, err := metadb.LockQueuedAssets(ctx, tx, id)
			if err != nil || len(queued) == 0 {
				return err
			}
			updated := make(map[string]bool, len(queued))
			for _, q := range queued {
				updated[q.URI] = true
			}
			var resolved map[string][]string
			if aliases := dag.AssetSchedule.Aliases(); len(aliases) > 0 {
				names := make([]string, len(aliases))
				for i, al := range aliases {
					names[i] = al.Name
				}
				if resolved, err = metadb.AliasAssets(ctx, tx, names); err != nil {
					return err
				}
			}
			if !dag.AssetSchedule.Eval(func(uri string) bool { return updated[uri] }, func(alias string) []string { return resolved[alias] }) {
				return nil
			}
			now := s.now()
			run := &metadb.DagRun{DagID: id, RunID: RunID(tistate.RunTypeAssetTriggered, now), LogicalDate: now,
				RunType: tistate.RunTypeAssetTriggered, DagHash: row.DagHash}
			if err := metadb.InsertDagRun(ctx, tx, run, NewTIs(dag, s.opts.DefaultQueue)); err != nil {
				return err
			}
			first, last, err := metadb.ConsumeQueuedAssets(ctx, tx, run.ID, id, queued)
			if err != nil {
				return err
			}
			if first != nil && last != nil {
				if err := metadb.SetRunInterval(ctx, tx, run.ID, *first, *last); err != nil {
					return err
				}
			}
			created++
			s.logger.Info("created asset-triggered dag run", logkey.DagID, id, logkey.RunID, run.RunID, "assets", len(queued))
			return nil
		})
		if err != nil {
			return created, fmt.Errorf("dag %s: %w", id, err)
		}
	}
	return created, nil
}
