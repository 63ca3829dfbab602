package main

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

// timeFlag reads an optional date flag.
func timeFlag(c *cli.Context, name string) (*time.Time, error) {
	s := c.String(name)
	if s == "" {
		return nil, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	return &t, nil
}

// confirm asks on stdin unless --yes was given.
func (a *app) confirm(c *cli.Context, question string) bool {
	if c.Bool("yes") {
		return true
	}
	fmt.Fprintf(a.stdout, "%s [y/n] ", question)
	line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes")
}

var yesFlag = &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}

func (a *app) backfillCommand() *cli.Command {
	return &cli.Command{
		Name:      "backfill",
		Usage:     "create backfill runs for every data interval starting between START and END (the schedulers run them, within max_active_runs)",
		ArgsUsage: "DAG_ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "start-date", Aliases: []string{"s"}, Required: true, Usage: "first logical date (RFC 3339 or YYYY-MM-DD)"},
			&cli.StringFlag{Name: "end-date", Aliases: []string{"e"}, Required: true, Usage: "last logical date, inclusive"},
			&cli.BoolFlag{Name: "reset-dagruns", Usage: "clear existing runs in the range and run them again"},
			&cli.BoolFlag{Name: "rerun-failed-tasks", Usage: "in existing runs, run failed and upstream_failed tasks again"},
			yesFlag,
		},
		Action: func(c *cli.Context) error {
			dagID, err := oneArg(c, "DAG_ID")
			if err != nil {
				return err
			}
			start, err := timeFlag(c, "start-date")
			if err != nil {
				return err
			}
			end, err := timeFlag(c, "end-date")
			if err != nil {
				return err
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if c.Bool("reset-dagruns") && !a.confirm(c, "Existing runs in the range will be cleared and run again. Continue?") {
				return fmt.Errorf("cancelled")
			}
			return a.withDB(c, func(db *metadb.DB) error {
				res, err := scheduler.Backfill(c.Context, db, scheduler.BackfillRequest{
					DagID: dagID, Start: *start, End: *end, ResetDagRuns: c.Bool("reset-dagruns"),
					RerunFailedTasks: c.Bool("rerun-failed-tasks"), DefaultQueue: cfg.Celery.DefaultQueue,
				})
				if err != nil {
					return err
				}
				for _, l := range []struct {
					what string
					ids  []string
				}{{"created", res.Created}, {"reset", res.Reset}, {"rerunning failed tasks", res.Rerun}, {"kept (already exists)", res.Kept}} {
					for _, id := range l.ids {
						fmt.Fprintf(a.stdout, "%s: %s\n", l.what, id)
					}
				}
				fmt.Fprintf(a.stdout, "Backfill of %s: %d runs created, %d reset, %d rerunning failed tasks, %d kept; follow with `gust dags list-runs -d %s`\n",
					dagID, len(res.Created), len(res.Reset), len(res.Rerun), len(res.Kept), dagID)
				return nil
			})
		},
	}
}

func (a *app) dagsDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a DAG's metadata (runs, task instances, versions); it comes back if its file still defines it",
		ArgsUsage: "DAG_ID",
		Flags:     []cli.Flag{yesFlag},
		Action: func(c *cli.Context) error {
			dagID, err := oneArg(c, "DAG_ID")
			if err != nil {
				return err
			}
			if !a.confirm(c, fmt.Sprintf("This will drop all existing records related to the specified DAG %s. Proceed?", dagID)) {
				return fmt.Errorf("cancelled")
			}
			return a.withDB(c, func(db *metadb.DB) error {
				var runs int
				err := db.InTx(c.Context, func(tx pgx.Tx) error {
					var err error
					runs, err = metadb.DeleteDAG(c.Context, tx, dagID)
					return err
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Deleted DAG %s and its %d runs\n", dagID, runs)
				return nil
			})
		},
	}
}

