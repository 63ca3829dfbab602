package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
	"github.com/gust-sched/gust/worker"
)

func (a *app) dbCommand() *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "manage the metadata database",
		Subcommands: []*cli.Command{
			{
				Name:  "migrate",
				Usage: "create the database if it is missing and apply pending schema migrations (idempotent)",
				Action: func(c *cli.Context) error {
					cfg, err := a.config()
					if err != nil {
						return err
					}
					if err := ensureDatabase(c.Context, cfg.Database.SQLConn); err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						applied, err := db.Migrate(c.Context, cfg.Core.DefaultPoolTaskSlotCount)
						if err != nil {
							return err
						}
						cur, _, err := db.SchemaVersion(c.Context)
						if err != nil {
							return err
						}
						if len(applied) == 0 {
							fmt.Fprintf(a.stdout, "Database is up to date (schema version %d)\n", cur)
						} else {
							fmt.Fprintf(a.stdout, "Applied migrations %v; schema version %d\n", applied, cur)
						}
						return nil
					})
				},
			},
			{
				Name:  "check",
				Usage: "check that the database answers and its schema is current",
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						cur, latest, err := db.SchemaVersion(c.Context)
						if err != nil {
							return err
						}
						if cur != latest {
							return fmt.Errorf("schema version %d, expected %d: run `gust db migrate`", cur, latest)
						}
						fmt.Fprintf(a.stdout, "Database OK (schema version %d)\n", cur)
						return nil
					})
				},
			},
			a.dbCleanCommand(),
			{
				Name:  "reset",
				Usage: "drop every gust table and migrate again (destroys all metadata)",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}},
				Action: func(c *cli.Context) error {
					if !c.Bool("yes") {
						return errors.New("refusing to reset the database without --yes")
					}
					cfg, err := a.config()
					if err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := db.Reset(c.Context, cfg.Core.DefaultPoolTaskSlotCount); err != nil {
							return err
						}
						fmt.Fprintln(a.stdout, "Database reset")
						return nil
					})
				},
			},
		},
	}
}

// ensureDatabase creates the database named in the URL when the server
// says it does not exist, connecting to the maintenance database postgres.
func ensureDatabase(ctx context.Context, conn string) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(cctx, conn)
	if err == nil {
		return c.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return fmt.Errorf("connect to metadata database: %w", err)
	}
	cfg, perr := pgx.ParseConfig(conn)
	if perr != nil {
		return fmt.Errorf("parse [database] sql_conn: %w", perr)
	}
	name := cfg.Database
	u, uerr := url.Parse(conn)
	if uerr != nil || u.Scheme == "" {
		return fmt.Errorf("database %q does not exist; create it (createdb %s)", name, name)
	}
	u.Path = "/postgres"
	admin, err := pgx.Connect(cctx, u.String())
	if err != nil {
		return fmt.Errorf("database %q does not exist and cannot connect to create it: %w", name, err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	// Two processes creating it at once: the loser sees 42P04 or, racing in
	// the catalog, a unique violation; either way the database exists.
	if err != nil && !errors.As(err, &pgErr) {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	if err != nil && pgErr.Code != "42P04" && pgErr.Code != "23505" {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

func (a *app) jobsCommand() *cli.Command {
	return &cli.Command{
		Name:  "jobs",
		Usage: "inspect scheduler and worker jobs",
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "exit non-zero unless a live job of the type heartbeats (for health probes)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "job-type", Value: scheduler.JobType, Usage: "job type: " + scheduler.JobType + " or " + worker.JobType},
					&cli.StringFlag{Name: "hostname", Usage: "only jobs of this hostname (a worker's name, e.g. gust.42@host)"},
					&cli.IntFlag{Name: "limit", Value: 1, Usage: "how many live jobs are required"},
					&cli.BoolFlag{Name: "allow-multiple", Usage: "accepted for Airflow compatibility"},
					&cli.BoolFlag{Name: "local", Usage: "only jobs of this machine (its hostname, or a worker name ending in @hostname): a container's health check"},
				},
				Action: func(c *cli.Context) error {
					cfg, err := a.config()
					if err != nil {
						return err
					}
					host := c.String("hostname")
					local := ""
					if c.Bool("local") {
						if local, err = os.Hostname(); err != nil {
							return fmt.Errorf("--local: %w", err)
						}
					}
					return a.withDB(c, func(db *metadb.DB) error {
						threshold := cfg.Scheduler.SchedulerHealthCheckThreshold
						jobs, err := metadb.ListJobs(c.Context, db.Pool, metadb.JobFilter{Type: c.String("job-type"), Hostname: host, Machine: local},
							threshold, c.Int("limit"))
						if err != nil {
							return err
						}
						if len(jobs) < c.Int("limit") {
							return &exitError{code: 1, err: fmt.Errorf("no alive jobs found (type %s, heartbeat within %s)", c.String("job-type"), threshold)}
						}
						fmt.Fprintf(a.stdout, "Found %d alive jobs.\n", len(jobs))
						return nil
					})
				},
			},
		},
	}
}

func (a *app) configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "show the effective configuration, make keys",
		Subcommands: []*cli.Command{
			{
				Name:  "generate-key",
				Usage: "print a new random key for [core] fernet_key (GUST__CORE__FERNET_KEY)",
				Action: func(c *cli.Context) error {
					if c.NArg() != 0 {
						return errors.New("generate-key takes no arguments")
					}
					key, err := secrets.GenerateKey()
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(a.stdout, key)
					return err
				},
			},
			{
				Name:  "list",
				Usage: "list every option with its value and where it came from (default, file, env); secrets show as < hidden > (get-value prints them)",
				Flags: []cli.Flag{outputFlag, &cli.StringFlag{Name: "section", Usage: "only this section"}},
				Action: func(c *cli.Context) error {
					cfg, err := a.config()
					if err != nil {
						return err
					}
					var rows []*record
					for _, v := range cfg.Values() {
						if s := c.String("section"); s != "" && s != v.Option.Section {
							continue
						}
						rows = append(rows, newRecord().set("section", v.Option.Section).set("key", v.Option.Key).
							set("value", v.Display()).set("source", string(v.Source)))
					}
					for _, w := range cfg.Warnings {
						fmt.Fprintf(a.stderr, "warning: %s\n", w)
					}
					return printRecords(a.stdout, c.String("output"), rows)
				},
			},
			{
				Name:      "get-value",
				Usage:     "print one option's effective value",
				ArgsUsage: "SECTION KEY",
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return errors.New("expected arguments SECTION KEY")
					}
					cfg, err := a.config()
					if err != nil {
						return err
					}
					v, ok := cfg.Get(c.Args().Get(0), c.Args().Get(1))
					if !ok {
						return fmt.Errorf("the option [%s] %s is not found in config", c.Args().Get(0), c.Args().Get(1))
					}
					_, err = fmt.Fprintln(a.stdout, v.Value)
					return err
				},
			},
		},
	}
}
