package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/config"
	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/flower"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/metrics"
	"github.com/gust-sched/gust/scheduler"
	"github.com/gust-sched/gust/worker"
)

// parts says which long-lived parts a process runs together.
type parts struct {
	processor bool
	scheduler bool
	worker    *workerFlags
	flower    bool
	api       bool
}

type workerFlags struct {
	queues                     []string
	concurrency                int
	hostname                   string
	autoscaleMax, autoscaleMin int
}

// parseAutoscale reads Celery's "MAX,MIN". "MAX" alone means MIN 0 in
// Celery; gust's pool keeps at least one slot, so MIN is at least 1.
func parseAutoscale(s string) (max, min int, err error) {
	hi, lo, found := strings.Cut(strings.TrimSpace(s), ",")
	if max, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
		return 0, 0, fmt.Errorf("autoscale %q: want MAX,MIN", s)
	}
	min = 1
	if found {
		if min, err = strconv.Atoi(strings.TrimSpace(lo)); err != nil {
			return 0, 0, fmt.Errorf("autoscale %q: want MAX,MIN", s)
		}
	}
	if min < 1 {
		min = 1
	}
	if max < min {
		return 0, 0, fmt.Errorf("autoscale %q: MAX must be at least MIN", s)
	}
	return max, min, nil
}

func brokerOptions(cfg *config.Config) broker.Options {
	return broker.Options{URL: cfg.Celery.BrokerURL, Exchange: cfg.Celery.Exchange}
}

func processorOptions(cfg *config.Config) dagprocessor.Options {
	return dagprocessor.Options{
		DagsFolder:             cfg.Core.DagsFolder,
		MinFileProcessInterval: cfg.Scheduler.MinFileProcessInterval,
		DagDirListInterval:     cfg.Scheduler.DagDirListInterval,
		ParsingProcesses:       cfg.Scheduler.ParsingProcesses,
		PausedAtCreation:       cfg.Core.DagsArePausedAtCreation,
		MaxActiveRunsPerDag:    cfg.Core.MaxActiveRunsPerDag,
		MaxActiveTasksPerDag:   cfg.Core.MaxActiveTasksPerDag,
		Python:                 pythonParser(cfg),
		Schedule:               scheduleOptions(cfg),
		IgnoreSyntax:           cfg.Core.DagIgnoreFileSyntax,
	}
}

// pythonRuntime runs Python tasks as [core] and [python] say, with the
// parser's airflow package, keeping up to maxIdle warm processes.
func pythonRuntime(cfg *config.Config, maxIdle int) *worker.PythonRuntime {
	return &worker.PythonRuntime{Python: cfg.Core.PythonExecutable, Shim: pythonParser(cfg).ShimDir, DagsFolder: cfg.Core.DagsFolder,
		MaxTasksPerChild: cfg.Python.MaxTasksPerChild, FreshProcessPerTry: cfg.Python.FreshProcessPerTry,
		MemoryLimit: int64(cfg.Python.MemoryLimitMB) << 20, MaxIdle: maxIdle}
}

// pythonParser reads Python DAG files as [core] says.
func pythonParser(cfg *config.Config) *pydag.Parser {
	return &pydag.Parser{Python: cfg.Core.PythonExecutable, DagsFolder: cfg.Core.DagsFolder,
		CacheDir: filepath.Join(cfg.Home, "cache"), Timeout: cfg.Core.DagbagImportTimeout, Schedule: scheduleOptions(cfg)}
}

// scheduleOptions are the [scheduler] settings that decide what a DAG's
// schedule means, applied as its files are parsed.
func scheduleOptions(cfg *config.Config) dagspec.Options {
	return dagspec.Options{CronDataIntervals: cfg.Scheduler.CreateCronDataIntervals, DeltaDataIntervals: cfg.Scheduler.CreateDeltaDataIntervals}
}

