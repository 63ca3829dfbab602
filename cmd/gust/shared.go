package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
	"github.com/gust-sched/gust/worker"
)

func (a *app) keyring() (*secrets.Keyring, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return secrets.NewKeyring(cfg.Core.FernetKey)
}

// withSecrets runs fn with the database and the keyring.
func (a *app) withSecrets(c *cli.Context, fn func(db *metadb.DB, kr *secrets.Keyring) error) error {
	kr, err := a.keyring()
	if err != nil {
		return err
	}
	return a.withDB(c, func(db *metadb.DB) error { return fn(db, kr) })
}

func nArgs(c *cli.Context, n int, usage string) error {
	if c.NArg() != n {
		return fmt.Errorf("expected arguments %s, got %d (see `gust %s --help`)", usage, c.NArg(), c.Command.FullName())
	}
	return nil
}

func (a *app) variablesCommand() *cli.Command {
	return &cli.Command{
		Name:  "variables",
		Usage: "manage variables (values encrypted at rest with [core] fernet_key)",
		Subcommands: []*cli.Command{
			{
				Name: "set", Usage: "create or replace a variable", ArgsUsage: "KEY VALUE",
				Flags: []cli.Flag{&cli.StringFlag{Name: "description", Usage: "what the variable is for"},
					&cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "check that VALUE is valid JSON"}},
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 2, "KEY VALUE"); err != nil {
						return err
					}
					if c.Bool("json") && !json.Valid([]byte(c.Args().Get(1))) {
						return fmt.Errorf("VALUE is not valid JSON")
					}
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						if err := metadb.SetVariable(c.Context, db.Pool, kr, c.Args().Get(0), c.Args().Get(1), c.String("description")); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Variable %s created\n", c.Args().Get(0))
						return nil
					})
				},
			},
			{
				Name: "get", Usage: "print a variable's value", ArgsUsage: "KEY",
				Flags: []cli.Flag{&cli.StringFlag{Name: "default", Usage: "print this when the variable does not exist"},
					&cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "print the value as indented JSON"}},
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "KEY"); err != nil {
						return err
					}
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						v, err := metadb.GetVariable(c.Context, db.Pool, kr, c.Args().First())
						if err != nil {
							if c.IsSet("default") {
								fmt.Fprintln(a.stdout, c.String("default"))
								return nil
							}
							return err
						}
						if c.Bool("json") {
							var x any
							if err := json.Unmarshal([]byte(v.Val), &x); err != nil {
								return fmt.Errorf("variable %s is not JSON: %w", v.Key, err)
							}
							b, _ := json.MarshalIndent(x, "", "  ")
							fmt.Fprintln(a.stdout, string(b))
							return nil
						}
						fmt.Fprintln(a.stdout, v.Val)
						return nil
					})
				},
			},
			{
				Name: "list", Usage: "list variable keys", Flags: []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						vs, err := metadb.ListVariables(c.Context, db.Pool, kr)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(vs))
						for _, v := range vs {
							rows = append(rows, newRecord().set("key", v.Key).set("description", v.Description).set("is_encrypted", v.IsEncrypted))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name: "delete", Usage: "delete a variable", ArgsUsage: "KEY",
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "KEY"); err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.DeleteVariable(c.Context, db.Pool, c.Args().First()); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Variable %s deleted\n", c.Args().First())
						return nil
					})
				},
			},
			{
				Name: "import", Usage: `create or replace variables from a JSON file {"key": value, ...}`, ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "FILE"); err != nil {
						return err
					}
					b, err := os.ReadFile(c.Args().First())
					if err != nil {
						return err
					}
					var m map[string]any
					if err := json.Unmarshal(b, &m); err != nil {
						return fmt.Errorf("%s: want a JSON object of variables: %w", c.Args().First(), err)
					}
					keys := make([]string, 0, len(m))
					for k := range m {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						err := db.InTx(c.Context, func(tx pgx.Tx) error {
							for _, k := range keys {
								val, ok := m[k].(string)
								if !ok {
									vb, _ := json.Marshal(m[k])
									val = string(vb)
								}
								if err := metadb.SetVariable(c.Context, tx, kr, k, val, ""); err != nil {
									return err
								}
							}
							return nil
						})
						if err == nil {
							fmt.Fprintf(a.stdout, "%d variables successfully imported\n", len(keys))
						}
						return err
					})
				},
			},
			{
				Name: "export", Usage: "write every variable to a JSON file", ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "FILE"); err != nil {
						return err
					}
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						vs, err := metadb.ListVariables(c.Context, db.Pool, kr)
						if err != nil {
							return err
						}
						m := map[string]any{}
						for _, v := range vs {
							var x any
							if json.Unmarshal([]byte(v.Val), &x) == nil {
								m[v.Key] = x
							} else {
								m[v.Key] = v.Val
							}
						}
						b, _ := json.MarshalIndent(m, "", "  ")
						if err := os.WriteFile(c.Args().First(), append(b, '\n'), 0o600); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "%d variables successfully exported to %s\n", len(vs), c.Args().First())
						return nil
					})
				},
			},
		},
	}
}