func (a *app) tasksClearCommand() *cli.Command {
	return &cli.Command{
		Name:      "clear",
		Usage:     "clear task instances so that they run again (new try numbers)",
		ArgsUsage: "DAG_ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "task-regex", Aliases: []string{"t"}, Usage: "only tasks whose id matches (search) this regex"},
			&cli.StringFlag{Name: "start-date", Aliases: []string{"s"}, Usage: "only runs with a logical date at or after this"},
			&cli.StringFlag{Name: "end-date", Aliases: []string{"e"}, Usage: "only runs with a logical date at or before this"},
			&cli.StringFlag{Name: "run-id", Aliases: []string{"r"}, Usage: "only this run"},
			&cli.BoolFlag{Name: "upstream", Aliases: []string{"u"}, Usage: "include the upstream tasks of the matched ones"},
			&cli.BoolFlag{Name: "downstream", Aliases: []string{"d"}, Usage: "include the downstream tasks of the matched ones"},
			&cli.BoolFlag{Name: "only-failed", Aliases: []string{"f"}, Usage: "only failed and upstream_failed task instances"},
			&cli.BoolFlag{Name: "only-running", Usage: "only running task instances"},
			yesFlag,
		},
		Action: func(c *cli.Context) error {
			dagID, err := oneArg(c, "DAG_ID")
			if err != nil {
				return err
			}
			req := scheduler.ClearRequest{DagID: dagID, TaskRegex: c.String("task-regex"), RunID: c.String("run-id"),
				Upstream: c.Bool("upstream"), Downstream: c.Bool("downstream"), OnlyFailed: c.Bool("only-failed"),
				OnlyRunning: c.Bool("only-running")}
			if req.Start, err = timeFlag(c, "start-date"); err != nil {
				return err
			}
			if req.End, err = timeFlag(c, "end-date"); err != nil {
				return err
			}
			return a.withDB(c, func(db *metadb.DB) error {
				if !c.Bool("yes") {
					dry := req
					dry.DryRun = true
					tis, err := scheduler.Clear(c.Context, db, dry)
					if err != nil {
						return err
					}
					if len(tis) == 0 {
						fmt.Fprintln(a.stdout, "No task instances to clear")
						return nil
					}
					for _, ti := range tis {
						fmt.Fprintf(a.stdout, "  %s %s %s (%s, try %d)\n", ti.DagID, ti.RunID, ti.TaskID, ti.State, ti.TryNumber)
					}
					if !a.confirm(c, fmt.Sprintf("You are about to clear %d task instances. Are you sure?", len(tis))) {
						return fmt.Errorf("cancelled")
					}
				}
				tis, err := scheduler.Clear(c.Context, db, req)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Cleared %d task instances\n", len(tis))
				return nil
			})
		},
	}
}

func (a *app) tasksSetStateCommand(name, state, usage string) *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "upstream", Aliases: []string{"u"}, Usage: "also the task's upstream tasks"},
		&cli.BoolFlag{Name: "downstream", Aliases: []string{"d"}, Usage: "also the task's downstream tasks"},
	}
	if state == "" {
		flags = append(flags, &cli.StringFlag{Name: "state", Required: true, Usage: "success, failed or skipped"})
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "DAG_ID RUN_ID TASK_ID",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 3 {
				return fmt.Errorf("expected arguments DAG_ID RUN_ID TASK_ID, got %d (see `gust tasks %s --help`)", c.NArg(), name)
			}
			st := state
			if st == "" {
				st = c.String("state")
			}
			return a.withDB(c, func(db *metadb.DB) error {
				changed, err := scheduler.SetState(c.Context, db, scheduler.SetStateRequest{
					DagID: c.Args().Get(0), RunID: c.Args().Get(1), TaskID: c.Args().Get(2), State: st,
					Upstream: c.Bool("upstream"), Downstream: c.Bool("downstream"),
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Marked %d task instances %s: %s\n", len(changed), st, strings.Join(changed, ", "))
				return nil
			})
		},
	}
}

func (a *app) tasksListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list a DAG's tasks (from its current serialized version)",
		ArgsUsage: "DAG_ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "tree", Aliases: []string{"t"}, Usage: "show the dependency tree"}, outputFlag},
		Action: func(c *cli.Context) error {
			dagID, err := oneArg(c, "DAG_ID")
			if err != nil {
				return err
			}
			return a.withDB(c, func(db *metadb.DB) error {
				row, err := metadb.GetDAG(c.Context, db.Pool, dagID)
				if err != nil {
					return err
				}
				dag, err := metadb.NewDAGCache(1).Get(c.Context, db.Pool, row.DagHash)
				if err != nil {
					return err
				}
				if c.Bool("tree") {
					printTree(a, dag)
					return nil
				}
				if c.String("output") == "table" {
					for _, t := range dag.Tasks {
						fmt.Fprintln(a.stdout, t.TaskID)
					}
					return nil
				}
				rows := make([]*record, 0, len(dag.Tasks))
				for _, t := range dag.Tasks {
					rows = append(rows, newRecord().set("task_id", t.TaskID).set("operator", t.Operator).
						set("upstream_task_ids", t.Upstream).set("trigger_rule", t.TriggerRule).set("retries", t.Retries).
						set("pool", t.Pool).set("queue", t.Queue).set("priority_weight", t.EffectivePriority))
				}
				return printRecords(a.stdout, c.String("output"), rows)
			})
		},
	}
}

