// Package worker runs task-instance tries: it consumes its queues from the
// broker, claims each try in the metadata database (a guarded
// queued -> running update, so stale and duplicate messages are no-ops),
// runs it with a bounded concurrency, heartbeats it, writes its outcome,
// wakes the schedulers, and reports to the monitor.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/metrics"
)

// Options configures a worker.
type Options struct {
	Hostname string
	Queues   []string
	// DefaultQueue is [celery] default_queue, for the runs tasks trigger.
	DefaultQueue string
	// MaxMapLength is [core] max_map_length: a task may push no longer a
	// list for a mapped task to map over (0: 1,024).
	MaxMapLength       int
	Concurrency        int
	PrefetchMultiplier int
	Broker             broker.Options
	BaseLogFolder      string
	// MaxLogSize bounds what a try's log keeps in Postgres, in bytes: the
	// first and last halves ([logging] max_log_size; 0: no limit). The
	// log file keeps everything.
	MaxLogSize int64
	// HeartbeatInterval is how often running tries heartbeat in Postgres
	// ([scheduler] job_heartbeat_sec).
	HeartbeatInterval time.Duration
	// ShutdownGrace is how long a warm shutdown lets running tries finish.
	ShutdownGrace time.Duration
	// MonitorInterval is how often the worker reports to the monitor.
	MonitorInterval time.Duration
	Version         string
	// Keyring opens encrypted variables and connections ([core] fernet_key).
	Keyring *secrets.Keyring
	// Metrics are the worker's instruments; nil records none.
	Metrics *metrics.Worker
	// AutoscaleMax > 0 turns on Celery's autoscale: the pool starts at
	// AutoscaleMin and moves between the two (Concurrency is then unused);
	// AutoscaleKeepalive is how long slots stay idle before it shrinks.
	AutoscaleMax, AutoscaleMin int
	AutoscaleKeepalive         time.Duration
	// Python runs Python tasks (nil: they fail saying so); CacheDir holds
	// the DAG files they import, as stored with their DAG versions.
	Python   *PythonRuntime
	CacheDir string
}

// Worker consumes and runs tries. Create it with New and start it with Run.
type Worker struct {
	opts    Options
	db      *metadb.DB
	mon     *monitor.Publisher // nil: no monitor
	logger  *slog.Logger
	dags    *metadb.DAGCache
	store   Store
	started time.Time
	jobID   int64 // the job row, once registered (heartbeat loop only)

	mu      sync.Mutex
	running map[metadb.TryKey]*runningTry

	active                                atomic.Int64
	processed, succeeded, failed, retried atomic.Int64
	abortOnce                             sync.Once
	abort                                 chan struct{}
	shutdownOnce                          sync.Once
	shutdown                              chan struct{} // closed by a remote shutdown

	// Autoscale bounds, set by --autoscale or the remote command; the
	// autoscaler starts when autoscaleOn closes.
	autoscaleMax, autoscaleMin atomic.Int64
	autoscaleOnce              sync.Once
	autoscaleOn                chan struct{}

	// slots bounds the tries run at once and consumer takes them from the
	// broker; remote control resizes the one and changes the other's
	// queues while they run.
	slots    *limiter
	consumer *broker.Consumer
}

