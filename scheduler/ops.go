package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// Operator actions, shared by the CLI and the API. Each runs in one
// transaction and wakes the schedulers; the schedulers do the running.

// currentDAG returns a DAG's row and its current version.
func currentDAG(ctx context.Context, tx pgx.Tx, dagID string) (*metadb.DagRow, *dagspec.DAG, error) {
	row, err := metadb.GetDAG(ctx, tx, dagID)
	if err != nil {
		return nil, nil, err
	}
	dag, err := metadb.NewDAGCache(1).Get(ctx, tx, row.DagHash)
	if err != nil {
		return nil, nil, err
	}
	return row, dag, nil
}

// dateString shows a date the way it was most likely given: as a plain date
// when it is midnight UTC, else in full.
func dateString(t time.Time) string {
	if t = t.UTC(); t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return isoformat(t)
}

// BackfillRequest asks for a run of every data interval starting in
// [Start, End], as `airflow dags backfill`.
type BackfillRequest struct {
	DagID            string
	Start, End       time.Time
	ResetDagRuns     bool // clear existing runs in the range and run them again
	RerunFailedTasks bool // in existing runs, clear failed and upstream_failed tasks
	DefaultQueue     string

	// Airflow 3's form (the API's backfills, `gust backfill create`): a
	// backfill row that its runs belong to, the conf they get, and what to
	// do with existing runs: "none" keeps them, "failed" runs failed ones
	// again, "completed" runs finished ones again; queued or running runs
	// are always kept. DryRun reports what would happen, changing nothing.
	Backfill  *metadb.Backfill
	Reprocess string
	DryRun    bool
}

// BackfillResult says what the backfill did for each interval.
type BackfillResult struct {
	Created, Reset, Rerun, Kept []string    // run ids
	Dates                       []time.Time // logical dates created or run again, in order
}

