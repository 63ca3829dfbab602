package scheduler

import (
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
)

// upstreamCounts counts the states of a task's direct upstream task
// instances, as Airflow's trigger-rule dependency does.
type upstreamCounts struct {
	upstream, success, skipped, failed, upstreamFailed, removed, done int
	// Of the upstream tasks that are setups: how many, succeeded, skipped.
	setups, successSetup, skippedSetup int
}

// addSetup counts an upstream that is a setup, once add has counted it.
func (c *upstreamCounts) addSetup(state string) {
	c.setups++
	switch state {
	case tistate.Success:
		c.successSetup++
	case tistate.Skipped:
		c.skippedSetup++
	}
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

// setupsVerdict is Airflow's setup constraint on a task that is not a
// teardown: every relevant indirect setup must succeed; one that failed
// fails it upstream, one skipped skips it, without waiting for the rest.
func setupsVerdict(setups []string, each func(string, func(string))) verdict {
	var c upstreamCounts
	for _, s := range setups {
		each(s, func(state string) {
			c.upstream++
			c.add(state)
		})
	}
	switch {
	case c.failed > 0 || c.upstreamFailed > 0:
		return failUpstream
	case c.skipped > 0:
		return skip
	case c.success < c.upstream:
		return wait
	}
	return run
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
	case dagspec.TriggerAllDoneSetupSuccess:
		if upstreamDone && c.setups > 0 && c.skippedSetup >= c.setups {
			return skip
		}
		if upstreamDone && c.setups > 0 && c.successSetup == 0 {
			return failUpstream
		}
		if !upstreamDone {
			return wait
		}
	case dagspec.TriggerAllDoneMinOneSuccess:
		if c.skipped > 0 {
			return skip
		}
		nonSkippedDone := c.success + c.failed + c.upstreamFailed + c.removed
		if nonSkippedDone >= c.upstream-c.skipped && c.success == 0 {
			return failUpstream
		}
		if nonSkippedDone < c.upstream-c.skipped {
			return wait
		}
	default:
		// Unknown rules are rejected at parse time; never run on one.
		return wait
	}
	return run
}
