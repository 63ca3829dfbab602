package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/metadb"
)

// auditedCommands change state; each successful run appends an event to
// the audit log (Airflow's `log` table, /api/v2/eventLogs), as Airflow's CLI
// action logging does, named cli_<command> and owned by cli:<os user>.
var auditedCommands = map[string]bool{
	"dags trigger": true, "dags pause": true, "dags unpause": true, "dags delete": true, "dags backfill": true,
	"dags reserialize": true,
	"tasks clear":      true, "tasks mark-success": true, "tasks mark-failed": true, "tasks set-state": true,
	"pools set": true, "pools delete": true, "pools import": true,
	"variables set": true, "variables delete": true, "variables import": true,
	"connections add": true, "connections delete": true, "connections import": true,
	"users create": true, "users delete": true, "users reset-password": true,
	"rotate-fernet-key": true, "db clean": true, "backfill create": true, "workers autoscale": true,
	"workers shutdown": true, "workers pool-grow": true, "workers pool-shrink": true,
	"workers add-consumer": true, "workers cancel-consumer": true,
}

// sensitiveFlags carry secrets: the audit log records that they were given,
// not their values.
var sensitiveFlags = map[string]bool{"password": true, "conn-password": true, "conn-uri": true, "conn-extra": true}

// withAudit wraps the actions of the audited commands under cmds.
func (a *app) withAudit(cmds []*cli.Command, prefix string) {
	for _, cmd := range cmds {
		name := strings.TrimSpace(prefix + " " + cmd.Name)
		a.withAudit(cmd.Subcommands, name)
		if !auditedCommands[name] || cmd.Action == nil {
			continue
		}
		action := cmd.Action
		cmd.Action = func(c *cli.Context) error {
			if err := action(c); err != nil {
				return err
			}
			a.auditCLI(c, name)
			return nil
		}
	}
}

// auditCLI records one successful command; a failure to record is a
// warning, since the change itself is done.
func (a *app) auditCLI(c *cli.Context, name string) {
	args := c.Args().Slice()
	if name == "variables set" && len(args) > 1 {
		args = append([]string{args[0], "***"}, args[2:]...)
	}
	flags := map[string]any{}
	for _, fl := range c.Command.Flags {
		names := fl.Names()
		if len(names) == 0 || !c.IsSet(names[0]) {
			continue
		}
		if sensitiveFlags[names[0]] {
			flags[names[0]] = "***"
		} else {
			flags[names[0]] = c.Value(names[0])
		}
	}
	e := metadb.Event{Event: "cli_" + strings.ReplaceAll(strings.ReplaceAll(name, " ", "_"), "-", "_")}
	owner := cliOwner()
	e.Owner = &owner
	if (strings.HasPrefix(name, "dags ") || strings.HasPrefix(name, "tasks ")) && len(args) > 0 {
		e.DagID = &args[0]
		if strings.HasPrefix(name, "tasks mark") || name == "tasks set-state" {
			if len(args) > 1 {
				e.RunID = &args[1]
			}
			if len(args) > 2 {
				e.TaskID = &args[2]
			}
		}
	}
	if b, err := json.Marshal(map[string]any{"command": "gust " + name, "args": args, "flags": flags}); err == nil {
		x := string(b)
		e.Extra = &x
	}
	db, err := a.openDB(c.Context)
	if err != nil {
		fmt.Fprintf(a.stderr, "warning: cannot record the audit event: %v\n", err)
		return
	}
	defer db.Close()
	if err := metadb.AddEvent(c.Context, db.Pool, &e); err != nil {
		fmt.Fprintf(a.stderr, "warning: cannot record the audit event: %v\n", err)
	}
}