func schedulerOptions(cfg *config.Config) scheduler.Options {
	s := cfg.Scheduler
	return scheduler.Options{
		Parallelism:                 cfg.Core.Parallelism,
		MaxActiveRunsPerDag:         cfg.Core.MaxActiveRunsPerDag,
		MaxActiveTasksPerDag:        cfg.Core.MaxActiveTasksPerDag,
		MaxMapLength:                cfg.Core.MaxMapLength,
		MaxDagrunsToCreatePerLoop:   s.MaxDagrunsToCreatePerLoop,
		MaxDagrunsPerLoopToSchedule: s.MaxDagrunsPerLoopToSchedule,
		MaxTisPerQuery:              s.MaxTisPerQuery,
		CatchupByDefault:            s.CatchupByDefault,
		DefaultQueue:                cfg.Celery.DefaultQueue,
		HeartbeatInterval:           s.SchedulerHeartbeatSec,
		HealthCheckThreshold:        s.SchedulerHealthCheckThreshold,
		OrphanedTasksCheckInterval:  s.OrphanedTasksCheckInterval,
		TaskQueuedTimeout:           s.TaskQueuedTimeout,
		ZombieThreshold:             s.ZombieTaskThreshold,
		ZombieDetectionInterval:     s.ZombieDetectionInterval,
		IdleSleep:                   s.SchedulerIdleSleepTime,
		Broker:                      brokerOptions(cfg),
	}
}

