package scheduler

import (
	"testing"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
)

func counts(states ...string) upstreamCounts {
	c := upstreamCounts{upstream: len(states)}
	for _, s := range states {
		c.add(s)
	}
	return c
}

// TestEvaluate checks every trigger rule against Airflow 2's outcomes,
// including decisions on partial information.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	const (
		S  = tistate.Success
		F  = tistate.Failed
		K  = tistate.Skipped
		UF = tistate.UpstreamFailed
		R  = tistate.Running
		N  = tistate.None
	)
	cases := []struct {
		rule   string
		states []string
		want   verdict
	}{
		{dagspec.TriggerAllSuccess, []string{S, S}, run},
		{dagspec.TriggerAllDoneMinOneSuccess, []string{S, F}, run},
		{dagspec.TriggerAllDoneMinOneSuccess, []string{F, UF}, failUpstream},
		{dagspec.TriggerAllDoneMinOneSuccess, []string{S, R}, wait},
		{dagspec.TriggerAllDoneMinOneSuccess, []string{S, K}, skip},
		{dagspec.TriggerAllSuccess, []string{S, R}, wait},
		{dagspec.TriggerAllSuccess, []string{F, R}, failUpstream},
		{dagspec.TriggerAllSuccess, []string{UF, S}, failUpstream},
		{dagspec.TriggerAllSuccess, []string{K, R}, skip},
		{dagspec.TriggerAllSuccess, []string{}, run},
		{dagspec.TriggerAllFailed, []string{F, UF}, run},
		{dagspec.TriggerAllFailed, []string{F, R}, wait},
		{dagspec.TriggerAllFailed, []string{F, S}, skip},
		{dagspec.TriggerAllFailed, []string{K, F}, skip},
		{dagspec.TriggerAllDone, []string{S, F, K, UF}, run},
		{dagspec.TriggerAllDone, []string{S, R}, wait},
		{dagspec.TriggerAllSkipped, []string{K, K}, run},
		{dagspec.TriggerAllSkipped, []string{K, R}, wait},
		{dagspec.TriggerAllSkipped, []string{K, S}, skip},
		{dagspec.TriggerOneSuccess, []string{S, R}, run},
		{dagspec.TriggerOneSuccess, []string{F, R}, wait},
		{dagspec.TriggerOneSuccess, []string{F, F}, failUpstream},
		{dagspec.TriggerOneSuccess, []string{K, K}, skip},
		{dagspec.TriggerOneSuccess, []string{K, F}, failUpstream},
		{dagspec.TriggerOneFailed, []string{F, R}, run},
		{dagspec.TriggerOneFailed, []string{UF, N}, run},
		{dagspec.TriggerOneFailed, []string{S, R}, wait},
		{dagspec.TriggerOneFailed, []string{S, K}, skip},
		{dagspec.TriggerOneDone, []string{S, R}, run},
		{dagspec.TriggerOneDone, []string{F, R}, run},
		{dagspec.TriggerOneDone, []string{K, R}, wait},
		{dagspec.TriggerOneDone, []string{K, UF}, skip},
		{dagspec.TriggerNoneFailed, []string{S, K}, run},
		{dagspec.TriggerNoneFailed, []string{S, R}, wait},
		{dagspec.TriggerNoneFailed, []string{F, R}, failUpstream},
		{dagspec.TriggerNoneFailed, []string{K, K}, run},
		{dagspec.TriggerNoneFailedMinOneSuccess, []string{S, K}, run},
		{dagspec.TriggerNoneFailedMinOneSuccess, []string{K, K}, skip},
		{dagspec.TriggerNoneFailedMinOneSuccess, []string{UF, S}, failUpstream},
		{dagspec.TriggerNoneFailedMinOneSuccess, []string{K, R}, wait},
		{dagspec.TriggerNoneSkipped, []string{S, F}, run},
		{dagspec.TriggerNoneSkipped, []string{S, R}, wait},
		{dagspec.TriggerNoneSkipped, []string{K, R}, skip},
		{dagspec.TriggerAlways, []string{F, R}, run},
		{"bogus", []string{S}, wait},
	}
	for _, tc := range cases {
		if got := evaluate(tc.rule, counts(tc.states...)); got != tc.want {
			t.Errorf("%s over %v: got %v, want %v", tc.rule, tc.states, got, tc.want)
		}
	}
}

// TestAllDoneSetupSuccess: a teardown's rule runs when every upstream is
// done and one of its setups succeeded; all its setups skipped skip it,
// none succeeded fails it upstream.
func TestAllDoneSetupSuccess(t *testing.T) {
	t.Parallel()
	c := func(setups []string, others ...string) upstreamCounts {
		uc := counts(append(append([]string{}, setups...), others...)...)
		for _, s := range setups {
			uc.addSetup(s)
		}
		return uc
	}
	for name, tc := range map[string]struct {
		c    upstreamCounts
		want verdict
	}{
		"work failed, setup ran": {c([]string{tistate.Success}, tistate.Failed), run},
		"work running":           {c([]string{tistate.Success}, tistate.Running), wait},
		"setups skipped":         {c([]string{tistate.Skipped}, tistate.Skipped), skip},
		"setup failed":           {c([]string{tistate.Failed}, tistate.UpstreamFailed), failUpstream},
		"one of two setups ran":  {c([]string{tistate.Failed, tistate.Success}, tistate.Success), run},
		"no setups, all done":    {c(nil, tistate.Failed), run},
	} {
		if got := evaluate(dagspec.TriggerAllDoneSetupSuccess, tc.c); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
