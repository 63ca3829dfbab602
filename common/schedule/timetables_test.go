package schedule

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestTriggerTimetables checks Airflow 3's trigger timetables against the
// runs Airflow creates: the logical date is the point (less the interval
// when one is given), catchup walks every point since start_date, and
// without catchup the latest point at or before now comes first.
func TestTriggerTimetables(t *testing.T) {
	t.Parallel()
	trig := func(sched string, spec *Spec) *Timetable {
		tt, err := NewSpec(sched, spec, "")
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	daily := trig("@daily", &Spec{Kind: SpecTrigger})
	start, now := at("2024-01-01T00:00:00Z"), at("2024-01-05T10:30:00Z")
	cases := []struct {
		name       string
		tt         *Timetable
		last       *Interval
		catchup    bool
		start, end string // the next interval
		after      string
	}{
		{"catchup, first run at start_date", daily, nil, true, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
		{"catchup, after the last run", daily, &Interval{at("2024-01-02T00:00:00Z"), at("2024-01-02T00:00:00Z")}, true,
			"2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z", "2024-01-03T00:00:00Z"},
		{"no catchup: today's midnight, already past", daily, nil, false, "2024-01-05T00:00:00Z", "2024-01-05T00:00:00Z", "2024-01-05T00:00:00Z"},
		{"no catchup after today's run: tomorrow", daily, &Interval{at("2024-01-05T00:00:00Z"), at("2024-01-05T00:00:00Z")}, false,
			"2024-01-06T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-06T00:00:00Z"},
		{"an interval: the logical date is its start", trig("0 6 * * *", &Spec{Kind: SpecTrigger, IntervalSec: 3600}), nil, false,
			"2024-01-05T05:00:00Z", "2024-01-05T06:00:00Z", "2024-01-05T06:00:00Z"},
		{"several crons: the earliest next point", trig("0 9 * * *", &Spec{Kind: SpecTrigger, Crons: []string{"0 9 * * *", "30 10 * * *"}}),
			&Interval{at("2024-01-05T09:00:00Z"), at("2024-01-05T09:00:00Z")}, true, "2024-01-05T10:30:00Z", "2024-01-05T10:30:00Z", "2024-01-05T10:30:00Z"},
		{"delta trigger without catchup runs now", trig("@every 6h0m0s", &Spec{Kind: SpecTrigger}), nil, false,
			"2024-01-05T10:30:00Z", "2024-01-05T10:30:00Z", "2024-01-05T10:30:00Z"},
		{"delta trigger: every delta after the last", trig("@every 6h0m0s", &Spec{Kind: SpecTrigger}), &Interval{at("2024-01-05T10:30:00Z"), at("2024-01-05T10:30:00Z")}, false,
			"2024-01-05T16:30:00Z", "2024-01-05T16:30:00Z", "2024-01-05T16:30:00Z"},
	}
	for _, c := range cases {
		iv, after, ok := c.tt.Next(c.last, start, nil, c.catchup, now)
		if !ok || !iv.Start.Equal(at(c.start)) || !iv.End.Equal(at(c.end)) || !after.Equal(at(c.after)) {
			t.Errorf("%s: [%s, %s] after %s (%v), want [%s, %s] after %s", c.name, iv.Start.Format(time.RFC3339), iv.End.Format(time.RFC3339),
				after.Format(time.RFC3339), ok, c.start, c.end, c.after)
		}
	}
	if iv := daily.InferManual(at("2024-01-05T10:30:00Z")); !iv.Start.Equal(iv.End) || !iv.End.Equal(at("2024-01-05T10:30:00Z")) {
		t.Errorf("a manual run of a trigger timetable: %v, want the point itself", iv)
	}
	ivs, err := daily.Between(at("2024-03-01T00:00:00Z"), at("2024-03-03T00:00:00Z"))
	if err != nil || len(ivs) != 3 || !ivs[2].Start.Equal(at("2024-03-03T00:00:00Z")) {
		t.Errorf("backfill points: %v %v, want three, the last on March 3", ivs, err)
	}
	if _, err := NewSpec("", &Spec{Kind: SpecTrigger}, ""); err == nil {
		t.Error("a trigger timetable without a schedule must be an error")
	}
}

// TestEventsAndContinuous: EventsTimetable runs at each event in order,
// a manual run restricted to events takes the latest one before it;
// @continuous runs from the last run's end to now.
func TestEventsAndContinuous(t *testing.T) {
	t.Parallel()
	ev, err := NewSpec("", &Spec{Kind: SpecEvents, RestrictToEvents: true,
		Events: []time.Time{at("2024-03-10T00:00:00Z"), at("2024-01-02T12:00:00Z")}}, "")
	if err != nil || !ev.IsScheduled() {
		t.Fatal(err)
	}
	now := at("2024-02-01T00:00:00Z")
	iv, after, ok := ev.Next(nil, at("2024-01-01T00:00:00Z"), nil, false, now)
	if !ok || !iv.Start.Equal(at("2024-01-02T12:00:00Z")) || !after.Equal(iv.Start) {
		t.Errorf("first event: %v %v %v", iv, after, ok)
	}
	if iv, _, ok = ev.Next(&iv, at("2024-01-01T00:00:00Z"), nil, false, now); !ok || !iv.Start.Equal(at("2024-03-10T00:00:00Z")) {
		t.Errorf("second event: %v %v", iv, ok)
	}
	if _, _, ok = ev.Next(&iv, at("2024-01-01T00:00:00Z"), nil, false, now); ok {
		t.Error("no event after the last")
	}
	if m := ev.InferManual(at("2024-02-01T00:00:00Z")); !m.Start.Equal(at("2024-01-02T12:00:00Z")) {
		t.Errorf("manual run restricted to events: %v", m)
	}
	c, err := New(Continuous, "")
	if err != nil || !c.IsContinuous() {
		t.Fatal(err)
	}
	iv, after, ok = c.Next(nil, at("2024-01-01T00:00:00Z"), nil, false, now)
	if !ok || !iv.Start.Equal(at("2024-01-01T00:00:00Z")) || !iv.End.Equal(now) || !after.Equal(now) {
		t.Errorf("continuous, first: %v %v", iv, after)
	}
	later := now.Add(time.Minute)
	if iv, _, _ = c.Next(&iv, at("2024-01-01T00:00:00Z"), nil, false, later); !iv.Start.Equal(now) || !iv.End.Equal(later) {
		t.Errorf("continuous, next: %v", iv)
	}
}