// Backfill creates backfill runs (in state queued: the schedulers admit
// them under max_active_runs) for every interval in the range.
func Backfill(ctx context.Context, db *metadb.DB, req BackfillRequest) (*BackfillResult, error) {
	if req.End.Before(req.Start) {
		return nil, invalid("backfill of %s: start %s is after end %s", req.DagID, dateString(req.Start), dateString(req.End))
	}
	res := &BackfillResult{}
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		row, dag, err := currentDAG(ctx, tx, req.DagID)
		if err != nil {
			return err
		}
		tt, err := dag.NewTimetable()
		if err != nil {
			return err
		}
		ivs, err := tt.Between(req.Start, req.End)
		if err != nil {
			return invalid("backfill of %s: %v", req.DagID, err)
		}
		existing, err := metadb.LockRunsBetween(ctx, tx, req.DagID, &req.Start, &req.End)
		if err != nil {
			return err
		}
		byDate := map[time.Time]*metadb.DagRun{}
		for _, r := range existing {
			byDate[r.LogicalDate.UTC()] = r
		}
		if req.Backfill != nil && !req.DryRun {
			if err := metadb.CreateBackfill(ctx, tx, req.Backfill); err != nil {
				return err
			}
		}
		for _, iv := range ivs {
			iv := iv
			if r := byDate[iv.Start]; r != nil {
				again := false
				switch req.Reprocess {
				case "failed":
					again = r.State == tistate.RunFailed
				case "completed":
					again = tistate.RunFinished(r.State)
				}
				switch {
				case again && req.DryRun:
					res.Reset = append(res.Reset, r.RunID)
					res.Dates = append(res.Dates, iv.Start)
				case again:
					if err := clearRun(ctx, tx, dag, r, func(*metadb.TaskInstance) bool { return true }); err != nil {
						return err
					}
					if req.Backfill != nil {
						// It runs again as part of the backfill, under its limits.
						if err := metadb.AttachRunToBackfill(ctx, tx, r.ID, req.Backfill.ID); err != nil {
							return err
						}
					}
					res.Reset = append(res.Reset, r.RunID)
					res.Dates = append(res.Dates, iv.Start)
				case req.ResetDagRuns:
					if err := clearRun(ctx, tx, dag, r, func(*metadb.TaskInstance) bool { return true }); err != nil {
						return err
					}
					res.Reset = append(res.Reset, r.RunID)
				case req.RerunFailedTasks:
					n := 0
					if err := clearRunCounting(ctx, tx, dag, r, func(ti *metadb.TaskInstance) bool {
						return ti.State == tistate.Failed || ti.State == tistate.UpstreamFailed
					}, &n); err != nil {
						return err
					}
					if n > 0 {
						res.Rerun = append(res.Rerun, r.RunID)
					} else {
						res.Kept = append(res.Kept, r.RunID)
					}
				default:
					res.Kept = append(res.Kept, r.RunID)
				}
				continue
			}
			run := &metadb.DagRun{
				DagID:             req.DagID,
				RunID:             RunID(tistate.RunTypeBackfill, iv.Start),
				LogicalDate:       iv.Start,
				DataIntervalStart: &iv.Start,
				DataIntervalEnd:   &iv.End,
				RunType:           tistate.RunTypeBackfill,
				DagHash:           row.DagHash,
			}
			res.Dates = append(res.Dates, iv.Start)
			if req.DryRun {
				res.Created = append(res.Created, run.RunID)
				continue
			}
			if req.Backfill != nil {
				run.BackfillID, run.Conf = &req.Backfill.ID, req.Backfill.DagRunConf
			}
			if err := metadb.InsertDagRun(ctx, tx, run, NewTIs(dag, req.DefaultQueue)); err != nil {
				return err
			}
			res.Created = append(res.Created, run.RunID)
		}
		if req.Backfill != nil && !req.DryRun {
			// A backfill with nothing to run is done at once.
			if err := metadb.CompleteBackfillIfDone(ctx, tx, req.Backfill.ID); err != nil {
				return err
			}
		}
		return metadb.NotifySchedule(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ClearRequest selects task instances to run again, as `airflow tasks clear`.
type ClearRequest struct {
	DagID       string
	TaskRegex   string     // "" = every task; Python re.search semantics
	Start, End  *time.Time // logical date bounds, inclusive
	RunID       string     // "" = every run in the bounds
	Upstream    bool       // also the matched tasks' upstream tasks
	Downstream  bool       // also their downstream tasks
	OnlyFailed  bool       // only failed and upstream_failed TIs
	OnlyRunning bool       // only running TIs
	DryRun      bool       // report, change nothing
	// MapIndexes limits the named mapped tasks to these instances (the
	// API's task_ids given as [task_id, map_index]); their up- and
	// downstream tasks are cleared whole.
	MapIndexes map[string][]int
}

// ClearedTI is one task instance a clear selected.
type ClearedTI struct {
	DagID, RunID, TaskID string
	MapIndex             int
	State                string
	TryNumber            int
}

// Clear resets the selected task instances to none, so that the schedulers
// run them again with new try numbers, and puts their runs back to queued.
func Clear(ctx context.Context, db *metadb.DB, req ClearRequest) ([]ClearedTI, error) {
	var re *regexp.Regexp
	if req.TaskRegex != "" {
		var err error
		if re, err = regexp.Compile(req.TaskRegex); err != nil {
			return nil, invalid("clear of %s: task regex %q: %v", req.DagID, req.TaskRegex, err)
		}
	}
	var out []ClearedTI
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		out = nil // a retried transaction starts over
		_, dag, err := currentDAG(ctx, tx, req.DagID)
		if err != nil {
			return err
		}
		tasks := withSetupsAndTeardowns(dag, selectTasks(dag, re, req.Upstream, req.Downstream), re, req.Downstream)
		var runs []*metadb.DagRun
		if req.RunID != "" {
			r, err := metadb.LockRun(ctx, tx, req.DagID, req.RunID)
			if err != nil {
				return err
			}
			runs = []*metadb.DagRun{r}
		} else if runs, err = metadb.LockRunsBetween(ctx, tx, req.DagID, req.Start, req.End); err != nil {
			return err
		}
		c := &clearing{req: req, seen: map[string]bool{}}
		for _, r := range runs {
			if err := c.pick(ctx, tx, dag, r, tasks, 0); err != nil {
				return err
			}
		}
		out = c.out
		if req.DryRun {
			return nil
		}
		for _, t := range c.targets {
			// The run's own version of the DAG gives the retries.
			rdag, err := metadb.NewDAGCache(1).Get(ctx, tx, t.run.DagHash)
			if err != nil {
				return err
			}
			sel := t.sel
			if err := clearRun(ctx, tx, rdag, t.run, func(ti *metadb.TaskInstance) bool { return sel[ti.TIKey] }); err != nil {
				return err
			}
		}
		return metadb.NotifySchedule(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// clearing collects what one clear selects: the TIs of the runs asked
// for, and, through the external_task_markers among them, the marked tasks
// (and what follows them) in other DAGs' runs, as Airflow's clear does.
type clearing struct {
	req     ClearRequest
	out     []ClearedTI
	targets []clearTarget
	seen    map[string]bool // dag_id/run_id already picked from
}

type clearTarget struct {
	run *metadb.DagRun
	sel map[metadb.TIKey]bool
}

// pick selects the tasks of the locked run r (of dag, the DAG's current
// version) to clear, then follows the markers among them; depth is how
// many markers led here.
func (c *clearing) pick(ctx context.Context, tx pgx.Tx, dag *dagspec.DAG, r *metadb.DagRun, tasks map[string]bool, depth int) error {
	tis, err := metadb.ListRunTIs(ctx, tx, r.DagID, r.RunID)
	if err != nil {
		return err
	}
	sel, selTask := map[metadb.TIKey]bool{}, map[string]bool{}
	for _, ti := range tis {
		if !tasks[ti.TaskID] || ti.State == tistate.None {
			continue
		}
		if idx, ok := c.req.MapIndexes[ti.TaskID]; ok && r.DagID == c.req.DagID && !slices.Contains(idx, ti.MapIndex) {
			continue
		}
		if c.req.OnlyFailed && ti.State != tistate.Failed && ti.State != tistate.UpstreamFailed {
			continue
		}
		if c.req.OnlyRunning && ti.State != tistate.Running {
			continue
		}
		sel[ti.TIKey], selTask[ti.TaskID] = true, true
		c.out = append(c.out, ClearedTI{DagID: ti.DagID, RunID: ti.RunID, TaskID: ti.TaskID, MapIndex: ti.MapIndex, State: ti.State,
			TryNumber: ti.TryNumber})
	}
	c.seen[r.DagID+"/"+r.RunID] = true
	if len(sel) > 0 {
		c.targets = append(c.targets, clearTarget{run: r, sel: sel})
	}
	// The markers among the selected TIs lead to the tasks they mark.
	for _, t := range dag.Tasks {
		m := t.Marker
		if m == nil || !selTask[t.TaskID] {
			continue
		}
		if depth >= m.RecursionDepth {
			return invalid("clear of %s: maximum recursion depth %d reached for ExternalTaskMarker %s: attempted to clear too many tasks, or there is a cycle of markers",
				c.req.DagID, m.RecursionDepth, t.TaskID)
		}
		logical := r.LogicalDate
		if m.LogicalDate != "" {
			if logical, err = time.Parse(time.RFC3339Nano, m.LogicalDate); err != nil {
				return fmt.Errorf("ExternalTaskMarker %s.%s: logical_date %q: %w", dag.DagID, t.TaskID, m.LogicalDate, err)
			}
		}
		_, ext, err := currentDAG(ctx, tx, m.ExternalDagID)
		if errors.Is(err, metadb.ErrNotFound) {
			continue // the marked DAG is gone: nothing to clear there
		}
		if err != nil {
			return fmt.Errorf("ExternalTaskMarker %s.%s: %w", dag.DagID, t.TaskID, err)
		}
		if ext.Task(m.ExternalTaskID) == nil {
			continue
		}
		extRuns, err := metadb.LockRunsBetween(ctx, tx, m.ExternalDagID, &logical, &logical)
		if err != nil {
			return err
		}
		extTasks := selectTasks(ext, regexp.MustCompile("^"+regexp.QuoteMeta(m.ExternalTaskID)+"$"), false, true)
		for _, er := range extRuns {
			if c.seen[er.DagID+"/"+er.RunID] {
				continue
			}
			if err := c.pick(ctx, tx, ext, er, extTasks, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func clearRun(ctx context.Context, tx pgx.Tx, dag *dagspec.DAG, r *metadb.DagRun, pick func(*metadb.TaskInstance) bool) error {
	var n int
	return clearRunCounting(ctx, tx, dag, r, pick, &n)
}

// clearRunCounting clears the picked TIs of a locked run and requeues it.
func clearRunCounting(ctx context.Context, tx pgx.Tx, dag *dagspec.DAG, r *metadb.DagRun, pick func(*metadb.TaskInstance) bool, n *int) error {
	tis, err := metadb.ListRunTIs(ctx, tx, r.DagID, r.RunID)
	if err != nil {
		return err
	}
	retries := map[metadb.TIKey]int{}
	for _, ti := range tis {
		if ti.State == tistate.None || !pick(ti) {
			continue
		}
		if t := dag.Task(ti.TaskID); t != nil {
			retries[ti.TIKey] = t.Retries
		} else {
			retries[ti.TIKey] = ti.MaxTries
		}
	}
	if len(retries) == 0 {
		return nil
	}
	if *n, err = metadb.ClearTIs(ctx, tx, r.DagID, r.RunID, retries); err != nil {
		return err
	}
	return metadb.RequeueRun(ctx, tx, r.ID)
}

// selectTasks returns the tasks matching re (all when nil), with their
// upstream and/or downstream closures.
func selectTasks(dag *dagspec.DAG, re *regexp.Regexp, upstream, downstream bool) map[string]bool {
	down := map[string][]string{}
	for _, t := range dag.Tasks {
		for _, u := range t.Upstream {
			down[u] = append(down[u], t.TaskID)
		}
	}
	sel := map[string]bool{}
	var walk func(id string, next func(string) []string)
	walk = func(id string, next func(string) []string) {
		for _, n := range next(id) {
			if !sel[n] {
				sel[n] = true
				walk(n, next)
			}
		}
	}
	var matched []string
	for _, t := range dag.Tasks {
		if re == nil || re.MatchString(t.TaskID) {
			matched = append(matched, t.TaskID)
			sel[t.TaskID] = true
		}
	}
	for _, id := range matched {
		if upstream {
			walk(id, func(x string) []string { return dag.Task(x).Upstream })
		}
		if downstream {
			walk(id, func(x string) []string { return down[x] })
		}
	}
	return sel
}

// withSetupsAndTeardowns adds to a clear's selection what Airflow's
// partial_subset adds: for each task matched by re (nil: all) that is
// neither setup nor teardown, the setups it is inside and their
// teardowns; for a matched setup (without downstream), its teardowns.
func withSetupsAndTeardowns(dag *dagspec.DAG, sel map[string]bool, re *regexp.Regexp, downstream bool) map[string]bool {
	if !slices.ContainsFunc(dag.Tasks, func(t *dagspec.Task) bool { return t.IsSetup }) {
		return sel
	}
	inScope := dag.SetupsInScope()
	for _, t := range dag.Tasks {
		if re != nil && !re.MatchString(t.TaskID) {
			continue
		}
		switch {
		case t.IsSetup && !downstream:
			for _, td := range dag.Teardowns(t.TaskID) {
				sel[td] = true
			}
		case !t.IsSetup && !t.IsTeardown:
			for _, s := range inScope(t) {
				sel[s] = true
				for _, td := range dag.Teardowns(s) {
					sel[td] = true
				}
			}
		}
	}
	return sel
}

// SetStateRequest marks task instances of one run by hand, as Airflow's
// "mark success / mark failed" with its upstream/downstream options.
type SetStateRequest struct {
	DagID, RunID, TaskID string
	// MapIndex, when set, marks that instance of the mapped task only
	// (its upstream and downstream tasks whole).
	MapIndex             *int
	State                string // success or failed
	Upstream, Downstream bool
}

// SetState marks the task (and optionally its upstream/downstream tasks) in
// one run, then requeues the run so that the scheduler decides what follows.
// It returns the task ids that changed.
func SetState(ctx context.Context, db *metadb.DB, req SetStateRequest) ([]string, error) {
	if req.State != tistate.Success && req.State != tistate.Failed && req.State != tistate.Skipped {
		return nil, invalid("state must be success, failed or skipped, got %q", req.State)
	}
	var changed []string
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		r, err := metadb.LockRun(ctx, tx, req.DagID, req.RunID)
		if err != nil {
			return err
		}
		dag, err := metadb.NewDAGCache(1).Get(ctx, tx, r.DagHash)
		if err != nil {
			return err
		}
		if dag.Task(req.TaskID) == nil {
			return fmt.Errorf("task %q of %s: %w", req.TaskID, req.DagID, metadb.ErrNotFound)
		}
		sel := selectTasks(dag, regexp.MustCompile("^"+regexp.QuoteMeta(req.TaskID)+"$"), req.Upstream, req.Downstream)
		tis, err := metadb.ListRunTIs(ctx, tx, r.DagID, r.RunID)
		if err != nil {
			return err
		}
		var keys []metadb.TIKey
		for _, ti := range tis {
			if !sel[ti.TaskID] || ti.State == req.State || ti.TaskID == req.TaskID && req.MapIndex != nil && ti.MapIndex != *req.MapIndex {
				continue
			}
			keys = append(keys, ti.TIKey)
			if !slices.Contains(changed, ti.TaskID) {
				changed = append(changed, ti.TaskID)
			}
		}
		sort.Strings(changed)
		if len(changed) == 0 {
			return nil
		}
		if _, err := metadb.SetTIStates(ctx, tx, r.DagID, r.RunID, keys, req.State); err != nil {
			return err
		}
		if tistate.RunFinished(r.State) {
			if err := metadb.RequeueRun(ctx, tx, r.ID); err != nil {
				return err
			}
		}
		return metadb.NotifySchedule(ctx, tx)
	})
	return changed, err
}