// New returns a worker. mon may be nil.
func New(opts Options, db *metadb.DB, mon *monitor.Publisher, logger *slog.Logger) (*Worker, error) {
	if opts.Concurrency < 1 {
		return nil, fmt.Errorf("worker concurrency must be >= 1 (got %d)", opts.Concurrency)
	}
	if len(opts.Queues) == 0 {
		return nil, errors.New("worker needs at least one queue")
	}
	if opts.PrefetchMultiplier < 1 {
		opts.PrefetchMultiplier = 1
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 5 * time.Second
	}
	if opts.MonitorInterval <= 0 {
		opts.MonitorInterval = 2 * time.Second
	}
	if opts.Hostname == "" {
		opts.Hostname = DefaultHostname()
	}
	if opts.AutoscaleMax > 0 {
		if opts.AutoscaleMin < 1 || opts.AutoscaleMin > opts.AutoscaleMax {
			return nil, fmt.Errorf("autoscale needs 1 <= MIN <= MAX (got %d,%d)", opts.AutoscaleMax, opts.AutoscaleMin)
		}
		if opts.AutoscaleKeepalive <= 0 {
			opts.AutoscaleKeepalive = 30 * time.Second // Celery's AUTOSCALE_KEEPALIVE
		}
	}
	logger = logger.With(logkey.Worker, opts.Hostname)
	return &Worker{
		opts:        opts,
		db:          db,
		mon:         mon,
		logger:      logger,
		dags:        metadb.NewDAGCache(256),
		store:       &DBStore{DB: db, Keyring: opts.Keyring, CacheDir: opts.CacheDir, DefaultQueue: opts.DefaultQueue},
		running:     map[metadb.TryKey]*runningTry{},
		abort:       make(chan struct{}),
		shutdown:    make(chan struct{}),
		autoscaleOn: make(chan struct{}),
		slots:       newLimiter(poolStart(opts)),
		consumer:    broker.NewConsumer(opts.Broker, opts.Queues, poolStart(opts)*opts.PrefetchMultiplier, opts.Hostname, logger),
	}, nil
}

// poolStart is the pool's first size.
func poolStart(opts Options) int {
	if opts.AutoscaleMax > 0 {
		return opts.AutoscaleMin
	}
	return opts.Concurrency
}

// DefaultHostname is the worker name used when none is given:
// gust.<pid>@<host>, unique per process as Celery's %n@%h with a pid.
func DefaultHostname() string {
	h, err := os.Hostname()
	if err != nil {
		h = "localhost"
	}
	return fmt.Sprintf("gust.%d@%s", os.Getpid(), h)
}

// Hostname returns the worker's name.
func (w *Worker) Hostname() string { return w.opts.Hostname }

// Abort ends a warm shutdown at once (Celery's cold shutdown): running
// tries are killed and recorded as failed or up for retry.
func (w *Worker) Abort() { w.abortOnce.Do(func() { close(w.abort) }) }

// Run consumes until ctx is done (or a remote shutdown), then shuts down warmly: it stops taking
// messages (what was prefetched returns to the queue), lets running tries
// finish for up to ShutdownGrace (or until Abort), kills what is left and
// records those tries' outcomes.
func (w *Worker) Run(ctx context.Context) error {
	w.started = time.Now()
	defer w.opts.Python.Close()
	// workCtx outlives ctx: running tries and their result writes go on
	// during a warm shutdown.
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	// The tries' working directories, kept for the next tries.
	scratches := &scratchPool{}
	defer scratches.Close()
	workCtx = withScratch(workCtx, scratches)

	// A remote shutdown ends consuming as the first signal does.
	ctx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	go func() {
		select {
		case <-w.shutdown:
			stopConsuming()
		case <-ctx.Done():
		}
	}()

	consumer := w.consumer
	var bg sync.WaitGroup
	bg.Go(func() { _ = consumer.Run(ctx) })
	monCtx, stopMon := context.WithCancel(workCtx)
	bg.Go(func() { w.monitorLoop(monCtx) })
	// Remote control runs on its own connection until the worker stops,
	// so that a warm shutdown still answers pings.
	ctl := broker.NewControlServer(w.opts.Broker, w.opts.Hostname, w.control, w.logger)
	bg.Go(func() { _ = ctl.Run(monCtx) })
	hbCtx, stopHB := context.WithCancel(workCtx)
	var bgHB sync.WaitGroup
	bgHB.Go(func() { w.heartbeatLoop(hbCtx) })
	// The autoscaler waits until autoscale is on: from the start with
	// --autoscale, or when a remote `autoscale` command turns it on.
	if w.opts.AutoscaleMax > 0 {
		w.setAutoscale(w.opts.AutoscaleMax, w.opts.AutoscaleMin)
	}
	bg.Go(func() {
		select {
		case <-w.autoscaleOn:
			w.autoscale(ctx)
		case <-ctx.Done():
		}
	})
	w.event(monitor.Event{Type: "worker-online"})
	w.logger.Info("worker started", "queues", w.opts.Queues, "concurrency", w.opts.Concurrency)

	var tasks sync.WaitGroup
consume:
	for {
		if !w.slots.acquire(ctx) {
			break consume
		}
		select {
		case d := <-consumer.Deliveries():
			tasks.Go(func() {
				defer w.slots.release()
				w.handle(workCtx, d)
			})
		case <-ctx.Done():
			w.slots.release()
			break consume
		}
	}

	w.logger.Info("warm shutdown: not taking new tasks", "running", w.active.Load(), "grace", w.opts.ShutdownGrace)
	done := make(chan struct{})
	go func() { tasks.Wait(); close(done) }()
	grace := time.NewTimer(w.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		w.logger.Warn("shutdown grace period over: stopping running tasks")
		w.killAll(errShutdown)
		<-done
	case <-w.abort:
		w.logger.Warn("cold shutdown: stopping running tasks")
		w.killAll(errShutdown)
		<-done
	}
	stopHB()
	bgHB.Wait()
	w.endJob(ctx)
	if w.mon != nil {
		w.mon.Offline(w.status())
	}
	stopMon()
	bg.Wait()
	w.logger.Info("worker stopped", "processed", w.processed.Load())
	return nil
}

