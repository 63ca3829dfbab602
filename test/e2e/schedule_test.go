package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// TestSchedulersRaceOnScheduledRuns runs three schedulers on the same
// scheduled DAGs: catchup creates every missed interval exactly once, a DAG
// without catchup gets only the latest interval, a DAG paused upon creation
// gets nothing until it is unpaused, and every try runs once.
func TestSchedulersRaceOnScheduledRuns(t *testing.T) {
	t.Parallel()
	// Airflow 2's data intervals ([scheduler] create_cron_data_intervals);
	// TestTriggerTimetables runs Airflow 3's default.
	c := newCluster(t, "GUST__SCHEDULER__CREATE_CRON_DATA_INTERVALS=True")
	ledger := filepath.Join(c.Home, "ledger.txt")
	l := ledgerCmd(ledger)
	start := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	c.WriteDAG("sched.yaml", fmt.Sprintf(`
default:
  default_args:
    start_date: %[2]s
  max_active_runs: 16

hourly_catchup:
  schedule: "@hourly"
  catchup: true
  tasks:
    a: {operator: bash, bash_command: '%[1]s'}
    b: {operator: bash, bash_command: '%[1]s', dependencies: [a]}

daily_latest:
  schedule: "0 0 * * *"
  catchup: false
  default_args:
    start_date: 2024-01-01
  tasks:
    only: {operator: bash, bash_command: '%[1]s'}

paused_first:
  schedule: "@hourly"
  catchup: false
  is_paused_upon_creation: true
  tasks:
    p: {operator: bash, bash_command: '%[1]s'}
`, l, start.Format(time.RFC3339)))
	for i := 1; i <= 3; i++ {
		c.Start(fmt.Sprintf("scheduler-%d", i), "scheduler")
	}
	c.Start("worker-1", "worker", "-c", "4", "--hostname", "w1@sched")
	c.Start("worker-2", "worker", "-c", "4", "--hostname", "w2@sched")
	c.WaitParsed(60*time.Second, "hourly_catchup", "daily_latest", "paused_first")

	// Expected runs are computed from the clock at each poll, so that an
	// hour boundary during the test does not make it flaky.
	hourlyWant := func() []string {
		var ids []string
		for s := start; !s.Add(time.Hour).After(time.Now()); s = s.Add(time.Hour) {
			ids = append(ids, "scheduled__"+iso(s))
		}
		return ids
	}
	dailyWant := func() string {
		today := time.Now().UTC().Truncate(24 * time.Hour)
		return "scheduled__" + iso(today.Add(-24*time.Hour))
	}
	runIDs := func(rs []testenv.DagRun) []string {
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.RunID)
		}
		sort.Strings(ids)
		return ids
	}
	testenv.Eventually(t, 60*time.Second, "scheduled runs to be created and finish", func() (bool, string) {
		h, d := c.Runs("hourly_catchup"), c.Runs("daily_latest")
		done := true
		for _, r := range append(h, d...) {
			done = done && r.State == "success"
		}
		return done && strings.Join(runIDs(h), ",") == strings.Join(hourlyWant(), ",") &&
				len(d) == 1 && d[0].RunID == dailyWant(),
			fmt.Sprintf("hourly %v daily %v", runIDs(h), runIDs(d))
	})
	for _, r := range c.Runs("hourly_catchup") {
		if r.RunType != "scheduled" || r.DataIntervalStart == nil || r.DataIntervalEnd == nil {
			t.Fatalf("run %+v: want a scheduled run with a data interval", r)
		}
		s, err1 := time.Parse(time.RFC3339, *r.DataIntervalStart)
		e, err2 := time.Parse(time.RFC3339, *r.DataIntervalEnd)
		lg, err3 := time.Parse(time.RFC3339, r.LogicalDate)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("run %s: unparsable dates %v %v %v", r.RunID, err1, err2, err3)
		}
		if !lg.Equal(s) || e.Sub(s) != time.Hour || r.RunID != "scheduled__"+iso(s) {
			t.Errorf("run %s: logical %s interval [%s, %s), want logical = start, one hour", r.RunID, r.LogicalDate, *r.DataIntervalStart, *r.DataIntervalEnd)
		}
	}
	if rs := c.Runs("paused_first"); len(rs) != 0 {
		t.Fatalf("a DAG paused upon creation has runs: %v", runIDs(rs))
	}

	c.MustRun("dags", "unpause", "paused_first")
	testenv.Eventually(t, 30*time.Second, "the unpaused DAG to run its latest interval", func() (bool, string) {
		rs := c.Runs("paused_first")
		return len(rs) == 1 && rs[0].State == "success", fmt.Sprint(runIDs(rs))
	})

	// Each try of each run ran exactly once.
	counts := readLedger(t, ledger)
	want := map[string]bool{}
	for _, d := range []string{"hourly_catchup", "daily_latest", "paused_first"} {
		for _, r := range c.Runs(d) {
			for task, ti := range c.TIs(d, r.RunID) {
				if testenv.State(ti) != "success" || ti.TryNumber != 1 {
					t.Errorf("%s/%s/%s: %s try %d, want success on try 1", d, r.RunID, task, testenv.State(ti), ti.TryNumber)
				}
				want[fmt.Sprintf("%s %s %s 1", d, r.RunID, task)] = true
			}
		}
	}
	for line := range want {
		if counts[line] != 1 {
			t.Errorf("ledger: %q ran %d times, want 1", line, counts[line])
		}
	}
	if len(counts) != len(want) {
		t.Errorf("ledger has %d distinct tries, want %d", len(counts), len(want))
	}
}

