package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/mapping"
	"github.com/gust-sched/gust/common/pydag"
	"github.com/gust-sched/gust/common/retry"
	"github.com/gust-sched/gust/common/schedule"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/config"
	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
	"github.com/gust-sched/gust/worker"
)

// dagFileExt reports whether a file name is a DAG file's (YAML or Python).
func dagFileExt(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".py":
		return true
	}
	return false
}

// parseDAGFile reads one YAML or Python DAG file (a Python file that does
// not mention airflow and dag has none, as in Airflow's safe mode).
func parseDAGFile(ctx context.Context, py *pydag.Parser, path string) ([]*dagspec.DAG, error) {
	if filepath.Ext(path) != ".py" {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, &dagspec.ParseError{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
		}
		return dagspec.ParseWith(path, dagspec.ExpandVars(src, py.DagsFolder), py.Schedule)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &dagspec.ParseError{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if !pydag.MightContainDAG(src) {
		return nil, nil
	}
	res, err := py.Parse(ctx, path)
	return res.DAGs, err
}

// findDAG returns the DAG from path, a DAG file or a folder of them
// (subdir says whether the user gave it with --subdir or it is [core]
// dags_folder). Its errors name what was searched.
func findDAG(ctx context.Context, py *pydag.Parser, ignoreSyntax, path string, subdir bool, dagID string) (*dagspec.DAG, error) {
	where := path
	if !subdir {
		where = "the DAG folder " + path
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("DAG %q not found: %s does not exist", dagID, where)
	}
	if err != nil {
		return nil, fmt.Errorf("DAG %q: %w", dagID, err)
	}
	if !fi.IsDir() {
		if !dagFileExt(path) {
			return nil, fmt.Errorf("DAG %q: %s is not a DAG file (.yaml, .yml or .py), which is what dags test reads", dagID, path)
		}
		abs, err := filepath.Abs(path) // relative to where the command runs, as Airflow's --subdir
		if err != nil {
			return nil, fmt.Errorf("DAG %q: %w", dagID, err)
		}
		dags, err := parseDAGFile(ctx, py, abs)
		if err != nil {
			return nil, fmt.Errorf("DAG %q not found: %w", dagID, err)
		}
		for _, d := range dags {
			if d.DagID == dagID {
				return d, nil
			}
		}
		return nil, fmt.Errorf("DAG %q not found in %s", dagID, path)
	}
	files, err := dagprocessor.ListDagFiles(path, ignoreSyntax)
	if err != nil {
		return nil, fmt.Errorf("DAG %q: list %s: %w", dagID, where, err)
	}
	var errs []error
	for _, f := range files {
		dags, err := parseDAGFile(ctx, py, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range dags {
			if d.DagID == dagID {
				return d, nil
			}
		}
	}
	n := "no DAG files"
	if len(files) == 1 {
		n = "1 DAG file"
	} else if len(files) > 1 {
		n = fmt.Sprintf("%d DAG files", len(files))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("DAG %q not found in %s (%s); files with import errors: %w", dagID, where, n, errors.Join(errs...))
	}
	return nil, fmt.Errorf("DAG %q not found in %s (%s)", dagID, where, n)
}

func (a *app) dagsTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run one DAG run in this process from the DAG file, without database, broker or workers, printing each task's log and state (callbacks included)",
		ArgsUsage: "DAG_ID [LOGICAL_DATE]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Usage: "JSON object passed as dag_run.conf"},
			&cli.StringFlag{Name: "subdir", Aliases: []string{"S"}, Usage: "DAG file or folder (default [core] dags_folder)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return fmt.Errorf("expected arguments DAG_ID [LOGICAL_DATE] (see `gust dags test --help`)")
			}
			cfg, dag, err := a.testDAG(c)
			if err != nil {
				return err
			}
			logical, err := testLogicalDate(c, 1)
			if err != nil {
				return err
			}
			run, err := testDagRun(dag, logical, c.String("conf"))
			if err != nil {
				return err
			}
			py := pythonRuntime(cfg, 1)
			defer py.Close()
			state, err := a.testRun(c.Context, py, dag, run, cfg.Core.MaxMapLength)
			if err != nil {
				return err
			}
			if state != tistate.RunSuccess {
				return &exitError{code: 1, err: fmt.Errorf("dag run %s of %s %s", run.RunID, dag.DagID, state)}
			}
			return nil
		},
	}
}

