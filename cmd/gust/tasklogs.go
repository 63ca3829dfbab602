package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/metadb"
)

// followInterval is how often `tasks logs --follow` looks for new text
// (Airflow's log stream waits a second between reads too).
const followInterval = time.Second

func (a *app) tasksLogsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "print a try's log from the metadata database (on any host, while the try runs and after its worker is gone)",
		Description: "The log is what the worker shipped to the database: a few seconds behind a running try, and at most\n" +
			"[logging] max_log_size bytes (its start and its end, with a line saying how much was left out between).",
		ArgsUsage: "DAG_ID RUN_ID TASK_ID",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "try", Usage: "the try number (default: the latest try)"},
			&cli.IntFlag{Name: "map-index", Value: -1, Usage: "the map index of a mapped task instance"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new text until the try ends"},
		},
		Action: func(c *cli.Context) error {
			if err := nArgs(c, 3, "DAG_ID RUN_ID TASK_ID"); err != nil {
				return err
			}
			k := metadb.TIKey{DagID: c.Args().Get(0), RunID: c.Args().Get(1), TaskID: c.Args().Get(2), MapIndex: c.Int("map-index")}
			return a.withDB(c, func(db *metadb.DB) error {
				try := c.Int("try")
				if !c.IsSet("try") {
					n, err := metadb.LatestTry(c.Context, db.Pool, k)
					if err != nil {
						return err
					}
					if n == 0 {
						return fmt.Errorf("task instance %s has not run yet", k)
					}
					try = n
				}
				var pos int64
				for {
					page, err := metadb.ReadTaskLog(c.Context, db.Pool, metadb.TryKey{TIKey: k, TryNumber: try}, pos, 1<<20)
					if errors.Is(err, metadb.ErrNoSuchTry) {
						return fmt.Errorf("task instance %s has no try %d", k, try)
					}
					if err != nil {
						if c.Context.Err() != nil && c.Bool("follow") {
							return nil // interrupted while following
						}
						return err
					}
					if _, err := fmt.Fprint(a.stdout, page.Text); err != nil {
						return err
					}
					pos = page.Next
					switch {
					case page.Ended:
						return nil
					case page.Text != "":
						continue
					case !c.Bool("follow"):
						return nil
					}
					select {
					case <-c.Context.Done():
						return nil
					case <-time.After(followInterval):
					}
				}
			})
		},
	}
}