var errShutdown = errors.New("worker shut down before the task finished")

// runningTry is a try between its claim and its recorded result.
type runningTry struct {
	cancel  context.CancelCauseFunc
	log     *logShipper
	started time.Time
}

func (w *Worker) killAll(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.running {
		r.cancel(cause)
	}
}

// heartbeatLoop refreshes the heartbeat of running tries, storing what
// their logs gained since the last one in the same statement, and stops the
// tries that are no longer this worker's to run (cleared, or declared
// zombies). A failed heartbeat keeps the log for the next one.
func (w *Worker) heartbeatLoop(ctx context.Context) {
	w.jobHeartbeat(ctx)
	t := time.NewTicker(w.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.jobHeartbeat(ctx)
		w.mu.Lock()
		tries := make([]metadb.TryKey, 0, len(w.running))
		ships := make([]*logShipper, 0, len(w.running))
		for k, r := range w.running {
			tries = append(tries, k)
			ships = append(ships, r.log)
		}
		w.mu.Unlock()
		if len(tries) == 0 {
			continue
		}
		// Each try's new text, whole, until the statement carries
		// heartbeatLogBudget bytes; the others' wait for the next one (the
		// map's order varies, so none waits for long).
		shipments := make([]shipment, len(ships))
		var logs []metadb.LogChunk
		size := 0
		for i, s := range ships {
			if size >= heartbeatLogBudget {
				break
			}
			shipments[i] = s.take(false)
			for _, c := range shipments[i].chunks {
				logs = append(logs, c)
				size += len(c.Content)
			}
		}
		hctx, cancel := context.WithTimeout(ctx, w.opts.HeartbeatInterval)
		gone, err := metadb.HeartbeatTIs(hctx, w.db.Pool, w.opts.Hostname, tries, logs...)
		cancel()
		if err != nil && len(logs) > 0 && !metadb.IsTransient(err) {
			// The log must never cost a heartbeat (the try would be
			// declared a zombie): heartbeat without it (a statement that
			// failed or took too long), and keep it for the next one.
			w.logger.Warn("cannot store task logs with the heartbeat; heartbeating without them", logkey.Err, err)
			logs = nil
			hctx, cancel := context.WithTimeout(ctx, w.opts.HeartbeatInterval)
			gone, err = metadb.HeartbeatTIs(hctx, w.db.Pool, w.opts.Hostname, tries)
			cancel()
		}
		if err != nil {
			w.logger.Warn("heartbeat of running tasks failed", "err", err)
			continue
		}
		if len(logs) > 0 {
			for i, s := range ships {
				s.ack(shipments[i])
			}
		}
		w.mu.Lock()
		for _, k := range gone {
			if r, ok := w.running[k]; ok {
				w.logger.Warn("task instance is no longer running this try; stopping it",
					logkey.DagID, k.DagID, logkey.RunID, k.RunID, logkey.TaskID, k.TaskID, logkey.TryNumber, k.TryNumber)
				r.cancel(errExternallyChanged)
			}
		}
		w.mu.Unlock()
	}
}

