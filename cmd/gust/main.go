// Command gust is the one binary of gust: the scheduler, the worker, the
// monitor, the DAG processor and the operator's CLI, with Airflow's verbs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/config"
	"github.com/gust-sched/gust/metadb"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run is gust but the process: it runs the command line args and returns
// the exit status, a failure written as one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	a := &app{stdout: stdout, stderr: stderr, environ: environ}
	app := a.cli()
	a.withAudit(app.Commands, "")
	args, err := intersperse(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "gust: %s\n", oneLine(err))
	return exitCode(err)
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// app holds what every command needs; nothing of it is global.
type app struct {
	stdout, stderr io.Writer
	environ        []string
	cfg            *config.Config
	logger         *slog.Logger
}

func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := config.Load("", a.environ)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	// As Airflow writes airflow.cfg and its fernet key on first use: the
	// first command of a home records its settings and generated secrets.
	cfg, _, err = config.Init(cfg, a.environ)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	a.cfg = cfg
	return cfg, nil
}

// log returns the process logger (text to stderr at [logging] logging_level).
func (a *app) log() *slog.Logger {
	if a.logger != nil {
		return a.logger
	}
	level := slog.LevelInfo
	if a.cfg != nil {
		switch strings.ToUpper(a.cfg.Logging.LoggingLevel) {
		case "DEBUG":
			level = slog.LevelDebug
		case "WARNING", "WARN":
			level = slog.LevelWarn
		case "ERROR", "CRITICAL":
			level = slog.LevelError
		}
	}
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return a.logger
}

func (a *app) openDB(ctx context.Context) (*metadb.DB, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := metadb.Open(ctx, cfg.Database.SQLConn, cfg.Database.MaxConns)
	if err != nil {
		return nil, err
	}
	// pgxpool connects lazily: check now, so that a missing database gets
	// its remedy rather than a failure deep in a command.
	if err := db.Ping(ctx); err != nil {
		db.Close()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "3D000" {
			return nil, fmt.Errorf("the metadata database does not exist yet: run `gust db migrate` (or start a scheduler): %w", err)
		}
		return nil, err
	}
	return db, nil
}

// withDB runs fn with an open database.
func (a *app) withDB(c *cli.Context, fn func(db *metadb.DB) error) error {
	db, err := a.openDB(c.Context)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

func (a *app) cli() *cli.App {
	app := &cli.App{
		Name:    "gust",
		Usage:   "an Airflow-compatible workflow scheduler with a Celery-style distributed executor",
		Version: version,
		Description: "Configuration comes from $GUST_HOME/gust.cfg (default ~/gust/gust.cfg) with Airflow's section and key names;\n" +
			"every key can be overridden with GUST__SECTION__KEY environment variables. See `gust config list`.",
		Writer:                 a.stdout,
		ErrWriter:              a.stderr,
		HideVersion:            false,
		UseShortOptionHandling: true,
		Suggest:                true,
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError:           usageError,
		Commands: []*cli.Command{
			a.dbCommand(),
			a.schedulerCommand(),
			a.workerCommand(),
			a.flowerCommand(),
			a.workersCommand(),
			a.apiServerCommand(),
			a.usersCommand(),
			a.backfillCreateCommand(),
			a.dagProcessorCommand(),
			a.standaloneCommand(),
			a.dagsCommand(),
			a.tasksCommand(),
			a.poolsCommand(),
			a.variablesCommand(),
			a.connectionsCommand(),
			a.rotateFernetKeyCommand(),
			a.jobsCommand(),
			a.configCommand(),
			{
				Name:  "version",
				Usage: "print gust's version",
				Action: func(c *cli.Context) error {
					_, err := fmt.Fprintln(a.stdout, version)
					return err
				},
			},
		},
	}
	oneLineErrors(app.Commands)
	return app
}
