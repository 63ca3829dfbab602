package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
)

// workersCommand is `gust workers`: the monitor's view of the workers and
// Celery's remote control (through the broker's control exchange).
func (a *app) workersCommand() *cli.Command {
	destFlag := &cli.StringFlag{Name: "destination", Aliases: []string{"d"}, Usage: "the workers to address, comma-separated `NAMES` (as gust workers list shows them)"}
	allFlag := &cli.BoolFlag{Name: "all", Usage: "address every live worker"}
	timeoutFlag := &cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: broker.DefaultControlTimeout,
		Usage: "how long to wait for replies"}
	nFlag := &cli.IntFlag{Name: "n", Value: 1, Usage: "how many slots"}
	queueFlag := &cli.StringFlag{Name: "queue", Aliases: []string{"q"}, Required: true, Usage: "the task queue"}
	control := func(name, usage string, mustAddress bool, extra []cli.Flag, args func(c *cli.Context) (map[string]any, error)) *cli.Command {
		flags := []cli.Flag{destFlag, timeoutFlag, outputFlag}
		if mustAddress {
			flags = append(flags, allFlag)
		}
		return &cli.Command{
			Name:  name,
			Usage: usage,
			Flags: append(flags, extra...),
			Action: func(c *cli.Context) error {
				var arguments map[string]any
				if args != nil {
					var err error
					if arguments, err = args(c); err != nil {
						return err
					}
				}
				return a.controlWorkers(c, strings.ReplaceAll(name, "-", "_"), arguments, mustAddress)
			},
		}
	}
	positive := func(c *cli.Context) (map[string]any, error) {
		if n := c.Int("n"); n < 1 {
			return nil, fmt.Errorf("-n must be >= 1 (got %d)", n)
		}
		return map[string]any{"n": c.Int("n")}, nil
	}
	queue := func(c *cli.Context) (map[string]any, error) {
		q := strings.TrimSpace(c.String("queue"))
		if q == "" {
			return nil, fmt.Errorf("--queue names no queue")
		}
		return map[string]any{"queue": q}, nil
	}
	return &cli.Command{
		Name:  "workers",
		Usage: "list workers and control them remotely (ping, shutdown, pool size, queues)",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "list the workers the monitor knows (from Redis), online and recently offline",
				Flags:  []cli.Flag{outputFlag},
				Action: a.listWorkers,
			},
			control("ping", "ask workers to answer (all live workers without -d)", false, nil, nil),
			control("shutdown", "warm shutdown: stop taking tasks, finish the running ones, exit", true, nil, nil),
			control("pool-grow", "run N more tasks at once", true, []cli.Flag{nFlag}, positive),
			control("pool-shrink", "run N fewer tasks at once (running tasks are never stopped)", true, []cli.Flag{nFlag}, positive),
			control("autoscale", "set the pool's autoscale bounds (turns autoscale on)", true, []cli.Flag{
				&cli.IntFlag{Name: "max", Required: true, Usage: "the most tasks at once"},
				&cli.IntFlag{Name: "min", Value: 1, Usage: "the fewest slots kept"},
			}, func(c *cli.Context) (map[string]any, error) {
				if c.Int("min") < 1 || c.Int("max") < c.Int("min") {
					return nil, fmt.Errorf("autoscale needs 1 <= --min <= --max (got --max %d --min %d)", c.Int("max"), c.Int("min"))
				}
				return map[string]any{"max": c.Int("max"), "min": c.Int("min")}, nil
			}),
			control("add-consumer", "start consuming a queue", true, []cli.Flag{queueFlag}, queue),
			control("cancel-consumer", "stop consuming a queue", true, []cli.Flag{queueFlag}, queue),
		},
	}
}

func (a *app) listWorkers(c *cli.Context) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	rdb, err := redisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	ws, err := monitor.NewReader(rdb, cfg.Monitor.KeyPrefix, cfg.Monitor.WorkerHeartbeatTTL).Workers(c.Context)
	if err != nil {
		return fmt.Errorf("read workers from the monitor: %w", err)
	}
	rows := make([]*record, 0, len(ws))
	for _, w := range ws {
		rows = append(rows, newRecord().set("name", w.Hostname).set("status", w.Status).
			set("queues", strings.Join(w.Queues, ",")).set("concurrency", w.Concurrency).
			set("active", w.Active).set("processed", w.Processed).set("pid", w.PID).
			set("last_heartbeat", w.LastHeartbeat))
	}
	return printRecords(a.stdout, c.String("output"), rows)
}

// controlWorkers sends one command and prints every reply. It fails when an
// addressed worker did not answer or answered with an error.
func (a *app) controlWorkers(c *cli.Context, command string, args map[string]any, mustAddress bool) error {
	switch f := c.String("output"); f {
	case "table", "json", "yaml", "plain":
	default:
		return fmt.Errorf("unknown output format %q (use table, json, yaml or plain)", f)
	}
	var dest []string
	for _, d := range strings.Split(c.String("destination"), ",") {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(dest, d) {
			dest = append(dest, d)
		}
	}
	if mustAddress && len(dest) == 0 && !c.Bool("all") {
		return fmt.Errorf("name the workers with -d NAME[,NAME...] or pass --all")
	}
	if len(dest) > 0 && c.Bool("all") {
		return fmt.Errorf("-d and --all exclude each other")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return fmt.Errorf("--timeout must be > 0 (got %s)", timeout)
	}
	start := time.Now()
	replies, err := broker.NewControl(brokerOptions(cfg)).Call(c.Context,
		broker.Command{Name: command, Destination: dest, Arguments: args}, timeout)
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	took := time.Since(start)
	slices.SortFunc(replies, func(x, y broker.Reply) int { return strings.Compare(x.Worker, y.Worker) })
	rows := make([]*record, 0, len(replies))
	var failed []string
	for _, r := range replies {
		row := newRecord().set("worker", r.Worker)
		if r.Error != "" {
			failed = append(failed, r.Worker)
			row.set("ok", false).set("reply", r.Error)
		} else {
			row.set("ok", true).set("reply", r.OK)
		}
		rows = append(rows, row)
	}
	if len(rows) > 0 {
		if err := printRecords(a.stdout, c.String("output"), rows); err != nil {
			return err
		}
	}
	if missing := broker.Missing(dest, replies); len(missing) > 0 {
		return fmt.Errorf("%s: no reply from %s within %s", command, strings.Join(missing, ", "), timeout)
	}
	if len(replies) == 0 {
		return fmt.Errorf("%s: no worker replied within %s", command, timeout)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s failed on %s", command, strings.Join(failed, ", "))
	}
	a.log().Debug("control replies", "command", command, "replies", len(replies), "took", took)
	return nil
}