// testDAG finds the DAG named by a test command's first argument, in
// --subdir or the DAG folder.
func (a *app) testDAG(c *cli.Context) (*config.Config, *dagspec.DAG, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	path, subdir := cfg.Core.DagsFolder, c.String("subdir") != ""
	if subdir {
		path = c.String("subdir")
	}
	dag, err := findDAG(c.Context, pythonParser(cfg), cfg.Core.DagIgnoreFileSyntax, path, subdir, c.Args().Get(0))
	return cfg, dag, err
}

// testLogicalDate is a test command's optional LOGICAL_DATE argument at
// index i; now when it is absent.
func testLogicalDate(c *cli.Context, i int) (time.Time, error) {
	if c.NArg() <= i {
		return time.Now().UTC(), nil
	}
	t, err := parseTime(c.Args().Get(i))
	if err != nil {
		return time.Time{}, fmt.Errorf("LOGICAL_DATE: %w", err)
	}
	return t, nil
}

// testDagRun is the manual run a test runs in: the logical date's, with
// the data interval a trigger gives and conf checked against the params.
func testDagRun(dag *dagspec.DAG, logical time.Time, conf string) (*metadb.DagRun, error) {
	run := &metadb.DagRun{DagID: dag.DagID, RunID: scheduler.RunID(tistate.RunTypeManual, logical), LogicalDate: logical,
		RunType: tistate.RunTypeManual, State: tistate.RunRunning, ExternalTrigger: true}
	var err error
	if run.Conf, err = parseConf(conf); err != nil {
		return nil, err
	}
	// As a trigger does: a run starts only with valid params.
	if err := dagspec.ValidateParams(dag.Params, run.Conf); err != nil {
		return nil, fmt.Errorf("test of %s: %w", dag.DagID, err)
	}
	iv := schedule.Interval{Start: logical, End: logical}
	if tt, err := dag.NewTimetable(); err == nil {
		iv = tt.InferManual(logical)
	}
	run.DataIntervalStart, run.DataIntervalEnd = &iv.Start, &iv.End
	return run, nil
}

func (a *app) tasksTestCommand() *cli.Command {
	return &cli.Command{
		Name: "test",
		Usage: "run one task's try in this process from the DAG file, without database, broker or workers, ignoring its " +
			"upstream (Airflow's tasks test): its log on stdout, exit status 1 when it fails",
		ArgsUsage: "DAG_ID TASK_ID [LOGICAL_DATE]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Usage: "JSON object passed as dag_run.conf"},
			&cli.StringFlag{Name: "task-params", Aliases: []string{"t"}, Usage: "JSON object of params for the try (over the DAG's)"},
			&cli.StringFlag{Name: "subdir", Aliases: []string{"S"}, Usage: "DAG file or folder (default [core] dags_folder)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 || c.NArg() > 3 {
				return fmt.Errorf("expected arguments DAG_ID TASK_ID [LOGICAL_DATE] (see `gust tasks test --help`)")
			}
			cfg, dag, err := a.testDAG(c)
			if err != nil {
				return err
			}
			task := dag.Task(c.Args().Get(1))
			if task == nil {
				return fmt.Errorf("DAG %s has no task %q", dag.DagID, c.Args().Get(1))
			}
			logical, err := testLogicalDate(c, 2)
			if err != nil {
				return err
			}
			if tp := c.String("task-params"); tp != "" {
				var params map[string]any
				if err := json.Unmarshal([]byte(tp), &params); err != nil {
					return fmt.Errorf("--task-params: not a JSON object: %w", err)
				}
				// Airflow's -t: the try's params, over the DAG's defaults.
				d := *dag
				d.Params = maps.Clone(dag.Params)
				for k, v := range params {
					d.Params[k] = v
				}
				dag = &d
			}
			run, err := testDagRun(dag, logical, c.String("conf"))
			if err != nil {
				return err
			}
			py := pythonRuntime(cfg, 1)
			defer py.Close()
			ti := &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: dag.DagID, RunID: run.RunID, TaskID: task.TaskID, MapIndex: -1},
				TryNumber: 1, MaxTries: task.Retries, Operator: task.Operator, Pool: task.Pool, PoolSlots: task.PoolSlots, Queue: task.Queue}
			start := time.Now()
			ti.StartDate, ti.SensorStartedAt = &start, &start
			lr := worker.RunLocal(c.Context, a.stdout, worker.NewMemStore(), py, dag, run, ti)
			fmt.Fprintf(a.stdout, "--- %s: %s (%.2fs)\n", task.TaskID, lr.State, time.Since(start).Seconds())
			if lr.State == tistate.Failed {
				return &exitError{code: 1, err: fmt.Errorf("task %s of %s failed: %s", task.TaskID, dag.DagID, lr.Reason)}
			}
			return nil
		},
	}
}

