// Package config loads gust's configuration: $GUST_HOME/gust.cfg (INI, with
// Airflow's section and key names), overridden key by key by GUST__SECTION__KEY
// environment variables, on top of built-in defaults (Airflow 2's, unless
// docs/design.md argues for another).
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Source says where an effective value came from.
type Source string

// Sources, from weakest to strongest.
const (
	SourceDefault Source = "default"
	SourceFile    Source = "gust.cfg"
	SourceEnv     Source = "env var"
)

// Config is the effective configuration of one process.
type Config struct {
	Home      string
	File      string // path of gust.cfg (it may not exist)
	Core      Core
	Database  Database
	Scheduler Scheduler
	Celery    Celery
	Logging   Logging
	Monitor   Monitor
	Flower    Flower
	Python    Python
	API       API
	Metrics   Metrics
	Debug     Debug
	APIAuth   APIAuth
	// Warnings are non-fatal findings, e.g. unknown keys in gust.cfg.
	Warnings []string

	values []Value
}

// Core is the [core] section.
type Core struct {
	DagsFolder               string
	Parallelism              int
	MaxActiveTasksPerDag     int
	MaxMapLength             int
	MaxActiveRunsPerDag      int
	DagsArePausedAtCreation  bool
	DefaultPoolTaskSlotCount int
	FernetKey                string
	StoreSecretsUnencrypted  bool
	TestConnection           string
	PythonExecutable         string
	DagbagImportTimeout      time.Duration
	DagIgnoreFileSyntax      string
}

// Database is the [database] section.
type Database struct {
	SQLConn        string
	MaxConns       int
	MigrateOnStart bool
}

// Scheduler is the [scheduler] section. Durations are written in seconds.
type Scheduler struct {
	MinFileProcessInterval        time.Duration
	DagDirListInterval            time.Duration
	ParsingProcesses              int
	MaxDagrunsToCreatePerLoop     int
	MaxDagrunsPerLoopToSchedule   int
	MaxTisPerQuery                int
	UseRowLevelLocking            bool
	SchedulerHeartbeatSec         time.Duration
	JobHeartbeatSec               time.Duration
	SchedulerHealthCheckThreshold time.Duration
	OrphanedTasksCheckInterval    time.Duration
	TaskQueuedTimeout             time.Duration
	ScheduleAfterTaskExecution    bool
	AllowTriggerInFuture          bool
	CatchupByDefault              bool
	CreateCronDataIntervals       bool
	CreateDeltaDataIntervals      bool
	SchedulerIdleSleepTime        time.Duration
	ZombieTaskThreshold           time.Duration
	ZombieDetectionInterval       time.Duration
	StandaloneDagProcessor        bool
}

// Celery is the [celery] section (the distributed executor).
type Celery struct {
	BrokerURL                string
	Exchange                 string
	WorkerConcurrency        int
	WorkerAutoscale          string // "MAX,MIN" or ""
	WorkerAutoscaleKeepalive time.Duration
	WorkerPrefetchMultiplier int
	DefaultQueue             string
	WorkerShutdownGrace      time.Duration
}

// Logging is the [logging] section.
type Logging struct {
	BaseLogFolder string
	LoggingLevel  string
	MaxLogSize    int64 // bytes of a try's log kept in Postgres; 0: no limit
}

// Monitor is the [monitor] section (the Redis monitor plane).
type Monitor struct {
	RedisURL           string
	KeyPrefix          string
	EventStreamMaxLen  int
	WorkerHeartbeatTTL time.Duration
}

// Python is the [python] section: the worker's warm Python processes.
type Python struct {
	MaxTasksPerChild   int
	FreshProcessPerTry bool
	MemoryLimitMB      int
}

// Flower is the [flower] section.
type Flower struct {
	Address  string
	Port     int
	MaxTasks int
	// BasicAuth is Flower's basic_auth: "user:password[,user:password]".
	BasicAuth string
	// URLPrefix is Flower's url_prefix: the path the monitor is served under.
	URLPrefix string
	// BrokerAPI is Flower's broker_api: RabbitMQ's management API URL
	// ("auto": derived from the broker URL; "": none).
	BrokerAPI string
	// ReadOnly hides and refuses worker and task control.
	ReadOnly bool
	// APIUsers lets the REST API's users log in with their passwords.
	APIUsers bool
	// SampleInterval is how often the dashboard's charts get a point.
	SampleInterval time.Duration
}

// API is the [api] section (Airflow 3's name; Airflow 2's [webserver]
// web_server_host and web_server_port are read as aliases).
type API struct {
	Host         string
	Port         int
	BaseURL      string
	ExposeConfig bool
}

// Metrics is the [metrics] section: where schedulers, workers and DAG
// processors serve /metrics (the api-server serves it on its own port).
type Metrics struct {
	Host string
	Port int // 0: not served
}