func connRecord(cn *connection.Connection, showSecrets bool) *record {
	pw, extra := "", cn.Extra
	if cn.Password != "" {
		pw = "***"
	}
	if showSecrets {
		pw = cn.Password
	}
	var port any // 0 is no port: null, as Airflow's
	if cn.Port != 0 {
		port = cn.Port
	}
	return newRecord().set("conn_id", cn.ConnID).set("conn_type", cn.ConnType).set("description", cn.Description).
		set("host", cn.Host).set("schema", cn.Schema).set("login", cn.Login).set("password", pw).set("port", port).
		set("extra", extra)
}

func (a *app) connectionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "connections",
		Usage: "manage connections (passwords and extras encrypted at rest with [core] fernet_key)",
		Subcommands: []*cli.Command{
			{
				Name: "add", Usage: "add a connection, by URI or by fields", ArgsUsage: "CONN_ID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "conn-uri", Usage: "conn_type://login:password@host:port/schema?extra=..."},
					&cli.StringFlag{Name: "conn-type"}, &cli.StringFlag{Name: "conn-host"}, &cli.StringFlag{Name: "conn-login"},
					&cli.StringFlag{Name: "conn-password"}, &cli.StringFlag{Name: "conn-schema"}, &cli.StringFlag{Name: "conn-port"},
					&cli.StringFlag{Name: "conn-extra", Usage: "JSON object"}, &cli.StringFlag{Name: "conn-description"},
					&cli.StringFlag{Name: "conn-json", Usage: "the connection as a JSON object of fields"},
				},
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "CONN_ID"); err != nil {
						return err
					}
					id := c.Args().First()
					var cn *connection.Connection
					switch {
					case c.String("conn-uri") != "":
						if c.IsSet("conn-type") || c.IsSet("conn-host") || c.IsSet("conn-login") || c.IsSet("conn-password") || c.IsSet("conn-port") || c.IsSet("conn-schema") {
							return fmt.Errorf("give either --conn-uri or the --conn-* fields, not both")
						}
						var err error
						if cn, err = connection.ParseURI(id, c.String("conn-uri")); err != nil {
							return err
						}
						if c.IsSet("conn-extra") {
							cn.Extra = c.String("conn-extra")
						}
					case c.String("conn-json") != "":
						cn = &connection.Connection{}
						if err := json.Unmarshal([]byte(c.String("conn-json")), cn); err != nil {
							return fmt.Errorf("--conn-json: %w", err)
						}
						cn.ConnID = id
					default:
						if c.String("conn-type") == "" {
							return fmt.Errorf("give --conn-uri, --conn-json or at least --conn-type")
						}
						cn = &connection.Connection{ConnID: id, ConnType: c.String("conn-type"), Host: c.String("conn-host"),
							Login: c.String("conn-login"), Password: c.String("conn-password"), Schema: c.String("conn-schema"),
							Extra: c.String("conn-extra")}
						if p := c.String("conn-port"); p != "" {
							n, err := strconv.Atoi(p)
							if err != nil {
								return fmt.Errorf("--conn-port must be an integer, got %q", p)
							}
							cn.Port = n
						}
					}
					cn.Description = c.String("conn-description")
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						if err := metadb.AddConnection(c.Context, db.Pool, kr, cn); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Successfully added `conn_id`=%s : %s\n", id, maskedURI(cn))
						return nil
					})
				},
			},
			{
				Name: "get", Usage: "show a connection", ArgsUsage: "CONN_ID",
				Flags: []cli.Flag{outputFlag, &cli.BoolFlag{Name: "show-secrets", Usage: "print the password in clear"}},
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "CONN_ID"); err != nil {
						return err
					}
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						cs, err := metadb.ListConnections(c.Context, db.Pool, kr)
						if err != nil {
							return err
						}
						for _, cn := range cs {
							if cn.ConnID == c.Args().First() {
								return printRecords(a.stdout, c.String("output"), []*record{connRecord(cn, c.Bool("show-secrets"))})
							}
						}
						return fmt.Errorf("connection %s: %w", c.Args().First(), metadb.ErrNotFound)
					})
				},
			},
			{
				Name: "list", Usage: "list connections", Flags: []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
						cs, err := metadb.ListConnections(c.Context, db.Pool, kr)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(cs))
						for _, cn := range cs {
							rows = append(rows, connRecord(cn, false))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name: "delete", Usage: "delete a connection", ArgsUsage: "CONN_ID",
				Action: func(c *cli.Context) error {
					if err := nArgs(c, 1, "CONN_ID"); err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.DeleteConnection(c.Context, db.Pool, c.Args().First()); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "Successfully deleted connection with `conn_id`=%s\n", c.Args().First())
						return nil
					})
				},
			},
		},
	}
}