// testRun drives one run in memory with the scheduler's decisions and the
// worker's execution, one task at a time, waiting out retry delays.
func (a *app) testRun(ctx context.Context, py *worker.PythonRuntime, dag *dagspec.DAG, run *metadb.DagRun, maxMapLen int) (string, error) {
	tis := make([]*metadb.TaskInstance, 0, len(dag.Tasks))
	byID := map[string][]*metadb.TaskInstance{} // a mapped task's instances by map index
	newTI := func(t *dagspec.Task, mapIndex int) *metadb.TaskInstance {
		return &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: dag.DagID, RunID: run.RunID, TaskID: t.TaskID, MapIndex: mapIndex},
			MaxTries: t.Retries, Operator: t.Operator, Pool: t.Pool, PoolSlots: t.PoolSlots, Queue: t.Queue}
	}
	for _, t := range dag.Tasks {
		ti := newTI(t, -1)
		tis = append(tis, ti)
		byID[t.TaskID] = []*metadb.TaskInstance{ti}
	}
	store := worker.NewMemStore()
	// expand gives a mapped task its instances, as a scheduler does.
	expanded := map[string]bool{}
	expand := func(t *dagspec.Task) error {
		expanded[t.TaskID] = true
		n, err := mapping.Count(t.Expand, func(up, key string) (any, bool, error) {
			return store.XCom(ctx, dag.DagID, run.RunID, up, key)
		}, maxMapLen)
		old := byID[t.TaskID]
		switch {
		case err != nil:
			fmt.Fprintf(a.stdout, "--- %s: failed: cannot expand the mapped task: %v\n", t.TaskID, err)
			for _, ti := range old {
				ti.State = tistate.Failed
			}
			return nil
		case n == 0:
			fmt.Fprintf(a.stdout, "--- %s: skipped (nothing to map over)\n", t.TaskID)
			for _, ti := range old {
				ti.State = tistate.Skipped
			}
			return nil
		}
		fmt.Fprintf(a.stdout, "--- %s: expanded to %d instances\n", t.TaskID, n)
		fresh := make([]*metadb.TaskInstance, n)
		for i := range fresh {
			fresh[i] = newTI(t, i)
		}
		kept := tis[:0]
		for _, ti := range tis {
			if ti.TaskID != t.TaskID {
				kept = append(kept, ti)
			}
		}
		tis = append(kept, fresh...)
		byID[t.TaskID] = fresh
		return nil
	}
	fmt.Fprintf(a.stdout, "Testing DAG %s, run %s (data interval %s to %s)\n", dag.DagID, run.RunID,
		run.DataIntervalStart.Format(time.RFC3339), run.DataIntervalEnd.Format(time.RFC3339))
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		now := time.Now()
		ds, toExpand, final := scheduler.DecideMapped(dag, tis, nil, now, expanded)
		if len(toExpand) > 0 {
			for _, id := range toExpand {
				if err := expand(dag.Task(id)); err != nil {
					return "", err
				}
			}
			continue
		}
		for _, d := range ds {
			ti := byID[d.TaskID][max(d.MapIndex, 0)]
			ti.State = d.To
			if d.NewTry {
				ti.TryNumber++
				ti.SensorStartedAt = nil
			}
			if d.To != tistate.Scheduled {
				fmt.Fprintf(a.stdout, "--- %s: %s\n", tiName(ti), d.To)
			}
		}
		if final != "" {
			fmt.Fprintf(a.stdout, "DAG run %s: %s\n", run.RunID, final)
			r := *run
			r.State = final
			worker.RunLocalDAGCallback(ctx, a.stdout, store, py, dag, &r)
			return final, nil
		}
		ran := false
		var nextRetry *time.Time
		for _, ti := range tis {
			t := dag.Task(ti.TaskID)
			if (ti.State == tistate.UpForRetry || ti.State == tistate.UpForReschedule) && ti.NextRetryAt != nil && (nextRetry == nil || ti.NextRetryAt.Before(*nextRetry)) {
				nextRetry = ti.NextRetryAt
			}
			if ti.State != tistate.Scheduled {
				continue
			}
			ran = true
			fmt.Fprintf(a.stdout, "--- %s: running try %d\n", tiName(ti), ti.TryNumber)
			start := time.Now()
			ti.StartDate = &start
			if ti.SensorStartedAt == nil {
				ti.SensorStartedAt = &start
			}
			lr := worker.RunLocal(ctx, a.stdout, store, py, dag, run, ti)
			state, reason := lr.State, lr.Reason
			for _, id := range lr.Skip {
				for _, s := range byID[id] {
					if s.State == tistate.None {
						s.State = tistate.Skipped
						fmt.Fprintf(a.stdout, "--- %s: skipped (by %s)\n", tiName(s), t.TaskID)
					}
				}
			}
			end := time.Now()
			ti.EndDate = &end
			if state == tistate.Failed && ti.TryNumber <= ti.MaxTries && !lr.NoRetry {
				state = tistate.UpForRetry
				at := end.Add(retry.Delay(retry.Policy{Delay: secs(t.RetryDelaySec), ExponentialBackoff: t.RetryExponentialBackoff,
					MaxDelay: secs(t.MaxRetryDelaySec)}, dag.DagID, t.TaskID, run.LogicalDate, ti.TryNumber))
				if lr.RetryDelay != nil && *lr.RetryDelay >= 0 {
					at = end.Add(secs(*lr.RetryDelay)) // the retry policy's
				}
				ti.NextRetryAt = &at
			}
			if state == tistate.UpForReschedule {
				ti.NextRetryAt = lr.RescheduleAt
			}
			ti.State, ti.RenderedMapIndex = state, lr.Label
			msg := fmt.Sprintf("--- %s: %s (try %d, %.2fs)", tiName(ti), state, ti.TryNumber, end.Sub(start).Seconds())
			if reason != "" {
				msg += ": " + reason
			}
			if state == tistate.UpForRetry || state == tistate.UpForReschedule {
				msg += fmt.Sprintf("; next at %s", ti.NextRetryAt.UTC().Format(time.RFC3339))
			}
			fmt.Fprintln(a.stdout, msg)
			worker.RunLocalCallback(ctx, a.stdout, store, py, dag, run, ti, state, reason)
		}
		if !ran && len(ds) == 0 && nextRetry != nil {
			t := time.NewTimer(time.Until(*nextRetry))
			select {
			case <-ctx.Done():
				t.Stop()
				return "", ctx.Err()
			case <-t.C:
			}
		}
	}
}

// tiName is a task instance's name in `dags test`'s output: task[i] for a
// mapped task's.
func tiName(ti *metadb.TaskInstance) string {
	if ti.MapIndex >= 0 && ti.RenderedMapIndex != nil {
		return fmt.Sprintf("%s[%d] %q", ti.TaskID, ti.MapIndex, *ti.RenderedMapIndex)
	}
	if ti.MapIndex >= 0 {
		return fmt.Sprintf("%s[%d]", ti.TaskID, ti.MapIndex)
	}
	return ti.TaskID
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
