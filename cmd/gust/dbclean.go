package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/metadb"
)

// dbCleanCommand is Airflow 3's `airflow db clean`: it purges old runs
// (with their task instances, XComs and logs), audit log entries and jobs.
func (a *app) dbCleanCommand() *cli.Command {
	var rules strings.Builder
	for _, t := range metadb.CleanTables {
		fmt.Fprintf(&rules, "  %s: %s\n", t.Name, t.Rule)
	}
	return &cli.Command{
		Name:  "clean",
		Usage: "purge old runs (with their task instances, XComs and logs), audit log entries and jobs",
		Description: "Deletes, from each table, the rows older than --clean-before-timestamp:\n" + rules.String() +
			"Nothing is archived (Airflow copies purged rows to _airflow_deleted__ tables unless --skip-archive).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "clean-before-timestamp", Required: true,
				Usage: "the date or timestamp before which data is purged, e.g. '2022-01-01 00:00:00+01:00' (no zone: UTC)"},
			&cli.StringSliceFlag{Name: "tables", Aliases: []string{"t"},
				Usage: "tables to clean (comma-separated); options: " + strings.Join(metadb.CleanTableNames(), ", ") + " (default: all)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "only count what would be deleted"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "delete without asking (required unless --dry-run)"},
			&cli.StringSliceFlag{Name: "dag-ids", Usage: "only these DAGs (comma-separated)"},
			&cli.StringSliceFlag{Name: "exclude-dag-ids", Usage: "not these DAGs (comma-separated)"},
			&cli.IntFlag{Name: "batch-size", Usage: "rows deleted per transaction (default: all of a table in one)"},
			&cli.BoolFlag{Name: "skip-archive", Usage: "accepted for Airflow compatibility: gust never archives"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "accepted for Airflow compatibility"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return fmt.Errorf("db clean takes no arguments (see `gust db clean --help`)")
			}
			before, err := parseTime(c.String("clean-before-timestamp"))
			if err != nil {
				return fmt.Errorf("--clean-before-timestamp: %w", err)
			}
			tables, err := a.cleanTables(c.StringSlice("tables"))
			if err != nil {
				return err
			}
			dry := c.Bool("dry-run")
			if !dry && !c.Bool("yes") {
				return errors.New("refusing to delete without --yes (or count first with --dry-run)")
			}
			if c.Int("batch-size") < 0 {
				return errors.New("--batch-size must not be negative")
			}
			return a.withDB(c, func(db *metadb.DB) error {
				when := before.UTC().Format(time.RFC3339)
				if dry {
					fmt.Fprintf(a.stdout, "Performing dry run for db cleanup: data prior to %s would be purged from tables %s.\n", when, strings.Join(tables, ", "))
				} else {
					fmt.Fprintf(a.stdout, "Purging data prior to %s from tables %s.\n", when, strings.Join(tables, ", "))
				}
				res, err := metadb.Clean(c.Context, db, metadb.CleanOptions{Before: before, Tables: tables, DryRun: dry,
					DagIDs: splitList(c.StringSlice("dag-ids")), ExcludeDagIDs: splitList(c.StringSlice("exclude-dag-ids")),
					BatchSize: c.Int("batch-size")})
				for _, r := range res {
					verb := "deleted"
					if dry {
						verb = "would be deleted"
					}
					line := fmt.Sprintf("%s: %d rows %s", r.Table, r.Rows, verb)
					if len(r.With) > 0 {
						var with []string
						for _, dep := range []string{"task_instance", "xcom", "task_log"} {
							with = append(with, fmt.Sprintf("%d %s", r.With[dep], dep))
						}
						line += " (with " + strings.Join(with, ", ") + " rows)"
					}
					fmt.Fprintln(a.stdout, line)
				}
				return err
			})
		},
	}
}

// cleanTables checks --tables (comma-separated, repeatable) against the
// tables db clean knows: unknown names are skipped with a warning, as
// Airflow does, and none left is an error. event_log is read as log.
func (a *app) cleanTables(given []string) ([]string, error) {
	names := splitList(given)
	if len(names) == 0 {
		return metadb.CleanTableNames(), nil
	}
	known := metadb.CleanTableNames()
	var out, unknown []string
	for _, n := range names {
		if n == "event_log" {
			n = "log"
		}
		switch {
		case !slices.Contains(known, n):
			unknown = append(unknown, n)
		case !slices.Contains(out, n):
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tables selected for db cleanup; choose among %s", strings.Join(known, ", "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(a.stderr, "The following table(s) are not valid choices and will be skipped: %s\n", strings.Join(unknown, ", "))
	}
	slices.Sort(out)
	return out, nil
}

// splitList splits comma-separated values given once or repeated.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