func redisClient(cfg *config.Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.Monitor.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("[monitor] redis_url: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
}

// runParts runs the chosen parts until a signal. The first SIGINT/SIGTERM
// starts a warm shutdown (a worker finishes its running tasks within
// [celery] worker_shutdown_grace); a second one stops at once.
func (a *app) runParts(c *cli.Context, p parts) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	log := a.log()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	// The caller's context is cancelled on the first signal; take signals
	// over here to tell a warm shutdown from a cold one.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var db *metadb.DB
	if p.processor || p.scheduler || p.worker != nil || p.api {
		if cfg.Database.MigrateOnStart {
			// As `gust db migrate`: idempotent and safe with several
			// processes starting at once (an advisory lock serialises it).
			if err := metadb.Retry(ctx, log, "create database", func(ctx context.Context) error {
				return ensureDatabase(ctx, cfg.Database.SQLConn)
			}); err != nil {
				return err
			}
		}
		// Daemons open the pool lazily and wait for the database with
		// backoff (below) rather than fail when it is not up yet.
		db, err = metadb.Open(ctx, cfg.Database.SQLConn, cfg.Database.MaxConns)
		if err != nil {
			return err
		}
		defer db.Close()
		err = metadb.Retry(ctx, log, "check schema", func(ctx context.Context) error {
			if cfg.Database.MigrateOnStart {
				applied, err := db.Migrate(ctx, cfg.Core.DefaultPoolTaskSlotCount)
				if len(applied) > 0 {
					log.Info("applied schema migrations", "versions", applied)
				}
				if err != nil {
					return err
				}
			}
			cur, latest, err := db.SchemaVersion(ctx)
			if err == nil && cur < latest {
				return fmt.Errorf("metadata database schema is at version %d, this gust needs %d: run `gust db migrate`", cur, latest)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	var rdb *redis.Client
	if p.worker != nil || p.flower {
		if rdb, err = redisClient(cfg); err != nil {
			return err
		}
		defer rdb.Close()
	}

	// One registry per process; the api-server serves it on its own port,
	// the other parts on [metrics] host:port.
	reg := metrics.NewRegistry()
	if p.scheduler || p.api {
		metrics.NewDBCollector(reg, db, log)
	}
	var w *worker.Worker
	g, gctx := errgroup.WithContext(ctx)
	if !p.api && (p.processor || p.scheduler || p.worker != nil) && cfg.Metrics.Port > 0 {
		go metrics.Serve(gctx, net.JoinHostPort(cfg.Metrics.Host, strconv.Itoa(cfg.Metrics.Port)), reg, cfg.Debug.Pprof, log)
	}
	if p.processor {
		popts := processorOptions(cfg)
		popts.ParseDuration = metrics.NewParseDuration(reg)
		proc := dagprocessor.New(popts, db, log)
		g.Go(func() error { return proc.Run(gctx) })
	}
	if p.scheduler {
		kr, err := secrets.NewKeyring(cfg.Core.FernetKey)
		if err != nil {
			return err
		}
		opts := schedulerOptions(cfg)
		opts.Metrics = metrics.NewScheduler(reg)
		cbDags := metadb.NewDAGCache(64)
		cbLog := log.With("component", "dag-callbacks")
		// DAG-level callbacks outlive a shutdown signal briefly: they are
		// bounded by their own timeout.
		cbCtx := context.WithoutCancel(ctx)
		cbPython := pythonRuntime(cfg, 2) // a Python DAG file's DAG callbacks
		defer cbPython.Close()
		opts.OnRunFinished = func(run *metadb.DagRun) {
			dag, err := cbDags.Get(cbCtx, db.Pool, run.DagHash)
			if err != nil {
				cbLog.Warn("cannot load the DAG for its callback", "err", err)
				return
			}
			worker.RunDAGCallback(cbCtx, cbLog, &worker.DBStore{DB: db, Keyring: kr, CacheDir: filepath.Join(cfg.Home, "cache"), DefaultQueue: cfg.Celery.DefaultQueue}, cbPython, cfg.Logging.BaseLogFolder, dag, run)
		}
		s := scheduler.New(opts, db, log.With("component", "scheduler"))
		g.Go(func() error { return s.Run(gctx) })
	}
	if p.worker != nil {
		kr, err := secrets.NewKeyring(cfg.Core.FernetKey)
		if err != nil {
			return err
		}
		pub := monitor.NewPublisher(rdb, cfg.Monitor.KeyPrefix, int64(cfg.Monitor.EventStreamMaxLen), cfg.Monitor.WorkerHeartbeatTTL, log).
			WithMaxTasks(int64(cfg.Flower.MaxTasks))
		pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
		defer stopPub()
		pubDone := make(chan struct{})
		go func() { _ = pub.Run(pubCtx); close(pubDone) }()
		defer func() { stopPub(); <-pubDone }()
		w, err = worker.New(worker.Options{
			Hostname:           p.worker.hostname,
			Queues:             p.worker.queues,
			DefaultQueue:       cfg.Celery.DefaultQueue,
			MaxMapLength:       cfg.Core.MaxMapLength,
			Concurrency:        p.worker.concurrency,
			PrefetchMultiplier: cfg.Celery.WorkerPrefetchMultiplier,
			Broker:             brokerOptions(cfg),
			BaseLogFolder:      cfg.Logging.BaseLogFolder,
			MaxLogSize:         cfg.Logging.MaxLogSize,
			HeartbeatInterval:  cfg.Scheduler.JobHeartbeatSec,
			ShutdownGrace:      cfg.Celery.WorkerShutdownGrace,
			Version:            version,
			Keyring:            kr,
			Metrics:            metrics.NewWorker(reg),
			Python:             pythonRuntime(cfg, max(p.worker.concurrency, p.worker.autoscaleMax)),
			CacheDir:           filepath.Join(cfg.Home, "cache"),
			AutoscaleMax:       p.worker.autoscaleMax,
			AutoscaleMin:       p.worker.autoscaleMin,
			AutoscaleKeepalive: cfg.Celery.WorkerAutoscaleKeepalive,
		}, db, pub, log.With("component", "worker"))
		if err != nil {
			return err
		}
		g.Go(func() error {
			err := w.Run(gctx)
			// A remote shutdown ends the worker: the whole process stops.
			cancel()
			return err
		})
	}
	if p.flower {
		fopts, err := flowerOptions(cfg)
		if err != nil {
			return err
		}
		srv := flower.New(fopts, monitor.NewReader(rdb, cfg.Monitor.KeyPrefix, cfg.Monitor.WorkerHeartbeatTTL), log.With("component", "flower"))
		g.Go(func() error { return srv.Run(gctx) })
	}
	if p.api {
		srv, err := a.apiServer(cfg, db, reg, log.With("component", "api-server"))
		if err != nil {
			return err
		}
		g.Go(func() error { return srv.Run(gctx) })
	}
	go func() {
		select {
		case <-sigs:
		case <-gctx.Done():
			return
		}
		log.Info("shutting down (send the signal again to stop at once)")
		cancel()
		select {
		case <-sigs:
			log.Warn("second signal: stopping at once")
			if w != nil {
				w.Abort()
			}
		case <-time.After(24 * time.Hour):
		}
	}()
	return g.Wait()
}

func (a *app) schedulerCommand() *cli.Command {
	return &cli.Command{
		Name:  "scheduler",
		Usage: "run a scheduler (with its DAG processor unless [scheduler] standalone_dag_processor); run as many as you like",
		Action: func(c *cli.Context) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return a.runParts(c, parts{scheduler: true, processor: !cfg.Scheduler.StandaloneDagProcessor})
		},
	}
}

func (a *app) dagProcessorCommand() *cli.Command {
	return &cli.Command{
		Name:   "dag-processor",
		Usage:  "run only the DAG processor (for [scheduler] standalone_dag_processor = True)",
		Action: func(c *cli.Context) error { return a.runParts(c, parts{processor: true}) },
	}
}

func queueFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "queues", Aliases: []string{"q"}, Usage: "comma-separated queues to consume (default: [celery] default_queue)"}
}

func autoscaleFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "autoscale", Usage: "MAX,MIN: grow the pool up to MAX while tasks wait, shrink to MIN when idle (default [celery] worker_autoscale)"}
}

