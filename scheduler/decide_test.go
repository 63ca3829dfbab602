package scheduler

import (
	"testing"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

func task(id, op, rule string, up ...string) *dagspec.Task {
	if rule == "" {
		rule = dagspec.TriggerAllSuccess
	}
	return &dagspec.Task{TaskID: id, Operator: op, TriggerRule: rule, Upstream: up}
}

func tiIn(id, state string) *metadb.TaskInstance {
	return &metadb.TaskInstance{TIKey: metadb.TIKey{TaskID: id, MapIndex: -1}, State: state}
}

// setupTeardown is s (setup) >> w >> td (teardown of s), and an
// independent task x with trigger rule always >> y, y inside s's scope
// (s >> x, y >> td) with s an indirect setup of y.
func setupTeardown(failDagrun bool) *dagspec.DAG {
	s := task("s", dagspec.OperatorBash, "")
	s.IsSetup = true
	td := task("td", dagspec.OperatorBash, dagspec.TriggerAllDoneSetupSuccess, "s", "w", "y")
	td.IsTeardown, td.OnFailureFailDagrun = true, failDagrun
	y := task("y", dagspec.OperatorBash, "", "x")
	y.Setups = []string{"s"}
	return &dagspec.DAG{Tasks: []*dagspec.Task{s, task("w", dagspec.OperatorBash, "", "s"), task("x", dagspec.OperatorBash, dagspec.TriggerAlways, "s"), y, td}}
}

func TestDecideRun(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	const bash, empty = dagspec.OperatorBash, dagspec.OperatorEmpty
	chain := &dagspec.DAG{Tasks: []*dagspec.Task{
		task("a", bash, ""), task("b", bash, "", "a"), task("c", empty, "", "b"), task("d", bash, "", "c"),
	}}
	type want struct {
		decisions map[string]string
		run       string
	}
	past, future := now.Add(-time.Second), now.Add(time.Minute)
	cases := []struct {
		name string
		dag  *dagspec.DAG
		tis  []*metadb.TaskInstance
		want want
	}{
		{"start: only the root is scheduled", chain,
			[]*metadb.TaskInstance{tiIn("a", ""), tiIn("b", ""), tiIn("c", ""), tiIn("d", "")},
			want{map[string]string{"a": tistate.Scheduled}, ""}},
		{"empty operator succeeds in place and unblocks its downstream", chain,
			[]*metadb.TaskInstance{tiIn("a", "success"), tiIn("b", "success"), tiIn("c", ""), tiIn("d", "")},
			want{map[string]string{"c": tistate.Success, "d": tistate.Scheduled}, ""}},
		{"an ExternalTaskMarker succeeds in place; an empty task with a success callback goes to a worker",
			&dagspec.DAG{Tasks: []*dagspec.Task{task("m", dagspec.OperatorExternalTaskMarker, ""),
				{TaskID: "cb", Operator: empty, TriggerRule: dagspec.TriggerAllSuccess, OnSuccessCallback: "echo done"}}},
			[]*metadb.TaskInstance{tiIn("m", ""), tiIn("cb", "")},
			want{map[string]string{"m": tistate.Success, "cb": tistate.Scheduled}, ""}},
		{"failure propagates upstream_failed through the chain and fails the run", chain,
			[]*metadb.TaskInstance{tiIn("a", "failed"), tiIn("b", ""), tiIn("c", ""), tiIn("d", "")},
			want{map[string]string{"b": tistate.UpstreamFailed, "c": tistate.UpstreamFailed, "d": tistate.UpstreamFailed}, tistate.RunFailed}},
		{"all leaves succeeded", chain,
			[]*metadb.TaskInstance{tiIn("a", "success"), tiIn("b", "success"), tiIn("c", "success"), tiIn("d", "success")},
			want{map[string]string{}, tistate.RunSuccess}},
		{"retry due is scheduled as a new try", chain,
			[]*metadb.TaskInstance{{TIKey: metadb.TIKey{TaskID: "a", MapIndex: -1}, State: tistate.UpForRetry, NextRetryAt: &past}, tiIn("b", ""), tiIn("c", ""), tiIn("d", "")},
			want{map[string]string{"a": tistate.Scheduled}, ""}},
		{"retry not yet due waits", chain,
			[]*metadb.TaskInstance{{TIKey: metadb.TIKey{TaskID: "a", MapIndex: -1}, State: tistate.UpForRetry, NextRetryAt: &future}, tiIn("b", ""), tiIn("c", ""), tiIn("d", "")},
			want{map[string]string{}, ""}},
		{"a skipped leaf with a succeeded one is success", &dagspec.DAG{Tasks: []*dagspec.Task{task("x", bash, ""), task("y", bash, "")}},
			[]*metadb.TaskInstance{tiIn("x", "success"), tiIn("y", "skipped")},
			want{map[string]string{}, tistate.RunSuccess}},
		{"a teardown runs when its setup ran, whatever the work did; the work decides the run", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "success"), tiIn("w", "failed"), tiIn("x", "success"), tiIn("y", "success"), tiIn("td", "")},
			want{map[string]string{"td": tistate.Scheduled}, ""}},
		{"a failed work task fails the run once its teardown is done", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "success"), tiIn("w", "failed"), tiIn("x", "success"), tiIn("y", "success"), tiIn("td", "success")},
			want{map[string]string{}, tistate.RunFailed}},
		{"a teardown's failure does not fail the run", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "success"), tiIn("w", "success"), tiIn("x", "success"), tiIn("y", "success"), tiIn("td", "failed")},
			want{map[string]string{}, tistate.RunSuccess}},
		{"unless on_failure_fail_dagrun", setupTeardown(true),
			[]*metadb.TaskInstance{tiIn("s", "success"), tiIn("w", "success"), tiIn("x", "success"), tiIn("y", "success"), tiIn("td", "failed")},
			want{map[string]string{}, tistate.RunFailed}},
		{"a failed setup: its work and teardown are upstream_failed", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "failed"), tiIn("w", ""), tiIn("x", "success"), tiIn("y", ""), tiIn("td", "")},
			want{map[string]string{"w": tistate.UpstreamFailed, "y": tistate.UpstreamFailed, "td": tistate.UpstreamFailed}, tistate.RunFailed}},
		{"a task waits for its indirect setup", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "running"), tiIn("w", ""), tiIn("x", "success"), tiIn("y", ""), tiIn("td", "")},
			want{map[string]string{}, ""}},
		{"a skipped setup skips its scope", setupTeardown(false),
			[]*metadb.TaskInstance{tiIn("s", "skipped"), tiIn("w", ""), tiIn("x", "success"), tiIn("y", ""), tiIn("td", "")},
			want{map[string]string{"w": tistate.Skipped, "y": tistate.Skipped, "td": tistate.Skipped}, tistate.RunSuccess}},
		{"all_done leaf runs after a failure and decides the run", &dagspec.DAG{Tasks: []*dagspec.Task{task("x", bash, ""), task("cleanup", bash, dagspec.TriggerAllDone, "x")}},
			[]*metadb.TaskInstance{tiIn("x", "failed"), tiIn("cleanup", "success")},
			want{map[string]string{}, tistate.RunSuccess}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := decideRun(tc.dag, tc.tis, nil, now, nil)
			ds, run := v.decisions, v.final
			got := map[string]string{}
			for _, d := range ds {
				got[d.TaskID] = d.To
				if d.To == tistate.Scheduled && !d.NewTry {
					t.Errorf("%s scheduled without a new try number", d.TaskID)
				}
			}
			if len(got) != len(tc.want.decisions) {
				t.Errorf("decisions %v, want %v", got, tc.want.decisions)
			}
			for k, v := range tc.want.decisions {
				if got[k] != v {
					t.Errorf("decision for %s: %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if run != tc.want.run {
				t.Errorf("run state %q, want %q", run, tc.want.run)
			}
		})
	}
}

