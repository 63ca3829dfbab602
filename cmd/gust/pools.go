package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/metadb"
)

func poolRecord(p *metadb.Pool) *record {
	return newRecord().set("pool", p.Name).set("slots", p.Slots).set("description", p.Description).
		set("include_deferred", p.IncludeDeferred).set("running_slots", p.RunningSlots).
		set("queued_slots", p.QueuedSlots).set("scheduled_slots", p.ScheduledSlots).set("open_slots", p.OpenSlots())
}

// poolFile is the JSON of `pools import/export`, as Airflow's.
type poolFile map[string]struct {
	Slots           int    `json:"slots"`
	Description     string `json:"description"`
	IncludeDeferred bool   `json:"include_deferred"`
}

func (a *app) poolsCommand() *cli.Command {
	return &cli.Command{
		Name:  "pools",
		Usage: "manage slot pools",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list pools with their slots in use",
				Flags: []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						ps, err := metadb.ListPools(c.Context, db.Pool)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(ps))
						for _, p := range ps {
							rows = append(rows, poolRecord(p))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name:      "get",
				Usage:     "show one pool",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("expected one argument NAME, got %d (see `gust pools get --help`)", c.NArg())
					}
					return a.withDB(c, func(db *metadb.DB) error {
						p, err := metadb.GetPool(c.Context, db.Pool, c.Args().First())
						if err != nil {
							return err
						}
						return printRecords(a.stdout, c.String("output"), []*record{poolRecord(p)})
					})
				},
			},
			{
				Name:      "set",
				Usage:     "create or update a pool (-1 slots: unlimited)",
				ArgsUsage: "NAME SLOTS DESCRIPTION",
				Flags: []cli.Flag{outputFlag,
					&cli.BoolFlag{Name: "include-deferred", Usage: "count deferred tasks in the pool (accepted for Airflow compatibility)"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 3 {
						return fmt.Errorf("expected arguments NAME SLOTS DESCRIPTION, got %d (see `gust pools set --help`)", c.NArg())
					}
					name := c.Args().Get(0)
					slots, err := strconv.Atoi(c.Args().Get(1))
					if err != nil {
						return fmt.Errorf("SLOTS must be an integer, got %q", c.Args().Get(1))
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.SetPool(c.Context, db.Pool, name, slots, c.Args().Get(2), c.Bool("include-deferred")); err != nil {
							return err
						}
						p, err := metadb.GetPool(c.Context, db.Pool, name)
						if err != nil {
							return err
						}
						return printRecords(a.stdout, c.String("output"), []*record{poolRecord(p)})
					})
				},
			},
			{
				Name:      "delete",
				Usage:     "delete a pool (its waiting tasks wait until it exists again)",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("expected one argument NAME, got %d (see `gust pools delete --help`)", c.NArg())
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.DeletePool(c.Context, db.Pool, c.Args().First()); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Pool %s deleted\n", c.Args().First())
						return nil
					})
				},
			},
			{
				Name:      "import",
				Usage:     `create or update pools from a JSON file {"name": {"slots": N, "description": "..."}}`,
				ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("expected one argument FILE (see `gust pools import --help`)")
					}
					b, err := os.ReadFile(c.Args().First())
					if err != nil {
						return err
					}
					var pf poolFile
					if err := json.Unmarshal(b, &pf); err != nil {
						return fmt.Errorf("%s: invalid pool file: %w", c.Args().First(), err)
					}
					names := make([]string, 0, len(pf))
					for n := range pf {
						names = append(names, n)
					}
					sort.Strings(names)
					return a.withDB(c, func(db *metadb.DB) error {
						err := db.InTx(c.Context, func(tx pgx.Tx) error {
							for _, n := range names {
								if err := metadb.SetPool(c.Context, tx, n, pf[n].Slots, pf[n].Description, pf[n].IncludeDeferred); err != nil {
									return err
								}
							}
							return nil
						})
						if err == nil {
							fmt.Fprintf(a.stdout, "Imported %d pools\n", len(names))
						}
						return err
					})
				},
			},
			{
				Name:      "export",
				Usage:     "write every pool to a JSON file",
				ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("expected one argument FILE (see `gust pools export --help`)")
					}
					return a.withDB(c, func(db *metadb.DB) error {
						ps, err := metadb.ListPools(c.Context, db.Pool)
						if err != nil {
							return err
						}
						pf := poolFile{}
						for _, p := range ps {
							e := pf[p.Name]
							e.Slots, e.Description, e.IncludeDeferred = p.Slots, p.Description, p.IncludeDeferred
							pf[p.Name] = e
						}
						b, _ := json.MarshalIndent(pf, "", "  ")
						if err := os.WriteFile(c.Args().First(), append(b, '\n'), 0o644); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Exported %d pools to %s\n", len(ps), c.Args().First())
						return nil
					})
				},
			},
		},
	}
}
