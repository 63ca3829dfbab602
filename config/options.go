package config

import (
	"path/filepath"
	"time"
)

// options is the table of every key gust reads, with Airflow's names and
// defaults. Where gust's default differs from Airflow's, the description
// says why.
func options(home string) []Option {
	return []Option{
		// [core]
		{"core", "dags_folder", filepath.Join(home, "dags"), "Folder of the DAG files (YAML, and Python files that mention airflow and dag).",
			path(func(c *Config) *string { return &c.Core.DagsFolder })},
		{"core", "python_executable", "python3", "The Python interpreter (3.9 or newer) that reads Python DAG files, with gust's own airflow package first on its path.",
			str(func(c *Config) *string { return &c.Core.PythonExecutable })},
		{"core", "dag_ignore_file_syntax", "glob", "Syntax of .airflowignore files: glob (gitignore's patterns, Airflow 3's default) or regexp (Airflow 2's: each line an unanchored regular expression).",
			str(func(c *Config) *string { return &c.Core.DagIgnoreFileSyntax })},
		{"core", "dagbag_import_timeout", "30", "Seconds a Python DAG file may take to import; a file that takes longer is an import error.",
			seconds(func(c *Config) *time.Duration { return &c.Core.DagbagImportTimeout })},
		{"core", "parallelism", "32", "Task instances allowed to run at once across all schedulers (global in gust; per scheduler in Airflow).",
			integer(func(c *Config) *int { return &c.Core.Parallelism })},
		{"core", "max_active_tasks_per_dag", "16", "Task instances of one DAG allowed to run at once, unless the DAG sets max_active_tasks.",
			integer(func(c *Config) *int { return &c.Core.MaxActiveTasksPerDag })},
		{"core", "max_map_length", "1024", "Most instances a mapped task may expand to; an upstream that pushes a longer list to map over fails (UnmappableXComLengthPushed), as in Airflow.",
			integer(func(c *Config) *int { return &c.Core.MaxMapLength })},
		{"core", "max_active_runs_per_dag", "16", "Active runs of one DAG, unless the DAG sets max_active_runs.",
			integer(func(c *Config) *int { return &c.Core.MaxActiveRunsPerDag })},
		{"core", "dags_are_paused_at_creation", "False", "Whether new DAGs start paused. Airflow's default is True; gust starts them unpaused so that a dropped-in file runs, as its core issue asks.",
			boolean(func(c *Config) *bool { return &c.Core.DagsArePausedAtCreation })},
		{"core", "default_pool_task_slot_count", "128", "Slots of default_pool when it is first created.",
			integer(func(c *Config) *int { return &c.Core.DefaultPoolTaskSlotCount })},

		{"core", "fernet_key", "", "Comma-separated keys (base64, 32 bytes; `gust config generate-key` prints one) that encrypt variables, connection passwords and extras at rest; the first encrypts, all decrypt. When unset, the first process of a home generates one into gust.cfg; every process of a cluster needs the same keys (GUST__CORE__FERNET_KEY).",
			str(func(c *Config) *string { return &c.Core.FernetKey })},
		{"core", "test_connection", "Disabled", "Enabled lets POST /api/v2/connections/test try a connection from the api-server; Disabled (Airflow's default) answers 403.",
			str(func(c *Config) *string { return &c.Core.TestConnection })},
		{"core", "store_secrets_unencrypted", "False", "When True and no fernet_key is set, variables and connection secrets are stored in clear (a warning at start-up) instead of under a generated key.",
			boolean(func(c *Config) *bool { return &c.Core.StoreSecretsUnencrypted })},

		// [database]
		{"database", "sql_conn", "postgres://postgres@127.0.0.1:5432/gust?sslmode=disable", "PostgreSQL URL of the metadata database.",
			str(func(c *Config) *string { return &c.Database.SQLConn })},
		{"database", "max_conns", "10", "Connections per process in the pool.",
			integer(func(c *Config) *int { return &c.Database.MaxConns })},
		{"database", "migrate_on_start", "True", "Whether schedulers, workers and the DAG processor create the database and apply pending migrations when they start (as `gust db migrate`). Set False to manage migrations only by hand.",
			boolean(func(c *Config) *bool { return &c.Database.MigrateOnStart })},

		// [scheduler]
		{"scheduler", "min_file_process_interval", "30", "Seconds between two parses of the same DAG file.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.MinFileProcessInterval })},
		{"scheduler", "dag_dir_list_interval", "30", "Seconds between two listings of the DAG folder (Airflow: 300; a YAML listing is cheap).",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.DagDirListInterval })},
		{"scheduler", "parsing_processes", "2", "DAG files parsed in parallel.",
			integer(func(c *Config) *int { return &c.Scheduler.ParsingProcesses })},
		{"scheduler", "max_dagruns_to_create_per_loop", "10", "DAGs for which one scheduler loop creates runs.",
			integer(func(c *Config) *int { return &c.Scheduler.MaxDagrunsToCreatePerLoop })},
		{"scheduler", "max_dagruns_per_loop_to_schedule", "20", "DAG runs one scheduler loop examines.",
			integer(func(c *Config) *int { return &c.Scheduler.MaxDagrunsPerLoopToSchedule })},
		{"scheduler", "max_tis_per_query", "512", "Task instances queued per scheduler loop at most.",
			integer(func(c *Config) *int { return &c.Scheduler.MaxTisPerQuery })},
		{"scheduler", "use_row_level_locking", "True", "Kept for Airflow compatibility; gust always uses row locks.",
			boolean(func(c *Config) *bool { return &c.Scheduler.UseRowLevelLocking })},
		{"scheduler", "scheduler_heartbeat_sec", "5", "Seconds between scheduler job heartbeats, and the longest idle sleep.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.SchedulerHeartbeatSec })},
		{"scheduler", "job_heartbeat_sec", "5", "Seconds between worker heartbeats of running task instances.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.JobHeartbeatSec })},
		{"scheduler", "scheduler_health_check_threshold", "30", "Seconds without heartbeat after which a scheduler counts as dead.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.SchedulerHealthCheckThreshold })},
		{"scheduler", "orphaned_tasks_check_interval", "300", "Seconds between checks for task instances queued by dead schedulers.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.OrphanedTasksCheckInterval })},
		{"scheduler", "task_queued_timeout", "600", "Seconds a task instance may stay queued before it is queued again.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.TaskQueuedTimeout })},
		{"scheduler", "schedule_after_task_execution", "True", "Kept for Airflow compatibility; a finishing task wakes the schedulers through NOTIFY.",
			boolean(func(c *Config) *bool { return &c.Scheduler.ScheduleAfterTaskExecution })},
		{"scheduler", "allow_trigger_in_future", "False", "Allow manual runs with a logical date in the future.",
			boolean(func(c *Config) *bool { return &c.Scheduler.AllowTriggerInFuture })},
		{"scheduler", "catchup_by_default", "False", "Catchup of DAGs that do not say (Airflow 3's default: only the latest run).",
			boolean(func(c *Config) *bool { return &c.Scheduler.CatchupByDefault })},
		{"scheduler", "create_cron_data_intervals", "False",
			"A cron schedule gives data intervals (CronDataIntervalTimetable, Airflow 2) rather than a run at each point with that point as its logical date (CronTriggerTimetable, Airflow 3's default).",
			boolean(func(c *Config) *bool { return &c.Scheduler.CreateCronDataIntervals })},
		{"scheduler", "create_delta_data_intervals", "False",
			"A duration schedule gives data intervals (DeltaDataIntervalTimetable) rather than a run every duration (DeltaTriggerTimetable, Airflow 3's default).",
			boolean(func(c *Config) *bool { return &c.Scheduler.CreateDeltaDataIntervals })},
		{"scheduler", "scheduler_idle_sleep_time", "1", "Seconds a scheduler sleeps when a loop found nothing, unless woken by NOTIFY.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.SchedulerIdleSleepTime })},
		{"scheduler", "scheduler_zombie_task_threshold", "300", "Seconds without task heartbeat after which a running task is a zombie.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.ZombieTaskThreshold })},
		{"scheduler", "zombie_detection_interval", "10", "Seconds between zombie checks.",
			seconds(func(c *Config) *time.Duration { return &c.Scheduler.ZombieDetectionInterval })},
		{"scheduler", "standalone_dag_processor", "False", "When True, `gust scheduler` does not parse DAG files; run `gust dag-processor`.",
			boolean(func(c *Config) *bool { return &c.Scheduler.StandaloneDagProcessor })},

		// [celery]
		{"celery", "broker_url", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL; its path is the vhost.",
			str(func(c *Config) *string { return &c.Celery.BrokerURL })},
		{"celery", "exchange", "gust", "Durable direct exchange that task messages go through.",
			str(func(c *Config) *string { return &c.Celery.Exchange })},
		{"celery", "worker_concurrency", "16", "Tasks one worker runs at once (-c).",
			integer(func(c *Config) *int { return &c.Celery.WorkerConcurrency })},
		{"celery", "worker_autoscale", "", "MAX,MIN: the pool grows up to MAX while tasks wait and shrinks to MIN when idle (--autoscale, Celery's semantics); empty: a fixed pool of worker_concurrency.",
			str(func(c *Config) *string { return &c.Celery.WorkerAutoscale })},
		{"celery", "worker_autoscale_keepalive", "30", "Seconds an autoscaled pool keeps idle slots before it shrinks (Celery's AUTOSCALE_KEEPALIVE).",
			seconds(func(c *Config) *time.Duration { return &c.Celery.WorkerAutoscaleKeepalive })},
		{"celery", "worker_prefetch_multiplier", "1", "Messages prefetched per concurrency slot.",
			integer(func(c *Config) *int { return &c.Celery.WorkerPrefetchMultiplier })},
		{"celery", "default_queue", "default", "Queue of tasks that name none.",
			str(func(c *Config) *string { return &c.Celery.DefaultQueue })},
		{"celery", "worker_shutdown_grace", "60", "Seconds a worker waits for running tasks on a warm shutdown (SIGTERM).",
			seconds(func(c *Config) *time.Duration { return &c.Celery.WorkerShutdownGrace })},

		// [logging]
		{"logging", "base_log_folder", filepath.Join(home, "logs"), "Folder of the task logs (dag_id=/run_id=/task_id=/attempt=N.log).",
			path(func(c *Config) *string { return &c.Logging.BaseLogFolder })},
		{"logging", "logging_level", "INFO", "DEBUG, INFO, WARNING or ERROR.",
			str(func(c *Config) *string { return &c.Logging.LoggingLevel })},
		{"logging", "max_log_size", "10485760", "Bytes of a try's log kept in the database (gust's key; Airflow has none): the first and last halves, with a line saying how much was left out between. The default, 10 MiB, bounds the database and the worker's memory per running try; 0 keeps everything. The worker's log file always keeps everything.",
			bytesize(func(c *Config) *int64 { return &c.Logging.MaxLogSize })},

		// [monitor]
		{"monitor", "redis_url", "redis://127.0.0.1:6379/0", "Redis URL of the monitor plane; its path is the DB number.",
			str(func(c *Config) *string { return &c.Monitor.RedisURL })},
		{"monitor", "key_prefix", "gust:", "Prefix of every Redis key gust writes.",
			str(func(c *Config) *string { return &c.Monitor.KeyPrefix })},
		{"monitor", "event_stream_maxlen", "10000", "Approximate length cap of the task event stream.",
			integer(func(c *Config) *int { return &c.Monitor.EventStreamMaxLen })},
		{"monitor", "worker_heartbeat_ttl", "15", "Seconds after which a worker that stopped reporting shows as offline.",
			seconds(func(c *Config) *time.Duration { return &c.Monitor.WorkerHeartbeatTTL })},

		// [python]
		{"python", "max_tasks_per_child", "0", "Tries one warm Python process of a worker runs before it is replaced (Celery's worker_max_tasks_per_child); 0: no bound.",
			integer(func(c *Config) *int { return &c.Python.MaxTasksPerChild })},
		{"python", "fresh_process_per_try", "False", "Run each Python try in a fork of the warm process (Airflow's isolation: nothing a callable leaves behind reaches the next try) instead of in the warm process itself.",
			boolean(func(c *Config) *bool { return &c.Python.FreshProcessPerTry })},
		{"python", "memory_limit_mb", "4096", "Address space (MiB) a worker's Python process may use; a callable that needs more gets a MemoryError instead of starving the machine. 0: no limit.",
			integer(func(c *Config) *int { return &c.Python.MemoryLimitMB })},

		// [flower]
		{"flower", "flower_host", "127.0.0.1", "Address the monitor listens on.",
			str(func(c *Config) *string { return &c.Flower.Address })},
		{"flower", "flower_port", "5555", "Port of the monitor.",
			integer(func(c *Config) *int { return &c.Flower.Port })},
		{"flower", "max_tasks", "100000", "Tries kept in the monitor's task history in Redis (Flower's --max_tasks); workers trim it as they report.",
			integer(func(c *Config) *int { return &c.Flower.MaxTasks })},
		{"flower", "basic_auth", "", "Flower's basic_auth: user:password[,user:password]. When set, every page and API call needs one of these or a token of the REST API (control needs the User role or more); the monitor refuses to listen beyond loopback without it.",
			str(func(c *Config) *string { return &c.Flower.BasicAuth })},
		{"flower", "url_prefix", "", "Flower's url_prefix: serve the monitor under this path (behind a reverse proxy), e.g. flower.",
			str(func(c *Config) *string { return &c.Flower.URLPrefix })},
		{"flower", "broker_api", "auto", "Flower's broker_api: RabbitMQ's management API (http://user:password@host:15672/api/) for the broker page's unacknowledged messages, rates and the queues no worker serves; auto derives it from [celery] broker_url; empty turns it off.",
			str(func(c *Config) *string { return &c.Flower.BrokerAPI })},
		{"flower", "api_users", "False", "Let the REST API's users in with their passwords (the api-server at [api] base_url, or host:port, checks them); Viewers may look, Users and above may control. Turns authentication on, as basic_auth does.",
			boolean(func(c *Config) *bool { return &c.Flower.APIUsers })},
		{"flower", "read_only", "False", "Hide and refuse worker control and task revoke (a monitor for everyone to look at).",
			boolean(func(c *Config) *bool { return &c.Flower.ReadOnly })},
		{"flower", "sample_interval", "10", "Seconds between two points of the dashboard's charts (one flower of a cluster takes each point and keeps 24 hours in Redis).",
			seconds(func(c *Config) *time.Duration { return &c.Flower.SampleInterval })},

		// [api]
		{"api", "host", "127.0.0.1", "Address the api-server (REST API and web UI) listens on ([webserver] web_server_host is read as an alias).",
			str(func(c *Config) *string { return &c.API.Host })},
		{"api", "port", "8080", "Port of the api-server ([webserver] web_server_port is read as an alias).",
			integer(func(c *Config) *int { return &c.API.Port })},
		{"api", "base_url", "", "The URL users reach the api-server at, when it is behind a proxy (e.g. https://gust.example.com/); empty: http://host:port.",
			str(func(c *Config) *string { return &c.API.BaseURL })},
		{"api", "expose_config", "False", "Whether GET /api/v2/config serves the configuration (secrets hidden); 403 otherwise, as Airflow.",
			boolean(func(c *Config) *bool { return &c.API.ExposeConfig })},

		// [metrics]
		{"metrics", "host", "127.0.0.1", "Address schedulers, workers and DAG processors serve Prometheus's /metrics on (the api-server serves /metrics on its own port).",
			str(func(c *Config) *string { return &c.Metrics.Host })},
		{"metrics", "port", "8794", "Port of /metrics for schedulers, workers and DAG processors; 0 turns it off. Several processes on one host need a port each: the ones that find it taken log a warning and run on without it.",
			integer(func(c *Config) *int { return &c.Metrics.Port })},

		// [debug]
		{"debug", "pprof", "False", "Whether schedulers, workers and DAG processors also serve Go's profiles (/debug/pprof/) on their [metrics] listener, for `go tool pprof`; keep the listener on loopback.",
			boolean(func(c *Config) *bool { return &c.Debug.Pprof })},

		// [api_auth]
		{"api_auth", "jwt_secret", "", "Secret that signs the API's tokens (HS512). When unset, the first process of a home generates one into gust.cfg; every api-server of a cluster needs the same (GUST__API_AUTH__JWT_SECRET).",
			str(func(c *Config) *string { return &c.APIAuth.JWTSecret })},
		{"api_auth", "jwt_expiration_time", "86400", "Seconds a token issued by POST /auth/token stays valid.",
			seconds(func(c *Config) *time.Duration { return &c.APIAuth.JWTExpirationTime })},
	}
}