func TestDecideRunDependsOnPast(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	a := task("a", dagspec.OperatorBash, "")
	a.DependsOnPast = true
	b := task("b", dagspec.OperatorBash, "", "a")
	dag := &dagspec.DAG{Tasks: []*dagspec.Task{a, b}}
	fresh := func() []*metadb.TaskInstance { return []*metadb.TaskInstance{tiIn("a", ""), tiIn("b", "")} }
	cases := []struct {
		name      string
		wait      bool
		prev      map[string]string
		scheduled bool
	}{
		{"no previous run", false, nil, true},
		{"previous TI succeeded", false, map[string]string{"a": "success", "b": "failed"}, true},
		{"previous TI skipped", false, map[string]string{"a": "skipped"}, true},
		{"previous TI failed", false, map[string]string{"a": "failed", "b": "upstream_failed"}, false},
		{"previous TI still running", false, map[string]string{"a": "running", "b": ""}, false},
		{"task absent from the previous run", false, map[string]string{"b": "success"}, true},
		{"wait_for_downstream: downstream not done", true, map[string]string{"a": "success", "b": "running"}, false},
		{"wait_for_downstream: downstream done", true, map[string]string{"a": "success", "b": "success"}, true},
	}
	for _, tc := range cases {
		a.WaitForDownstream = tc.wait
		v := decideRun(dag, fresh(), tc.prev, now, nil)
		ds, run := v.decisions, v.final
		got := len(ds) == 1 && ds[0].TaskID == "a" && ds[0].To == tistate.Scheduled
		if got != tc.scheduled || (!tc.scheduled && len(ds) != 0) {
			t.Errorf("%s: decisions %+v, want a scheduled = %v", tc.name, ds, tc.scheduled)
		}
		if run != "" {
			t.Errorf("%s: run state %q; a run waiting on its past is not deadlocked", tc.name, run)
		}
	}
}

