package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/mapping"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// examineRuns locks up to max_dagruns_per_loop_to_schedule active runs,
// starts queued runs within max_active_runs, applies trigger rules and
// retries to their task instances, and finishes the runs that are done.
func (s *Scheduler) examineRuns(ctx context.Context) (examined, decided int, err error) {
	var finished []string
	var finishedRuns []*metadb.DagRun
	err = s.db.InTx(ctx, func(tx pgx.Tx) error {
		finished, finishedRuns = finished[:0], finishedRuns[:0]
		runs, err := metadb.LockRunsToExamine(ctx, tx, s.opts.MaxDagrunsPerLoopToSchedule)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(runs))
		for _, run := range runs {
			ids = append(ids, run.ID)
			n, done, err := s.examineRun(ctx, tx, run)
			if err != nil {
				return fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err)
			}
			decided += n
			if done {
				finished = append(finished, run.DagID)
				finishedRuns = append(finishedRuns, run)
			}
		}
		examined = len(runs)
		if len(ids) == 0 {
			return nil
		}
		return metadb.MarkRunsExamined(ctx, tx, ids)
	})
	if err != nil {
		return 0, 0, err
	}
	if s.opts.OnRunFinished != nil {
		for _, run := range finishedRuns {
			s.callbacks.Go(func() { s.opts.OnRunFinished(run) })
		}
	}
	// After the run locks are gone (lock order is dag -> dag_run).
	for _, dagID := range finished {
		if err := metadb.WakeBlockedDAG(ctx, s.db.Pool, dagID); err != nil {
			return examined, decided, err
		}
	}
	for _, run := range finishedRuns {
		if run.BackfillID != nil {
			if err := metadb.CompleteBackfillIfDone(ctx, s.db.Pool, *run.BackfillID); err != nil {
				return examined, decided, err
			}
		}
	}
	return examined, decided + len(finished), nil
}

func (s *Scheduler) examineRun(ctx context.Context, tx pgx.Tx, run *metadb.DagRun) (int, bool, error) {
	dag, err := s.dags.Get(ctx, tx, run.DagHash)
	if err != nil {
		return 0, false, err
	}
	changes := 0
	if run.State == tistate.RunQueued {
		// One admission at a time per DAG, so that max_active_runs holds
		// across schedulers.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gust.run_admission.' || $1))`, run.DagID); err != nil {
			return 0, false, fmt.Errorf("lock run admission: %w", err)
		}
		_, running, err := metadb.CountActiveRuns(ctx, tx, run.DagID, run.RunType == tistate.RunTypeBackfill)
		if err != nil {
			return 0, false, err
		}
		if running >= s.maxActiveRuns(dag) {
			return 0, false, nil
		}
		if run.BackfillID != nil {
			// A backfill's runs also wait while it is paused, and are held
			// to its own max_active_runs.
			a, err := metadb.BackfillAdmissionOf(ctx, tx, *run.BackfillID)
			if err != nil {
				return 0, false, err
			}
			if a.Paused || a.Running >= a.MaxActiveRuns {
				return 0, false, nil
			}
		}
		if run.RunType == tistate.RunTypeManual && run.LogicalDate.After(s.now()) {
			// Triggered in the future ([scheduler] allow_trigger_in_future):
			// it waits for its logical date.
			return 0, false, nil
		}
		if _, err := metadb.SetRunState(ctx, tx, run.ID, tistate.RunQueued, tistate.RunRunning); err != nil {
			return 0, false, err
		}
		run.State = tistate.RunRunning
		changes++
	}
	if dag.DagrunTimeoutSec > 0 && run.StartDate != nil && s.now().Sub(*run.StartDate) > secs(dag.DagrunTimeoutSec) {
		// As Airflow: the run fails and what is unfinished is skipped.
		n, err := metadb.SkipUnfinished(ctx, tx, run.DagID, run.RunID)
		if err != nil {
			return 0, false, err
		}
		ok, err := metadb.SetRunState(ctx, tx, run.ID, tistate.RunRunning, tistate.RunFailed)
		if err != nil {
			return 0, false, err
		}
		run.State = tistate.RunFailed
		s.logger.Warn("dag run timed out (dagrun_timeout); failed it and skipped its unfinished tasks",
			logkey.DagID, run.DagID, logkey.RunID, run.RunID, "skipped", n)
		return changes + n + 1, ok, nil
	}
	var prev map[string]string
	if needsPast(dag) {
		if prev, _, err = metadb.PrevRunTIStates(ctx, tx, run.DagID, run.LogicalDate); err != nil {
			return 0, false, err
		}
	}
	// A second pass decides the instances of the mapped tasks the first
	// expanded.
	var final string
	expanded := map[string]bool{}
	for pass := 0; ; pass++ {
		tis, err := metadb.ListRunTIs(ctx, tx, run.DagID, run.RunID)
		if err != nil {
			return 0, false, err
		}
		v := decideRun(dag, tis, prev, s.now(), expanded)
		n, err := metadb.ApplyDecisions(ctx, tx, run.DagID, run.RunID, v.decisions)
		if err != nil {
			return 0, false, err
		}
		if int(n) != len(v.decisions) {
			// Someone changed a task instance meanwhile: decide again next loop
			// rather than finish the run on stale information.
			return changes + int(n), false, nil
		}
		changes += int(n)
		if len(v.expand) == 0 || pass > 0 {
			final = v.final
			break
		}
		for _, id := range v.expand {
			m, err := s.expandTask(ctx, tx, dag, run, id)
			if err != nil {
				return 0, false, err
			}
			changes += int(m)
			expanded[id] = true
		}
	}
	if final == "" {
		return changes, false, nil
	}
	ok, err := metadb.SetRunState(ctx, tx, run.ID, tistate.RunRunning, final)
	if err != nil {
		return 0, false, err
	}
	if ok {
		run.State = final
		s.logger.Info("dag run finished", logkey.DagID, run.DagID, logkey.RunID, run.RunID, "state", final)
	}
	return changes, ok, nil
}

// expandTask expands a mapped task of a run whose upstreams are done: as
// many instances as what it maps over gives, none (skipped) for an empty
// expansion; a task whose expansion cannot be made (what it maps over is not
// a list or a dict, or is longer than [core] max_map_length) fails.
func (s *Scheduler) expandTask(ctx context.Context, tx pgx.Tx, dag *dagspec.DAG, run *metadb.DagRun, taskID string) (int64, error) {
	task := dag.Task(taskID)
	look := func(upstream, key string) (any, bool, error) {
		return metadb.MappingXCom(ctx, tx, run.DagID, run.RunID, upstream, key)
	}
	n, err := mapping.Count(task.Expand, look, s.opts.MaxMapLength)
	if err != nil {
		if !errors.Is(err, mapping.ErrNotPushed) && !errors.Is(err, mapping.ErrUnmappable) {
			return 0, err // the database's: the examination is retried
		}
		reason := "cannot expand the mapped task: " + err.Error()
		s.logger.Warn("mapped task failed to expand", logkey.DagID, run.DagID, logkey.RunID, run.RunID, logkey.TaskID, taskID, logkey.Err, err)
		return metadb.FailUnexpandable(ctx, tx, run.DagID, run.RunID, taskID, reason)
	}
	m, err := metadb.ExpandMapped(ctx, tx, run.DagID, run.RunID, taskID, n)
	if err != nil {
		return 0, err
	}
	s.logger.Debug("expanded mapped task", logkey.DagID, run.DagID, logkey.RunID, run.RunID, logkey.TaskID, taskID, "instances", n)
	return m, nil
}
