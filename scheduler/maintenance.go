package scheduler

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/retry"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// failZombies ends the tries whose worker stopped heartbeating for longer
// than scheduler_zombie_task_threshold: up_for_retry while retries remain,
// failed otherwise.
func (s *Scheduler) failZombies(ctx context.Context) error {
	n := 0
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		zs, err := metadb.LockZombies(ctx, tx, s.opts.ZombieThreshold, 100)
		if err != nil {
			return err
		}
		for _, z := range zs {
			state := tistate.Failed
			var next *time.Time
			if z.TryNumber <= z.MaxTries {
				state = tistate.UpForRetry
				var p retry.Policy
				if dag, err := s.dags.Get(ctx, tx, z.DagHash); err == nil {
					if t := dag.Task(z.TaskID); t != nil {
						p = retry.Policy{Delay: secs(t.RetryDelaySec), ExponentialBackoff: t.RetryExponentialBackoff, MaxDelay: secs(t.MaxRetryDelaySec)}
					}
				}
				at := s.now().Add(retry.Delay(p, z.DagID, z.TaskID, z.LogicalDate, z.TryNumber))
				next = &at
			}
			ok, err := metadb.Finish(ctx, tx, z.TryKey, state, next)
			if err != nil {
				return err
			}
			if ok {
				n++
				s.logger.Warn("zombie task instance: its worker stopped heartbeating", logkey.DagID, z.DagID, logkey.RunID, z.RunID,
					logkey.TaskID, z.TaskID, logkey.TryNumber, z.TryNumber, "worker", z.Hostname, "state", state)
			}
		}
		if n > 0 {
			return metadb.NotifySchedule(ctx, tx)
		}
		return nil
	})
	return err
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