// TestDecideMapped: a mapped task expands once the upstream it maps over
// is done (not before, not again once expanded); a downstream counts every
// instance of a mapped upstream; a failed instance fails the run; cleared
// instances (all in state none) are counted again.
func TestDecideMapped(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	m := task("m", dagspec.OperatorBash, "", "up")
	m.Expand = &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "bash_command",
		Source: map[string]any{dagspec.XComArgKey: map[string]any{"task_id": "up", "key": "return_value"}}}}}
	dag := &dagspec.DAG{Tasks: []*dagspec.Task{task("up", dagspec.OperatorBash, ""), m,
		task("down", dagspec.OperatorBash, "", "m"), task("any", dagspec.OperatorBash, dagspec.TriggerOneFailed, "m")}}
	inst := func(i int, state string) *metadb.TaskInstance {
		return &metadb.TaskInstance{TIKey: metadb.TIKey{TaskID: "m", MapIndex: i}, State: state}
	}
	v := decideRun(dag, []*metadb.TaskInstance{tiIn("up", "running"), tiIn("m", ""), tiIn("down", ""), tiIn("any", "")}, nil, now, nil)
	if len(v.expand) != 0 || v.final != "" {
		t.Errorf("upstream running: expand %v, final %q", v.expand, v.final)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), tiIn("m", ""), tiIn("down", ""), tiIn("any", "")}, nil, now, nil)
	if len(v.expand) != 1 || v.expand[0] != "m" || len(v.decisions) != 0 || v.final != "" {
		t.Errorf("upstream done: expand %v, decisions %v, final %q; want m expanded only", v.expand, v.decisions, v.final)
	}
	fresh := []*metadb.TaskInstance{tiIn("up", "success"), inst(0, ""), inst(1, ""), tiIn("down", ""), tiIn("any", "")}
	v = decideRun(dag, fresh, nil, now, map[string]bool{"m": true})
	if len(v.decisions) != 2 || v.decisions[0].MapIndex != 0 || v.decisions[1].MapIndex != 1 || v.decisions[1].To != tistate.Scheduled {
		t.Errorf("expanded: %+v, want both instances scheduled", v.decisions)
	}
	if v = decideRun(dag, fresh, nil, now, nil); len(v.expand) != 1 {
		t.Errorf("cleared instances: expand %v, want m counted again", v.expand)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), inst(0, "success"), inst(1, "running"), tiIn("down", ""), tiIn("any", "")}, nil, now, nil)
	if len(v.decisions) != 0 || v.final != "" {
		t.Errorf("one instance running: %+v %q, want the downstream to wait", v.decisions, v.final)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), inst(0, "success"), inst(1, "failed"), tiIn("down", ""), tiIn("any", "")}, nil, now, nil)
	got := map[string]string{}
	for _, d := range v.decisions {
		got[d.TaskID] = d.To
	}
	if got["down"] != tistate.UpstreamFailed || got["any"] != tistate.Scheduled || v.final != "" {
		t.Errorf("one instance failed: %v %q, want down upstream_failed and any (one_failed) scheduled", got, v.final)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), inst(0, "success"), inst(1, "failed"), tiIn("down", "upstream_failed"), tiIn("any", "success")}, nil, now, nil)
	if v.final != tistate.RunFailed {
		t.Errorf("a failed instance of a leaf's upstream: %q, want failed", v.final)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "failed"), tiIn("m", ""), tiIn("down", ""), tiIn("any", "")}, nil, now, nil)
	got = map[string]string{}
	for _, d := range v.decisions {
		got[d.TaskID] = d.To
	}
	if got["m"] != tistate.UpstreamFailed || len(v.expand) != 0 {
		t.Errorf("upstream failed: %v, expand %v; want m upstream_failed unexpanded", got, v.expand)
	}
}