func concurrencyFlag() *cli.IntFlag {
	return &cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Usage: "tasks run at once (default: [celery] worker_concurrency)"}
}

func (a *app) workerFlags(c *cli.Context) (*workerFlags, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	wf := &workerFlags{concurrency: cfg.Celery.WorkerConcurrency, hostname: c.String("hostname")}
	if c.IsSet("concurrency") {
		wf.concurrency = c.Int("concurrency")
		if wf.concurrency < 1 {
			return nil, fmt.Errorf("--concurrency must be >= 1 (got %d)", wf.concurrency)
		}
	}
	qs := c.String("queues")
	if qs == "" {
		qs = cfg.Celery.DefaultQueue
	}
	for _, q := range strings.Split(qs, ",") {
		if q = strings.TrimSpace(q); q != "" {
			wf.queues = append(wf.queues, q)
		}
	}
	if len(wf.queues) == 0 {
		return nil, fmt.Errorf("--queues names no queue")
	}
	as := cfg.Celery.WorkerAutoscale
	if c.IsSet("autoscale") {
		as = c.String("autoscale")
	}
	if strings.TrimSpace(as) != "" {
		if wf.autoscaleMax, wf.autoscaleMin, err = parseAutoscale(as); err != nil {
			return nil, err
		}
	}
	return wf, nil
}

func (a *app) workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run a worker: consume queues and run tasks; add workers to scale out",
		Flags: []cli.Flag{
			queueFlag(),
			concurrencyFlag(),
			autoscaleFlag(),
			&cli.StringFlag{Name: "hostname", Aliases: []string{"H"}, Usage: "worker name (default gust.<pid>@<host>)"},
		},
		Action: func(c *cli.Context) error {
			wf, err := a.workerFlags(c)
			if err != nil {
				return err
			}
			return a.runParts(c, parts{worker: wf})
		},
	}
}

func (a *app) flowerCommand() *cli.Command {
	return &cli.Command{
		Name:  "flower",
		Usage: "run the monitor (Flower's pages, API and /metrics) from Redis, on [flower] flower_host:flower_port",
		Description: "Every flag sets the [flower] option of the same name (Flower's spelling, with underscores, works too).\n" +
			"Prefer GUST__FLOWER__BASIC_AUTH to --basic-auth: a command line is visible to every user of the host.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "address", Usage: "address to listen on (default [flower] flower_host, 127.0.0.1)"},
			&cli.IntFlag{Name: "port", Usage: "port (default [flower] flower_port, 5555)"},
			&cli.StringFlag{Name: "basic-auth", Aliases: []string{"basic_auth"}, Usage: "user:password[,user:password] needed by every page and API call"},
			&cli.StringFlag{Name: "url-prefix", Aliases: []string{"url_prefix"}, Usage: "serve under this path (behind a reverse proxy)"},
			&cli.StringFlag{Name: "broker-api", Aliases: []string{"broker_api"}, Usage: "RabbitMQ's management API URL, auto, or empty for none"},
			&cli.BoolFlag{Name: "read-only", Aliases: []string{"read_only"}, Usage: "hide and refuse worker control and revoke"},
			&cli.BoolFlag{Name: "api-users", Aliases: []string{"api_users"}, Usage: "let the REST API's users in with their passwords"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			f := &cfg.Flower
			for name, set := range map[string]func(){
				"address":    func() { f.Address = c.String("address") },
				"port":       func() { f.Port = c.Int("port") },
				"basic-auth": func() { f.BasicAuth = c.String("basic-auth") },
				"url-prefix": func() { f.URLPrefix = c.String("url-prefix") },
				"broker-api": func() { f.BrokerAPI = c.String("broker-api") },
				"read-only":  func() { f.ReadOnly = c.Bool("read-only") },
				"api-users":  func() { f.APIUsers = c.Bool("api-users") },
			} {
				if c.IsSet(name) {
					set()
				}
			}
			return a.runParts(c, parts{flower: true})
		},
	}
}

