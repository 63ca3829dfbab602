package scheduler

import (
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// decideRun looks at one running DAG run and returns the state changes its
// task instances are due, and the run's final state when it has one ("" if
// it goes on). Tasks are visited in topological order with the decisions
// applied in memory, so that upstream_failed and skipped propagate through
// the whole graph in one pass. prev holds the task states of the previous run
// (nil if none or not needed) for depends_on_past and wait_for_downstream.
func decideRun(dag *dagspec.DAG, tis []*metadb.TaskInstance, prev map[string]string, now time.Time) ([]metadb.Decision, string) {
	state := make(map[string]string, len(tis))
	byTask := make(map[string]*metadb.TaskInstance, len(tis))
	for _, ti := range tis {
		if ti.MapIndex < 0 {
			state[ti.TaskID] = ti.State
			byTask[ti.TaskID] = ti
		}
	}
	var ds []metadb.Decision
	decide := func(ti *metadb.TaskInstance, to string, newTry bool) {
		ds = append(ds, metadb.Decision{TaskID: ti.TaskID, MapIndex: ti.MapIndex, From: ti.State, To: to, NewTry: newTry})
		state[ti.TaskID] = to
	}
	downstream := map[string][]string{}
	setup := map[string]bool{}
	for _, task := range dag.Tasks {
		for _, up := range task.Upstream {
			downstream[up] = append(downstream[up], task.TaskID)
		}
		setup[task.TaskID] = task.IsSetup
	}
	leaves := effectiveLeaves(dag, downstream)
	// waiting counts TIs held back only by the previous run: the run is not
	// deadlocked while they wait (Airflow's "premature" TIs).
	waiting := 0
	for _, task := range dag.Tasks {
		ti := byTask[task.TaskID]
		if ti == nil {
			continue
		}
		switch ti.State {
		case tistate.None:
			var c upstreamCounts
			c.upstream = len(task.Upstream)
			for _, up := range task.Upstream {
				c.add(state[up])
				if setup[up] {
					c.addSetup(state[up])
				}
			}
			v := evaluate(task.TriggerRule, c)
			if len(task.Setups) > 0 {
				// The setup constraint first, as Airflow: a failed or
				// skipped setup settles the task; one not done holds it.
				switch sv := setupsVerdict(task.Setups, state); {
				case sv == failUpstream || sv == skip:
					v = sv
				case sv == wait && v == run:
					v = wait
				}
			}
			switch v {
			case run:
				if !pastAllows(task, prev, downstream) {
					waiting++
					continue
				}
				if dagspec.DoesNothing(task.Operator) && task.OnSuccessCallback == "" {
					// As Airflow: an EmptyOperator (ExternalTaskMarker is
					// one) without a success callback never goes to a worker.
					decide(ti, tistate.Success, true)
				} else {
					decide(ti, tistate.Scheduled, true)
				}
			case skip:
				decide(ti, tistate.Skipped, false)
			case failUpstream:
				decide(ti, tistate.UpstreamFailed, false)
			}
		case tistate.UpForRetry:
			if ti.NextRetryAt == nil || !ti.NextRetryAt.After(now) {
				decide(ti, tistate.Scheduled, true)
			}
		case tistate.UpForReschedule:
			// A sensor's next poke is the same try (Airflow 2.10).
			if ti.NextRetryAt == nil || !ti.NextRetryAt.After(now) {
				decide(ti, tistate.Scheduled, false)
			}
		}
	}

	unfinished, active := 0, 0
	leafFailed, leavesOK := false, true
	for _, task := range dag.Tasks {
		s, ok := state[task.TaskID]
		if !ok {
			continue
		}
		if !tistate.Finished(s) {
			unfinished++
			if s != tistate.None {
				active++
			}
		}
		if leaves[task.TaskID] {
			switch s {
			case tistate.Failed, tistate.UpstreamFailed:
				leafFailed = true
			case tistate.Success, tistate.Skipped, tistate.Removed:
			default:
				leavesOK = false
			}
		}
	}
	switch {
	case unfinished == 0 && leafFailed:
		return ds, tistate.RunFailed
	case unfinished == 0 && leavesOK:
		return ds, tistate.RunSuccess
	case unfinished > 0 && active == 0 && len(ds) == 0 && waiting == 0:
		// Deadlock: nothing is running or can be scheduled.
		return ds, tistate.RunFailed
	}
	return ds, ""
}

// effectiveLeaves are the tasks whose states decide a finished run's, as
// Airflow's _tis_for_dagrun_state: tasks with no downstream but teardowns
// that may not fail the run, teardowns themselves only when
// on_failure_fail_dagrun; the plain leaves when that leaves none.
func effectiveLeaves(dag *dagspec.DAG, downstream map[string][]string) map[string]bool {
	byID := make(map[string]*dagspec.Task, len(dag.Tasks))
	for _, t := range dag.Tasks {
		byID[t.TaskID] = t
	}
	ignorable := func(t *dagspec.Task) bool { return t.IsTeardown && !t.OnFailureFailDagrun }
	out := map[string]bool{}
	for _, t := range dag.Tasks {
		leaf := !ignorable(t)
		for _, d := range downstream[t.TaskID] {
			if dt := byID[d]; dt == nil || !ignorable(dt) {
				leaf = false
			}
		}
		if leaf {
			out[t.TaskID] = true
		}
	}
	if len(out) == 0 {
		for _, t := range dag.Tasks {
			if len(downstream[t.TaskID]) == 0 {
				out[t.TaskID] = true
			}
		}
	}
	return out
}

// needsPast reports whether any task depends on the previous run.
func needsPast(dag *dagspec.DAG) bool {
	for _, t := range dag.Tasks {
		if t.DependsOnPast {
			return true
		}
	}
	return false
}

// pastAllows applies depends_on_past (the task's TI in the previous run
// succeeded or was skipped) and wait_for_downstream (so did that TI's direct
// downstream TIs). A task absent from the previous run, or no previous run,
// does not block, as in Airflow.
func pastAllows(task *dagspec.Task, prev map[string]string, downstream map[string][]string) bool {
	if !task.DependsOnPast || prev == nil {
		return true
	}
	done := func(id string) bool {
		s, ok := prev[id]
		return !ok || s == tistate.Success || s == tistate.Skipped
	}
	if !done(task.TaskID) {
		return false
	}
	if task.WaitForDownstream {
		for _, d := range downstream[task.TaskID] {
			if !done(d) {
				return false
			}
		}
	}
	return true
}

// Decide is decideRun for callers outside the scheduler loop (`gust dags
// test` runs a DAG in process with the same decisions).
func Decide(dag *dagspec.DAG, tis []*metadb.TaskInstance, prev map[string]string, now time.Time) ([]metadb.Decision, string) {
	return decideRun(dag, tis, prev, now)
}