// TestTriggerTimetables runs Airflow 3's default timetables through three
// schedulers: a cron schedule with catchup has a run at each point since
// start_date whose logical date is the point, without catchup the latest
// point only; @continuous starts a run as soon as the last one ends, one
// at a time; an EventsTimetable runs at its past events (catchup).
func TestTriggerTimetables(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	ev1, ev2 := start.Add(-48*time.Hour), start.Add(-24*time.Hour+90*time.Minute)
	c.WriteDAG("trigger.yaml", fmt.Sprintf(`
hourly_points:
  schedule: "@hourly"
  catchup: true
  start_date: %[1]s
  tasks:
    a: {operator: bash, bash_command: 'echo {{ logical_date }} {{ data_interval_start }}'}
daily_now:
  schedule: "0 0 * * *"
  start_date: 2024-01-01
  tasks:
    a: {operator: empty}
forever:
  schedule: "@continuous"
  max_active_runs: 1
  start_date: %[1]s
  tasks:
    a: {operator: bash, bash_command: 'sleep 0.3'}
events:
  schedule:
    __type__: airflow.timetables.events.EventsTimetable
    event_dates: [%[2]s, %[3]s]
  catchup: true
  start_date: 2024-01-01
  tasks:
    a: {operator: empty}
`, start.Format(time.RFC3339), ev1.Format(time.RFC3339), ev2.Format(time.RFC3339)))
	for i := 1; i <= 3; i++ {
		c.Start(fmt.Sprintf("scheduler-%d", i), "scheduler")
	}
	c.Start("worker", "worker", "-c", "4")
	c.WaitParsed(60*time.Second, "hourly_points", "daily_now", "forever", "events")
	hourlyWant := func() []string {
		var ids []string
		for s := start; !s.After(time.Now()); s = s.Add(time.Hour) {
			ids = append(ids, "scheduled__"+iso(s))
		}
		return ids
	}
	ids := func(rs []testenv.DagRun) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.RunID)
		}
		sort.Strings(out)
		return out
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	testenv.Eventually(t, 60*time.Second, "the trigger runs", func() (bool, string) {
		h, d, e, f := c.Runs("hourly_points"), c.Runs("daily_now"), c.Runs("events"), c.Runs("forever")
		done := 0
		for _, r := range f {
			if r.State == "success" {
				done++
			}
		}
		ok := strings.Join(ids(h), ",") == strings.Join(hourlyWant(), ",") && len(d) == 1 && d[0].RunID == "scheduled__"+iso(today) &&
			strings.Join(ids(e), ",") == "scheduled__"+iso(ev1)+",scheduled__"+iso(ev2) && done >= 3
		return ok, fmt.Sprintf("hourly %v daily %v events %v continuous %d done of %d", ids(h), ids(d), ids(e), done, len(f))
	})
	ts := func(s *string) time.Time {
		if s == nil {
			return time.Time{}
		}
		v, _ := time.Parse(time.RFC3339Nano, *s)
		return v
	}
	for _, r := range c.Runs("hourly_points") {
		if lg := ts(&r.LogicalDate); lg.IsZero() || !ts(r.DataIntervalStart).Equal(lg) || !ts(r.DataIntervalEnd).Equal(lg) {
			t.Errorf("run %s: logical %s interval [%v, %v], want all three the trigger point", r.RunID, r.LogicalDate, r.DataIntervalStart, r.DataIntervalEnd)
		}
	}
	// @continuous: never two runs at once.
	runs := c.Runs("forever")
	for i, a := range runs {
		for _, b := range runs[i+1:] {
			if a.EndDate != nil && b.EndDate != nil && ts(a.StartDate).Before(ts(b.EndDate)) && ts(b.StartDate).Before(ts(a.EndDate)) {
				t.Errorf("continuous runs %s and %s overlap", a.RunID, b.RunID)
			}
		}
	}
}