// TestDecideMappedGroup: up >> [a >> b] (a mapped task group over up's
// output) >> total. Both of the group's tasks expand once up is done, and
// instance i of b follows instance i of a only.
func TestDecideMappedGroup(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	src := map[string]any{dagspec.XComArgKey: map[string]any{"task_id": "up", "key": "return_value"}}
	inGroup := func(id string, up ...string) *dagspec.Task {
		x := task(id, dagspec.OperatorBash, "", up...)
		x.MappedGroup = "g"
		x.Expand = &dagspec.Expand{Args: []dagspec.ExpandArg{{Name: "n", Source: src}}, Into: "group"}
		return x
	}
	dag := &dagspec.DAG{Tasks: []*dagspec.Task{task("up", dagspec.OperatorBash, ""), inGroup("g.a", "up"), inGroup("g.b", "g.a"),
		task("total", dagspec.OperatorBash, dagspec.TriggerAllDone, "g.b")}}
	inst := func(id string, i int, state string) *metadb.TaskInstance {
		return &metadb.TaskInstance{TIKey: metadb.TIKey{TaskID: id, MapIndex: i}, State: state}
	}
	v := decideRun(dag, []*metadb.TaskInstance{tiIn("up", "running"), tiIn("g.a", ""), tiIn("g.b", ""), tiIn("total", "")}, nil, now, nil)
	if len(v.expand) != 0 || len(v.decisions) != 0 {
		t.Errorf("source running: expand %v, decisions %v; want nothing", v.expand, v.decisions)
	}
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), tiIn("g.a", ""), tiIn("g.b", ""), tiIn("total", "")}, nil, now, nil)
	if len(v.expand) != 2 || v.expand[0] != "g.a" || v.expand[1] != "g.b" {
		t.Errorf("source done: expand %v, want both tasks of the group at once", v.expand)
	}
	tis := []*metadb.TaskInstance{tiIn("up", "success"), inst("g.a", 0, "success"), inst("g.a", 1, "failed"), inst("g.a", 2, "running"),
		inst("g.b", 0, ""), inst("g.b", 1, ""), inst("g.b", 2, ""), tiIn("total", "")}
	v = decideRun(dag, tis, nil, now, map[string]bool{"g.a": true, "g.b": true})
	got := map[int]string{}
	for _, d := range v.decisions {
		if d.TaskID == "total" {
			t.Errorf("total decided while an instance of the group runs: %+v", d)
		}
		got[d.MapIndex] = d.To
	}
	if got[0] != tistate.Scheduled || got[1] != tistate.UpstreamFailed || len(got) != 2 {
		t.Errorf("b's instances: %v, want 0 scheduled, 1 upstream_failed, 2 waiting", got)
	}
	// An empty expansion: the root skipped as a whole, its group
	// downstream with it.
	v = decideRun(dag, []*metadb.TaskInstance{tiIn("up", "success"), tiIn("g.a", "skipped"), tiIn("g.b", ""), tiIn("total", "")}, nil, now, nil)
	got2 := map[string]string{}
	for _, d := range v.decisions {
		got2[d.TaskID] = d.To
	}
	if got2["g.b"] != tistate.Skipped || got2["total"] != tistate.Scheduled || len(v.expand) != 0 {
		t.Errorf("empty group: %v expand %v, want g.b skipped and total (all_done) scheduled", got2, v.expand)
	}
}