// Debug is the [debug] section.
type Debug struct {
	Pprof bool // serve /debug/pprof/ on the [metrics] listener
}

// APIAuth is the [api_auth] section.
type APIAuth struct {
	JWTSecret         string
	JWTExpirationTime time.Duration
}

// Option describes one configuration key.
type Option struct {
	Section     string
	Key         string
	Default     string
	Description string
	set         func(c *Config, v string) error
}

// Value is the effective value of one option and where it came from.
type Value struct {
	Option Option
	Value  string
	Source Source
}

// aliases are Airflow 2 names read as their Airflow 3 options.
var aliases = map[string]string{
	"webserver.web_server_host": "api.host",
	"webserver.web_server_port": "api.port",
	"webserver.base_url":        "api.base_url",
	"webserver.expose_config":   "api.expose_config",
}

var rank = map[Source]int{SourceDefault: 0, SourceFile: 1, SourceEnv: 2}

// EnvPrefix starts every override variable: GUST__SECTION__KEY.
const EnvPrefix = "GUST__"

// Load reads the configuration. home "" means $GUST_HOME, else ~/gust.
// environ is the process environment (os.Environ()); it is passed in so that
// nothing here reads global state.
func Load(home string, environ []string) (*Config, error) {
	env := envMap(environ)
	if home == "" {
		home = env["GUST_HOME"]
	}
	if home == "" {
		h := env["HOME"]
		if h == "" {
			var err error
			if h, err = os.UserHomeDir(); err != nil {
				return nil, fmt.Errorf("GUST_HOME is not set and the home directory is unknown: %w", err)
			}
		}
		home = filepath.Join(h, "gust")
	}
	c := &Config{Home: home, File: filepath.Join(home, "gust.cfg")}
	opts := options(home)
	byName := map[string]int{}
	for i, o := range opts {
		byName[o.Section+"."+o.Key] = i
	}
	for alias, canonical := range aliases {
		byName[alias] = -1 - byName[canonical] // negative: an alias of that option
	}
	// An alias's value applies unless its option is set as strongly.
	type aliased struct {
		value  string
		source Source
	}
	viaAlias := map[int]aliased{}
	vals := make([]Value, len(opts))
	for i, o := range opts {
		vals[i] = Value{Option: o, Value: o.Default, Source: SourceDefault}
	}

	f, err := ini.LoadSources(ini.LoadOptions{Loose: true, Insensitive: true, IgnoreInlineComment: false}, c.File)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.File, err)
	}
	for _, sec := range f.Sections() {
		if sec.Name() == ini.DefaultSection && len(sec.Keys()) == 0 {
			continue
		}
		for _, k := range sec.Keys() {
			i, ok := byName[strings.ToLower(sec.Name())+"."+strings.ToLower(k.Name())]
			if !ok {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: unknown option [%s] %s (ignored)", c.File, sec.Name(), k.Name()))
				continue
			}
			if i < 0 {
				viaAlias[-1-i] = aliased{k.Value(), SourceFile}
				continue
			}
			vals[i].Value, vals[i].Source = k.Value(), SourceFile
		}
	}
	envKeys := make([]string, 0)
	for k := range env {
		if strings.HasPrefix(k, EnvPrefix) {
			envKeys = append(envKeys, k)
		}
	}
	sort.Strings(envKeys)
	for _, k := range envKeys {
		parts := strings.SplitN(strings.TrimPrefix(k, EnvPrefix), "__", 2)
		if len(parts) != 2 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("environment variable %s is not of the form GUST__SECTION__KEY (ignored)", k))
			continue
		}
		i, ok := byName[strings.ToLower(parts[0])+"."+strings.ToLower(parts[1])]
		if !ok {
			c.Warnings = append(c.Warnings, fmt.Sprintf("environment variable %s names no known option (ignored)", k))
			continue
		}
		if i < 0 {
			viaAlias[-1-i] = aliased{env[k], SourceEnv}
			continue
		}
		vals[i].Value, vals[i].Source = env[k], SourceEnv
	}
	for i, a := range viaAlias {
		if rank[a.source] > rank[vals[i].Source] {
			vals[i].Value, vals[i].Source = a.value, a.source
		}
	}
	var errs []error
	for _, v := range vals {
		if err := v.Option.set(c, strings.TrimSpace(v.Value)); err != nil {
			errs = append(errs, fmt.Errorf("[%s] %s = %q (from %s): %w", v.Option.Section, v.Option.Key, v.Value, v.Source, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.values = vals
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Core.FernetKey == "" && c.Core.StoreSecretsUnencrypted {
		c.Warnings = append(c.Warnings, "variables and connection secrets are stored in clear: [core] store_secrets_unencrypted = True and no [core] fernet_key is set")
	}
	return c, nil
}

// secretKeys hold secrets as a whole; urlKeys are URLs whose password is one.
var (
	secretKeys = map[string]bool{"core.fernet_key": true, "api_auth.jwt_secret": true, "flower.basic_auth": true, "flower.broker_api": true}
	urlKeys    = map[string]bool{"database.sql_conn": true, "celery.broker_url": true, "monitor.redis_url": true}
)

// Display is the value as listings show it: secrets as "< hidden >" (as
// Airflow's API shows sensitive options) and URL passwords as "***".
func (v Value) Display() string {
	name := v.Option.Section + "." + v.Option.Key
	switch {
	case secretKeys[name] && v.Value != "":
		return "< hidden >"
	case urlKeys[name]:
		if u, err := url.Parse(v.Value); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "***")
				return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
			}
		}
	}
	return v.Value
}

