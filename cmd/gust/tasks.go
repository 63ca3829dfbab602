package main

import (
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

func (a *app) tasksCommand() *cli.Command {
	return &cli.Command{
		Name:  "tasks",
		Usage: "inspect task instances",
		Subcommands: []*cli.Command{
			a.tasksListCommand(),
			a.tasksLogsCommand(),
			a.xcomCommand(),
			a.tasksRenderCommand(),
			a.tasksTestCommand(),
			a.tasksClearCommand(),
			a.tasksSetStateCommand("set-state", "", "set the state of a task instance by hand (Airflow's mark success / failed)"),
			a.tasksSetStateCommand("mark-success", "success", "mark a task instance success (with --upstream/--downstream)"),
			a.tasksSetStateCommand("mark-failed", "failed", "mark a task instance failed (with --upstream/--downstream)"),
			{
				Name:      "states-for-dag-run",
				Usage:     "list the task instances of a DAG run with their states",
				ArgsUsage: "DAG_ID RUN_ID",
				Flags:     []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return cli.Exit("expected arguments DAG_ID RUN_ID (see `gust tasks states-for-dag-run --help`)", 1)
					}
					dagID, runID := c.Args().Get(0), c.Args().Get(1)
					return a.withDB(c, func(db *metadb.DB) error {
						run, err := metadb.GetDagRun(c.Context, db.Pool, dagID, runID)
						if err != nil {
							return err
						}
						tis, err := metadb.ListRunTIs(c.Context, db.Pool, dagID, runID)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(tis))
						for _, ti := range tis {
							var state any = ti.State
							if ti.State == tistate.None {
								state = nil
							}
							rows = append(rows, newRecord().set("dag_id", ti.DagID).set("run_id", ti.RunID).
								set("task_id", ti.TaskID).set("map_index", ti.MapIndex).set("state", state).
								set("try_number", ti.TryNumber).set("max_tries", ti.MaxTries).
								set("execution_date", run.LogicalDate).set("logical_date", run.LogicalDate).
								set("start_date", ti.StartDate).set("end_date", ti.EndDate).
								set("duration", ti.Duration).set("hostname", ti.Hostname).set("operator", ti.Operator).
								set("pool", ti.Pool).set("queue", ti.Queue).set("priority_weight", ti.PriorityWeight))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
		},
	}
}