// printTree prints the DAG from its roots down, as `airflow tasks list --tree`.
func printTree(a *app, dag *dagspec.DAG) {
	down := map[string][]string{}
	for _, t := range dag.Tasks {
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		t := dag.Task(id)
		fmt.Fprintf(a.stdout, "%s<Task(%s): %s>\n", strings.Repeat("    ", depth), t.Operator, id)
		for _, d := range down[id] {
			walk(d, depth+1)
		}
	}
	for _, t := range dag.Tasks {
		if len(t.Upstream) == 0 {
			walk(t.TaskID, 0)
		}
	}
}

// backfillCreateCommand is Airflow 3's `airflow backfill create`: a
// backfill row whose runs the schedulers run under its own max_active_runs,
// pausable and cancellable through the API.
func (a *app) backfillCreateCommand() *cli.Command {
	return &cli.Command{
		Name:  "backfill",
		Usage: "manage backfills (Airflow 3's form)",
		Subcommands: []*cli.Command{{
			Name:  "create",
			Usage: "run a DAG for every data interval starting between --from-date and --to-date",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "dag-id", Required: true, Usage: "the DAG"},
				&cli.StringFlag{Name: "from-date", Required: true, Usage: "first logical date (RFC 3339 or YYYY-MM-DD)"},
				&cli.StringFlag{Name: "to-date", Required: true, Usage: "last logical date, inclusive"},
				&cli.StringFlag{Name: "dag-run-conf", Usage: "JSON object given to every run as dag_run.conf"},
				&cli.StringFlag{Name: "reprocess-behavior", Value: "none", Usage: "existing runs: none (keep), failed (run failed ones again) or completed (run finished ones again)"},
				&cli.IntFlag{Name: "max-active-runs", Value: 10, Usage: "runs of the backfill at once"},
				&cli.BoolFlag{Name: "run-backwards", Usage: "accepted for Airflow compatibility (runs start oldest first)"},
				&cli.BoolFlag{Name: "dry-run", Usage: "print the logical dates it would run, create nothing"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 0 {
					return fmt.Errorf("backfill create takes no arguments (see `gust backfill create --help`)")
				}
				from, err := timeFlag(c, "from-date")
				if err != nil {
					return err
				}
				to, err := timeFlag(c, "to-date")
				if err != nil {
					return err
				}
				rb := c.String("reprocess-behavior")
				if rb != "none" && rb != "failed" && rb != "completed" {
					return fmt.Errorf("--reprocess-behavior must be none, failed or completed, got %q", rb)
				}
				if c.Int("max-active-runs") < 1 {
					return fmt.Errorf("--max-active-runs must be at least 1")
				}
				conf, err := parseConf(c.String("dag-run-conf"))
				if err != nil {
					return fmt.Errorf("%s", strings.Replace(err.Error(), "--conf", "--dag-run-conf", 1))
				}
				cfg, err := a.config()
				if err != nil {
					return err
				}
				dagID := c.String("dag-id")
				return a.withDB(c, func(db *metadb.DB) error {
					b := &metadb.Backfill{DagID: dagID, FromDate: *from, ToDate: *to, DagRunConf: conf,
						ReprocessBehavior: rb, MaxActiveRuns: c.Int("max-active-runs")}
					res, err := scheduler.Backfill(c.Context, db, scheduler.BackfillRequest{DagID: dagID, Start: *from, End: *to,
						DefaultQueue: cfg.Celery.DefaultQueue, Backfill: b, Reprocess: rb, DryRun: c.Bool("dry-run")})
					if err != nil {
						return err
					}
					if c.Bool("dry-run") {
						for _, d := range res.Dates {
							fmt.Fprintln(a.stdout, d.UTC().Format(time.RFC3339))
						}
						fmt.Fprintf(a.stdout, "Dry run of a backfill of %s: %d runs\n", dagID, len(res.Dates))
						return nil
					}
					fmt.Fprintf(a.stdout, "Backfill %d of %s created: %d runs created, %d run again, %d kept; follow with `gust dags list-runs -d %s`\n",
						b.ID, dagID, len(res.Created), len(res.Reset), len(res.Kept), dagID)
					return nil
				})
			},
		}},
	}
}