// Values returns every option with its effective value, in section order.
func (c *Config) Values() []Value { return append([]Value(nil), c.values...) }

// Get returns the effective value of one option.
func (c *Config) Get(section, key string) (Value, bool) {
	for _, v := range c.values {
		if strings.EqualFold(v.Option.Section, section) && strings.EqualFold(v.Option.Key, key) {
			return v, true
		}
	}
	return Value{}, false
}

func (c *Config) validate() error {
	var errs []error
	positive := func(name string, n int) {
		if n < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", name, n))
		}
	}
	positive("[core] parallelism", c.Core.Parallelism)
	positive("[core] max_active_tasks_per_dag", c.Core.MaxActiveTasksPerDag)
	positive("[core] max_map_length", c.Core.MaxMapLength)
	positive("[core] max_active_runs_per_dag", c.Core.MaxActiveRunsPerDag)
	positive("[scheduler] parsing_processes", c.Scheduler.ParsingProcesses)
	positive("[scheduler] max_tis_per_query", c.Scheduler.MaxTisPerQuery)
	positive("[celery] worker_concurrency", c.Celery.WorkerConcurrency)
	positive("[celery] worker_prefetch_multiplier", c.Celery.WorkerPrefetchMultiplier)
	positive("[database] max_conns", c.Database.MaxConns)
	if c.Logging.MaxLogSize < 0 {
		errs = append(errs, fmt.Errorf("[logging] max_log_size must not be negative (0: no limit), got %d", c.Logging.MaxLogSize))
	}
	if x := c.Core.DagIgnoreFileSyntax; x != "glob" && x != "regexp" {
		errs = append(errs, fmt.Errorf("[core] dag_ignore_file_syntax must be glob or regexp, got %q", x))
	}
	if c.Core.DagbagImportTimeout <= 0 {
		errs = append(errs, fmt.Errorf("[core] dagbag_import_timeout must be a positive number of seconds"))
	}
	if c.Flower.SampleInterval <= 0 {
		errs = append(errs, fmt.Errorf("[flower] sample_interval must be a positive number of seconds"))
	}
	if c.Core.DefaultPoolTaskSlotCount < 0 {
		errs = append(errs, fmt.Errorf("[core] default_pool_task_slot_count must not be negative"))
	}
	for name, raw := range map[string]string{"[celery] broker_url": c.Celery.BrokerURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
			errs = append(errs, fmt.Errorf("%s must be an amqp:// or amqps:// URL, got %q", name, raw))
		}
	}
	if u, err := url.Parse(c.Monitor.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		errs = append(errs, fmt.Errorf("[monitor] redis_url must be a redis:// URL, got %q", c.Monitor.RedisURL))
	}
	if c.API.Port < 1 || c.API.Port > 65535 {
		errs = append(errs, fmt.Errorf("[api] port must be a TCP port, got %d", c.API.Port))
	}
	if c.Metrics.Port < 0 || c.Metrics.Port > 65535 {
		errs = append(errs, fmt.Errorf("[metrics] port must be a TCP port or 0 (off), got %d", c.Metrics.Port))
	}
	if c.APIAuth.JWTExpirationTime <= 0 {
		errs = append(errs, errors.New("[api_auth] jwt_expiration_time must be positive"))
	}
	if c.Celery.DefaultQueue == "" {
		errs = append(errs, errors.New("[celery] default_queue must not be empty"))
	}
	return errors.Join(errs...)
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Setters for the option table.

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func path(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if strings.HasPrefix(v, "~/") {
			if h, err := os.UserHomeDir(); err == nil {
				v = filepath.Join(h, v[2:])
			}
		}
		*p(c) = v
		return nil
	}
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		*p(c) = n
		return nil
	}
}

func bytesize(p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("not a number of bytes")
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true", "t", "1", "yes", "y", "on":
			*p(c) = true
		case "false", "f", "0", "no", "n", "off":
			*p(c) = false
		default:
			return fmt.Errorf("not a boolean (use True or False)")
		}
		return nil
	}
}

// seconds parses a number of seconds (fractions allowed), as Airflow writes
// its intervals.
func seconds(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("not a non-negative number of seconds")
		}
		*p(c) = time.Duration(f * float64(time.Second))
		return nil
	}
}
