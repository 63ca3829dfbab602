package pydag

import (
	"context"
	"testing"

	"github.com/gust-sched/gust/common/schedule"
)

// TestTimetables reads Airflow 3's timetables from Python files: each is
// stored as the same spec a YAML file's timetable object gives.
func TestTimetables(t *testing.T) {
	p, dir := newParser(t)
	src := `import datetime
import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, MultipleCronTriggerTimetable
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import DeltaTriggerTimetable
from airflow.timetables.events import EventsTimetable
from airflow.providers.standard.operators.empty import EmptyOperator

start = pendulum.datetime(2024, 1, 1, tz="UTC")
for dag_id, sched in [
    ("cron_trigger", CronTriggerTimetable("0 6 * * *", timezone="Europe/Paris", interval=datetime.timedelta(hours=1))),
    ("data_interval", CronDataIntervalTimetable("@hourly", timezone="UTC")),
    ("delta", DeltaTriggerTimetable(datetime.timedelta(minutes=30))),
    ("multi", MultipleCronTriggerTimetable("0 9 * * *", "30 17 * * *", timezone="UTC")),
    ("events", EventsTimetable(event_dates=[pendulum.datetime(2024, 3, 1, 10, tz="UTC"), pendulum.datetime(2024, 1, 5, tz="UTC")],
                               restrict_to_events=True, description="two dates")),
    ("continuous", "@continuous"),
]:
    with DAG(dag_id, schedule=sched, start_date=start, max_active_runs=1):
        EmptyOperator(task_id="e")
`
	res, err := p.Parse(context.Background(), write(t, dir, "timetables.py", src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range res.DAGs {
		kind := "-"
		if d.TimetableSpec != nil {
			kind = d.TimetableSpec.Kind
		}
		got[d.DagID] = d.Schedule + "|" + kind + "|" + d.Timezone + "|" + d.ScheduleSummary()
		if _, err := d.NewTimetable(); err != nil {
			t.Errorf("%s: %v", d.DagID, err)
		}
	}
	want := map[string]string{
		"cron_trigger":  "0 6 * * *|trigger|Europe/Paris|0 6 * * *",
		"data_interval": "@hourly|data_interval||0 * * * *",
		"delta":         "@every 30m0s|trigger||0:30:00",
		"multi":         "0 9 * * *|trigger||0 9 * * *, 30 17 * * *",
		"events":        "|events||two dates",
		"continuous":    schedule.Continuous + "|-||@continuous",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	for _, d := range res.DAGs {
		if d.DagID == "cron_trigger" && d.TimetableSpec.IntervalSec != 3600 {
			t.Errorf("interval = %v", d.TimetableSpec.IntervalSec)
		}
		if d.DagID == "events" && (len(d.TimetableSpec.Events) != 2 || !d.TimetableSpec.RestrictToEvents) {
			t.Errorf("events = %+v", d.TimetableSpec)
		}
	}
}
