package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/metadb"
)

// maxScans bounds how many candidate batches one critical section reads
// when earlier batches were held back by full pools or DAGs.
const maxScans = 4

// queueTasks is the critical section. Under the pool row locks (NOWAIT: if
// another scheduler is in it, skip this loop) it admits scheduled task
// instances by priority, then logical date, within pool slots,
// [core] parallelism (global), max_active_tasks per DAG and
// max_active_tis_per_dag per task; commits them as queued; and only then
// publishes them. Tries whose publish is not confirmed go back to scheduled.
func (s *Scheduler) queueTasks(ctx context.Context) (int, error) {
	var queued []metadb.TryKey
	var queuedAt time.Time
	queues := map[metadb.TIKey]string{}
	hashes := map[metadb.TIKey]string{}
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		pools, err := metadb.LockPoolsNowait(ctx, tx)
		if err != nil {
			if metadb.IsLockNotAvailable(err) {
				return errSkip
			}
			return err
		}
		occ, err := metadb.ReadOccupancy(ctx, tx)
		if err != nil {
			return err
		}
		budget := s.opts.Parallelism - occ.Total
		var admit []metadb.TryKey
		fullPools, fullDags := map[string]bool{}, map[string]bool{}
		poolFree := func(pool string) int {
			slots, ok := pools[pool]
			if !ok {
				return 0
			}
			if slots < 0 {
				return 1 << 30
			}
			return slots - occ.PoolSlots[pool]
		}
		for pool := range pools {
			if poolFree(pool) <= 0 {
				fullPools[pool] = true
			}
		}
		for scan := 0; scan < maxScans && budget > 0; scan++ {
			cands, err := metadb.ScheduledCandidates(ctx, tx, s.opts.MaxTisPerQuery, keys(fullPools), keys(fullDags))
			if err != nil {
				return err
			}
			heldBack := false
			for _, c := range cands {
				if budget <= 0 {
					break
				}
				if _, ok := pools[c.Pool]; !ok {
					s.logger.Warn("task's pool does not exist; it waits until the pool is created",
						logkey.DagID, c.DagID, logkey.TaskID, c.TaskID, "pool", c.Pool)
					fullPools[c.Pool] = true
					heldBack = true
					continue
				}
				if fullPools[c.Pool] || fullDags[c.DagID] {
					heldBack = true
					continue
				}
				if poolFree(c.Pool) < c.PoolSlots {
					fullPools[c.Pool] = true
					heldBack = true
					continue
				}
				maxTasks := c.MaxActiveTasks
				if maxTasks <= 0 {
					maxTasks = s.opts.MaxActiveTasksPerDag
				}
				if occ.PerDag[c.DagID] >= maxTasks {
					fullDags[c.DagID] = true
					heldBack = true
					continue
				}
				rt := metadb.RunTask{DagID: c.DagID, RunID: c.RunID, TaskID: c.TaskID}
				if perDag, perRun, err := s.taskLimits(ctx, tx, c); err != nil {
					return err
				} else if perDag > 0 && occ.PerDagTask[c.DagID][c.TaskID] >= perDag || perRun > 0 && occ.PerRunTask[rt] >= perRun {
					heldBack = true
					continue
				}
				admit = append(admit, metadb.TryKey{TIKey: c.TIKey, TryNumber: c.TryNumber})
				queues[c.TIKey] = c.Queue
				hashes[c.TIKey] = c.DagHash
				budget--
				occ.Total++
				occ.PoolSlots[c.Pool] += c.PoolSlots
				occ.PerDag[c.DagID]++
				if occ.PerDagTask[c.DagID] == nil {
					occ.PerDagTask[c.DagID] = map[string]int{}
				}
				occ.PerDagTask[c.DagID][c.TaskID]++
				occ.PerRunTask[rt]++
			}
			// A further scan only helps when this one was full and some
			// candidates were held back by limits the next can exclude.
			if len(cands) < s.opts.MaxTisPerQuery || !heldBack {
				break
			}
		}
		queued, queuedAt, err = metadb.MarkQueued(ctx, tx, s.jobID, admit)
		return err
	})
	if err == errSkip {
		return 0, nil
	}
	if err != nil || len(queued) == 0 {
		return 0, err
	}
	s.publish(ctx, queued, queuedAt, queues, hashes)
	return len(queued), nil
}

// publish sends queued tries to the broker. What is not confirmed goes back
// to scheduled so that a later loop queues it again.
func (s *Scheduler) publish(ctx context.Context, tries []metadb.TryKey, at time.Time, queues, hashes map[metadb.TIKey]string) {
	msgs := make([]broker.Message, len(tries))
	for i, t := range tries {
		msgs[i] = broker.Message{DagID: t.DagID, RunID: t.RunID, TaskID: t.TaskID, MapIndex: t.MapIndex,
			TryNumber: t.TryNumber, DagHash: hashes[t.TIKey], Queue: queues[t.TIKey], QueuedAt: at}
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	confirmed, err := s.publisher.Publish(pctx, msgs)
	if len(confirmed) == len(msgs) {
		return
	}
	ok := make([]bool, len(msgs))
	for _, i := range confirmed {
		ok[i] = true
	}
	var back []metadb.TryKey
	for i, t := range tries {
		if !ok[i] {
			back = append(back, t)
		}
	}
	s.logger.Error("publish to broker failed; tasks go back to scheduled", "count", len(back), logkey.Err, err)
	rctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel2()
	if rerr := metadb.Retry(rctx, s.logger, "requeue unpublished", func(ctx context.Context) error {
		return metadb.RequeueUnpublished(ctx, s.db.Pool, back)
	}); rerr != nil {
		// The queued-timeout repair picks them up later.
		s.logger.Error("cannot put unpublished tasks back to scheduled", logkey.Err, rerr)
	}
}

// taskLimits returns a task's max_active_tis_per_dag and
// max_active_tis_per_dagrun (0: none).
func (s *Scheduler) taskLimits(ctx context.Context, tx pgx.Tx, c metadb.Candidate) (perDag, perRun int, err error) {
	dag, err := s.dags.Get(ctx, tx, c.DagHash)
	if err != nil {
		return 0, 0, fmt.Errorf("load dag for %s: %w", c.TIKey, err)
	}
	if t := dag.Task(c.TaskID); t != nil {
		return t.MaxActiveTIsPerDag, t.MaxActiveTIsPerDagrun, nil
	}
	return 0, 0, nil
}

var errSkip = fmt.Errorf("critical section busy")

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
