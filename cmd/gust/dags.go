package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

func (a *app) dagsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dags",
		Usage: "manage and inspect DAGs",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the DAGs the DAG processor stored",
				Flags: []cli.Flag{outputFlag, &cli.BoolFlag{Name: "include-inactive", Usage: "also list DAGs whose file is gone"}},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						dags, err := metadb.ListDAGs(c.Context, db.Pool, c.Bool("include-inactive"))
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(dags))
						for _, d := range dags {
							rows = append(rows, newRecord().set("dag_id", d.DagID).set("fileloc", d.Fileloc).
								set("owners", d.Owners).set("is_paused", d.IsPaused).set("is_active", d.IsActive).
								set("timetable_summary", d.TimetableSummary).set("tags", d.Tags).
								set("next_dagrun", d.NextDagrun).
								set("next_dagrun_create_after", d.NextDagrunCreateAfter))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name:  "list-import-errors",
				Usage: "list the DAG files that failed to parse, with the reason",
				Flags: []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						errs, err := metadb.ListImportErrors(c.Context, db.Pool)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(errs))
						for _, e := range errs {
							rows = append(rows, newRecord().set("filepath", e.Filename).set("error", e.Stacktrace).
								set("timestamp", e.Timestamp))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name:  "list-warnings",
				Usage: "list DAG warnings: what a DAG file says that has no effect (ignored argument), tasks naming a missing pool (non-existent pool)",
				Flags: []cli.Flag{&cli.StringFlag{Name: "dag-id", Aliases: []string{"d"}, Usage: "only this DAG's"}, outputFlag},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						ws, err := metadb.ListDagWarnings(c.Context, db.Pool, c.String("dag-id"))
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(ws))
						for _, w := range ws {
							rows = append(rows, newRecord().set("dag_id", w.DagID).set("warning_type", w.WarningType).
								set("message", w.Message).set("timestamp", w.Timestamp))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			a.pauseCommand("pause", true),
			a.pauseCommand("unpause", false),
			a.backfillCommand(),
			a.dagsDeleteCommand(),
			a.dagsTestCommand(),
			{
				Name:      "trigger",
				Usage:     "create a manual DAG run",
				ArgsUsage: "DAG_ID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "run-id", Aliases: []string{"r"}, Usage: "run id (default manual__<logical date>)"},
					&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Usage: "JSON object passed as dag_run.conf"},
					&cli.StringFlag{Name: "logical-date", Aliases: []string{"e", "exec-date"}, Usage: "logical date (RFC 3339 or YYYY-MM-DD; default now)"},
					outputFlag,
				},
				Action: func(c *cli.Context) error {
					dagID, err := oneArg(c, "DAG_ID")
					if err != nil {
						return err
					}
					req := scheduler.TriggerRequest{DagID: dagID, RunID: c.String("run-id")}
					if req.Conf, err = parseConf(c.String("conf")); err != nil {
						return err
					}
					if s := c.String("logical-date"); s != "" {
						t, err := parseTime(s)
						if err != nil {
							return fmt.Errorf("--logical-date: %w", err)
						}
						req.LogicalDate = &t
					}
					cfg, err := a.config()
					if err != nil {
						return err
					}
					req.AllowFuture = cfg.Scheduler.AllowTriggerInFuture
					req.DefaultQueue = cfg.Celery.DefaultQueue
					return a.withDB(c, func(db *metadb.DB) error {
						run, err := scheduler.Trigger(c.Context, db, req)
						if err != nil {
							return err
						}
						return printRecords(a.stdout, c.String("output"), []*record{runRecord(run)})
					})
				},
			},
			{
				Name:  "list-runs",
				Usage: "list a DAG's runs, newest first",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dag-id", Aliases: []string{"d"}, Required: true, Usage: "the DAG"},
					&cli.StringFlag{Name: "state", Usage: "only runs in this state (queued, running, success, failed)"},
					&cli.IntFlag{Name: "limit", Usage: "at most this many runs (0: all)"},
					outputFlag,
				},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						if _, err := metadb.GetDAG(c.Context, db.Pool, c.String("dag-id")); err != nil {
							return err
						}
						runs, err := metadb.ListDagRuns(c.Context, db.Pool, c.String("dag-id"), c.String("state"), c.Int("limit"))
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(runs))
						for _, r := range runs {
							rows = append(rows, runRecord(r))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name:  "reserialize",
				Usage: "parse the DAG folder once now and store every DAG",
				Action: func(c *cli.Context) error {
					cfg, err := a.config()
					if err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						st, err := dagprocessor.New(processorOptions(cfg), db, a.log()).ProcessAll(c.Context, true)
						if err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "%d files, %d DAGs (%d changed), %d import errors\n", st.Files, st.DAGs, st.Changed, st.ImportErrors)
						return nil
					})
				},
			},
		},
	}
}

func (a *app) pauseCommand(name string, paused bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     name + " a DAG",
		ArgsUsage: "DAG_ID",
		Action: func(c *cli.Context) error {
			dagID, err := oneArg(c, "DAG_ID")
			if err != nil {
				return err
			}
			return a.withDB(c, func(db *metadb.DB) error {
				if err := metadb.SetPaused(c.Context, db.Pool, dagID, paused); err != nil {
					return err
				}
				if !paused {
					if err := metadb.NotifySchedule(c.Context, db.Pool); err != nil {
						return err
					}
				}
				_, err := fmt.Fprintf(a.stdout, "Dag: %s, paused: %t\n", dagID, paused)
				return err
			})
		},
	}
}

func runRecord(r *metadb.DagRun) *record {
	conf := r.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	return newRecord().set("dag_id", r.DagID).set("run_id", r.RunID).set("state", r.State).
		set("run_type", r.RunType).set("logical_date", r.LogicalDate).set("execution_date", r.LogicalDate).
		set("data_interval_start", r.DataIntervalStart).set("data_interval_end", r.DataIntervalEnd).
		set("start_date", r.StartDate).set("end_date", r.EndDate).
		set("queued_at", r.QueuedAt).set("external_trigger", r.ExternalTrigger).set("conf", conf)
}

// parseConf reads --conf: a JSON object (nil when s is empty), or an error
// that says in a sentence what the text is instead.
func parseConf(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset < int64(len(s)) {
			return nil, fmt.Errorf("--conf is not valid JSON: %s (at character %d)", se, se.Offset)
		}
		return nil, fmt.Errorf("--conf is not valid JSON: %s", err)
	}
	conf, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("--conf must be a JSON object, got %s", jsonKind(v))
	}
	return conf, nil
}

// jsonKind names the kind of a decoded JSON value: "an array", "a string".
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "an object"
	}
}

func oneArg(c *cli.Context, name string) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("expected one argument %s, got %d (see `%s --help`)", name, c.NArg(), c.Command.HelpName)
	}
	return c.Args().First(), nil
}

// parseTime accepts RFC 3339 with or without zone (naive means UTC), and
// plain dates.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
		"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a date or date-time: " + s)
}
