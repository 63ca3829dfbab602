package scheduler

import (
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// slot is one task instance as decideRun sees it: its state with the
// decisions of this pass applied.
type slot struct {
	ti    *metadb.TaskInstance
	state string
}

// runVerdict is what decideRun decides for one run.
type runVerdict struct {
	decisions []metadb.Decision
	// expand are the mapped tasks due to expand (or, cleared, to expand
	// again) before their instances are decided.
	expand []string
	// final is the run's final state, "" while it goes on.
	final string
}

// decideRun looks at one running DAG run and returns the state changes its
// task instances are due, the mapped tasks to expand, and the run's final
// state when it has one. Tasks are visited in topological order with the
// decisions applied in memory, so that upstream_failed and skipped propagate
// through the whole graph in one pass. A task's trigger rule counts every
// instance of its upstream tasks (a mapped upstream's all), as Airflow's.
// prev holds the task states of the previous run (nil if none or not
// needed) for depends_on_past and wait_for_downstream; expanded are the
// mapped tasks expanded in this examination already.
func decideRun(dag *dagspec.DAG, tis []*metadb.TaskInstance, prev map[string]string, now time.Time, expanded map[string]bool) runVerdict {
	byTask := make(map[string][]*slot, len(dag.Tasks))
	for _, ti := range tis {
		byTask[ti.TaskID] = append(byTask[ti.TaskID], &slot{ti: ti, state: ti.State})
	}
	var out runVerdict
	decide := func(sl *slot, to string, newTry bool) {
		ti := sl.ti
		out.decisions = append(out.decisions, metadb.Decision{TaskID: ti.TaskID, MapIndex: ti.MapIndex, From: ti.State, To: to, NewTry: newTry})
		sl.state = to
	}
	// each calls f with the state of each instance of task id (none for
	// a task with no instance in the run, which so holds its downstream).
	each := func(id string, f func(state string)) {
		if len(byTask[id]) == 0 {
			f(tistate.None)
		}
		for _, sl := range byTask[id] {
			f(sl.state)
		}
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
	// The tasks of mapped task groups: instance i of one follows instance
	// i of an upstream in the same group (Airflow's relevant upstream map
	// indexes), and expands with the upstreams it has there.
	groupOf := map[string]string{}
	for _, task := range dag.Tasks {
		if task.MappedGroup != "" {
			groupOf[task.TaskID] = task.MappedGroup
		}
	}
	eachAt := func(g string, mapIndex int) func(string, func(string)) {
		return func(id string, f func(string)) {
			if groupOf[id] != g {
				each(id, f)
				return
			}
			n := 0
			for _, sl := range byTask[id] {
				if sl.ti.MapIndex == mapIndex || sl.ti.MapIndex < 0 {
					f(sl.state)
					n++
				}
			}
			if n == 0 {
				f(tistate.None)
			}
		}
	}
	expandsNow := map[string]bool{}
	hasInstances := func(id string) bool {
		if expandsNow[id] {
			return true
		}
		for _, sl := range byTask[id] {
			if sl.ti.MapIndex >= 0 {
				return true
			}
		}
		return false
	}
	finished := func(id string) bool {
		done := true
		each(id, func(s string) { done = done && tistate.Finished(s) })
		return done
	}
	// waiting counts TIs held back only by the previous run: the run is not
	// deadlocked while they wait (Airflow's "premature" TIs).
	waiting := 0
	for _, task := range dag.Tasks {
		slots := byTask[task.TaskID]
		if len(slots) == 0 {
			continue
		}
		if task.Expand != nil && !expanded[task.TaskID] && dueToExpand(slots) {
			if inGroupExpanded(task, groupOf, hasInstances) {
				// Its upstreams in its mapped group have their
				// instances: it gets its own, whose trigger rules then
				// look at the instances of the same index.
				out.expand = append(out.expand, task.TaskID)
				expandsNow[task.TaskID] = true
				continue
			}
			// Unexpanded, or every instance cleared: the trigger rule
			// decides for the task as a whole; to run, it expands first
			// (once the upstreams it maps over are done).
			switch v := triggerVerdict(task, each, setup); v {
			case run:
				if !pastAllows(task, prev, downstream) {
					waiting++
					continue
				}
				ready := true
				for _, up := range task.Expand.Upstreams() {
					ready = ready && finished(up)
				}
				if ready {
					out.expand = append(out.expand, task.TaskID)
					expandsNow[task.TaskID] = true
				}
			case skip, failUpstream:
				to := tistate.Skipped
				if v == failUpstream {
					to = tistate.UpstreamFailed
				}
				for _, sl := range slots {
					decide(sl, to, false)
				}
			}
			continue
		}
		var v verdict
		counted := false
		for _, sl := range slots {
			switch sl.state {
			case tistate.None:
				switch {
				case task.MappedGroup != "" && sl.ti.MapIndex >= 0:
					v = triggerVerdict(task, eachAt(task.MappedGroup, sl.ti.MapIndex), setup)
				case !counted:
					// The upstreams come first in topological order:
					// their states do not change while this task's
					// instances are decided.
					v, counted = triggerVerdict(task, each, setup), true
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
						decide(sl, tistate.Success, true)
					} else {
						decide(sl, tistate.Scheduled, true)
					}
				case skip:
					decide(sl, tistate.Skipped, false)
				case failUpstream:
					decide(sl, tistate.UpstreamFailed, false)
				}
			case tistate.UpForRetry:
				if sl.ti.NextRetryAt == nil || !sl.ti.NextRetryAt.After(now) {
					decide(sl, tistate.Scheduled, true)
				}
			case tistate.UpForReschedule:
				// A sensor's next poke is the same try (Airflow 2.10).
				if sl.ti.NextRetryAt == nil || !sl.ti.NextRetryAt.After(now) {
					decide(sl, tistate.Scheduled, false)
				}
			}
		}
	}

	unfinished, active := 0, 0
	leafFailed, leavesOK := false, true
	for _, task := range dag.Tasks {
		for _, sl := range byTask[task.TaskID] {
			s := sl.state
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
	}
	switch {
	case unfinished == 0 && leafFailed:
		out.final = tistate.RunFailed
	case unfinished == 0 && leavesOK:
		out.final = tistate.RunSuccess
	case unfinished > 0 && active == 0 && len(out.decisions) == 0 && len(out.expand) == 0 && waiting == 0:
		// Deadlock: nothing is running or can be scheduled.
		out.final = tistate.RunFailed
	}
	return out
}

// inGroupExpanded reports whether a task of a mapped task group has
// upstreams in its group and each has its instances (or gets them in this
// pass).
func inGroupExpanded(task *dagspec.Task, groupOf map[string]string, hasInstances func(string) bool) bool {
	if task.MappedGroup == "" {
		return false
	}
	n := 0
	for _, up := range task.Upstream {
		if groupOf[up] != task.MappedGroup {
			continue
		}
		if !hasInstances(up) {
			return false
		}
		n++
	}
	return n > 0
}

// dueToExpand reports whether a mapped task's instances are to be
// (re)counted: its one unexpanded instance (map index -1), or instances
// that are all in state none (cleared).
func dueToExpand(slots []*slot) bool {
	for _, sl := range slots {
		if sl.state != tistate.None {
			return false
		}
	}
	return true
}

// triggerVerdict applies the task's trigger rule to the instances of its
// upstream tasks, then the setup constraint.
func triggerVerdict(task *dagspec.Task, each func(string, func(string)), setup map[string]bool) verdict {
	var c upstreamCounts
	for _, up := range task.Upstream {
		each(up, func(s string) {
			c.upstream++
			c.add(s)
			if setup[up] {
				c.addSetup(s)
			}
		})
	}
	v := evaluate(task.TriggerRule, c)
	if len(task.Setups) > 0 {
		// The setup constraint first, as Airflow: a failed or skipped
		// setup settles the task; one not done holds it.
		switch sv := setupsVerdict(task.Setups, each); {
		case sv == failUpstream || sv == skip:
			v = sv
		case sv == wait && v == run:
			v = wait
		}
	}
	return v
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

// DecideMapped is decideRun for callers outside the scheduler loop (`gust
// dags test` runs a DAG in process with the same decisions), which expand
// mapped tasks themselves: the decisions, the mapped tasks due to expand
// (decide again once they are, with them in expanded), and the run's final
// state.
func DecideMapped(dag *dagspec.DAG, tis []*metadb.TaskInstance, prev map[string]string, now time.Time, expanded map[string]bool) ([]metadb.Decision, []string, string) {
	v := decideRun(dag, tis, prev, now, expanded)
	return v.decisions, v.expand, v.final
}