func maskedURI(cn *connection.Connection) string {
	x := *cn
	if x.Password != "" {
		x.Password = "***"
	}
	return x.URI()
}

func (a *app) xcomCommand() *cli.Command {
	return &cli.Command{
		Name:  "xcom",
		Usage: "inspect XComs",
		Subcommands: []*cli.Command{{
			Name: "list", Usage: "list the XComs of a DAG run", ArgsUsage: "DAG_ID RUN_ID",
			Flags: []cli.Flag{outputFlag, &cli.StringFlag{Name: "task-id", Aliases: []string{"t"}, Usage: "only this task's"}},
			Action: func(c *cli.Context) error {
				if err := nArgs(c, 2, "DAG_ID RUN_ID"); err != nil {
					return err
				}
				return a.withDB(c, func(db *metadb.DB) error {
					xs, err := metadb.ListXComs(c.Context, db.Pool, c.Args().Get(0), c.Args().Get(1), c.String("task-id"))
					if err != nil {
						return err
					}
					rows := make([]*record, 0, len(xs))
					for _, x := range xs {
						var v any
						_ = json.Unmarshal(x.Value, &v)
						rows = append(rows, newRecord().set("dag_id", x.DagID).set("run_id", x.RunID).set("task_id", x.TaskID).
							set("map_index", x.MapIndex).set("key", x.Key).set("value", v).set("timestamp", x.Timestamp))
					}
					return printRecords(a.stdout, c.String("output"), rows)
				})
			},
		}},
	}
}

