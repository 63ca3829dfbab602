package scheduler

import (
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
)

// upstreamCounts counts the states of a task's direct upstream task
// instances, as Airflow's trigger-rule dependency does.
type upstreamCounts struct {
	upstream, success, skipped, failed, upstreamFailed, removed, done int
}

func (c *upstreamCounts) add(state string) {
	switch state {
	case tistate.Success:
		c.success++
	case tistate.Skipped:
		c.skipped++
	case tistate.Failed:
		c.failed++
	case tistate.UpstreamFailed:
		c.upstreamFailed++
	case tistate.Removed:
		c.removed++
	}
	if tistate.Finished(state) {
		c.done++
	}
}

// verdict is what a trigger rule says about a task instance in state none.
type verdict int

const (
	wait verdict = iota
	run
	skip
	failUpstream
)

// evaluate applies a trigger rule to the upstream counts with Airflow 2's
// semantics (TriggerRuleDep with flag_upstream_failed): first the rules that
// settle the task as skipped or upstream_failed, possibly on partial
// information, then whether it may run now.
func evaluate(rule string, c upstreamCounts) verdict {
	if c.upstream == 0 || rule == dagspec.TriggerAlways {
		return run
	}
	upstreamDone := c.done >= c.upstream
	switch rule {
	case dagspec.TriggerAllSuccess:
		if c.upstreamFailed > 0 || c.failed > 0 {
			return failUpstream
		}
		if c.skipped > 0 {
			return skip
		}
		if c.upstream-c.success > 0 {
			return wait
		}
	case dagspec.TriggerAllFailed:
		if c.success > 0 || c.skipped > 0 {
			return skip
		}
		if c.upstream-c.failed-c.upstreamFailed > 0 {
			return wait
		}
	case dagspec.TriggerAllDone:
		if !upstreamDone {
			return wait
		}
	case dagspec.TriggerAllSkipped:
		if c.success > 0 || c.failed > 0 || c.upstreamFailed > 0 {
			return skip
		}
		if c.upstream-c.skipped > 0 {
			return wait
		}
	case dagspec.TriggerOneSuccess:
		if upstreamDone && c.done == c.skipped {
			return skip
		}
		if upstreamDone && c.success <= 0 {
			return failUpstream
		}
		if c.success <= 0 {
			return wait
		}
	case dagspec.TriggerOneFailed:
		if upstreamDone && c.failed == 0 && c.upstreamFailed == 0 {
			return skip
		}
		if c.failed == 0 && c.upstreamFailed == 0 {
			return wait
		}
	case dagspec.TriggerOneDone:
		if upstreamDone && c.failed == 0 && c.success == 0 {
			return skip
		}
		if c.success+c.failed <= 0 {
			return wait
		}
	case dagspec.TriggerNoneFailed:
		if c.upstreamFailed > 0 || c.failed > 0 {
			return failUpstream
		}
		if c.upstream-c.success-c.skipped > 0 {
			return wait
		}
	case dagspec.TriggerNoneFailedMinOneSuccess:
		if c.upstreamFailed > 0 || c.failed > 0 {
			return failUpstream
		}
		if c.skipped == c.upstream {
			return skip
		}
		if c.upstream-c.success-c.skipped > 0 {
			return wait
		}
	case dagspec.TriggerNoneSkipped:
		if c.skipped > 0 {
			return skip
		}
		if !upstreamDone {
			return wait
		}
	default:
		// Unknown rules are rejected at parse time; never run on one.
		return wait
	}
	return run
}