// heartbeatLogBudget is about how many bytes of task logs one heartbeat
// carries: beyond it, the rest waits for the next heartbeat.
const heartbeatLogBudget = 4 << 20

// JobType is the job table's name for worker processes; `gust jobs check
// --job-type WorkerJob --local` is a worker's health check.
const JobType = "WorkerJob"

// jobHeartbeat registers the worker's job row on first success, then
// refreshes its heartbeat. It never blocks the worker on the database.
func (w *Worker) jobHeartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.HeartbeatInterval)
	defer cancel()
	var err error
	if w.jobID == 0 {
		w.jobID, err = metadb.RegisterJob(ctx, w.db.Pool, JobType, w.opts.Hostname, os.Getpid())
	} else {
		err = metadb.HeartbeatJob(ctx, w.db.Pool, w.jobID)
	}
	if err != nil {
		w.logger.Warn("worker job heartbeat failed", logkey.Err, err)
	}
}

// endJob marks the worker's job row finished.
func (w *Worker) endJob(ctx context.Context) {
	if w.jobID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := metadb.EndJob(ctx, w.db.Pool, w.jobID); err != nil {
		w.logger.Warn("cannot mark worker job ended", logkey.Err, err)
	}
}

var errExternallyChanged = errors.New("task instance state was changed externally (cleared, or declared a zombie)")

func (w *Worker) monitorLoop(ctx context.Context) {
	if w.mon == nil {
		return
	}
	t := time.NewTicker(w.opts.MonitorInterval)
	defer t.Stop()
	for {
		w.mon.Heartbeat(w.status())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) status() monitor.WorkerStatus {
	return monitor.WorkerStatus{
		Hostname:      w.opts.Hostname,
		PID:           os.Getpid(),
		Queues:        w.consumer.Queues(),
		Concurrency:   w.slots.limit(),
		Active:        int(w.active.Load()),
		Processed:     w.processed.Load(),
		Succeeded:     w.succeeded.Load(),
		Failed:        w.failed.Load(),
		Retried:       w.retried.Load(),
		LoadAvg:       loadAvg(),
		StartedAt:     w.started,
		LastHeartbeat: time.Now(),
		Status:        "online",
		Version:       w.opts.Version,
		AutoscaleMax:  int(w.autoscaleMax.Load()),
		AutoscaleMin:  int(w.autoscaleMin.Load()),
		Running:       w.runningTries(),
		MemoryRSS:     memoryRSS(),
		Config: map[string]string{
			"prefetch_multiplier": strconv.Itoa(w.opts.PrefetchMultiplier),
			"shutdown_grace":      w.opts.ShutdownGrace.String(),
			"heartbeat_interval":  w.opts.HeartbeatInterval.String(),
			"monitor_interval":    w.opts.MonitorInterval.String(),
			"autoscale_keepalive": w.opts.AutoscaleKeepalive.String(),
			"max_log_size":        strconv.FormatInt(w.opts.MaxLogSize, 10),
			"exchange":            w.opts.Broker.Exchange,
		},
	}
}

// runningTries lists the running tries, oldest first, for the monitor.
func (w *Worker) runningTries() []monitor.RunningTry {
	w.mu.Lock()
	out := make([]monitor.RunningTry, 0, len(w.running))
	for k, r := range w.running {
		out = append(out, monitor.RunningTry{ID: monitor.TryID(k.DagID, k.RunID, k.TaskID, k.MapIndex, k.TryNumber),
			DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID, MapIndex: k.MapIndex, TryNumber: k.TryNumber, Started: r.started})
	}
	w.mu.Unlock()
	slices.SortFunc(out, func(a, b monitor.RunningTry) int { return a.Started.Compare(b.Started) })
	return out
}

func (w *Worker) event(e monitor.Event) {
	if w.mon == nil {
		return
	}
	e.Hostname = w.opts.Hostname
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	w.mon.Event(e)
}