func (a *app) tasksRenderCommand() *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "print a task's templated fields rendered for a logical date (its run's conf when the run exists)",
		ArgsUsage: "DAG_ID TASK_ID [LOGICAL_DATE]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 || c.NArg() > 3 {
				return fmt.Errorf("expected arguments DAG_ID TASK_ID [LOGICAL_DATE] (see `gust tasks render --help`)")
			}
			dagID, taskID := c.Args().Get(0), c.Args().Get(1)
			logical := time.Now().UTC()
			if c.NArg() == 3 {
				var err error
				if logical, err = parseTime(c.Args().Get(2)); err != nil {
					return fmt.Errorf("LOGICAL_DATE: %w", err)
				}
			}
			return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
				row, err := metadb.GetDAG(c.Context, db.Pool, dagID)
				if err != nil {
					return err
				}
				dag, err := metadb.NewDAGCache(1).Get(c.Context, db.Pool, row.DagHash)
				if err != nil {
					return err
				}
				task := dag.Task(taskID)
				if task == nil {
					return fmt.Errorf("task %s of %s: %w", taskID, dagID, metadb.ErrNotFound)
				}
				run := &metadb.DagRun{DagID: dagID, RunID: scheduler.RunID(tistate.RunTypeManual, logical), LogicalDate: logical, RunType: tistate.RunTypeManual}
				var found string
				err = db.Pool.QueryRow(c.Context, `SELECT run_id FROM dag_run WHERE dag_id = $1 AND logical_date = $2`, dagID, logical).Scan(&found)
				if err == nil {
					if run, err = metadb.GetDagRun(c.Context, db.Pool, dagID, found); err != nil {
						return err
					}
				} else {
					iv := schedule.Interval{Start: logical, End: logical}
					if tt, err := dag.NewTimetable(); err == nil {
						iv = tt.InferManual(logical)
					}
					run.DataIntervalStart, run.DataIntervalEnd = &iv.Start, &iv.End
				}
				ti := &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: dagID, RunID: run.RunID, TaskID: taskID, MapIndex: -1}, TryNumber: 1}
				r, _, err := worker.Renderer(c.Context, &worker.DBStore{DB: db, Keyring: kr}, dag, run, ti, nil)
				if err != nil {
					return err
				}
				fields := map[string]string{}
				if dagspec.RunsBash(task.Operator) {
					fields["bash_command"] = task.BashCommand
					for k, v := range task.Env {
						fields["env."+k] = v
					}
				}
				out, err := r.RenderFields(fields)
				if err != nil {
					return err
				}
				names := make([]string, 0, len(out))
				for k := range out {
					names = append(names, k)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(a.stdout, "\n# ----------------------------------------------------------\n# property: %s\n# ----------------------------------------------------------\n%s\n", n, out[n])
				}
				return nil
			})
		},
	}
}

func (a *app) rotateFernetKeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate-fernet-key",
		Usage: "re-encrypt every variable and connection with the first key of [core] fernet_key (put the new key first, run this, then drop the old key)",
		Action: func(c *cli.Context) error {
			return a.withSecrets(c, func(db *metadb.DB, kr *secrets.Keyring) error {
				if !kr.Enabled() {
					return fmt.Errorf("[core] fernet_key is empty: there is no key to encrypt with")
				}
				var nv, nc int
				err := db.InTx(c.Context, func(tx pgx.Tx) error {
					vs, err := metadb.ListVariables(c.Context, tx, kr)
					if err != nil {
						return err
					}
					for _, v := range vs {
						if err := metadb.SetVariable(c.Context, tx, kr, v.Key, v.Val, v.Description); err != nil {
							return err
						}
					}
					cs, err := metadb.ListConnections(c.Context, tx, kr)
					if err != nil {
						return err
					}
					for _, cn := range cs {
						if err := metadb.DeleteConnection(c.Context, tx, cn.ConnID); err != nil {
							return err
						}
						if err := metadb.AddConnection(c.Context, tx, kr, cn); err != nil {
							return err
						}
					}
					nv, nc = len(vs), len(cs)
					return nil
				})
				if err == nil {
					fmt.Fprintf(a.stdout, "Re-encrypted %d variables and %d connections with the first key\n", nv, nc)
				}
				return err
			})
		},
	}
}
