package dagspec

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/schedule"
)

// TestTimetables: a bare cron expression or duration is Airflow 3's
// trigger timetable unless the options ask for data intervals; timetable
// objects in dag-factory's form (its example_timetable_schedule.yml);
// @continuous needs max_active_runs 1.
func TestTimetables(t *testing.T) {
	t.Parallel()
	one := func(src string, o Options) *DAG {
		t.Helper()
		dags, err := ParseWith("tt.yaml", []byte(src), o)
		if err != nil {
			t.Fatal(err)
		}
		return dags[0]
	}
	const cronDAG = "d:\n  schedule: '@daily'\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n"
	if d := one(cronDAG, Options{}); d.TimetableSpec == nil || d.TimetableSpec.Kind != schedule.SpecTrigger {
		t.Errorf("a cron string by default: %+v, want a trigger timetable (Airflow 3)", d.TimetableSpec)
	}
	if d := one(cronDAG, Options{CronDataIntervals: true}); d.TimetableSpec != nil {
		t.Errorf("create_cron_data_intervals: %+v, want data intervals", d.TimetableSpec)
	}
	delta := "d:\n  schedule: {hours: 6}\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n"
	if d := one(delta, Options{CronDataIntervals: true}); d.TimetableSpec == nil || d.TimetableSpec.Kind != schedule.SpecTrigger {
		t.Errorf("a duration with create_delta_data_intervals false: %+v", d.TimetableSpec)
	}
	// dag-factory's own example, unchanged.
	d := one(`default:
  default_args:
    start_date: 2024-11-11

timetable_schedule:
  schedule:
    __type__: airflow.timetables.trigger.CronTriggerTimetable
    __args__:
      - 0 1 * * 3
    timezone: UTC
  catchup: false
  tasks:
    - task_id: "task_1"
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo 1"
`, Options{CronDataIntervals: true})
	if d.Schedule != "0 1 * * 3" || d.TimetableSpec == nil || d.TimetableSpec.Kind != schedule.SpecTrigger {
		t.Errorf("CronTriggerTimetable object: %q %+v", d.Schedule, d.TimetableSpec)
	}
	for name, c := range map[string]struct{ sched, want string }{
		"with interval": {"{__type__: airflow.sdk.CronTriggerTimetable, cron: '0 6 * * *', timezone: Europe/Paris, interval: {__type__: datetime.timedelta, hours: 1}}",
			"0 6 * * * trigger 3600 Europe/Paris"},
		"data interval": {"{__type__: airflow.timetables.interval.CronDataIntervalTimetable, __args__: ['@hourly', UTC]}", "@hourly data_interval 0 "},
		"delta trigger": {"{__type__: airflow.timetables.trigger.DeltaTriggerTimetable, __args__: [{__type__: datetime.timedelta, minutes: 30}]}", "@every 30m0s trigger 0 "},
		"multiple":      {"{__type__: airflow.timetables.trigger.MultipleCronTriggerTimetable, __args__: ['0 9 * * *', '30 17 * * *'], timezone: UTC}", "0 9 * * * trigger 0 "}, // UTC is the default zone,
		"events":        {"{__type__: airflow.timetables.events.EventsTimetable, event_dates: [2024-03-01T10:00:00, 2024-01-05], restrict_to_events: true}", " events 0 "},
	} {
		d := one("d:\n  schedule: "+c.sched+"\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n", Options{})
		got := d.Schedule + " " + d.TimetableSpec.Kind + " " + strconv.FormatFloat(d.TimetableSpec.IntervalSec, 'f', -1, 64) + " " + d.Timezone
		if got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
		if _, err := d.NewTimetable(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, c := range map[string]struct{ src, want string }{
		"continuous needs one run": {"d:\n  schedule: '@continuous'\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n",
			"ContinuousTimetable requires max_active_runs <= 1"},
		"unknown class": {"d:\n  schedule: {__type__: airflow.timetables.workday.AfterWorkdayTimetable}\n  tasks:\n    a: {operator: empty}\n",
			"timetable AfterWorkdayTimetable is not supported by gust yet"},
		"not airflow's": {"d:\n  schedule: {__type__: mine.Timetable}\n  tasks:\n    a: {operator: empty}\n", `unknown timetable "mine.Timetable"`},
		"cron missing":  {"d:\n  schedule: {__type__: airflow.sdk.CronTriggerTimetable}\n  tasks:\n    a: {operator: empty}\n", "CronTriggerTimetable needs a cron expression"},
	} {
		if _, err := Parse("tt.yaml", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if d := one("d:\n  schedule: '@continuous'\n  max_active_runs: 1\n  start_date: 2024-01-01\n  tasks:\n    a: {operator: empty}\n", Options{}); d.Schedule != schedule.Continuous {
		t.Errorf("@continuous: %q", d.Schedule)
	}
}

// TestRelativeStartDate: dag-factory's relative dates are the start of
// today in the DAG's timezone less the time given.
func TestRelativeStartDate(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2024, 5, 10, 15, 4, 5, 0, time.UTC) }
	for s, want := range map[string]string{"2 days": "2024-05-08T00:00:00Z", "1 hours": "2024-05-09T23:00:00Z",
		"1 day 12 hours ago": "2024-05-08T12:00:00Z"} {
		dags, err := ParseWith("rel.yaml", []byte("d:\n  start_date: "+s+"\n  schedule: '@daily'\n  tasks:\n    a: {operator: empty}\n"), Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got := dags[0].StartDate.Format(time.RFC3339); got != want {
			t.Errorf("%s: %s, want %s", s, got, want)
		}
	}
	if _, err := Parse("rel.yaml", []byte("d:\n  start_date: soon\n  tasks:\n    a: {operator: empty}\n")); err == nil || !strings.Contains(err.Error(), `a time ago like "2 days"`) {
		t.Errorf("a bad date: %v", err)
	}
}