func (a *app) standaloneCommand() *cli.Command {
	return &cli.Command{
		Name:  "standalone",
		Usage: "run the DAG processor, a scheduler, a worker, the monitor and the api-server in one process",
		Flags: []cli.Flag{queueFlag(), concurrencyFlag(), autoscaleFlag(), &cli.StringFlag{Name: "hostname", Aliases: []string{"H"}, Usage: "worker name"}},
		Action: func(c *cli.Context) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			wf, err := a.workerFlags(c)
			if err != nil {
				return err
			}
			login, err := a.standaloneAdmin(c)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "gust standalone\n  dags folder: %s\n  task logs:   %s\n  monitor:     http://%s/\n  web UI:      %s/\n  REST API:    %s/api/v2  (%s)\n  try:         gust dags list; gust dags list-runs -d DAG; gust tasks states-for-dag-run DAG RUN_ID\n  stop:        Ctrl-C\n",
				cfg.Core.DagsFolder, cfg.Logging.BaseLogFolder, net.JoinHostPort(cfg.Flower.Address, strconv.Itoa(cfg.Flower.Port)),
				apiURL(cfg), apiURL(cfg), login)
			return a.runParts(c, parts{processor: true, scheduler: true, worker: wf, flower: true, api: true})
		},
	}
}

// flowerOptions reads the monitor's settings from [flower], [celery] and
// [api_auth].
func flowerOptions(cfg *config.Config) (flower.Options, error) {
	users, err := flower.ParseBasicAuth(cfg.Flower.BasicAuth)
	if err != nil {
		return flower.Options{}, err
	}
	if err := flower.CheckListen(cfg.Flower.Address, users, cfg.Flower.APIUsers); err != nil {
		return flower.Options{}, err
	}
	opts := flower.Options{
		Addr:           net.JoinHostPort(cfg.Flower.Address, strconv.Itoa(cfg.Flower.Port)),
		Control:        broker.NewControl(brokerOptions(cfg)),
		DefaultQueue:   cfg.Celery.DefaultQueue,
		BasicAuth:      users,
		URLPrefix:      cfg.Flower.URLPrefix,
		ReadOnly:       cfg.Flower.ReadOnly,
		SampleInterval: cfg.Flower.SampleInterval,
		WebUIURL:       apiURL(cfg),
	}
	if cfg.APIAuth.JWTSecret != "" {
		if opts.Tokens, err = auth.NewTokens(cfg.APIAuth.JWTSecret, time.Hour); err != nil {
			return flower.Options{}, err
		}
	}
	if cfg.Flower.APIUsers {
		if opts.Tokens == nil {
			return flower.Options{}, fmt.Errorf("[flower] api_users needs [api_auth] jwt_secret, the api-servers' own")
		}
		opts.APILogin = flower.NewAPILogin(opts.WebUIURL)
	}
	if cfg.Flower.BrokerAPI != "" {
		if opts.Management, err = broker.NewManagement(cfg.Flower.BrokerAPI, cfg.Celery.BrokerURL); err != nil {
			return flower.Options{}, fmt.Errorf("[flower] %w", err)
		}
	}
	return opts, nil
}
