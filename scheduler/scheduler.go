// Package scheduler is gust's scheduler loop. Any number of schedulers run
// at once as peers; they coordinate only through Postgres row locks:
//
//  1. create due DAG runs (dag rows locked FOR UPDATE SKIP LOCKED),
//  2. examine active runs (dag_run rows locked FOR UPDATE SKIP LOCKED):
//     trigger rules, retries, run completion,
//  3. the critical section (pool rows locked FOR UPDATE NOWAIT; a scheduler
//     that misses the lock skips this step for one loop): admit scheduled
//     task instances by priority within pools, parallelism and per-DAG and
//     per-task limits, commit them as queued, then publish them with
//     publisher confirms,
//  4. heartbeat, and repair: zombies, tries stuck in queued, orphans of dead
//     schedulers.
//
// A loop that did nothing sleeps until a worker or a trigger wakes it
// through LISTEN/NOTIFY, or scheduler_idle_sleep_time passes.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/metrics"
)

// JobType is the job table's name for scheduler processes.
const JobType = "SchedulerJob"

// Options configures a scheduler. Field names follow the config keys.
type Options struct {
	// Metrics are the scheduler's instruments; nil records none.
	Metrics              *metrics.Scheduler
	Hostname             string
	Parallelism          int
	MaxActiveRunsPerDag  int
	MaxActiveTasksPerDag int
	// MaxMapLength is [core] max_map_length: the most instances a mapped
	// task expands to (0: mapping.DefaultMaxLength).
	MaxMapLength                int
	MaxDagrunsToCreatePerLoop   int
	MaxDagrunsPerLoopToSchedule int
	MaxTisPerQuery              int
	CatchupByDefault            bool
	DefaultQueue                string
	HeartbeatInterval           time.Duration
	HealthCheckThreshold        time.Duration
	OrphanedTasksCheckInterval  time.Duration
	TaskQueuedTimeout           time.Duration
	ZombieThreshold             time.Duration
	ZombieDetectionInterval     time.Duration
	IdleSleep                   time.Duration
	Broker                      broker.Options
	// OnRunFinished, if set, is called (in its own goroutine) once for each
	// run this scheduler finished: DAG-level callbacks. Run waits for the
	// calls in flight before it returns.
	OnRunFinished func(run *metadb.DagRun)
}

// Scheduler runs the loop. Create it with New and start it with Run.
type Scheduler struct {
	opts      Options
	db        *metadb.DB
	publisher *broker.Publisher
	logger    *slog.Logger
	dags      *metadb.DAGCache
	jobID     int64
	now       func() time.Time
	callbacks sync.WaitGroup // running OnRunFinished calls
}

// New returns a scheduler.
func New(opts Options, db *metadb.DB, logger *slog.Logger) *Scheduler {
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.IdleSleep <= 0 {
		opts.IdleSleep = time.Second
	}
	return &Scheduler{
		opts:      opts,
		db:        db,
		publisher: broker.NewPublisher(opts.Broker, logger),
		logger:    logger,
		dags:      metadb.NewDAGCache(1024),
		now:       time.Now,
	}
}

// stats counts what one loop did.
type stats struct {
	created, examined, decided, queued int
}

func (s stats) busy() bool { return s.created+s.decided+s.queued > 0 }

// Run loops until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.publisher.Close()
	defer s.callbacks.Wait()
	err := metadb.Retry(ctx, s.logger, "register scheduler job", func(ctx context.Context) error {
		var err error
		s.jobID, err = metadb.RegisterJob(ctx, s.db.Pool, JobType, s.opts.Hostname, os.Getpid())
		return err
	})
	if err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	s.logger = s.logger.With(logkey.Job, s.jobID)
	s.logger.Info("scheduler started", "hostname", s.opts.Hostname)
	defer func() {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := metadb.EndJob(ectx, s.db.Pool, s.jobID); err != nil {
			s.logger.Warn("cannot mark scheduler job ended", logkey.Err, err)
		}
		s.logger.Info("scheduler stopped")
	}()

	wake := make(chan struct{}, 1)
	go s.listen(ctx, wake)

	var lastHeartbeat, lastZombieCheck, lastOrphanCheck time.Time
	failures := 0
	for ctx.Err() == nil {
		loopStart := time.Now()
		st, err := s.loop(ctx)
		if m := s.opts.Metrics; m != nil {
			m.LoopDuration.Observe(time.Since(loopStart).Seconds())
			m.TIsQueued.Add(float64(st.queued))
			m.RunsCreated.Add(float64(st.created))
		}
		if err != nil && ctx.Err() == nil {
			failures++
			delay := min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)
			s.logger.Error("scheduler loop failed; retrying", logkey.Err, err, "retry_in", delay)
			sleep(ctx, delay)
			continue
		}
		failures = 0
		now := time.Now()
		if now.Sub(lastHeartbeat) >= s.opts.HeartbeatInterval {
			if err := metadb.HeartbeatJob(ctx, s.db.Pool, s.jobID); err != nil {
				s.logger.Warn("scheduler heartbeat failed", logkey.Err, err)
			} else {
				lastHeartbeat = now
			}
		}
		if now.Sub(lastZombieCheck) >= s.opts.ZombieDetectionInterval {
			lastZombieCheck = now
			if err := s.failZombies(ctx); err != nil {
				s.logger.Warn("zombie check failed", logkey.Err, err)
			}
		}
		if now.Sub(lastOrphanCheck) >= min(s.opts.OrphanedTasksCheckInterval, s.opts.TaskQueuedTimeout/2+time.Second) {
			lastOrphanCheck = now
			n, err := metadb.ResetStuckQueued(ctx, s.db.Pool, s.opts.TaskQueuedTimeout, s.opts.HealthCheckThreshold)
			if err != nil {
				s.logger.Warn("check of tasks stuck in queued failed", logkey.Err, err)
			} else if n > 0 {
				s.logger.Warn("re-queued tasks stuck in queued or orphaned by a dead scheduler", "count", n)
			}
		}
		if st.busy() {
			continue
		}
		idle := time.NewTimer(s.opts.IdleSleep)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-idle.C:
		}
		idle.Stop()
	}
	return nil
}

// loop runs the three scheduling steps once.
func (s *Scheduler) loop(ctx context.Context) (stats, error) {
	var st stats
	var err error
	if st.created, err = s.createDagRuns(ctx); err != nil {
		return st, fmt.Errorf("create dag runs: %w", err)
	}
	if n, err := s.createAssetRuns(ctx); err != nil {
		return st, fmt.Errorf("create asset-triggered runs: %w", err)
	} else {
		st.created += n
	}
	if st.examined, st.decided, err = s.examineRuns(ctx); err != nil {
		return st, fmt.Errorf("examine dag runs: %w", err)
	}
	if st.queued, err = s.queueTasks(ctx); err != nil {
		return st, fmt.Errorf("queue tasks: %w", err)
	}
	return st, nil
}

// listen forwards NOTIFYs on the schedule channel to wake, reconnecting
// when the connection drops.
func (s *Scheduler) listen(ctx context.Context, wake chan<- struct{}) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("LISTEN connection lost; reconnecting", logkey.Err, err)
		sleep(ctx, min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second))
	}
}

func (s *Scheduler) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := pgx.Connect(ctx, s.db.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+metadb.ChannelSchedule); err != nil {
		return err
	}
	// Wake once after (re)connecting: notifications may have been missed.
	select {
	case wake <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
